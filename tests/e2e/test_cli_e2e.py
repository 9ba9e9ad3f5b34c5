"""`commitments sync` as a user runs it: a config file, secrets in the environment, a separate process.

The sandbox runs in the test process, so a sync process can be killed (SIGKILL, no cleanup at all) in the
middle of writing and run again; the CRM must end as an uninterrupted run leaves it, without a duplicate
task. Bad settings must end as one clear message without a traceback or a secret.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from core.playbook import Playbook
from sandbox.book import Book
from tests.e2e.conftest import Crm, all_but, connect, crm_state, start_crm, unknown_deal_id, write_calls
from worker.store import Store
from worker.sync import run_sync

pytestmark = pytest.mark.slow
CLI = [sys.executable, "-c", "from worker.cli import main; main()"]


def user_config(crm: Crm, path: Path) -> dict[str, str]:
    """Write a connections file pointing at the sandbox; returns the environment holding its secrets."""
    credentials = crm.handle.credentials
    if crm.name == "salesforce":
        body: dict[str, Any] = {
            "crm": "salesforce",
            "api_base_url": crm.handle.url,
            "backoff_seconds": 0.01,
            "auth": {
                "mode": "password",
                "username": credentials["username"],
                "password": "${E2E_SF_PASSWORD}",
                "security_token": "${E2E_SF_TOKEN}",
            },
        }
        secrets = {"E2E_SF_PASSWORD": credentials["password"], "E2E_SF_TOKEN": credentials["security_token"]}
    else:
        body = {"crm": "hubspot", "base_url": crm.handle.url, "access_token": "${E2E_HS_TOKEN}"}
        secrets = {"E2E_HS_TOKEN": credentials["access_token"]}
    path.write_text(yaml.safe_dump({"connections": {"acme": body}}), encoding="utf-8")
    return secrets


def cli_env(tmp_path: Path, config: Path, secrets: dict[str, str]) -> dict[str, str]:
    return {
        **os.environ,
        **secrets,
        "COMMITMENTS_CONFIG": str(config),
        "COMMITMENTS_DATABASE_URL": f"sqlite:///{tmp_path / 'state.sqlite3'}",
        "COLUMNS": "160",
    }


def test_given_sync_killed_after_its_first_write_when_run_again_then_crm_matches_an_uninterrupted_run(
    crm: Crm, book: Book, playbook: Playbook, tmp_path: Path
) -> None:
    config = tmp_path / "connections.yaml"
    env = cli_env(tmp_path, config, user_config(crm, config))
    crm.handle.app.faults.latency = 0.05  # slow every call down so the kill lands mid-run
    before = write_calls(crm)
    process = subprocess.Popen(
        [*CLI, "sync", "-c", "acme"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 60
    while write_calls(crm) == before and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    assert process.returncode == -signal.SIGKILL
    crm.handle.app.faults.latency = 0.0

    rerun = subprocess.run([*CLI, "sync", "-c", "acme"], env=env, capture_output=True, text=True, timeout=120)

    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    reference = start_crm(crm.name, book, playbook)
    store = Store.open(f"sqlite:///{tmp_path / 'reference.sqlite3'}")
    try:
        connection = connect(reference, store)
        assert run_sync(connection, datetime.now(UTC)).outcome == "success"
        connection.connector.close()
        assert crm_state(crm) == crm_state(reference)
    finally:
        store.close()
        reference.stop()
    runs = subprocess.run([*CLI, "runs"], env=env, capture_output=True, text=True, timeout=60)
    assert "interrupted" in runs.stdout
    assert "success" in runs.stdout


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            {"crm": "salesforce", "auth": {"mode": "password", "username": "a@b.c"}},
            "connections.acme.auth.password",
        ),
        ({"crm": "hubspot", "access_token": "${E2E_UNSET_VARIABLE}"}, "E2E_UNSET_VARIABLE is not set"),
        ({"crm": "zoho"}, "connections.acme.crm: expected one of salesforce, hubspot"),
        (
            {"crm": "hubspot", "access_token": "s3cr3t-token-value", "batch_size": 500},
            "connections.acme.batch_size",
        ),
    ],
)
def test_given_bad_settings_when_syncing_then_one_clear_message_and_no_traceback_or_secret(
    tmp_path: Path, body: dict[str, Any], expected: str
) -> None:
    config = tmp_path / "connections.yaml"
    config.write_text(yaml.safe_dump({"connections": {"acme": body}}), encoding="utf-8")

    result = subprocess.run(
        [*CLI, "sync", "-c", "acme"],
        env=cli_env(tmp_path, config, {}),
        capture_output=True,
        text=True,
        timeout=60,
    )

    output = result.stdout + result.stderr
    assert result.returncode == 2
    assert expected in " ".join(output.split())
    assert str(config) in output
    assert "Traceback" not in output
    assert "s3cr3t-token-value" not in output


def test_given_sigterm_during_a_sync_when_it_stops_then_the_run_is_recorded_as_interrupted(
    crm: Crm, tmp_path: Path
) -> None:
    config = tmp_path / "connections.yaml"
    env = cli_env(tmp_path, config, user_config(crm, config))
    crm.handle.app.faults.latency = 0.05
    before = sum(crm.handle.app.calls.values())
    process = subprocess.Popen(
        [*CLI, "sync", "-c", "acme"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + 60
    while sum(crm.handle.app.calls.values()) == before and time.monotonic() < deadline:
        time.sleep(0.005)

    process.send_signal(signal.SIGTERM)
    stdout, stderr = process.communicate(timeout=60)

    crm.handle.app.faults.latency = 0.0
    assert process.returncode == 1, stdout.decode() + stderr.decode()
    assert b"Traceback" not in stderr
    assert b"interrupted" in stdout
    runs = subprocess.run([*CLI, "runs"], env=env, capture_output=True, text=True, timeout=60)
    assert "interrupted" in runs.stdout


@pytest.mark.parametrize("connection", ["sandbox", "sandbox-hubspot"])
def test_given_no_configuration_when_syncing_twice_then_the_sandbox_is_used_and_the_second_run_writes_nothing(
    tmp_path: Path, connection: str
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMMITMENTS_")} | {"COLUMNS": "160"}

    first = subprocess.run(
        [*CLI, "sync", "-c", connection], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    second = subprocess.run(
        [*CLI, "sync", "-c", connection], cwd=tmp_path, env=env, capture_output=True, text=True
    )

    assert first.returncode == 0, first.stdout + first.stderr
    assert second.returncode == 0, second.stdout + second.stderr
    assert "(full): success" in first.stdout
    assert "(incremental): success" in second.stdout
    assert re.search(r"fields written\s*│\s*0\s", second.stdout)
    assert re.search(r"tasks created\s*│\s*0\s", second.stdout)
    assert (tmp_path / "state" / "commitments.sqlite3").exists()


def test_given_nothing_when_running_the_demo_then_both_crms_end_with_a_sync_writing_nothing(
    tmp_path: Path,
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMMITMENTS_")} | {"COLUMNS": "160"}

    result = subprocess.run(
        [*CLI, "demo", "--deals", "12"], cwd=tmp_path, env=env, capture_output=True, text=True
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("0 fields written, 0 tasks created") == 2
    assert "Salesforce sandbox" in result.stdout
    assert "HubSpot sandbox" in result.stdout
    assert "Secure the Commitment" in result.stdout
    # Setup says what it made in each CRM's own terms; the rep's view names HubSpot stages by their labels.
    assert re.search(r"Setup: \d+ provisioned \(field \d+, list view \d+, permission", result.stdout)
    assert re.search(r"Setup: 9 provisioned \(property 8, property group 1\)", result.stdout)
    hubspot_stages = re.findall(r"Stage (\S+)", result.stdout.split("HubSpot sandbox")[1])
    assert hubspot_stages
    assert all(not s.islower() for s in hubspot_stages)  # "Contract", not "contractsent"


def as_typed(crm: Crm, deal_id: str) -> str:
    """A deal id as a user may copy it: Salesforce's 15-character form (from a URL), HubSpot's with a 0."""
    return deal_id[:15] if crm.name == "salesforce" else f"0{deal_id}"


def test_given_a_deal_and_an_unknown_id_when_sync_deal_then_the_deal_is_written_the_unknown_named_and_exit_1(
    crm: Crm, tmp_path: Path
) -> None:
    config = tmp_path / "connections.yaml"
    env = cli_env(tmp_path, config, user_config(crm, config))
    before = crm_state(crm)
    deal_id = sorted(before)[5]
    missing = unknown_deal_id(crm)
    sync_deal = [*CLI, "sync", "-c", "acme", "--deal", as_typed(crm, deal_id)]

    dry = subprocess.run([*sync_deal, "--dry-run"], env=env, capture_output=True, text=True, timeout=120)
    assert dry.returncode == 0, dry.stdout + dry.stderr
    assert "(deals, dry run): success" in dry.stdout
    assert deal_id in dry.stdout  # in the planned writes
    assert crm_state(crm) == before

    result = subprocess.run(
        [*sync_deal, "--deal", missing], env=env, capture_output=True, text=True, timeout=120
    )

    assert result.returncode == 1, result.stdout + result.stderr
    assert "(deals): partial" in result.stdout
    assert f"deal {missing} not found in the CRM" in result.stdout
    assert "Traceback" not in result.stderr
    after = crm_state(crm)
    assert after[deal_id] != before[deal_id]
    assert all_but(after, deal_id) == all_but(before, deal_id)
    runs = subprocess.run([*CLI, "runs"], env=env, capture_output=True, text=True, timeout=60)
    assert re.search(r"│ deals\s+│ manual\s+│ partial", runs.stdout), runs.stdout
    assert re.search(r"│ deals dry\s+│ manual\s+│ success", runs.stdout), runs.stdout


def test_given_a_malformed_id_when_sync_deal_then_a_usage_error_naming_it_before_any_crm_call(
    crm: Crm, tmp_path: Path
) -> None:
    config = tmp_path / "connections.yaml"
    env = cli_env(tmp_path, config, user_config(crm, config))
    bad = "0015g000000002N" if crm.name == "salesforce" else "10151a"
    calls_before = sum(crm.handle.app.calls.values())

    result = subprocess.run(
        [*CLI, "sync", "-c", "acme", "--deal", bad], env=env, capture_output=True, text=True, timeout=60
    )

    assert result.returncode == 2, result.stdout + result.stderr
    kind = "Salesforce opportunity" if crm.name == "salesforce" else "HubSpot deal"
    assert f"'{bad}' is not a {kind} id" in " ".join(result.stderr.split())
    assert "Traceback" not in result.stderr
    assert sum(crm.handle.app.calls.values()) == calls_before
    runs = subprocess.run([*CLI, "runs"], env=env, capture_output=True, text=True, timeout=60)
    assert "no runs recorded yet" in runs.stdout
