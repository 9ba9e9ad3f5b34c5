"""The worker process with a controlled clock: schedules become jobs, fire, catch up after downtime, follow
CLI edits, and never run one connection twice at once (threads with separate engines, SQLite and
PostgreSQL). Job functions are called directly; APScheduler is started paused, so nothing fires by itself.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from connectors.base import FatalError
from connectors.memory import MemoryConnector
from core.playbook import Playbook, PlaybookError
from tests.worker.conftest import NOW, make_deal
from tests.worker.test_sync import Clock
from worker.observability.metrics import Metrics
from worker.scheduling.lock import utc_now
from worker.scheduling.model import ScheduleSpec
from worker.scheduling.process import Worker, job_id
from worker.scheduling.runner import Runner, RunRequest, StopCheck
from worker.scheduling.schedules import add_schedule, list_schedules, remove_schedule, set_paused
from worker.store import Store
from worker.store import runs as run_store
from worker.store import state as state_store
from worker.store.models import RunRow, ScheduleRow
from worker.sync import SyncConnection, SyncResult, run_sync


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture
def crm(clock: Clock) -> MemoryConnector:
    return MemoryConnector([make_deal(f"D{i}") for i in range(5)], chunk_size=2, clock=clock)


def memory_sync(store: Store, crm: MemoryConnector, playbook: Playbook, clock: Clock):  # type: ignore[no-untyped-def]
    def sync(request: RunRequest, should_stop: StopCheck) -> SyncResult:
        connection = SyncConnection(request.connection, crm, playbook, store)
        return run_sync(
            connection, clock(), mode=request.mode, trigger=request.trigger, should_stop=should_stop
        )

    return sync


@pytest.fixture
def worker(store: Store, crm: MemoryConnector, playbook: Playbook, clock: Clock) -> Iterator[Worker]:
    runner = Runner(store, memory_sync(store, crm, playbook, clock), metrics=Metrics(), clock=clock)
    worker = Worker(
        store, runner, connections=lambda: [("acme", "memory")], clock=clock, metrics=runner.metrics
    )
    yield worker
    worker.stop()


def runs(store: Store) -> list[tuple[str, str, str]]:
    with Session(store.engine) as session:
        rows = session.scalars(select(RunRow).order_by(RunRow.id))
        return [(r.mode, r.trigger, r.outcome) for r in rows]


def test_given_new_connection_when_worker_starts_then_defaults_scheduled_and_caught_up(
    worker: Worker,
) -> None:
    due = worker.start(paused=True)
    jobs = {job.id: job for job in worker.scheduler.get_jobs()}
    schedules = worker.schedules()
    assert [(s.mode, s.spec.kind, s.spec.interval_seconds, s.spec.cron) for s in schedules] == [
        ("incremental", "interval", 900, None),
        ("full", "cron", None, "0 2 * * *"),
    ]
    assert set(jobs) == {job_id(s.id) for s in schedules} | {f"catchup:{schedules[0].connection_id}"}
    assert [(d.mode, d.due_since) for d in due] == [("full", None)]  # never succeeded: one full run at once


def test_given_jobs_when_fired_then_runs_recorded_with_their_trigger(
    worker: Worker, store: Store, clock: Clock
) -> None:
    worker.start(paused=True)
    catchup = worker.scheduler.get_job(f"catchup:{worker.schedules()[0].connection_id}")
    assert catchup.func(*catchup.args) == "success"
    clock.advance(minutes=15)
    incremental = worker.scheduler.get_job(job_id(worker.schedules()[0].id))
    assert incremental.func(*incremental.args) == "success"
    assert runs(store) == [("full", "catchup", "success"), ("incremental", "schedule", "success")]


def _succeeded(store: Store, connection: str, mode: str, started: datetime) -> None:
    with store.session() as session:
        row = run_store.ensure_connection(session, connection, "memory", started)
        run = run_store.start_run(
            session, row.id, mode=mode, trigger="schedule", dry_run=False, started_at=started
        )
        run.outcome, run.finished_at = "success", started + timedelta(minutes=1)


def test_given_downtime_when_worker_restarts_then_only_stale_connection_catches_up(
    worker: Worker, store: Store, clock: Clock
) -> None:
    worker.seed_defaults()
    _succeeded(store, "acme", "full", NOW - timedelta(hours=7))  # 02:00 UTC today: the nightly ran
    _succeeded(store, "acme", "incremental", NOW - timedelta(minutes=10))
    assert worker.start(paused=True) == []
    worker.stop()

    clock.advance(hours=3)  # the worker was down for three hours
    later = Worker(store, worker.runner, connections=worker.connections, clock=clock, metrics=Metrics())
    try:
        due = later.start(paused=True)
        # interval fires are anchored at the schedule's creation (NOW): the first missed one is NOW itself
        assert [(d.mode, d.due_since) for d in due] == [("incremental", NOW)]
    finally:
        later.stop()


def test_given_a_success_before_a_restart_when_worker_starts_then_last_success_metric_is_exposed(
    worker: Worker, store: Store
) -> None:
    # given: the connection last succeeded before this process started (and fails from now on)
    worker.seed_defaults()
    _succeeded(store, "acme", "full", NOW - timedelta(hours=7))
    _succeeded(store, "acme", "incremental", NOW - timedelta(minutes=10))
    metrics = Metrics()
    restarted = Worker(
        store, worker.runner, connections=worker.connections, clock=worker.clock, metrics=metrics
    )

    # when: the restarted worker starts
    try:
        restarted.start(paused=True)
        value = metrics.registry.get_sample_value(
            "commitments_last_success_timestamp_seconds", {"connection": "acme"}
        )
    finally:
        restarted.stop()

    # then: the staleness alert `time() - last_success > 2 * period` has a series to work on
    assert value == (NOW - timedelta(minutes=10)).timestamp()


def test_given_cli_edits_when_worker_polls_then_jobs_follow(
    worker: Worker, store: Store, clock: Clock
) -> None:
    worker.start(paused=True)
    incremental, full = worker.schedules()
    with store.session() as session:
        set_paused(session, incremental.id, True, clock())
    changes = worker.reconcile()
    assert changes.paused == [job_id(incremental.id)]
    assert worker.scheduler.get_job(job_id(incremental.id)).next_run_time is None

    with store.session() as session:
        set_paused(session, incremental.id, False, clock())
        added = add_schedule(
            session,
            incremental.connection_id,
            ScheduleSpec("full", "cron", cron="30 2 * * 1-5", timezone="Europe/Berlin"),
            clock(),
        )
        remove_schedule(session, full.id)  # after the add: SQLite reuses the highest id once freed
    changes = worker.reconcile()
    assert (changes.resumed, changes.removed, changes.added) == (
        [job_id(incremental.id)],
        [job_id(full.id)],
        [job_id(added.id)],
    )
    assert worker.scheduler.get_job(job_id(incremental.id)).next_run_time is not None
    assert worker.scheduler.get_job(job_id(full.id)) is None
    assert not worker.reconcile()  # nothing changed since


def test_given_fall_back_day_when_worker_job_computes_fires_then_0230_berlin_fires_once(
    worker: Worker, store: Store
) -> None:
    worker.start(paused=True)
    with store.session() as session:
        connection_id = list_schedules(session)[0].connection_id
        row = add_schedule(
            session,
            connection_id,
            ScheduleSpec("full", "cron", cron="30 2 * * *", timezone="Europe/Berlin"),
            NOW,
        )
    worker.reconcile()
    trigger = worker.scheduler.get_job(job_id(row.id)).trigger
    fires, previous, now = [], None, datetime(2026, 10, 24, 12, tzinfo=UTC)
    while len(fires) < 3:
        fire = trigger.get_next_fire_time(previous, now)
        fires.append(fire.astimezone(UTC))
        previous, now = fire, fire.astimezone(UTC) + timedelta(milliseconds=3)  # as APScheduler's loop asks
    assert [f.isoformat() for f in fires] == [
        "2026-10-25T00:30:00+00:00",
        "2026-10-26T01:30:00+00:00",
        "2026-10-27T01:30:00+00:00",
    ]


def test_given_worker_draining_when_job_fires_then_no_run_starts(worker: Worker, store: Store) -> None:
    worker.start(paused=True)
    job = worker.scheduler.get_job(job_id(worker.schedules()[0].id))
    worker.stop()
    assert job.func(*job.args) == "not_started"
    assert runs(store) == []


# ---------------------------------------------------------------------------------------------- overlap


def second_store(store: Store) -> Store:
    """Another engine (its own pool and connections) on the same database, as a second process has."""
    if store.engine.dialect.name == "sqlite":
        return Store.open(store.engine.url.render_as_string(hide_password=False), run_migrations=False)
    with store.engine.connect() as connection:
        search_path = connection.execute(text("SHOW search_path")).scalar()
    return Store.open(
        store.engine.url.render_as_string(hide_password=False),
        run_migrations=False,
        connect_args={"options": f"-csearch_path={search_path}"},
    )


def held_sync(
    inner: Callable[[RunRequest, StopCheck], SyncResult], modes: tuple[str, ...] = ("incremental", "full")
) -> tuple[Callable[[RunRequest, StopCheck], SyncResult], threading.Event, threading.Event]:
    """`inner`, held (for runs of `modes`) until `release` is set; `entered` tells the run is going."""
    entered, release = threading.Event(), threading.Event()

    def sync(request: RunRequest, should_stop: StopCheck) -> SyncResult:
        if request.mode in modes:
            entered.set()
            assert release.wait(10)
        return inner(request, should_stop)

    return sync, entered, release


def test_given_two_runners_with_separate_engines_when_same_connection_then_one_runs_other_skips(
    store: Store, crm: MemoryConnector, playbook: Playbook, clock: Clock
) -> None:
    inner = memory_sync(store, crm, playbook, clock)
    slow_sync, entered, release = held_sync(inner)
    other = second_store(store)
    metrics = Metrics()
    first = Runner(store, slow_sync, metrics=metrics, clock=clock)
    second = Runner(other, inner, metrics=metrics, clock=clock)
    request = RunRequest("acme", "memory", "incremental", "schedule")
    outcomes: list[str] = []
    thread = threading.Thread(target=lambda: outcomes.append(first.run(request)))
    try:
        thread.start()
        assert entered.wait(10)
        assert second.run(request) == "skipped_locked"
        release.set()
        thread.join(10)
        assert outcomes == ["success"]
        assert second.run(request) == "success"  # the lock is free again
    finally:
        release.set()
        other.close()
    assert runs(store) == [
        ("incremental", "schedule", "skipped_locked"),
        ("full", "schedule", "success"),  # the first run of a connection is a full read
        ("incremental", "schedule", "success"),
    ]
    exposition = metrics.exposition().decode()
    assert 'commitments_lock_contention_total{connection="acme"} 1.0' in exposition


def test_given_an_incremental_run_going_when_the_full_schedule_fires_then_the_full_run_follows_it(
    store: Store, crm: MemoryConnector, playbook: Playbook, clock: Clock
) -> None:
    slow_incremental, entered, release = held_sync(memory_sync(store, crm, playbook, clock), ("incremental",))
    runner = Runner(store, slow_incremental, metrics=Metrics(), clock=clock)
    worker = Worker(
        store, runner, connections=lambda: [("acme", "memory")], clock=clock, metrics=runner.metrics
    )
    outcomes: list[str] = []
    try:
        worker.start(paused=True)
        catchup = worker.scheduler.get_job(f"catchup:{worker.schedules()[0].connection_id}")
        assert catchup.func(*catchup.args) == "success"
        incremental, full = (worker.scheduler.get_job(job_id(s.id)) for s in worker.schedules())
        clock.advance(hours=2)
        thread = threading.Thread(target=lambda: outcomes.append(incremental.func(*incremental.args)))
        thread.start()
        assert entered.wait(10)

        assert full.func(*full.args) == "deferred"  # the nightly run fires while the incremental one goes
        release.set()
        thread.join(10)
        deferred = worker.scheduler.get_job("deferred:acme")
        assert deferred is not None
        assert deferred.func(*deferred.args) == "success"
    finally:
        release.set()
        worker.stop()
    assert outcomes == ["success"]
    assert runs(store) == [
        ("full", "catchup", "success"),
        ("incremental", "schedule", "success"),
        ("full", "schedule", "success"),  # not skipped: it ran once the incremental run ended
    ]


def test_given_a_manual_sync_holding_the_sync_lease_when_the_runner_runs_then_skipped_and_recorded(
    store: Store, crm: MemoryConnector, playbook: Playbook, clock: Clock
) -> None:
    with Session(store.engine) as session, session.begin():  # `commitments sync` running in another shell
        assert state_store.acquire_lease(session, "sync:acme", "cli-sync", utc_now(), timedelta(minutes=5))
    runner = Runner(store, memory_sync(store, crm, playbook, clock), metrics=Metrics(), clock=clock)

    outcome = runner.run(RunRequest("acme", "memory", "incremental", "schedule"))

    assert outcome == "skipped_locked"
    assert runs(store) == [("incremental", "schedule", "skipped_locked")]


def test_given_a_playbook_error_when_the_runner_runs_then_one_log_line_and_no_traceback(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(request: RunRequest, should_stop: StopCheck) -> SyncResult:
        raise PlaybookError("config/missing.yaml: no such playbook file")

    with caplog.at_level(logging.ERROR):
        outcome = Runner(store, broken, metrics=Metrics()).run(RunRequest("acme", "memory", "full", "manual"))

    assert outcome == "failed"
    [record] = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert record.getMessage() == "sync failed: config/missing.yaml: no such playbook file"
    assert record.exc_info is None


def test_given_a_playbook_error_before_the_sync_starts_when_the_runner_runs_then_the_failure_is_in_runs(
    store: Store,
) -> None:
    # given: the connection's playbook file broke after its last successful run
    _succeeded(store, "acme", "incremental", NOW - timedelta(minutes=15))

    def broken(request: RunRequest, should_stop: StopCheck) -> SyncResult:
        raise PlaybookError("config/acme.yaml: no such playbook file")

    # when: the scheduled run fires
    runner = Runner(store, broken, metrics=Metrics())
    outcome = runner.run(RunRequest("acme", "memory", "incremental", "schedule"))

    # then: `commitments runs` and `schedule list` show the failure and why, not the old success
    assert outcome == "failed"
    with Session(store.engine) as session:
        newest = session.scalars(select(RunRow).order_by(RunRow.id.desc())).first()
    assert newest is not None
    assert (newest.mode, newest.trigger, newest.outcome) == ("incremental", "schedule", "failed")
    assert newest.error == "config/acme.yaml: no such playbook file"
    assert newest.finished_at is not None


def test_given_a_sync_that_recorded_its_own_failure_when_the_runner_runs_then_it_is_recorded_once(
    store: Store, crm: MemoryConnector, playbook: Playbook, clock: Clock
) -> None:
    inner = memory_sync(store, crm, playbook, clock)

    def crashing(request: RunRequest, should_stop: StopCheck) -> SyncResult:
        crm.apply = None  # type: ignore[assignment, method-assign]  # crashes inside run_sync, after its row
        return inner(request, should_stop)

    assert Runner(store, crashing, metrics=Metrics(), clock=clock).run(
        RunRequest("acme", "memory", "full", "schedule")
    ) == "failed"
    assert runs(store) == [("full", "schedule", "failed")]


def test_given_a_run_the_crm_fails_when_the_runner_runs_then_its_end_is_logged_as_an_error(
    store: Store, crm: MemoryConnector, playbook: Playbook, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    crm.fail_read_after_chunks = (0, FatalError("the CRM said no"))
    runner = Runner(store, memory_sync(store, crm, playbook, clock), metrics=Metrics(), clock=clock)

    with caplog.at_level(logging.INFO, logger="worker.scheduling.runner"):
        outcome = runner.run(RunRequest("acme", "memory", "full", "schedule"))

    assert outcome == "failed"
    (finished,) = [r for r in caplog.records if r.getMessage().startswith("sync finished")]
    assert finished.levelno == logging.ERROR  # what an alert on error-level logs catches
    assert "the CRM said no" in finished.getMessage()


# ------------------------------------------------------------------------------- the live scheduler loop


def _eventually(check: Callable[[], bool], seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


def test_given_running_scheduler_when_started_then_catch_up_fires_on_its_own(
    worker: Worker, store: Store
) -> None:
    worker.start()  # not paused: APScheduler runs the due catch-up job in its thread pool
    _eventually(lambda: runs(store) == [("full", "catchup", "success")])


def test_given_serving_worker_when_schedule_paused_then_loop_picks_it_up(
    store: Store, crm: MemoryConnector, playbook: Playbook
) -> None:
    runner = Runner(store, memory_sync(store, crm, playbook, Clock(NOW)), metrics=Metrics())
    live = Worker(
        store, runner, connections=lambda: [("acme", "memory")], poll_seconds=0.05, metrics=Metrics()
    )
    stop = threading.Event()
    live.start(paused=True)
    loop = threading.Thread(target=live.serve, args=(stop,))
    loop.start()
    try:
        schedule = live.schedules()[0]
        with store.session() as session:
            set_paused(session, schedule.id, True, NOW)
        _eventually(lambda: live.scheduler.get_job(job_id(schedule.id)).next_run_time is None)
        with store.session() as session:
            set_paused(session, schedule.id, False, NOW)
        _eventually(lambda: live.scheduler.get_job(job_id(schedule.id)).next_run_time is not None)
        assert live.health.liveness() == {"scheduler_thread": True, "loop_ticked": True}
    finally:
        stop.set()
        loop.join(5)
        live.stop()
    assert live.health.readiness()["not_draining"] is False


def test_given_serving_worker_when_a_connection_is_added_to_the_configuration_then_it_is_scheduled_and_run(
    store: Store, crm: MemoryConnector, playbook: Playbook
) -> None:
    configured = [("acme", "memory")]
    runner = Runner(store, memory_sync(store, crm, playbook, Clock(NOW)), metrics=Metrics())
    live = Worker(store, runner, connections=lambda: list(configured), poll_seconds=0.05, metrics=Metrics())
    stop = threading.Event()
    live.start(paused=True)
    loop = threading.Thread(target=live.serve, args=(stop,))
    loop.start()
    try:
        assert {s.connection for s in live.schedules()} == {"acme"}
        configured.append(("beta", "memory"))
        expected = ["acme", "acme", "beta", "beta"]  # each with the incremental and the full default
        _eventually(lambda: sorted(s.connection for s in live.schedules()) == expected)
        _eventually(lambda: all(live.scheduler.get_job(job_id(s.id)) is not None for s in live.schedules()))
        # and its first run now, as a connection new at a start gets: not at its schedule's next fire
        catch_ups = sorted(job.name for job in live.scheduler.get_jobs() if job.id.startswith("catchup:"))
        assert catch_ups == ["acme full: catch-up", "beta full: catch-up"]
    finally:
        stop.set()
        loop.join(5)
        live.stop()


def test_given_job_raising_when_scheduler_runs_it_then_error_event_logged_and_counted(
    worker: Worker, caplog: pytest.LogCaptureFixture
) -> None:
    def broken() -> None:
        raise RuntimeError("boom access_token=abc123456789")

    worker.start()
    worker.scheduler.add_job(broken, "date", run_date=datetime.now(UTC), id="broken")
    _eventually(lambda: "job broken failed" in caplog.text)
    assert "RuntimeError: boom access_token=***" in caplog.text
    assert 'commitments_scheduler_events_total{event="error"} 1.0' in worker.metrics.exposition().decode()


def test_given_schedule_row_edited_into_nonsense_when_loaded_then_skipped_with_error(
    worker: Worker, store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    worker.start(paused=True)
    broken, kept = worker.schedules()
    with store.session() as session:
        row = session.get(ScheduleRow, kept.id)
        assert row is not None
        row.cron, row.timezone = "61 * * * *", "Mars/Olympus"
    assert [s.id for s in worker.schedules()] == [broken.id]
    assert f"schedule {kept.id} of acme is invalid" in caplog.text
    assert worker.reconcile().removed == [job_id(kept.id)]


def _pid_of_a_finished_process() -> int:
    import subprocess
    import sys

    finished = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, check=True
    )
    return int(finished.stdout)


@pytest.mark.parametrize("previous", ["killed_process", "same_pid_earlier_process"])
def test_given_run_lease_left_by_a_worker_killed_moments_ago_when_restarted_worker_runs_then_not_skipped(
    store: Store, crm: MemoryConnector, playbook: Playbook, clock: Clock, previous: str
) -> None:
    import os
    import socket

    # given: a worker killed mid-run (or a container restarted with the same pid 1) left its unexpired lease
    pid = _pid_of_a_finished_process() if previous == "killed_process" else os.getpid()
    with Session(store.engine) as session, session.begin():
        assert state_store.acquire_lease(
            session, "run:acme", f"{socket.gethostname()}:{pid}:0dead0", utc_now(), timedelta(seconds=90)
        )
    runner = Runner(store, memory_sync(store, crm, playbook, clock), metrics=Metrics(), clock=clock)

    # when: the restarted worker's catch-up run starts
    outcome = runner.run(RunRequest("acme", "memory", "full", "catchup"))

    # then: it runs instead of being recorded as skipped_locked until the next fire
    assert outcome == "success"
    assert runs(store) == [("full", "catchup", "success")]


def test_given_run_lease_held_by_a_live_process_when_runner_runs_then_skipped(
    store: Store, crm: MemoryConnector, playbook: Playbook, clock: Clock
) -> None:
    import os
    import socket

    alive = f"{socket.gethostname()}:{os.getppid()}:alive0"  # pytest's parent process
    with Session(store.engine) as session, session.begin():
        assert state_store.acquire_lease(session, "run:acme", alive, utc_now(), timedelta(seconds=90))
    runner = Runner(store, memory_sync(store, crm, playbook, clock), metrics=Metrics(), clock=clock)

    assert runner.run(RunRequest("acme", "memory", "full", "catchup")) == "skipped_locked"


def test_given_a_first_incremental_run_when_it_finishes_then_the_log_says_it_ran_as_a_full_one(
    worker: Worker, store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    # no watermark yet: the engine reads everything, and runs and metrics say "full"
    with caplog.at_level(logging.INFO, logger="worker.scheduling.runner"):
        outcome = worker.runner.run(RunRequest("acme", "memory", "incremental", "manual"))

    assert outcome == "success"
    assert runs(store) == [("full", "manual", "success")]
    assert " success as a full run in " in caplog.text


def test_given_a_connection_name_that_now_names_another_crm_when_seeding_then_the_others_still_get_theirs(
    store: Store, crm: MemoryConnector, playbook: Playbook, caplog: pytest.LogCaptureFixture
) -> None:
    with store.session() as session:
        old = run_store.ensure_connection(session, "acme", "hubspot", NOW)
        state_store.set_watermark(session, old.id, NOW, NOW)  # it synced HubSpot: the name stays HubSpot's
    runner = Runner(store, memory_sync(store, crm, playbook, Clock(NOW)), metrics=Metrics())
    configured = [("acme", "memory"), ("beta", "memory")]
    both = Worker(store, runner, connections=lambda: configured, metrics=Metrics())

    with caplog.at_level(logging.WARNING):
        both.start(paused=True)
    both.stop()

    assert {s.connection for s in both.schedules()} == {"beta"}
    assert "connection acme: no default schedules: connection 'acme' is a hubspot connection" in caplog.text


@pytest.mark.parametrize(("configured", "sandbox_runs"), [(True, False), (False, True)])
def test_given_the_builtin_sandbox_has_schedules_when_a_connection_is_configured_then_they_no_longer_run(
    store: Store, crm: MemoryConnector, playbook: Playbook, caplog: pytest.LogCaptureFixture,
    configured: bool, sandbox_runs: bool,
) -> None:
    with store.session() as session:  # what `make run` and `schedule list` left before the CRM was set up
        sandbox = run_store.ensure_connection(session, "sandbox", "salesforce", NOW)
        spec = ScheduleSpec("incremental", "interval", interval_seconds=900)
        sandbox_schedule = add_schedule(session, sandbox.id, spec, NOW)
        session.flush()
        sandbox_id = sandbox_schedule.id
    runner = Runner(store, memory_sync(store, crm, playbook, Clock(NOW)), metrics=Metrics())
    worker = Worker(
        store, runner, connections=lambda: [("acme", "memory")] if configured else [],
        sandboxes=lambda: not configured, clock=Clock(NOW), metrics=Metrics(),
    )

    with caplog.at_level(logging.INFO, logger="worker.scheduling.process"):
        due = worker.start(paused=True)
        worker.reconcile()
    jobs = {job.id for job in worker.scheduler.get_jobs()}
    worker.stop()

    assert (job_id(sandbox_id) in jobs) is sandbox_runs
    assert any(run.connection_id == sandbox.id for run in due) is sandbox_runs  # no catch-up run either
    said = f"schedule {sandbox_id} of the built-in sandbox 'sandbox' is not run while connections are"
    assert caplog.text.count(said) == (0 if sandbox_runs else 1)  # once, not at every reload
