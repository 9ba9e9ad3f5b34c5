"""`commitments schedule ...` end to end on a temporary state store and the built-in sandbox connection."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from worker.cli import app
from worker.errors import UserError
from worker.scheduling import schedules as repo
from worker.scheduling.lock import RunLock, lock_name
from worker.scheduling.model import ScheduleSpec
from worker.store import Store
from worker.store import runs as run_store
from worker.store.models import RunRow

runner = CliRunner()


@pytest.fixture
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    config = tmp_path / "connections.yaml"
    config.write_text("connections: {}\n")
    monkeypatch.setenv("COMMITMENTS_CONFIG", str(config))
    monkeypatch.setenv("COMMITMENTS_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.delenv("COMMITMENTS_DATABASE_URL", raising=False)
    monkeypatch.setenv("COLUMNS", "200")  # rich wraps tables at the terminal width
    monkeypatch.chdir(tmp_path)
    return tmp_path / "state" / "commitments.sqlite3"


def invoke(*args: str) -> tuple[int, str, BaseException | None]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output, result.exception


def test_given_cron_when_added_then_words_and_next_three_fires_in_zone_and_utc(state: Path) -> None:
    code, output, _ = invoke(
        "schedule",
        "add",
        "--connection",
        "sandbox",
        "--cron",
        "30 2 * * 1-5",
        "--tz",
        "Europe/Berlin",
        "--mode",
        "full",
    )
    assert code == 0, output
    assert "added schedule 1: sandbox full, every weekday at 02:30 Europe/Berlin" in output
    assert output.count("02:30 CET") == 3  # three next runs, local time...
    assert output.count("01:30") == 3  # ...and UTC


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--cron", "30 2 * * 9"), "day-of-week field '9': 9 is out of range 0-7"),
        (("--cron", "30 2 * *"), "has 4 field(s); expected 5"),
        (("--cron", "0 2 * * *", "--tz", "Berlin"), "unknown time zone 'Berlin'"),
        (("--every", "10s"), "shorter than the minimum of 1 minute"),
        (("--every", "99999999d"), "longer than the maximum of 365 days"),
        (("--every", "15m", "--cron", "0 2 * * *"), "not both"),
        (("--every", "15m", "--tz", "Europe/Berlin"), "--tz applies to --cron only"),  # was ignored
        ((), "give either --cron"),
    ],
)
def test_given_bad_schedule_when_added_then_clear_error(
    state: Path, args: tuple[str, ...], message: str
) -> None:
    _code, _output, error = invoke("schedule", "add", "--connection", "sandbox", *args)
    assert isinstance(error, UserError)
    assert message in str(error)


def test_given_cron_on_a_date_that_never_comes_when_added_then_clear_error_and_nothing_stored(
    state: Path,
) -> None:
    _code, _output, error = invoke("schedule", "add", "--connection", "sandbox", "--cron", "0 2 30 2 *")
    assert isinstance(error, UserError)
    assert "cron expression '0 2 30 2 *' never runs: day-of-month 30 does not occur in month 2" in str(error)
    code, output, _ = invoke("schedule", "list")
    assert code == 0, output
    assert "30 2 *" not in output


def test_given_stored_cron_that_never_fires_when_listed_then_next_run_says_never(state: Path) -> None:
    assert invoke("schedule", "list")[0] == 0  # creates the store and the default schedules
    store = Store.open(f"sqlite:///{state}")
    try:
        with store.session() as session:  # a row an earlier version let through
            connection = run_store.ensure_connection(session, "sandbox", "salesforce", datetime.now(UTC))
            spec = ScheduleSpec("full", "cron", cron="0 2 31 4 *", timezone="UTC")
            schedule_id = repo.add_schedule(session, connection.id, spec, datetime.now(UTC)).id
    finally:
        store.close()
    code, output, error = invoke("schedule", "list")
    assert code == 0, f"{output}{error!r}"
    row = next(line for line in output.splitlines() if line.startswith(f"│ {schedule_id} "))
    assert "never" in row


def test_given_schedules_when_listed_paused_resumed_removed_then_table_follows(state: Path) -> None:
    code, output, _ = invoke("schedule", "list")
    assert code == 0, output
    assert "every 15 minutes" in output  # the defaults of a new connection
    assert "every day at 02:00 UTC" in output
    assert "never" in output
    assert invoke("schedule", "pause", "1")[0] == 0
    assert "yes" in invoke("schedule", "list")[1]
    assert invoke("schedule", "resume", "1")[0] == 0
    assert "yes" not in invoke("schedule", "list")[1]
    assert invoke("schedule", "remove", "2")[0] == 0
    assert "02:00" not in invoke("schedule", "list")[1]
    _code, _output, error = invoke("schedule", "remove", "2")
    assert isinstance(error, UserError)
    assert "no schedule with id 2" in str(error)


def test_given_a_misspelt_connection_when_listing_schedules_then_a_clear_error_not_an_empty_list(
    state: Path,
) -> None:
    _code, output, error = invoke("schedule", "list", "--connection", "sandbx")

    assert isinstance(error, UserError), output
    assert "no connection named 'sandbx'" in str(error)


def test_given_connection_locked_when_run_now_then_skipped_and_recorded(
    state: Path, caplog: pytest.LogCaptureFixture
) -> None:
    assert invoke("schedule", "list")[0] == 0  # creates the store
    store = Store.open(f"sqlite:///{state}")
    lock = RunLock(store.engine, lock_name("sandbox"))
    try:
        assert lock.acquire(heartbeat=False)
        _code, output, error = invoke("schedule", "run-now", "--connection", "sandbox")
        assert isinstance(error, UserError)
        assert error.exit_code == 3
        assert "skipped_locked" in output
        lock.release()
        code, output, _ = invoke("schedule", "run-now", "--connection", "sandbox", "--mode", "full")
        assert code == 0, output + caplog.text
        assert "sandbox full run: success" in output
        with Session(store.engine) as session:
            runs = [(r.trigger, r.outcome) for r in session.scalars(select(RunRow).order_by(RunRow.id))]
        assert runs == [("manual", "skipped_locked"), ("manual", "success")]
    finally:
        lock.release()
        store.close()


def test_given_a_schedule_when_the_same_one_is_added_again_then_it_is_refused_naming_it(state: Path) -> None:
    assert invoke("schedule", "add", "-c", "sandbox", "--cron", "0 2 * * *", "--tz", "Europe/Berlin")[0] == 0

    # when: the same schedule again (spelt differently), and then one that differs only in its time zone
    again = ("--cron", "0  2 * * sun-sat", "--tz", "Europe/Berlin")
    _code, _output, error = invoke("schedule", "add", "-c", "sandbox", *again)
    other_zone = invoke("schedule", "add", "-c", "sandbox", "--cron", "0 2 * * *", "--tz", "Asia/Tokyo")

    # then: the copy is refused, naming the schedule it repeats; the other is added
    assert isinstance(error, UserError)
    assert "sandbox already has this schedule (id 1: incremental, every day at 02:00" in str(error)
    assert other_zone[0] == 0, other_zone[1]
    code, output, _ = invoke("schedule", "list", "-c", "sandbox")
    assert code == 0, output
    assert output.count("Europe/Berlin") == 1



@pytest.mark.parametrize("every", ["1h30m", "1m"])
def test_given_an_interval_schedule_when_added_then_its_first_next_run_is_the_one_list_shows(
    state: Path, every: str
) -> None:
    added_at = datetime.now(UTC).replace(second=0, microsecond=0)
    code, added, _ = invoke("schedule", "add", "--connection", "sandbox", "--every", every)
    _, listed, _ = invoke("schedule", "list", "--connection", "sandbox")

    assert code == 0, added
    shown = re.findall(r"│ \w{3} (\d{4}-\d\d-\d\d \d\d:\d\d)", added)  # the UTC column of the next runs
    listed_next = re.findall(r"│ (\d{4}-\d\d-\d\d \d\d:\d\d) ", listed)
    assert len(shown) == 3
    assert listed_next == [shown[0]]
    assert datetime.strptime(shown[0], "%Y-%m-%d %H:%M").replace(tzinfo=UTC) > added_at
