"""`commitments worker` as a real process: SIGTERM mid-run exits 0 with the run recorded and nothing lost.

The worker runs on the built-in sandbox connection (no configuration), so at start it seeds the default
schedules and catches up with an immediate full run; the test sends SIGTERM as soon as that run has
started, then checks the exit code, the run's recorded outcome, and that a next start would catch up
whatever the stop cut short.
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

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner, Result

from worker.cli import app
from worker.scheduling.catchup import CatchUp, catch_up_runs
from worker.scheduling.process import Worker
from worker.scheduling.schedules import last_success_by_mode, list_schedules
from worker.store import Store
from worker.store.models import RunRow


def _wait_for(path: Path, text: str, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and text in path.read_text():
            return
        if process.poll() is not None:
            pytest.fail(f"worker exited early ({process.returncode}):\n{path.read_text()}")
        time.sleep(0.02)
    pytest.fail(f"{text!r} not logged within {timeout}s:\n{path.read_text()}")


@pytest.fixture
def sandbox_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No connection configured (the built-in sandbox), state in a SQLite file under `tmp_path`."""
    monkeypatch.setenv("COMMITMENTS_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.delenv("COMMITMENTS_DATABASE_URL", raising=False)
    (tmp_path / "absent.yaml").write_text("connections: {}\n")
    monkeypatch.setenv("COMMITMENTS_CONFIG", str(tmp_path / "absent.yaml"))


def _invoke_worker() -> Result:
    """`commitments worker` in this process, its SIGINT and SIGTERM handlers put back after it."""
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        return CliRunner().invoke(app, ["worker", "--metrics-port", "0"])
    finally:
        for sig, handler in handlers.items():
            signal.signal(sig, handler)


def test_given_run_in_progress_when_sigterm_then_exit_0_run_recorded_and_due_run_kept(tmp_path: Path) -> None:
    log_file = tmp_path / "worker.log"
    env = {**os.environ, "COMMITMENTS_STATE_DIR": str(tmp_path / "state")}
    env.pop("COMMITMENTS_DATABASE_URL", None)
    env["COMMITMENTS_CONFIG"] = str(tmp_path / "absent.yaml")
    (tmp_path / "absent.yaml").write_text("connections: {}\n")
    command = [sys.executable, "-c", "from worker.cli import main; main()", "worker", "--metrics-port", "0"]
    with log_file.open("w") as log:
        process = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait_for(log_file, "sync started", process)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0, log_file.read_text()
    finally:
        if process.poll() is None:
            process.kill()
    output = log_file.read_text()
    assert "received SIGTERM: draining" in output
    assert "worker stopped" in output

    store = Store.open(f"sqlite:///{tmp_path / 'state' / 'commitments.sqlite3'}")
    try:
        with Session(store.engine) as session:
            runs = [(r.trigger, r.outcome) for r in session.scalars(select(RunRow))]
            schedules = list_schedules(session)
            history = last_success_by_mode(session)
        assert len(runs) == 1
        assert runs[0][0] == "catchup"
        assert runs[0][1] in ("interrupted", "success"), output  # never left "running"
        due = catch_up_runs([(s.connection_id, s.spec) for s in schedules], history, datetime.now(UTC))
        # nothing lost: an interrupted run leaves the connection due at the next start
        assert bool(due) == (runs[0][1] == "interrupted")
    finally:
        store.close()


def test_given_a_stop_during_start_up_when_the_worker_starts_then_it_exits_0_having_started_no_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sandbox_only: None
) -> None:
    start = Worker.start

    def start_then_ctrl_c(self: Worker, **kwargs: bool) -> list[CatchUp]:
        due = start(self, **kwargs)  # the catch-up run is queued: a stop now must keep it from starting
        os.kill(os.getpid(), signal.SIGINT)
        return due

    monkeypatch.setattr(Worker, "start", start_then_ctrl_c)
    result = _invoke_worker()

    assert result.exit_code == 0, result.output
    store = Store.open(f"sqlite:///{tmp_path / 'state' / 'commitments.sqlite3'}")
    try:
        with Session(store.engine) as session:
            assert list(session.scalars(select(RunRow))) == []
            schedules = list_schedules(session)
            history = last_success_by_mode(session)
        assert catch_up_runs([(s.connection_id, s.spec) for s in schedules], history, datetime.now(UTC))
    finally:
        store.close()


def test_given_one_catch_up_run_due_when_the_worker_starts_then_the_log_counts_it_in_the_singular(
    monkeypatch: pytest.MonkeyPatch, sandbox_only: None
) -> None:
    # The sandbox's first start queues one catch-up run (a full one); it is left queued, and the worker
    # stops as soon as it has said so.
    monkeypatch.setattr(Worker, "resume", lambda self: None)
    monkeypatch.setattr(Worker, "serve", lambda self, stop: None)
    result = _invoke_worker()

    assert result.exit_code == 0, result.output
    assert re.search(r"worker started: \d+ schedules?, 1 catch-up run queued", result.output), result.output
