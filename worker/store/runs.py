"""Connections and sync runs in the state store: who syncs, and what each run did.

A run row is inserted as `running` when a sync starts, its counts are saved at every chunk boundary (so a
killed run still shows how far it got) and it is closed with an outcome. A run left `running` by a process
that died is closed as `interrupted` by the next run of the same connection.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, fields
from datetime import datetime

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from connectors.base import RecordFailure
from worker.errors import UserError
from worker.observability.redaction import scrub
from worker.store.models import (
    CommitmentHistoryRow,
    ConnectionRow,
    DealAssessmentRow,
    PendingRetryRow,
    RunFailureRow,
    RunRow,
    TaskKeyRow,
    WatermarkRow,
)

OUTCOMES = ("running", "success", "partial", "failed", "budget_stopped", "interrupted")
SUCCESS_OUTCOMES = ("success", "partial")  # a run that finished; "partial": some records refused
FAILURE_MESSAGE_LIMIT = 2000
ERROR_LIMIT = 4000


@dataclass
class RunCounts:
    """The counters a run accumulates chunk by chunk (the same names as the `runs` columns)."""

    deals_read: int = 0
    deals_assessed: int = 0
    deals_changed: int = 0
    fields_written: int = 0
    tasks_created: int = 0
    tasks_completed: int = 0
    tasks_reopened: int = 0
    failures: int = 0

    @classmethod
    def of(cls, row: RunRow) -> RunCounts:
        return cls(**{f.name: getattr(row, f.name) for f in fields(cls)})


def ensure_connection(session: Session, name: str, crm: str, now: datetime) -> ConnectionRow:
    """The connection's row, created on first use. A name cannot silently switch CRMs once it holds CRM
    data: its watermark, task keys and assessments belong to the CRM it was first synced with. A name that
    holds none yet (only schedules, or runs that failed before reading a deal) follows the file's `crm`."""
    row = find_connection(session, name)
    if row is None:
        row = ConnectionRow(name=name, crm=crm, created_at=now)
        session.add(row)
        session.flush()
    elif row.crm != crm and not _holds_crm_data(session, row.id):
        row.crm = crm
        session.flush()
    elif row.crm != crm:
        raise UserError(
            f"connection {name!r} is a {row.crm} connection in the state store but is now configured as "
            f"{crm}; give the new connection another name"
        )
    return row


def _holds_crm_data(session: Session, connection_id: int) -> bool:
    tables = (WatermarkRow, PendingRetryRow, TaskKeyRow, DealAssessmentRow, CommitmentHistoryRow)
    return any(
        session.scalar(select(table.connection_id).where(table.connection_id == connection_id).limit(1))
        is not None
        for table in tables
    )


def find_connection(session: Session, name: str) -> ConnectionRow | None:
    return session.scalars(select(ConnectionRow).where(ConnectionRow.name == name)).one_or_none()


def start_run(
    session: Session, connection_id: int, *, mode: str, trigger: str, dry_run: bool, started_at: datetime
) -> RunRow:
    row = RunRow(
        connection_id=connection_id,
        mode=mode,
        trigger=trigger,
        dry_run=dry_run,
        started_at=started_at,
        outcome="running",
        api_calls={},
        **asdict(RunCounts()),
    )
    session.add(row)
    session.flush()
    return row


def save_progress(session: Session, run_id: int, counts: RunCounts, api_calls: Mapping[str, int]) -> None:
    values = {**asdict(counts), "api_calls": dict(api_calls)}
    session.execute(update(RunRow).where(RunRow.id == run_id).values(**values))


def finish_run(
    session: Session,
    run_id: int,
    *,
    outcome: str,
    counts: RunCounts,
    api_calls: Mapping[str, int],
    finished_at: datetime,
    duration_s: float,
    error: str | None = None,
) -> None:
    if outcome not in OUTCOMES:
        raise ValueError(f"unknown run outcome {outcome!r}")
    save_progress(session, run_id, counts, api_calls)
    session.execute(
        update(RunRow)
        .where(RunRow.id == run_id)
        .values(
            outcome=outcome,
            finished_at=finished_at,
            duration_s=duration_s,
            error=error[:ERROR_LIMIT] if error else None,
        )
    )


def add_failures(session: Session, run_id: int, failures: Iterable[RecordFailure]) -> None:
    rows = [
        {
            "run_id": run_id,
            "deal_id": f.deal_id,
            "operation": f.operation,
            "code": f.code,
            # The CRM's own words, which an SDK or a proxy may have filled with what the request carried.
            "message": scrub(f.message)[:FAILURE_MESSAGE_LIMIT],
        }
        for f in failures
    ]
    if rows:
        session.execute(insert(RunFailureRow), rows)


def close_abandoned_runs(session: Session, connection_id: int, now: datetime) -> int:
    """Mark runs still `running` as interrupted; call only while holding the connection's run lease."""
    result = session.execute(
        update(RunRow)
        .where(RunRow.connection_id == connection_id, RunRow.outcome == "running")
        .values(
            outcome="interrupted",
            finished_at=now,
            error="the process running this sync stopped before it finished",
        )
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def recent_runs(
    session: Session, connection_name: str | None = None, limit: int = 20
) -> list[tuple[RunRow, str]]:
    """The newest runs first, each with its connection's name."""
    query = (
        select(RunRow, ConnectionRow.name)
        .join(ConnectionRow, RunRow.connection_id == ConnectionRow.id)
        .order_by(RunRow.started_at.desc(), RunRow.id.desc())
        .limit(limit)
    )
    if connection_name is not None:
        query = query.where(ConnectionRow.name == connection_name)
    return [(run, name) for run, name in session.execute(query)]


def failures_of(session: Session, run_id: int, limit: int = 50) -> list[RunFailureRow]:
    query = (
        select(RunFailureRow).where(RunFailureRow.run_id == run_id).order_by(RunFailureRow.id).limit(limit)
    )
    return list(session.scalars(query))


def last_run(session: Session, connection_id: int, *, outcomes: Iterable[str] = OUTCOMES) -> RunRow | None:
    query = (
        select(RunRow)
        .where(RunRow.connection_id == connection_id, RunRow.outcome.in_(tuple(outcomes)))
        .order_by(RunRow.started_at.desc(), RunRow.id.desc())
        .limit(1)
    )
    return session.scalars(query).one_or_none()


def last_stored_run(session: Session, connection_id: int) -> RunRow | None:
    """The connection's newest run that could have stored assessments (not a dry run, not one going on):
    whether it succeeded says whether the stored assessments are the ones in the CRM."""
    query = (
        select(RunRow)
        .where(
            RunRow.connection_id == connection_id,
            RunRow.outcome.in_(tuple(o for o in OUTCOMES if o != "running")),
            RunRow.dry_run.is_(False),
        )
        .order_by(RunRow.started_at.desc(), RunRow.id.desc())
        .limit(1)
    )
    return session.scalars(query).one_or_none()
