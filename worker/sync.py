"""The sync engine: `run_sync` reads, assesses, plans, applies and records one run for one connection.

Data flows one way, chunk by chunk, so memory stays flat however large the book: the connector yields a
chunk of deals, core assesses and plans each, the connector applies the chunk's non-empty plans, and the
store records the chunk (assessments, history, task keys, failures, counts) before the next chunk is read.
Chunk boundaries are checkpoints: a stop request (`should_stop`, hooked to SIGINT/SIGTERM by the caller)
ends the run there as `interrupted`. The watermark moves to the run's frozen start only when every chunk
was read and applied; deals the CRM refused are retried next run and do not hold the watermark back, while
a transient, fatal or budget error does (the next run simply reads the same window again: plans diff
against what the CRM holds, so rereading is harmless). A full run that read every chunk also forgets the
stored deals the CRM no longer returned (deleted or merged), so `commitments deals` never lists them.
A `deals` run (`commitments sync --deal ID`) reads only the deals it names, by id, and is otherwise a run
like the others (same lease, same apply, recorded alike), except that it moves no watermark and forgets
nothing: it read no window and not the whole book. The ids the CRM did not return make it `partial`.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from connectors.base import BudgetExhaustedError, Connector, ConnectorError, RecordFailure
from core.assess import assess
from core.models import Assessment, Deal, PluginTask, TaskActionKind, WritePlan
from core.plan import plan as plan_deal
from core.plan import task_key
from core.playbook import Playbook
from worker.errors import UserError
from worker.observability.redaction import safe_error_text, scrub
from worker.scheduling.lock import DEFAULT_TTL, RunLock, utc_now
from worker.store import Store
from worker.store import deals as deal_store
from worker.store import runs as run_store
from worker.store import state as state_store
from worker.sync_record import ChunkOutcome, record_chunk

log = logging.getLogger(__name__)

FAILURES_KEPT = 200  # failures returned in the result; all of them are in the store
MODES = ("incremental", "full", "deals")


class SyncAlreadyRunning(UserError):
    """Another process holds this connection's run lease."""


@dataclass
class SyncConnection:
    """Everything a run needs: the connection's name, its connector, its playbook and the store."""

    name: str
    connector: Connector
    playbook: Playbook
    store: Store


@dataclass
class ChunkReport:
    """Handed to `on_chunk` after each chunk is recorded (progress bars, dry-run plan listings)."""

    deals: list[Deal]
    assessments: list[Assessment]
    plans: list[WritePlan]
    failures: list[RecordFailure]
    counts: run_store.RunCounts


@dataclass
class SyncResult:
    run_id: int
    connection: str
    mode: str
    dry_run: bool
    outcome: str
    counts: run_store.RunCounts
    api_calls: dict[str, int]
    duration_s: float
    started_at: datetime
    watermark_before: datetime | None
    watermark_after: datetime | None
    error: str | None = None
    failures: list[RecordFailure] = field(default_factory=list)
    deals_forgotten: int = 0  # stored deals a complete full read no longer returned (deleted in the CRM)
    deals_not_found: list[str] = field(default_factory=list)  # ids a `deals` run asked for, not returned
    # Assessment warnings (a stage or pipeline the playbook does not map) -> how many deals had it: such a
    # deal is assessed as expecting nothing, which a run must say rather than pass over in silence.
    warnings: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.outcome in run_store.SUCCESS_OUTCOMES


@dataclass
class _Run:
    """The mutable state of one run while it streams."""

    connection_id: int
    run_id: int
    mode: str
    watermark_before: datetime | None
    retry_ids: set[str]
    lock: RunLock
    calls_before: Counter[str]
    counts: run_store.RunCounts = field(default_factory=run_store.RunCounts)
    failures: list[RecordFailure] = field(default_factory=list)
    deals_forgotten: int = 0
    deal_ids: tuple[str, ...] = ()  # what a `deals` run reads, and all it reads
    deals_not_found: list[str] = field(default_factory=list)
    warnings: Counter[str] = field(default_factory=Counter)

    @property
    def since(self) -> datetime | None:
        """Where the read starts: the watermark in an incremental run, the beginning in a full one."""
        return self.watermark_before if self.mode == "incremental" else None

    def read(self, connector: Connector, now: datetime) -> Iterator[list[Deal]]:
        if self.mode == "deals":
            return connector.read_deals_by_id(self.deal_ids, now)
        return connector.read_deals(self.since, now, include_ids=sorted(self.retry_ids))


