"""`commitments` entry point: a user's mistake is one readable line and an exit code, never a traceback,
and connector text that echoes a secret is scrubbed on the way out."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from datetime import UTC, datetime
from pathlib import Path

import pytest
import typer
from rich.console import Console
from sqlalchemy.orm import Session

import worker.cli
from connectors.base import ConfigurationError, RecordFailure, SetupChange, SetupReport
from connectors.salesforce import SalesforceConnector
from worker.cli.doctor_cmd import findings_table
from worker.cli.sync_cmd import failures_table, runs_table, setup_table, summary_table
from worker.connections import open_store
from worker.doctor import Finding
from worker.observability.redaction import REDACTOR
from worker.settings import load_settings
from worker.store import runs as run_store
from worker.store.models import RunRow
from worker.store.runs import RunCounts
from worker.sync import SyncResult


def run_main(monkeypatch: pytest.MonkeyPatch, *args: str) -> int:
    monkeypatch.setattr("sys.argv", ["commitments", *args])
    with pytest.raises(SystemExit) as exited:
        worker.cli.main()
    return int(exited.value.code or 0)


def configure_acme(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, *, password: str = "pw", playbook: str | None = None
) -> None:
    """A config file with one Salesforce connection, `acme`, and a state store under `tmp_path`."""
    config = tmp_path / "connections.yaml"
    config.write_text(
        "connections:\n  acme:\n    crm: salesforce\n"
        + (f"    playbook: {playbook}\n" if playbook else "")
        + f"    auth:\n      mode: password\n      username: a@b.com\n      password: {password}\n"
        "      security_token: x\n"
    )
    monkeypatch.setenv("COMMITMENTS_CONFIG", str(config))
    monkeypatch.setenv("COMMITMENTS_STATE_DIR", str(tmp_path / "state"))


def recorded_runs() -> list[RunRow]:
    """Every run in the configured state store, newest first."""
    store = open_store(load_settings())
    try:
        with Session(store.engine) as session:
            return [run for run, _ in run_store.recent_runs(session)]
    finally:
        store.close()


# What pip's generated `commitments` script runs, with a Ctrl-C arriving while the command line is still
# loading (a heavy import deep in it, as a real Ctrl-C in the first second lands).
CTRL_C_WHILE_LOADING = """
import sys
class CtrlC:
    def find_spec(self, name, path=None, target=None):
        if name == "apscheduler":
            raise KeyboardInterrupt
