"""`commitments sync` as a user runs it: a config file, secrets in the environment, a separate process.

The sandbox runs in the test process, so a sync process can be killed (SIGKILL, no cleanup at all) in the
middle of writing and run again; the CRM must end as an uninterrupted run leaves it, without a duplicate
task. Bad settings must end as one clear message without a traceback or a secret.
"""

from __future__ import annotations

import os
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
from tests.e2e.conftest import Crm, connect, crm_state, start_crm, write_calls
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