def run_sync(
    connection: SyncConnection,
    now: datetime,
    *,
    mode: str = "incremental",
    deal_ids: Sequence[str] = (),
    dry_run: bool = False,
    trigger: str = "manual",
    should_stop: Callable[[], bool] = lambda: False,
    on_chunk: Callable[[ChunkReport], None] | None = None,
    clock: Callable[[], datetime] = utc_now,
    lease_ttl: timedelta = DEFAULT_TTL,
) -> SyncResult:
    """Run one sync of `connection` as of `now` (the frozen start: the read's `until` and the next
    watermark). `mode` "full" reads every deal; "incremental" reads from the watermark (a full read when
    there is none yet); "deals" reads just `deal_ids` (as the CRM returns them: `connections.deal_ids`).
    A dry run writes nothing to the CRM or the sync state and records the run as dry.
    Connector errors end the run with an outcome (never raised); anything else is recorded and re-raised.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    if (mode == "deals") != bool(deal_ids):
        raise ValueError("deal_ids are what a 'deals' run reads: given with that mode and only with it")
    started = time.perf_counter()
    run = _begin(
        connection, now, mode=mode, trigger=trigger, dry_run=dry_run, clock=clock, lease_ttl=lease_ttl
    )
    run.deal_ids = tuple(dict.fromkeys(deal_ids))  # each deal once
    outcome, error = "running", None
    try:
        outcome = _stream(connection, run, now, dry_run, should_stop, on_chunk)
        if run.deals_not_found:
            error = f"not found in the CRM: {', '.join(run.deals_not_found)}"
    except BudgetExhaustedError as exc:
        outcome, error = "budget_stopped", scrub(f"API budget exhausted, stopped before finishing: {exc}")
    except ConnectorError as exc:
        outcome, error = "failed", scrub(str(exc))  # runs.error and the summary: an SDK may echo a token
    except KeyboardInterrupt:
        outcome, error = "interrupted", "stopped by the user"
        raise
    except BaseException as exc:
        outcome, error = "failed", safe_error_text(exc)
        raise
    finally:
        api_calls = dict(connection.connector.api_calls() - run.calls_before)
        duration = time.perf_counter() - started
        _finish(connection.store, run, now, outcome, error, api_calls, duration, dry_run, clock)
    for warning, deals in sorted(run.warnings.items()):
        log.warning("sync of %s: %d deal(s): %s; such a deal expects no commitment until the playbook "
                    "maps it", connection.name, deals, warning)
    return SyncResult(
        run_id=run.run_id,
        connection=connection.name,
        mode=run.mode,
        dry_run=dry_run,
        outcome=outcome,
        counts=run.counts,
        api_calls=api_calls,
        duration_s=duration,
        started_at=now,
        watermark_before=run.watermark_before,
        watermark_after=_watermark(connection.store, run.connection_id),
        error=error,
        failures=run.failures,
        deals_forgotten=run.deals_forgotten,
        deals_not_found=run.deals_not_found,
        warnings=dict(sorted(run.warnings.items())),
    )


def _watermark(store: Store, connection_id: int) -> datetime | None:
    with store.session() as session:
        return state_store.get_watermark(session, connection_id)


def _begin(
    connection: SyncConnection,
    now: datetime,
    *,
    mode: str,
    trigger: str,
    dry_run: bool,
    clock: Callable[[], datetime],
    lease_ttl: timedelta,
) -> _Run:
    """Take the connection's run lease, close runs a dead process left open, and insert the run row."""
    lock = _take_lease(connection, clock, lease_ttl)
    try:
        with connection.store.session() as session:
            row = run_store.ensure_connection(session, connection.name, connection.connector.crm, now)
            run_store.close_abandoned_runs(session, row.id, clock())
            watermark = state_store.get_watermark(session, row.id)
            effective = "full" if mode == "incremental" and watermark is None else mode
            retry_ids = set(state_store.pending_retry_ids(session, row.id))
            run_row = run_store.start_run(
                session, row.id, mode=effective, trigger=trigger, dry_run=dry_run, started_at=now
            )
    except BaseException:
        lock.release()
        raise
    return _Run(
        connection_id=row.id,
        run_id=run_row.id,
        mode=effective,
        watermark_before=watermark,
        retry_ids=retry_ids,
        lock=lock,
        calls_before=connection.connector.api_calls(),
    )


def _take_lease(connection: SyncConnection, clock: Callable[[], datetime], ttl: timedelta) -> RunLock:
    """The lease `sync:NAME`, renewed by a heartbeat while the run lasts (the scheduler's own `run:NAME`
    lock sits around it). A lease left by a killed process on this machine is taken over at once rather
    than after it expires (`RunLock.acquire`), so a rerun after a crash need not wait."""
    lock = RunLock(connection.store.engine, f"sync:{connection.name}", ttl=ttl, clock=clock)
    if lock.acquire():
        return lock
    raise SyncAlreadyRunning(
        f"a sync of connection {connection.name!r} is already running; wait for it to finish"
    )


