"""Logs of a real run through the runner: every line carries the run id and connection, and a token that
leaks into an error (as an SDK's exception text might) never reaches the log, the run's error or a repr."""

from __future__ import annotations

import contextlib
import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from connectors.base import ConfigurationError
from connectors.memory import MemoryConnector
from core.playbook import Playbook
from tests.worker.conftest import NOW, make_deal
from worker.observability.logs import make_handler
from worker.observability.metrics import Metrics
from worker.observability.redaction import REDACTOR, Redactor, safe_error_text
from worker.scheduling.runner import Runner, RunRequest, StopCheck
from worker.settings import load_settings
from worker.store import Store
from worker.store import runs as run_store
from worker.sync import SyncConnection, SyncResult, run_sync

TOKEN = "pat-na1-7f3c2a91-0d4e-4b8a-9c11-5e6f7a8b9c0d"


@pytest.fixture
def redactor(tmp_path: Path) -> Redactor:
    """The settings' secrets registered, as `commitments worker` does at start."""
    config = tmp_path / "connections.yaml"
    config.write_text("connections:\n  acme:\n    crm: hubspot\n    access_token: ${ACME_TOKEN}\n")
    settings = load_settings({"COMMITMENTS_CONFIG": str(config), "ACME_TOKEN": TOKEN})
    assert TOKEN not in repr(settings)
    redactor = Redactor()
    redactor.add_from(settings)
    return redactor


@pytest.fixture
def captured(redactor: Redactor) -> Iterator[io.StringIO]:
    stream = io.StringIO()
    handler = make_handler(stream, json_lines=True, redactor=redactor)
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield stream
    root.removeHandler(handler)
    root.setLevel(level)


def test_given_run_when_logged_then_each_line_has_run_id_and_connection(
    captured: io.StringIO, playbook: Playbook, tmp_path: Path
) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 'state.sqlite3'}")
    crm = MemoryConnector([make_deal("D1"), make_deal("D2")], clock=lambda: NOW)

    def sync(request: RunRequest, should_stop: StopCheck) -> SyncResult:
        logging.getLogger("connectors.memory").info("reading deals")  # a library line inside the run
        connection = SyncConnection(request.connection, crm, playbook, store)
        return run_sync(connection, NOW, mode=request.mode, trigger=request.trigger, should_stop=should_stop)

    try:
        assert (
            Runner(store, sync, metrics=Metrics()).run(RunRequest("acme", "memory", "full", "manual"))
            == "success"
        )
    finally:
        store.close()
    lines = [json.loads(line) for line in captured.getvalue().splitlines()]
    run_lines = [line for line in lines if line["logger"].startswith(("worker.scheduling", "connectors"))]
    assert len(run_lines) >= 3
    assert {(line["connection"], line["mode"], line["trigger"]) for line in run_lines} == {
        ("acme", "full", "manual")
    }
    assert len({line["run_id"] for line in run_lines}) == 1


def test_given_token_in_sdk_error_when_run_crashes_then_token_never_logged_or_shown(
    captured: io.StringIO, tmp_path: Path
) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 'state.sqlite3'}")

    def leaky_sync(request: RunRequest, should_stop: StopCheck) -> SyncResult:
        raise RuntimeError(
            f"401 from https://api.hubapi.com/crm/v3?hapikey={TOKEN} (Authorization: Bearer {TOKEN})"
        )

    try:
        outcome = Runner(store, leaky_sync, metrics=Metrics()).run(
            RunRequest("acme", "hubspot", "full", "schedule")
        )
    finally:
        store.close()
    assert outcome == "failed"
    text = captured.getvalue()
    assert "sync crashed" in text
    assert "RuntimeError: 401 from https://api.hubapi.com" in text
    assert TOKEN not in text
    assert TOKEN[:20] not in text
    assert TOKEN not in safe_error_text(RuntimeError(f"token={TOKEN}"))


@pytest.mark.parametrize(
    "error",
    [ConfigurationError(f"401 for Bearer {TOKEN}"), ValueError(f"Invalid header value b'Bearer {TOKEN}\\n'")],
)
def test_given_token_in_a_connector_error_when_the_sync_fails_then_the_stored_run_error_is_scrubbed(
    tmp_path: Path, playbook: Playbook, error: Exception
) -> None:
    REDACTOR.add(TOKEN)  # as load_settings does for every secret of the settings
    crm = MemoryConnector([make_deal("D1")])
    crm.fail_apply_with = error
    store = Store.open(f"sqlite:///{tmp_path / 'state.sqlite3'}")
    try:
        with contextlib.suppress(ValueError):
            run_sync(SyncConnection("acme", crm, playbook, store), NOW)
        with store.session() as session:
            [(run, _name)] = run_store.recent_runs(session, "acme")
    finally:
        store.close()

    assert run.outcome == "failed"
    assert run.error is not None
    assert "401" in run.error or "Invalid header value" in run.error
    assert TOKEN not in run.error