sys.meta_path.insert(0, CtrlC())
from {module} import {function}
sys.exit({function}())
"""


def test_given_ctrl_c_while_the_command_line_loads_when_commitments_runs_then_it_says_stopped_and_exits_130(
    tmp_path: Path,
) -> None:
    pyproject = Path(__file__).resolve().parents[2] / "pyproject.toml"
    entry = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["scripts"]["commitments"]
    module, function = entry.split(":")
    program = CTRL_C_WHILE_LOADING.format(module=module, function=function)

    result = subprocess.run(
        [sys.executable, "-c", program, "worker"], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )

    assert (result.returncode, result.stderr, result.stdout) == (130, "stopped\n", "")


def test_given_unset_secret_variable_when_sync_then_settings_error_is_readable_not_masked(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_acme(monkeypatch, tmp_path, password="${SF_PW_FOR_TEST}")
    monkeypatch.delenv("SF_PW_FOR_TEST", raising=False)

    code = run_main(monkeypatch, "sync", "--connection", "acme")

    err = capsys.readouterr().err
    assert code == 2
    assert "connections.acme.auth.password: environment variable SF_PW_FOR_TEST is not set" in err
    assert "Traceback" not in err


@pytest.mark.parametrize("dry_run", [False, True])
def test_given_a_broken_playbook_when_sync_fails_before_starting_then_runs_records_the_failed_manual_run(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str], dry_run: bool
) -> None:
    (tmp_path / "broken.yaml").write_text("stage_maps: [not, a, mapping]\n")
    configure_acme(monkeypatch, tmp_path, playbook="broken.yaml")

    code = run_main(monkeypatch, "sync", "-c", "acme", *(["--dry-run"] if dry_run else []))

    err = capsys.readouterr().err
    assert code == 2
    assert "broken.yaml" in err
    runs = recorded_runs()
    assert [(r.outcome, r.trigger, r.mode, r.dry_run) for r in runs] == [
        ("failed", "manual", "incremental", dry_run)
    ]
    assert "broken.yaml" in (runs[0].error or "")


@pytest.mark.parametrize("command", [["sync"], ["deals", "--missing", "time"]])
def test_given_a_playbook_path_that_does_not_exist_when_run_then_the_error_names_the_connection_that_named_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    configure_acme(monkeypatch, tmp_path, playbook="my-playbook.yaml")

    code = run_main(monkeypatch, *command, "-c", "acme")

    err = " ".join(capsys.readouterr().err.split())
    assert code == 2
    assert f"{tmp_path / 'my-playbook.yaml'}: no such playbook file" in err
    assert "(the `playbook:` of connection 'acme')" in err


def test_given_an_unknown_connection_when_sync_then_an_error_and_no_run_recorded(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_acme(monkeypatch, tmp_path)

    code = run_main(monkeypatch, "sync", "-c", "acme2")

    assert code == 2
    assert "no connection named 'acme2'" in capsys.readouterr().err
    assert recorded_runs() == []


def test_given_deal_with_full_when_sync_then_a_usage_error_and_no_run_recorded(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_acme(monkeypatch, tmp_path)

    code = run_main(monkeypatch, "sync", "-c", "acme", "--deal", "0065g000000002NAAQ", "--full")

    err = " ".join(capsys.readouterr().err.split())
    assert code == 2
    assert "'--deal': cannot be combined with --full" in err
    assert "Traceback" not in err
    assert recorded_runs() == []


@pytest.mark.parametrize(
    "bad", ["0015g000000002NAAQ", "0065g000000002", "0065g000000002NAA9", "006-5g00000002N", ""]
)
def test_given_a_malformed_salesforce_id_when_sync_deal_then_a_usage_error_naming_it_and_no_run_recorded(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str], bad: str
) -> None:
    configure_acme(monkeypatch, tmp_path)  # its login URL is never reached: a call would fail differently
    monkeypatch.setenv("COLUMNS", "200")  # the usage error's box is as wide as the terminal

    code = run_main(monkeypatch, "sync", "-c", "acme", "--deal", "0065g000000002NAAQ", "--deal", bad)

    err = " ".join(capsys.readouterr().err.split())
    assert code == 2
    assert f"'--deal': '{bad}' is not a Salesforce opportunity id" in err
    assert "0065g000000002NAAQ" not in err
    assert recorded_runs() == []


def test_given_connector_error_echoing_a_token_when_command_fails_then_token_scrubbed(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    REDACTOR.add("pat-na1-0123456789abcdef")
    failing = typer.Typer()

    @failing.command()
    def sync() -> None:
        raise ConfigurationError("401 from HubSpot for token pat-na1-0123456789abcdef [check scopes]")

    @failing.command()
    def other() -> None:  # a second command keeps typer from collapsing the app into one command
        pass

    monkeypatch.setattr(worker.cli, "app", failing)

    code = run_main(monkeypatch, "sync")

    err = capsys.readouterr().err
    assert code == 2
    assert "pat-na1-0123456789abcdef" not in err
    assert "token *** [check scopes]" in err


@pytest.mark.parametrize(
    ("dry_run", "labels"),
    [
        (
            True,
            ["deals to change", "fields to write", "tasks to create", "tasks to complete", "tasks to reopen"],
        ),
        (False, ["deals changed", "fields written", "tasks created", "tasks completed", "tasks reopened"]),
    ],
)
def test_given_a_sync_result_when_summarised_then_the_counts_read_as_planned_or_done(
    dry_run: bool, labels: list[str]
) -> None:
    result = SyncResult(
        run_id=1, connection="acme", mode="full", dry_run=dry_run, outcome="success", counts=RunCounts(),
        api_calls={}, duration_s=0.1, started_at=datetime(2026, 4, 1, tzinfo=UTC), watermark_before=None,
        watermark_after=None,
    )
    console = Console(record=True, width=120)

    console.print(summary_table(result))

    text = console.export_text()
    assert [label for label in labels if label in text] == labels
    assert "would" not in text


def test_given_deals_in_an_unmapped_stage_when_a_run_is_summarised_then_it_warns_with_their_count() -> None:
    warning = "stage '[Legal] Hold' is not in the playbook's stage map for pipeline 'salesforce'"
    result = SyncResult(
        run_id=1, connection="acme", mode="full", dry_run=False, outcome="success", counts=RunCounts(),
        api_calls={}, duration_s=0.1, started_at=datetime(2026, 4, 1, tzinfo=UTC), watermark_before=None,
        watermark_after=None, warnings={warning: 2},
    )
    console = Console(record=True, width=300)

    console.print(summary_table(result))

    text = " ".join(console.export_text().split())
    expected = f"warning │ 2 deals: {warning}; such a deal expects no commitment until the playbook maps it"
    assert expected in text


def test_given_a_run_that_reopened_a_task_when_runs_listed_then_its_tasks_read_created_done_reopened(
) -> None:
    run = RunRow(
        id=7, mode="incremental", trigger="manual", dry_run=False, outcome="success", deals_read=3,
        deals_changed=2, fields_written=5, tasks_created=2, tasks_completed=1, tasks_reopened=1, failures=0,
        started_at=datetime(2026, 4, 1, tzinfo=UTC), api_calls={}, duration_s=1.0,
    )
    console = Console(record=True, width=200)

    console.print(runs_table([(run, "acme")]))

    text = console.export_text()
    assert "tasks +/✓/↺" in text
    assert " 2/1/1 " in text


@pytest.mark.parametrize(
    ("dry_run", "title"),
    [
        (True, "Setup (dry run: nothing changed): 1 to create or update"),
        (False, "Setup: 1 created or updated"),
    ],
)
def test_given_a_setup_report_when_shown_then_the_title_says_planned_or_done(
    dry_run: bool, title: str
) -> None:
    report = SetupReport(
        [SetupChange("field", "Commitment_Score__c", "create"), SetupChange("field", "X", "unchanged")],
        dry_run=dry_run,
    )
    console = Console(record=True, width=120)

    console.print(setup_table(report))

    assert title in " ".join(console.export_text().split())  # a title wraps at the table's width


def test_given_crm_answers_that_look_like_markup_when_a_run_is_summarised_then_printed_as_is() -> None:
    # A CRM's message or a stage name may hold "[...]": rich must not read it as a style ("[q3]" vanished)
    # or a closing tag ("[/x]" ended the command with a traceback).
    failure = RecordFailure("006A", "update", "Stage [Legacy] Won is locked [/sales]", "FIELD_[X]")
    result = SyncResult(
        run_id=1, connection="acme [eu]", mode="full", dry_run=False, outcome="partial",
        counts=RunCounts(failures=1), api_calls={}, duration_s=0.1,
        started_at=datetime(2026, 4, 1, tzinfo=UTC), watermark_before=None, watermark_after=None,
        error="refused [/services/data]", failures=[failure],
    )
    console = Console(record=True, width=200)

    console.print(summary_table(result))
    console.print(failures_table(result.failures, result.counts.failures))
    finding = Finding("stages", "warning", "'[Legacy] Won' is unknown", "map it")
    console.print(findings_table("acme [eu]", [finding]))

    text = console.export_text()
    shown = ("acme [eu]", "refused [/services/data]", "Stage [Legacy] Won is locked [/sales]", "FIELD_[X]")
    for crm_text in (*shown, "'[Legacy] Won' is unknown"):
        assert crm_text in text


def test_given_the_sandbox_when_setup_assigns_owners_then_they_are_listed_once_and_doctor_finds_access(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("COMMITMENTS_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("COLUMNS", "200")

    first = run_main(monkeypatch, "setup", "-c", "sandbox", "--assign-owners")
    assigned = capsys.readouterr().out.count("Commitments_User -> ")
    second = run_main(monkeypatch, "setup", "-c", "sandbox", "--assign-owners")
    again = capsys.readouterr().out.count("Commitments_User -> ")
    run_main(monkeypatch, "doctor", "-c", "sandbox")
    doctor = " ".join(capsys.readouterr().out.split())

    assert (first, second) == (0, 0)
    assert assigned > 1
    assert again == 0
    assert f"field access │ ok │ all {assigned} active owners of open deals can read the fields" in doctor


def test_given_a_refused_assignment_when_setup_assigns_owners_then_the_reason_is_shown_and_it_exits_1(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("COMMITMENTS_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("COLUMNS", "200")
    refused = SetupChange("permission_assignment", "Commitments_User -> Ann Lee", "refused", "LICENSE: no")
    monkeypatch.setattr(
        SalesforceConnector, "grant_field_access", lambda self, dry_run: SetupReport([refused], dry_run)
    )

    code = run_main(monkeypatch, "setup", "-c", "sandbox", "--assign-owners")

    captured = capsys.readouterr()
    out = " ".join(captured.out.split())
    assert code == 1
    assert "Commitments_User -> Ann Lee │ refused │ LICENSE: no" in out
    assert "Setup: 14 created or updated, 1 refused" in out
    assert "1 refused (reasons above)" in captured.err


def test_given_a_hubspot_connection_when_setup_assigns_owners_then_a_usage_error_before_anything_changes(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("COMMITMENTS_STATE_DIR", str(tmp_path / "state"))

    code = run_main(monkeypatch, "setup", "-c", "sandbox-hubspot", "--assign-owners")
    again = run_main(monkeypatch, "setup", "-c", "sandbox-hubspot", "--dry-run")

    captured = capsys.readouterr()
    assert code == 2
    assert "--assign-owners is for Salesforce: hubspot has no field access to grant" in captured.err
    assert "nothing was changed" in captured.err
    assert again == 0
    assert "Setup (dry run: nothing changed): 9 to create or update" in " ".join(captured.out.split())


def test_given_the_grant_fails_when_setup_assigns_owners_then_what_setup_changed_is_still_shown(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("COMMITMENTS_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("COLUMNS", "200")

    def refused(self: SalesforceConnector, dry_run: bool) -> SetupReport:
        raise ConfigurationError("INSUFFICIENT_ACCESS: PermissionSetAssignment")

    monkeypatch.setattr(SalesforceConnector, "grant_field_access", refused)

    code = run_main(monkeypatch, "setup", "-c", "sandbox", "--assign-owners")

    captured = capsys.readouterr()
    assert code == 2
    assert "Setup: 14 created or updated" in " ".join(captured.out.split())  # done before the grant failed
    assert "INSUFFICIENT_ACCESS: PermissionSetAssignment" in captured.err


def test_given_doctor_as_json_when_run_then_one_document_with_every_finding_and_the_exit_code_says_ready(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("COMMITMENTS_STATE_DIR", str(tmp_path / "state"))

    ready_code = run_main(monkeypatch, "doctor", "-c", "sandbox", "--format", "json")
    ready = json.loads(capsys.readouterr().out)
    problem = Finding("stage mapping", "problem", "pipeline 'salesforce': unmapped 'Legal'", "add it")
    monkeypatch.setattr("worker.cli.doctor_cmd.diagnose", lambda *args, **kwargs: [problem])
    problem_code = run_main(monkeypatch, "doctor", "-c", "sandbox", "-f", "json")
    not_ready = json.loads(capsys.readouterr().out)

    assert (ready_code, ready["connection"], ready["ready"]) == (0, "sandbox", True)
    assert [f["check"] for f in ready["findings"]][:3] == ["credentials", "provisioning", "field access"]
    assert {"check", "severity", "detail", "fix"} == set(ready["findings"][0])
    assert problem_code == 1
    assert not_ready == {
        "connection": "sandbox",
        "ready": False,
        "findings": [
            {"check": "stage mapping", "severity": "problem", "detail": problem.detail, "fix": "add it"}
        ],
    }


@pytest.mark.parametrize(
    ("connection", "playbook", "message"),
    [
        ("acme2", None, "no connection named 'acme2'"),
        ("acme", "my-playbook.yaml", "my-playbook.yaml: no such playbook file"),
    ],
)
def test_given_settings_that_cannot_be_read_when_doctor_as_json_then_one_not_ready_document_with_the_error(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    connection: str,
    playbook: str | None,
    message: str,
) -> None:
    configure_acme(monkeypatch, tmp_path, playbook=playbook)

    code = run_main(monkeypatch, "doctor", "-c", connection, "--format", "json")

    document = json.loads(capsys.readouterr().out)
    assert code == 2
    assert (document["connection"], document["ready"], document["findings"]) == (connection, False, [])
    assert message in document["error"]


def test_given_a_connector_error_echoing_a_token_when_doctor_as_json_then_the_error_is_scrubbed(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("COMMITMENTS_STATE_DIR", str(tmp_path / "state"))
    REDACTOR.add("pat-na1-0123456789abcdef")

    def refuse(*args: object, **kwargs: object) -> None:
        raise ConfigurationError("401 from HubSpot for token pat-na1-0123456789abcdef")

    monkeypatch.setattr("worker.cli.doctor_cmd.open_connection", refuse)

    code = run_main(monkeypatch, "doctor", "-c", "sandbox", "-f", "json")

    document = json.loads(capsys.readouterr().out)
    assert code == 2
    assert document == {
        "connection": "sandbox",
        "ready": False,
        "error": "401 from HubSpot for token ***",
        "findings": [],
    }


@pytest.mark.parametrize(("document", "warned"), [("connections: {}\n", True), ("", True), (None, False)])
def test_given_a_connections_file_without_connections_when_a_command_runs_then_it_warns_of_the_sandbox(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    document: str | None, warned: bool,
) -> None:
    config = tmp_path / "connections.yaml"
    monkeypatch.chdir(tmp_path)  # no config/connections.yaml here either
    monkeypatch.delenv("COMMITMENTS_CONFIG", raising=False)
    if document is not None:
        config.write_text(document)
        monkeypatch.setenv("COMMITMENTS_CONFIG", str(config))
    monkeypatch.setenv("COMMITMENTS_STATE_DIR", str(tmp_path / "state"))

    code = run_main(monkeypatch, "runs")

    err = " ".join(capsys.readouterr().err.split())
    assert code == 0
    assert (f"{config} defines no connections: the built-in sandbox CRM is used" in err) is warned