def _stream(
    connection: SyncConnection,
    run: _Run,
    now: datetime,
    dry_run: bool,
    should_stop: Callable[[], bool],
    on_chunk: Callable[[ChunkReport], None] | None,
) -> str:
    """Process every chunk; returns the outcome of a run that was not stopped by an error."""
    unseen = set(run.deal_ids if run.mode == "deals" else run.retry_ids)  # ids asked for, not returned yet
    present: set[str] = set()  # every id a full read returns: what is not among them is gone from the CRM
    chunks = run.read(connection.connector, now)
    try:
        for deals in chunks:
            if should_stop() or run.lock.lost.is_set():
                return "interrupted"
            report = _process_chunk(connection, run, deals, now, dry_run)
            # a deal the connector could not read is still in the CRM: retried, never forgotten
            returned = [deal.id for deal in deals] + [f.deal_id for f in unreadable(deals)]
            unseen.difference_update(returned)
            if run.mode == "full":
                present.update(returned)
            _checkpoint(connection, run)
            if on_chunk is not None:
                on_chunk(report)
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()
    gone_retries = unseen & run.retry_ids
    if not dry_run and gone_retries:
        # A deal queued for retry that the CRM no longer returns was deleted or merged: stop asking.
        with connection.store.session() as session:
            state_store.clear_retries(session, run.connection_id, gone_retries)
    if not dry_run and run.mode == "full":
        with connection.store.session() as session:
            run.deals_forgotten = deal_store.forget_deals_not_in(session, run.connection_id, present)
    run.deals_not_found = [deal_id for deal_id in run.deal_ids if deal_id in unseen]
    return "partial" if run.counts.failures or run.deals_not_found else "success"


def unreadable(deals: list[Deal]) -> list[RecordFailure]:
    """The records of a chunk the connector could not make deals of (a plain list of deals has none)."""
    return list(getattr(deals, "unreadable", ()))


def _process_chunk(
    connection: SyncConnection, run: _Run, deals: list[Deal], now: datetime, dry_run: bool
) -> ChunkReport:
    playbook = connection.playbook
    assessments = [assess(deal, playbook, now) for deal in deals]
    run.warnings.update(warning for a in assessments for warning in a.warnings)
    deals = _with_plugin_completions(connection, run.connection_id, deals, assessments)
    plans = [plan_deal(a, deal, playbook, now) for a, deal in zip(assessments, deals, strict=True)]
    plans = _without_created_tasks(connection, run.connection_id, deals, assessments, plans, now)
    to_write = [p for p in plans if not p.is_empty]
    unread = unreadable(deals)
    counts = run.counts
    # Counted before applying: a run that fails in this chunk's writes still tells what it read.
    counts.deals_read += len(deals) + len(unread)
    counts.deals_assessed += len(assessments)
    counts.deals_changed += len(to_write)
    outcome = ChunkOutcome.planned(to_write)
    if to_write and not dry_run:
        try:
            outcome = ChunkOutcome.from_apply(to_write, connection.connector.apply(to_write, playbook))
        except ConnectorError as stop:
            # The apply stopped part-way (budget spent, credentials revoked): the run ends with this error,
            # but what the chunk wrote before it is counted and recorded first. No deal it had to write
            # leaves the retry queue, as which of them were written in full is not known.
            written = ChunkOutcome.stopped(to_write, stop.written)
            _count(run, unread, written)
            nothing_to_write = run.retry_ids - {p.deal_id for p in to_write}
            try:
                _record(connection, run, deals, assessments, to_write, written, now, nothing_to_write)
            except Exception as exc:  # the run reports the stop; the next run rereads this chunk anyway
                log.warning("could not record the chunk the run stopped in: %s", safe_error_text(exc))
            raise
    _count(run, unread, outcome)
    if not dry_run:
        _record(connection, run, deals, assessments, to_write, outcome, now, run.retry_ids)
    return ChunkReport(deals, assessments, plans, outcome.failures, counts)


def _count(run: _Run, unread: list[RecordFailure], outcome: ChunkOutcome) -> None:
    """Add what a chunk wrote and failed (its unreadable records first) to the run's counts and failures."""
    outcome.failures[:0] = unread
    counts = run.counts
    counts.fields_written += outcome.fields_written
    counts.tasks_created += outcome.tasks_created
    counts.tasks_completed += outcome.tasks_completed
    counts.tasks_reopened += outcome.tasks_reopened
    counts.failures += len(outcome.failures)
    room = FAILURES_KEPT - len(run.failures)
    run.failures.extend(outcome.failures[: max(room, 0)])


