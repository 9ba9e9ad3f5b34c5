"""`commitments` entry point: a user's mistake is one readable line and an exit code, never a traceback,
and connector text that echoes a secret is scrubbed on the way out."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer

import worker.cli
from connectors.base import ConfigurationError
from worker.observability.redaction import REDACTOR


def run_main(monkeypatch: pytest.MonkeyPatch, *args: str) -> int:
    monkeypatch.setattr("sys.argv", ["commitments", *args])
    with pytest.raises(SystemExit) as exited:
        worker.cli.main()
    return int(exited.value.code or 0)


def test_given_unset_secret_variable_when_sync_then_settings_error_is_readable_not_masked(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "connections.yaml"
    config.write_text(
        "connections:\n  acme:\n    crm: salesforce\n    auth:\n      mode: password\n"
        "      username: a@b.com\n      password: ${SF_PW_FOR_TEST}\n      security_token: x\n"
    )
    monkeypatch.setenv("COMMITMENTS_CONFIG", str(config))
    monkeypatch.setenv("COMMITMENTS_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.delenv("SF_PW_FOR_TEST", raising=False)

    code = run_main(monkeypatch, "sync", "--connection", "acme")

    err = capsys.readouterr().err
    assert code == 2
    assert "connections.acme.auth.password: environment variable SF_PW_FOR_TEST is not set" in err
    assert "Traceback" not in err


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
