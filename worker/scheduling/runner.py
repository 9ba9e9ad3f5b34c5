"""One run of one connection under its run lock: skip (recorded) when locked, else sync and count.

`Runner.run(request, should_stop)` is what a scheduled fire, a catch-up and `schedule run-now` call. It
takes the connection's `RunLock`; when another process or thread holds it, the run is recorded as
`skipped_locked` (a row in `runs`, a log line, a metric) instead of running twice. Otherwise it binds the
run's log context, calls the sync function (by default: open the configured connection and `run_sync`),
feeds the result into the metrics and releases the lock. `should_stop` reaches the sync engine, which
stops at its next chunk checkpoint (SIGTERM, or the lease was lost).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import timedelta

from sqlalchemy.orm import Session

from core.playbook import PlaybookError
from worker.errors import UserError
from worker.observability.logs import run_context
from worker.observability.metrics import METRICS, Metrics
from worker.observability.redaction import safe_error_text
from worker.scheduling.lock import DEFAULT_TTL, Clock, RunLock, lock_name, utc_now
from worker.scheduling.schedules import newest_run_id, record_failed_start, record_skipped
from worker.settings import Settings, load_settings
from worker.store import Store
from worker.store import runs as run_store
from worker.sync import SyncAlreadyRunning, SyncResult

log = logging.getLogger(__name__)

StopCheck = Callable[[], bool]


@dataclass(frozen=True)
class RunRequest:
    connection: str
    crm: str
    mode: str
    trigger: str  # schedule | catchup | manual


SyncFn = Callable[[RunRequest, StopCheck], SyncResult]


def _connection_settings(name: str) -> Settings:
    return load_settings(only=name)


def settings_sync(store: Store, load: Callable[[str], Settings] = _connection_settings) -> SyncFn:
    """The production sync function: load the settings, open the named connection and run the sync engine.

    The settings are read again for every run, as the playbook is: a long-running worker then uses a
    password or token rotated in the connections file, secrets file or secrets directory, and stops
    syncing a connection removed from the file (its runs fail, naming it), without a restart. `load` is
    given the run's connection: a problem in another connection of the file (a new one whose secret is not
    set yet) fails that connection's runs only.
    """
    from worker.connections import open_connection
    from worker.sync import run_sync

    def sync(request: RunRequest, should_stop: StopCheck) -> SyncResult:
        with open_connection(load(request.connection), request.connection, store) as connection:
            return run_sync(
                connection, utc_now(), mode=request.mode, trigger=request.trigger, should_stop=should_stop
            )

    return sync


class Runner:
    def __init__(
        self,
        store: Store,
        sync: SyncFn,
        *,
        metrics: Metrics = METRICS,
        clock: Clock = utc_now,
        lock_ttl: timedelta = DEFAULT_TTL,
    ) -> None:
        self.store = store
        self.sync = sync
        self.metrics = metrics
        self.clock = clock
        self.lock_ttl = lock_ttl

    def run(self, request: RunRequest, should_stop: StopCheck = lambda: False) -> str:
        """Run the request unless the connection is locked; returns the run's outcome."""
        correlation = uuid.uuid4().hex[:12]
        with run_context(
            run_id=correlation, connection=request.connection, mode=request.mode, trigger=request.trigger
        ):
            lock = RunLock(
                self.store.engine, lock_name(request.connection), ttl=self.lock_ttl, clock=self.clock
            )
            if not lock.acquire():
                return self._skip(request, f"another run holds the lock (owner {lock.holder() or 'unknown'})")
            self.metrics.running.inc()
            try:
                return self._sync(request, lambda: should_stop() or lock.lost.is_set())
            except SyncAlreadyRunning as exc:
                return self._skip(request, str(exc))
            finally:
                self.metrics.running.dec()
                lock.release()

    def _sync(self, request: RunRequest, should_stop: StopCheck) -> str:
        log.info("sync started")
        newest_before = newest_run_id(self.store.engine, request.connection)
        try:
            result = self.sync(request, should_stop)
        except SyncAlreadyRunning:
            raise  # a `commitments sync` holds the sync lease: `run` records it as skipped_locked
        except (UserError, PlaybookError) as exc:
            log.error("sync failed: %s", exc)  # a setting or file to fix; the message says which
            return self._failed(request, str(exc), newest_before)
        except Exception as exc:
            log.error("sync crashed: %s", safe_error_text(exc), exc_info=True)
            return self._failed(request, safe_error_text(exc), newest_before)
        self.metrics.record_run(
            connection=request.connection,
            mode=result.mode,
            trigger=request.trigger,
            outcome=result.outcome,
            duration_s=result.duration_s,
            counts=asdict(result.counts),
            api_calls=result.api_calls,
            started_at=result.started_at,
        )
        # A failed run is an error an alert should catch; a stopped one (budget, shutdown) only a warning.
        failed = result.outcome == "failed"
        level = logging.INFO if result.ok else logging.ERROR if failed else logging.WARNING
        log.log(
            level,
            "sync finished: run %s %s%s in %.1fs, %d deals assessed, %d fields written, %d tasks created%s%s",
            result.run_id,
            result.outcome,
            f" as a {result.mode} run" if result.mode != request.mode else "",  # no watermark yet: a full one
            result.duration_s,
            result.counts.deals_assessed,
            result.counts.fields_written,
            result.counts.tasks_created,
            f", {result.deals_forgotten} deals gone from the CRM forgotten" if result.deals_forgotten else "",
            f"; {result.error}" if result.error else "",
        )
        return result.outcome

    def _failed(self, request: RunRequest, reason: str, newest_before: int) -> str:
        """Count the failed run, and record it when the sync engine had not (see `record_failed_start`)."""
        record_failed_start(
            self.store.engine, request.connection, request.crm, mode=request.mode,
            trigger=request.trigger, now=self.clock(), reason=reason, newest_before=newest_before,
        )
        self.metrics.record_run(
            connection=request.connection, mode=request.mode, trigger=request.trigger, outcome="failed"
        )
        return "failed"

    def _skip(self, request: RunRequest, reason: str) -> str:
        now = self.clock()
        with Session(self.store.engine) as session, session.begin():
            connection = run_store.ensure_connection(session, request.connection, request.crm, now)
            record_skipped(
                session, connection.id, mode=request.mode, trigger=request.trigger, now=now, reason=reason
            )
        self.metrics.record_run(
            connection=request.connection,
            mode=request.mode,
            trigger=request.trigger,
            outcome="skipped_locked",
        )
        log.warning("sync skipped: %s", reason)
        return "skipped_locked"