def _record(
    connection: SyncConnection,
    run: _Run,
    deals: list[Deal],
    assessments: list[Assessment],
    to_write: list[WritePlan],
    outcome: ChunkOutcome,
    now: datetime,
    pending: set[str],
) -> None:
    """Record the chunk in the store; the deals of `pending` that did not fail leave the retry queue."""
    with connection.store.session() as session:
        record_chunk(
            session, run.connection_id, run.run_id, deals, assessments, to_write, outcome, now, pending
        )


def _without_created_tasks(
    connection: SyncConnection,
    connection_id: int,
    deals: list[Deal],
    assessments: list[Assessment],
    plans: list[WritePlan],
    now: datetime,
) -> list[WritePlan]:
    """The plans, re-planned where one would create a task the plugin created before but the CRM no longer
    returns (a rep deleted it, or edited its key away): core never creates a key twice when it sees the
    key, so those deals are planned again with the stored task as a closed one (never reopened: the CRM no
    longer has it). One query per chunk, and only when the chunk creates tasks."""
    creates = {action.key for p in plans for action in p.tasks if action.kind is TaskActionKind.CREATE}
    if not creates:
        return plans
    with connection.store.session() as session:
        known = {
            key: PluginTask(task_id=row.task_id, key=key, commitment=row.commitment, is_open=False)
            for key, row in state_store.created_task_keys(session, connection_id, creates).items()
        }
    if not known:
        return plans
    replanned = []
    for deal, assessment, planned in zip(deals, assessments, plans, strict=True):
        gone = tuple(
            known[action.key]
            for action in planned.tasks
            if action.kind is TaskActionKind.CREATE and action.key in known
        )
        if gone:
            deal = deal.model_copy(update={"plugin_tasks": deal.plugin_tasks + gone})
            planned = plan_deal(assessment, deal, connection.playbook, now)
            missing = {task.key for task in gone}
            kept = [a for a in planned.tasks if a.kind is not TaskActionKind.REOPEN or a.key not in missing]
            planned = planned.model_copy(update={"tasks": tuple(kept)})
        replanned.append(planned)
    return replanned


def _with_plugin_completions(
    connection: SyncConnection, connection_id: int, deals: list[Deal], assessments: list[Assessment]
) -> list[Deal]:
    """The deals, each closed plugin task marked when the plugin completed it (its commitment was secured;
    the CRM does not say who closed a task), where that decides a reopening: the task of a deal's next
    commitment is closed, none is open, and the deal's "secured" field no longer names the commitment (it
    was lost while the task for a later one was open). One query per chunk, and only when a deal is so."""
    asked: dict[str, int] = {}  # the task key -> the deal's position
    for position, (deal, assessment) in enumerate(zip(deals, assessments, strict=True)):
        target = assessment.next
        if target is None or deal.is_lost or target in (deal.current.secured or ()):
            continue
        if any(t.is_open for t in deal.plugin_tasks):
            continue
        key = task_key(deal.id, target)
        if any(t.key == key and not t.completed_by_plugin for t in deal.plugin_tasks):
            asked[key] = position
    if not asked:
        return deals
    with connection.store.session() as session:
        completed = state_store.plugin_completed(session, connection_id, asked)
    marked = list(deals)
    for key in completed:
        deal = marked[asked[key]]
        tasks = tuple(t.model_copy(update={"completed_by_plugin": True}) if t.key == key else t
                      for t in deal.plugin_tasks)
        marked[asked[key]] = deal.model_copy(update={"plugin_tasks": tasks})
    return marked


def _checkpoint(connection: SyncConnection, run: _Run) -> None:
    with connection.store.session() as session:
        calls = connection.connector.api_calls() - run.calls_before
        run_store.save_progress(session, run.run_id, run.counts, calls)


def _finish(
    store: Store,
    run: _Run,
    now: datetime,
    outcome: str,
    error: str | None,
    api_calls: dict[str, int],
    duration: float,
    dry_run: bool,
    clock: Callable[[], datetime],
) -> None:
    try:
        with store.session() as session:
            if outcome in run_store.SUCCESS_OUTCOMES and not dry_run and run.mode != "deals":
                current = state_store.get_watermark(session, run.connection_id)
                state_store.set_watermark(session, run.connection_id, max(now, current or now), clock())
            run_store.finish_run(
                session,
                run.run_id,
                outcome=outcome if outcome != "running" else "failed",
                counts=run.counts,
                api_calls=Counter(api_calls),
                finished_at=clock(),
                duration_s=duration,
                error=error,
            )
    finally:
        run.lock.release()
