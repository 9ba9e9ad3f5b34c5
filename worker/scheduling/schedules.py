"""Schedules in the state store: add, list, pause, resume, remove, defaults for a new connection.

The `schedules` table is the source of truth; the worker's APScheduler jobs are rebuilt from it. A
connection gets the default schedules (incremental every 15 minutes, full nightly) the first time the
scheduler sees it; `schedule_seeds` remembers that, so an admin who removes them is not overruled later.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from pathlib import Path

from sqlalchemy import Engine, ForeignKey, delete, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from worker.errors import UserError
from worker.observability.redaction import safe_error_text
from worker.scheduling.cron import CronError, parse_cron
from worker.scheduling.model import MODES, Mode, ScheduleError, ScheduleSpec, default_specs
from worker.settings import (
    SANDBOX_CONNECTIONS,
    ConnectionSettings,
    Settings,
    config_location,
    load_settings,
)
from worker.store import runs as run_store
from worker.store.models import Base, ConnectionRow, RunRow, ScheduleRow

log = logging.getLogger(__name__)


class ScheduleSeedRow(Base):
    """Migration 0002: a connection whose default schedules were created once."""

    __tablename__ = "schedule_seeds"

    connection_id: Mapped[int] = mapped_column(
        ForeignKey("connections.id", ondelete="CASCADE"), primary_key=True
    )
    seeded_at: Mapped[datetime]


@dataclass(frozen=True)
class Schedule:
    """A schedule row joined with its connection's name, as the worker and the CLI use it."""

    id: int
    connection_id: int
    connection: str
    crm: str
    spec: ScheduleSpec
    paused: bool
    updated_at: datetime

    @property
    def mode(self) -> Mode:
        return self.spec.mode


def spec_of(row: ScheduleRow) -> ScheduleSpec:
    return ScheduleSpec(
        mode=row.mode,  # type: ignore[arg-type]
        kind=row.kind,  # type: ignore[arg-type]
        cron=row.cron,
        timezone=row.timezone,
        interval_seconds=row.interval_seconds,
        anchor=row.created_at,
    )


def list_schedules(session: Session, connection: str | None = None) -> list[Schedule]:
    """Every schedule (of one connection), skipping rows that no longer make sense (an edited cron, a time
    zone gone from the system's tz database) with an error naming them, so one bad row stops nothing else."""
    query = (
        select(ScheduleRow, ConnectionRow.name, ConnectionRow.crm)
        .join(ConnectionRow, ScheduleRow.connection_id == ConnectionRow.id)
        .order_by(ConnectionRow.name, ScheduleRow.id)
    )
    if connection is not None:
        query = query.where(ConnectionRow.name == connection)
    schedules = []
    for row, name, crm in session.execute(query):
        try:
            spec = spec_of(row)
        except (ScheduleError, CronError) as exc:
            log.error(
                "schedule %s of %s is invalid and is ignored: %s; remove and re-add it", row.id, name, exc
            )
            continue
        schedules.append(Schedule(row.id, row.connection_id, name, crm, spec, row.paused, row.updated_at))
    return schedules


