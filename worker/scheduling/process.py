"""The worker process: an APScheduler 3.11 BackgroundScheduler driven by our `schedules` table.

Set up as the APScheduler notes recommend: UTC, an in-memory job store rebuilt from our tables (no pickled
state, no job store shared between processes), `coalesce=True`, `max_instances=1` and
`misfire_grace_time=None` (a late run still runs; the 1 s default silently skips it). At start: give new
connections their default schedules, build one job per schedule, then catch up connections whose last
success is older than a period. While running: poll the table every few seconds and reconcile the jobs
(add, reschedule, pause, resume, remove), so CLI edits take effect without a restart. Job errors, misfires
and max-instance skips are logged and counted. A full run firing while the worker's own incremental run of
the connection is going runs right after it instead of being skipped. `stop()` drains: no new runs start,
the running ones are asked to stop at their next chunk checkpoint, and the scheduler is shut down only
after they return; a run that was due meanwhile is caught up at the next start because its last success
is old.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_MAX_INSTANCES, EVENT_JOB_MISSED, JobExecutionEvent
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import STATE_RUNNING, STATE_STOPPED
from sqlalchemy import text
from sqlalchemy.orm import Session

from worker.errors import UserError
from worker.observability.health import HealthState
from worker.observability.metrics import METRICS, Metrics
from worker.observability.redaction import safe_error_text
from worker.scheduling.catchup import CatchUp, catch_up_runs
from worker.scheduling.lock import Clock, utc_now
from worker.scheduling.model import ScheduleSpec, build_trigger, describe
from worker.scheduling.runner import Runner, RunRequest
from worker.scheduling.schedules import (
    Schedule,
    is_builtin_sandbox,
    last_success_by_mode,
    list_schedules,
    seed_defaults,
)
from worker.store import Store
from worker.store import runs as run_store

log = logging.getLogger(__name__)

_EVENTS = {EVENT_JOB_ERROR: "error", EVENT_JOB_MISSED: "missed", EVENT_JOB_MAX_INSTANCES: "max_instances"}


@dataclass
class Reconciled:
    added: list[str] = field(default_factory=list)
    rescheduled: list[str] = field(default_factory=list)
    paused: list[str] = field(default_factory=list)
    resumed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return any((self.added, self.rescheduled, self.paused, self.resumed, self.removed))


def job_id(schedule_id: int) -> str:
    return f"schedule:{schedule_id}"


class Worker:
    def __init__(
        self,
        store: Store,
        runner: Runner,
        *,
        connections: Callable[[], list[tuple[str, str]]] = list,
        sandboxes: Callable[[], bool] = lambda: True,
        clock: Clock = utc_now,
        metrics: Metrics = METRICS,
        poll_seconds: float = 5.0,
        max_parallel_runs: int = 4,
        health: HealthState | None = None,
    ) -> None:
        self.store = store
        self.runner = runner
        self.connections = connections  # configured (name, crm) pairs that get default schedules
        self.sandboxes = sandboxes  # whether the built-in sandboxes' schedules run (no connection configured)
        self._idle_sandbox_schedules: set[int] = set()  # said once each
        self._seeded: set[tuple[str, str]] = set()
        self.clock = clock
        self.metrics = metrics
        self.poll_seconds = poll_seconds
        self._last_poll = clock()
        self.draining = threading.Event()
        self.scheduler = BackgroundScheduler(
            timezone=UTC,
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
            executors={"default": ThreadPoolExecutor(max_workers=max_parallel_runs)},
        )
        self.scheduler.add_listener(
            self._on_event, EVENT_JOB_ERROR | EVENT_JOB_MISSED | EVENT_JOB_MAX_INSTANCES
        )
        self._signatures: dict[str, tuple[int, str, ScheduleSpec, bool]] = {}
        # Runs this worker has going (connection -> mode), and full runs waiting for one of them to end.
        self._running: dict[str, str] = {}
        self._deferred: dict[str, tuple[str, str, str]] = {}
        self._runs_lock = threading.Lock()
        self.health = health or HealthState()
        self.health.draining = self.draining
        self.health.scheduler_alive = self._scheduler_thread_alive
        self.health.scheduler_running = lambda: self.scheduler.state == STATE_RUNNING
        self.health.database_ok = self._database_ok

    # ------------------------------------------------------------------------------------------- lifecycle

    def start(self, *, paused: bool = False) -> list[CatchUp]:
        """Seed defaults, start the scheduler, build the jobs and queue the catch-up runs."""
        self.seed_defaults()
        self.scheduler.start(paused=paused)
        self.reconcile()
        self.restore_last_success()
        due = self.catch_up()
        self.health.tick()
        return due

    def resume(self) -> None:
        """Let the jobs of a worker started paused run (those due meanwhile run now)."""
        self.scheduler.resume()

    def serve(self, stop: threading.Event) -> None:
        """The main loop: tick the liveness clock, poll the schedules table, until `stop` is set."""
        while not stop.wait(min(1.0, self.poll_seconds)):
            self.health.tick()
            if self._poll_due():
                for step in (self.seed_added_connections, self.reconcile):
                    try:
                        step()
                    except Exception as exc:  # the DB may blip; readiness reports it, the loop keeps going
                        log.warning("could not reload schedules: %s", safe_error_text(exc))

    def stop(self) -> None:
        """Drain: refuse new runs, ask running ones to checkpoint and stop, wait for them, shut down."""
        if self.draining.is_set():
            return
        self.draining.set()
        log.info("stopping: no new runs; waiting for running syncs to reach a checkpoint")
        if self.scheduler.state != STATE_STOPPED:
            self.scheduler.pause()
            # without jobs, APScheduler's last pass after shutdown() has nothing to submit (its shutdown race)
            self.scheduler.remove_all_jobs()
            self.scheduler.shutdown(wait=True)
        log.info("worker stopped")

    # ---------------------------------------------------------------------------------------- schedules

    def seed_defaults(self) -> set[str]:
        """Give each configured connection seen for the first time the default schedules; their names."""
        now = self.clock()
        connections = self.connections()
        seeded: set[str] = set()
        with Session(self.store.engine) as session, session.begin():
            for name, crm in connections:
                try:
                    row = run_store.ensure_connection(session, name, crm, now)
                except UserError as exc:  # e.g. the name now names another CRM: the others still get theirs
                    log.warning("connection %s: no default schedules: %s", name, exc)
                    continue
                for schedule in seed_defaults(session, row.id, now):
                    log.info("connection %s: added default %s schedule %s", name, schedule.mode, schedule.id)
                    seeded.add(name)
        self._seeded = set(connections)
        return seeded

    def seed_added_connections(self) -> None:
        """A connection added to the configuration while the worker runs (the `connections` callable
        re-reads the file when it changes) gets its default schedules and, as at a start, its first run now
        rather than at the schedule's next fire."""
        if not self._seeded.issuperset(self.connections()):
            added = self.seed_defaults()
            if added:
                self.catch_up(added)

    def schedules(self) -> list[Schedule]:
        """The schedules this worker runs: all of them, but the built-in sandboxes' once a connection is
        configured (each said once, with how to remove it)."""
        with Session(self.store.engine) as session:
            schedules = list_schedules(session)
        if self.sandboxes():
            return schedules
        idle = [s for s in schedules if is_builtin_sandbox(s.connection, self.connections())]
        for schedule in idle:
            if schedule.id not in self._idle_sandbox_schedules:
                self._idle_sandbox_schedules.add(schedule.id)
                log.info(
                    "schedule %s of the built-in sandbox %r is not run while connections are configured; "
                    "remove it with `commitments schedule remove %s`", schedule.id, schedule.connection,
                    schedule.id,
                )
        return [s for s in schedules if s not in idle]

    def reconcile(self) -> Reconciled:
        """Make the scheduler's jobs match the schedules table."""
        self._last_poll = self.clock()
        changes = Reconciled()
        desired = {job_id(s.id): s for s in self.schedules()}
        for jid in set(self._signatures) - set(desired):
            self.scheduler.remove_job(jid)
            del self._signatures[jid]
            changes.removed.append(jid)
        for jid, schedule in desired.items():
            self._apply(jid, schedule, changes)
        if changes:
            log.info("schedules reloaded: %s", _summary(changes))
        return changes

    def _apply(self, jid: str, schedule: Schedule, changes: Reconciled) -> None:
        signature = (schedule.connection_id, schedule.connection, schedule.spec, schedule.paused)
        previous = self._signatures.get(jid)
        if previous == signature:
            return
        args = [schedule.connection, schedule.crm, schedule.mode, "schedule"]
        name = f"{schedule.connection} {schedule.mode}: {describe(schedule.spec)}"
        if previous is None:
            self.scheduler.add_job(
                self.fire, build_trigger(schedule.spec), id=jid, name=name, args=args, replace_existing=True
            )
            changes.added.append(jid)
        elif previous[:3] != signature[:3]:
            self.scheduler.modify_job(jid, name=name, args=args)
            self.scheduler.reschedule_job(jid, trigger=build_trigger(schedule.spec))
            changes.rescheduled.append(jid)
        if schedule.paused and (previous is None or not previous[3]):
            self.scheduler.pause_job(jid)
            changes.paused.append(jid)
        elif not schedule.paused and previous is not None and previous[3]:
            self.scheduler.resume_job(jid)
            changes.resumed.append(jid)
        self._signatures[jid] = signature

    def restore_last_success(self) -> None:
        """Expose each scheduled connection's last success from the run history, so that after a restart
        the staleness alert on `last_success_timestamp_seconds` works before (or without) a new success."""
        names = {s.connection_id: s.connection for s in self.schedules()}
        with Session(self.store.engine) as session:
            history = last_success_by_mode(session)
        newest: dict[int, datetime] = {}
        for (connection_id, _mode), started in history.items():
            if connection_id in names:
                newest[connection_id] = max(started, newest.get(connection_id, started))
        for connection_id, started in newest.items():
            self.metrics.last_success.labels(names[connection_id]).set(started.timestamp())

    def catch_up(self, connections: Collection[str] | None = None) -> list[CatchUp]:
        """Queue one immediate run per connection (of `connections`, default all) that missed one while the
        worker was down, or never ran."""
        now = self.clock()
        active = [s for s in self.schedules() if not s.paused]
        if connections is not None:
            active = [s for s in active if s.connection in connections]
        with Session(self.store.engine) as session:
            history = last_success_by_mode(session)
        due = catch_up_runs([(s.connection_id, s.spec) for s in active], history, now)
        by_connection = {s.connection_id: s for s in active}
        for run in due:
            schedule = by_connection[run.connection_id]
            log.info("catching up %s (%s): %s", schedule.connection, run.mode, run.reason)
            self.scheduler.add_job(
                self.fire,
                "date",
                run_date=now,
                id=f"catchup:{run.connection_id}",
                name=f"{schedule.connection} {run.mode}: catch-up",
                args=[schedule.connection, schedule.crm, run.mode, "catchup"],
                replace_existing=True,
            )
        return due

    # ------------------------------------------------------------------------------------------ running

    def fire(self, connection: str, crm: str, mode: str, trigger: str) -> str:
        """The job function: one run of `connection`, unless the worker is draining.

        A full run that fires while this worker's incremental run of the connection is going waits for it
        and runs right after: skipped (as runs that find the lock taken are), the nightly full run would
        be lost until the next night, as catch-up only looks at the run history when the worker starts.
        Other fires that find the connection busy are skipped and recorded by the runner: the run going
        covers them (a full run covers an incremental one), or another process holds the lock."""
        if self.draining.is_set():
            log.info(
                "not starting %s %s run: the worker is stopping; it is caught up at next start",
                connection,
                mode,
            )
            return "not_started"
        with self._runs_lock:
            going = self._running.get(connection)
            if going == "incremental" and mode == "full":
                self._deferred[connection] = (crm, mode, trigger)
                log.info("%s full run deferred: it runs when the incremental run going now ends", connection)
                return "deferred"
            if going is None:
                self._running[connection] = mode
        if going is not None:
            return self._run(connection, crm, mode, trigger)  # skipped_locked, recorded
        try:
            return self._run(connection, crm, mode, trigger)
        finally:
            with self._runs_lock:
                del self._running[connection]
                deferred = self._deferred.pop(connection, None)
            if deferred is not None and not self.draining.is_set():  # when draining, catch-up runs it
                self.scheduler.add_job(
                    self.fire, "date", run_date=self.clock(), id=f"deferred:{connection}",
                    name=f"{connection} full: deferred", args=[connection, *deferred], replace_existing=True,
                )

    def _run(self, connection: str, crm: str, mode: str, trigger: str) -> str:
        return self.runner.run(RunRequest(connection, crm, mode, trigger), should_stop=self.draining.is_set)

    def _on_event(self, event: JobExecutionEvent) -> None:
        kind = _EVENTS.get(event.code, str(event.code))
        self.metrics.scheduler_events.labels(kind).inc()
        if event.code == EVENT_JOB_ERROR:
            log.error("job %s failed: %s", event.job_id, safe_error_text(event.exception))
        elif event.code == EVENT_JOB_MISSED:
            log.warning("job %s missed its run time %s", event.job_id, event.scheduled_run_time)
        else:
            log.warning("job %s still running at its next fire time; that fire was skipped", event.job_id)

    # ------------------------------------------------------------------------------------------- health

    def _poll_due(self) -> bool:
        return (self.clock() - self._last_poll).total_seconds() >= self.poll_seconds

    def _scheduler_thread_alive(self) -> bool:
        thread = getattr(self.scheduler, "_thread", None)
        return bool(thread is not None and thread.is_alive())

    def _database_ok(self) -> bool:
        with self.store.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return True


def _summary(changes: Reconciled) -> str:
    parts = [f"{name} {', '.join(ids)}" for name, ids in vars(changes).items() if ids]
    return "; ".join(parts)