def add_schedule(session: Session, connection_id: int, spec: ScheduleSpec, now: datetime) -> ScheduleRow:
    row = ScheduleRow(
        connection_id=connection_id,
        mode=spec.mode,
        kind=spec.kind,
        cron=spec.cron,
        timezone=spec.timezone,
        interval_seconds=spec.interval_seconds,
        paused=False,
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    _mark_seeded(session, connection_id, now)  # an admin's own schedule replaces the defaults
    session.flush()
    return row


def same_schedule(session: Session, connection_id: int, spec: ScheduleSpec) -> ScheduleRow | None:
    """The connection's schedule that fires exactly as `spec` would, if it has one: a second one would fire
    alongside it and always be skipped, the connection's lock being taken."""

    def fires(kind: str, cron: str | None, timezone: str, interval: int | None) -> tuple[object, ...]:
        if kind != "cron" or not cron:
            return (kind, interval)
        try:
            return (parse_cron(cron).fire_times, timezone)
        except CronError:  # a stored row an earlier version let through: listed as invalid, equal to nothing
            return (kind, cron)

    wanted = fires(spec.kind, spec.cron, spec.timezone, spec.interval_seconds)
    rows = session.scalars(
        select(ScheduleRow).where(ScheduleRow.connection_id == connection_id, ScheduleRow.mode == spec.mode)
    )
    return next((r for r in rows if fires(r.kind, r.cron, r.timezone, r.interval_seconds) == wanted), None)


def seed_defaults(
    session: Session, connection_id: int, now: datetime, timezone: str = "UTC"
) -> list[ScheduleRow]:
    """Give a connection seen for the first time the default schedules; no-op ever after."""
    if session.get(ScheduleSeedRow, connection_id) is not None:
        return []
    has_schedules = session.scalar(
        select(func.count()).select_from(ScheduleRow).where(ScheduleRow.connection_id == connection_id)
    )
    rows = (
        []
        if has_schedules
        else [add_schedule(session, connection_id, s, now) for s in default_specs(now, timezone)]
    )
    _mark_seeded(session, connection_id, now)
    return rows


def _mark_seeded(session: Session, connection_id: int, now: datetime) -> None:
    if session.get(ScheduleSeedRow, connection_id) is None:
        session.add(ScheduleSeedRow(connection_id=connection_id, seeded_at=now))


def _get(session: Session, schedule_id: int) -> ScheduleRow:
    row = session.get(ScheduleRow, schedule_id)
    if row is None:
        raise UserError(f"no schedule with id {schedule_id}; see `commitments schedule list`")
    return row


def set_paused(session: Session, schedule_id: int, paused: bool, now: datetime) -> ScheduleRow:
    row = _get(session, schedule_id)
    if row.paused != paused:
        row.paused = paused
        row.updated_at = now
    return row


def remove_schedule(session: Session, schedule_id: int) -> None:
    _get(session, schedule_id)
    session.execute(delete(ScheduleRow).where(ScheduleRow.id == schedule_id))


def last_success_by_mode(session: Session) -> dict[tuple[int, Mode], datetime]:
    """Start time of each connection's newest successful non-dry run, per schedulable mode (a `sync --deal`
    run, mode `deals`, synced a few deals only: it does not make a connection's sync any less stale)."""
    query = (
        select(RunRow.connection_id, RunRow.mode, func.max(RunRow.started_at))
        .where(
            RunRow.outcome.in_(run_store.SUCCESS_OUTCOMES),
            RunRow.dry_run.is_(False),
            RunRow.mode.in_(MODES),
        )
        .group_by(RunRow.connection_id, RunRow.mode)
    )
    return {(cid, mode): started for cid, mode, started in session.execute(query)}  # type: ignore[misc]


def last_outcomes(session: Session) -> dict[tuple[int, str], tuple[str, datetime]]:
    """The newest run's outcome and start per (connection, mode), any trigger."""
    newest = (
        select(RunRow.connection_id, RunRow.mode, func.max(RunRow.id).label("id"))
        .group_by(RunRow.connection_id, RunRow.mode)
        .subquery()
    )
    query = select(RunRow).join(newest, RunRow.id == newest.c.id)
    return {(r.connection_id, r.mode): (r.outcome, r.started_at) for r in session.scalars(query)}


def record_skipped(
    session: Session, connection_id: int, *, mode: str, trigger: str, now: datetime, reason: str
) -> int:
    """A run that did not happen because another one held the connection's lock: visible in `runs`."""
    return _record_unstarted(session, connection_id, "skipped_locked", mode, trigger, now, reason)


def record_failed(
    session: Session, connection_id: int, *, mode: str, trigger: str, now: datetime, reason: str,
    dry_run: bool = False,
) -> int:
    """A run that failed before the sync engine recorded it (it could not even start): visible in `runs`."""
    return _record_unstarted(session, connection_id, "failed", mode, trigger, now, reason, dry_run)


def newest_run_id(engine: Engine, connection: str) -> int:
    """The id of the connection's newest run (0 when it has none): taken before a run, it tells afterwards
    whether the sync engine recorded that run."""
    with Session(engine) as session:
        found = run_store.find_connection(session, connection)
        newest = run_store.last_run(session, found.id) if found is not None else None
        return newest.id if newest is not None else 0


def record_failed_start(
    engine: Engine, connection: str, crm: str, *, mode: str, trigger: str, now: datetime, reason: str,
    newest_before: int, dry_run: bool = False,
) -> None:
    """Record a failed run when it failed before the sync engine recorded one (a broken playbook file, a
    settings mistake, a rejected login, a sandbox that would not start), so `commitments runs` and
    `schedule list` show the failure instead of the last success. Never raises: the caller is already
    reporting the failure itself, which must not be hidden by a second one while recording it."""
    try:
        if newest_run_id(engine, connection) != newest_before:
            return  # the engine recorded the run and its failure itself
        with Session(engine) as session, session.begin():
            row = run_store.ensure_connection(session, connection, crm, now)
            record_failed(
                session, row.id, mode=mode, trigger=trigger, now=now, reason=reason, dry_run=dry_run
            )
    except Exception as exc:  # e.g. the name now belongs to another CRM: the failure itself says why
        log.warning("could not record the failed run: %s", safe_error_text(exc))


def _record_unstarted(
    session: Session, connection_id: int, outcome: str, mode: str, trigger: str, now: datetime, reason: str,
    dry_run: bool = False,
) -> int:
    row = run_store.start_run(
        session, connection_id, mode=mode, trigger=trigger, dry_run=dry_run, started_at=now
    )
    row.outcome, row.finished_at, row.duration_s = outcome, now, 0.0
    row.error = reason[: run_store.ERROR_LIMIT]
    session.flush()
    return row.id


def scheduled_connections(settings: Settings) -> list[tuple[str, str]]:
    """(name, crm) of the connections that get default schedules: the configured ones, or, with none
    configured, the default sandbox connection (not when the file's only connections were left out for a
    problem: a worker never syncs the sandbox in place of a connection being set up)."""
    if settings.connections or settings.set_aside:
        return [(name, conn.crm.crm) for name, conn in settings.connections.items()]
    return [(name, crm_of(settings, name)) for name in [settings.connection(None).name]]


def is_builtin_sandbox(name: str, configured: list[tuple[str, str]]) -> bool:
    """`name` is one of the built-in sandbox connections, not a configured connection of that name."""
    return name in SANDBOX_CONNECTIONS and all(name != configured_name for configured_name, _ in configured)


def sandboxes_run(settings: Settings) -> bool:
    """Whether the built-in sandbox connections' schedules run: only while no connection is configured. A
    schedule the sandbox got while an admin tried the product (`make run`, `schedule list`) would otherwise
    keep syncing a fake CRM next to the real one."""
    return not (settings.connections or settings.set_aside)


class WatchedConnections:
    """`scheduled_connections(settings)`, read again whenever the connections file changes (or appears):
    what a running worker seeds default schedules from, so a connection added to the file is scheduled
    without a restart. Cheap to call at every poll: one stat until the file changes."""

    def __init__(
        self,
        settings: Settings,
        load: Callable[[], Settings] = partial(load_settings, lenient=True),
        where: Callable[[], Path] = config_location,
    ) -> None:
        self._load, self._where = load, where
        self._stamp = _stamp(where())
        self._connections = self._scheduled(settings)
        self._sandboxes = sandboxes_run(settings)

    def __call__(self) -> list[tuple[str, str]]:
        stamp = _stamp(self._where())
        if stamp != self._stamp:
            self._stamp = stamp  # first: a file broken mid-edit is reported once, not at every poll
            settings = self._load()
            self._connections = self._scheduled(settings)
            self._sandboxes = sandboxes_run(settings)
        return list(self._connections)

    def sandboxes_run(self) -> bool:
        """`sandboxes_run` for the settings as last read."""
        self()
        return self._sandboxes

    @staticmethod
    def _scheduled(settings: Settings) -> list[tuple[str, str]]:
        # A connection with a problem is left out of the settings, not of the schedules it already has: its
        # runs fail, recorded with the reason, while the others go on. Said at every (re)load, once.
        for problem in settings.set_aside:
            log.error("a connection is not synced until this is fixed (its runs fail): %s", problem)
        empty = settings.empty_file()
        if empty:
            log.warning(empty)
        return scheduled_connections(settings)


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        status = path.stat()
    except OSError:
        return None
    return status.st_mtime_ns, status.st_size


def crm_of(settings: Settings, name: str) -> str:
    target = settings.connection(name)
    return target.crm.crm if isinstance(target, ConnectionSettings) else target.crm_name
