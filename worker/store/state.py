"""Per-connection sync state: the watermark, deals to retry, the plugin's task keys and run leases.

The watermark is the CRM modification time from which the next incremental read starts; it only ever moves
to a run's frozen start. Pending retries are deals whose writes the CRM refused; the next run reads them
again whatever their modification time. Task keys record every task the plugin created (after the CRM
confirmed the create, or when a later run finds it in the CRM because the creating run died first): the
CRM's copy of the key prevents duplicates, and the store's keeps a task a rep deleted from being created
again. A lease (`locks` row) keeps two processes from syncing one connection at the same time; a holder
that dies lets it expire.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from worker.store.db import upsert
from worker.store.models import LockRow, PendingRetryRow, TaskKeyRow, WatermarkRow

REASON_LIMIT = 1000

# ---------------------------------------------------------------------------------------------- watermark


def get_watermark(session: Session, connection_id: int) -> datetime | None:
    return session.scalars(
        select(WatermarkRow.value).where(WatermarkRow.connection_id == connection_id)
    ).first()


def set_watermark(session: Session, connection_id: int, value: datetime, now: datetime) -> None:
    statement = upsert(session, WatermarkRow).values(connection_id=connection_id, value=value, updated_at=now)
    statement = statement.on_conflict_do_update(
        index_elements=[WatermarkRow.connection_id], set_={"value": value, "updated_at": now}
    )
    session.execute(statement)


# ------------------------------------------------------------------------------------------ pending retries


def pending_retry_ids(session: Session, connection_id: int) -> list[str]:
    query = select(PendingRetryRow.deal_id).where(PendingRetryRow.connection_id == connection_id)
    return sorted(session.scalars(query))


def record_retries(session: Session, connection_id: int, reasons: Mapping[str, str], now: datetime) -> None:
    """Remember deals to retry next run; a deal already pending counts one more attempt."""
    if not reasons:
        return
    rows = [
        {
            "connection_id": connection_id,
            "deal_id": deal_id,
            "reason": reason[:REASON_LIMIT],
            "first_failed_at": now,
            "attempts": 1,
        }
        for deal_id, reason in reasons.items()
    ]
    statement = upsert(session, PendingRetryRow)
    statement = statement.on_conflict_do_update(
        index_elements=[PendingRetryRow.connection_id, PendingRetryRow.deal_id],
        set_={"reason": statement.excluded.reason, "attempts": PendingRetryRow.attempts + 1},
    )
    session.execute(statement, rows)


def clear_retries(session: Session, connection_id: int, deal_ids: Iterable[str]) -> None:
    ids = list(deal_ids)
    for start in range(0, len(ids), 500):
        session.execute(
            delete(PendingRetryRow).where(
                PendingRetryRow.connection_id == connection_id,
                PendingRetryRow.deal_id.in_(ids[start : start + 500]),
            )
        )


# ----------------------------------------------------------------------------------------------- task keys


@dataclass(frozen=True)
class TaskRecord:
    key: str
    deal_id: str
    commitment: str
    task_id: str


def _task_key_row(
    connection_id: int, task: TaskRecord, now: datetime, completed_at: datetime | None
) -> dict[str, object]:
    return {
        "connection_id": connection_id,
        "key": task.key,
        "deal_id": task.deal_id,
        "commitment": task.commitment,
        "task_id": task.task_id,
        "created_at": now,
        "completed_at": completed_at,
        "completed_by_plugin": False,
    }


def record_tasks_created(
    session: Session, connection_id: int, tasks: Iterable[TaskRecord], now: datetime
) -> None:
    """Upsert by key: a key seen again (the commitment was lost and asked for anew) points at the new task."""
    rows = [_task_key_row(connection_id, t, now, completed_at=None) for t in tasks]
    if not rows:
        return
    statement = upsert(session, TaskKeyRow)
    statement = statement.on_conflict_do_update(
        index_elements=[TaskKeyRow.connection_id, TaskKeyRow.key],
        set_={
            "task_id": statement.excluded.task_id,
            "created_at": statement.excluded.created_at,
            "completed_at": None,
            "completed_by_plugin": False,
        },
    )
    session.execute(statement, rows)


def record_tasks_seen(
    session: Session, connection_id: int, tasks: Iterable[tuple[TaskRecord, bool]], now: datetime
) -> None:
    """Remember plugin tasks read from the CRM (each with whether it is open) that the store does not know
    yet: a run killed after the CRM took its creates, before recording them, left them there. A known key
    the store holds open is marked completed when the CRM has the task closed (a run stopped after its
    completions were sent, before recording them, or a rep closed it), and one the store holds completed is
    marked open again when the CRM has the task open (a run stopped after its reopenings were sent, or a
    rep reopened it); other known keys are left as they are. Every chunk reads its deals' tasks, so the
    known ones are filtered out with one SELECT instead of an insert attempt per task per run."""
    tasks = list(tasks)
    known = created_task_keys(session, connection_id, (t.key for t, _ in tasks)) if tasks else {}
    closed = [t.key for t, open_ in tasks if not open_ and t.key in known and not known[t.key].completed_at]
    _set_completed_at(session, connection_id, closed, now)
    reopened = [t.key for t, open_ in tasks if open_ and t.key in known and known[t.key].completed_at]
    _set_completed_at(session, connection_id, reopened, None)
    rows = [
        _task_key_row(connection_id, t, now, completed_at=None if is_open else now)
        for t, is_open in tasks
        if t.key not in known
    ]
    if not rows:
        return
    statement = upsert(session, TaskKeyRow).on_conflict_do_nothing(
        index_elements=[TaskKeyRow.connection_id, TaskKeyRow.key]
    )
    session.execute(statement, rows)


def record_tasks_completed(
    session: Session, connection_id: int, tasks: Iterable[TaskRecord], now: datetime
) -> None:
    """Mark keys completed; a task the store never saw created (made by an older run that crashed before
    recording it) is recorded as created and completed at once."""
    tasks = list(tasks)
    keys = [t.key for t in tasks]
    known: set[str] = set()
    for start in range(0, len(keys), 500):
        batch = keys[start : start + 500]
        known.update(
            session.scalars(
                select(TaskKeyRow.key).where(
                    TaskKeyRow.connection_id == connection_id, TaskKeyRow.key.in_(batch)
                )
            )
        )
        session.execute(
            update(TaskKeyRow)
            .where(TaskKeyRow.connection_id == connection_id, TaskKeyRow.key.in_(batch))
            .values(completed_at=now, completed_by_plugin=True)
        )
    unknown = [t for t in tasks if t.key not in known]
    record_tasks_created(session, connection_id, unknown, now)
    if unknown:
        session.execute(
            update(TaskKeyRow)
            .where(TaskKeyRow.connection_id == connection_id, TaskKeyRow.key.in_([t.key for t in unknown]))
            .values(completed_at=now, completed_by_plugin=True)
        )


def record_tasks_reopened(session: Session, connection_id: int, tasks: Iterable[TaskRecord]) -> None:
    """Mark keys open again: the plugin reopened their task (its commitment, secured once, was lost)."""
    _set_completed_at(session, connection_id, [t.key for t in tasks], None)


def _set_completed_at(session: Session, connection_id: int, keys: list[str], value: datetime | None) -> None:
    """Closed at `value` (by a rep, or by a run that stopped before recording its completion: not known
    to be the plugin's), or open again (None)."""
    for start in range(0, len(keys), 500):
        session.execute(
            update(TaskKeyRow)
            .where(TaskKeyRow.connection_id == connection_id, TaskKeyRow.key.in_(keys[start : start + 500]))
            .values(completed_at=value, completed_by_plugin=False)
        )


def plugin_completed(session: Session, connection_id: int, keys: Iterable[str]) -> set[str]:
    """Those of `keys` whose task the plugin completed (its commitment was secured), not a rep."""
    rows = created_task_keys(session, connection_id, keys)
    return {key for key, row in rows.items() if row.completed_by_plugin}


def created_task_keys(session: Session, connection_id: int, keys: Iterable[str]) -> dict[str, TaskKeyRow]:
    """The rows of those of `keys` the plugin has created a task for, by key."""
    wanted = sorted(set(keys))
    found: dict[str, TaskKeyRow] = {}
    for start in range(0, len(wanted), 500):
        batch = wanted[start : start + 500]
        rows = session.scalars(
            select(TaskKeyRow).where(TaskKeyRow.connection_id == connection_id, TaskKeyRow.key.in_(batch))
        )
        found.update((row.key, row) for row in rows)
    return found


def task_keys(session: Session, connection_id: int, *, open_only: bool = False) -> list[TaskKeyRow]:
    query = select(TaskKeyRow).where(TaskKeyRow.connection_id == connection_id).order_by(TaskKeyRow.key)
    if open_only:
        query = query.where(TaskKeyRow.completed_at.is_(None))
    return list(session.scalars(query))


# ------------------------------------------------------------------------------------------------- leases


def acquire_lease(session: Session, name: str, owner: str, now: datetime, ttl: timedelta) -> bool:
    """Take the lease `name` for `owner` unless another owner holds an unexpired one. Atomic on both
    databases: a single INSERT .. ON CONFLICT DO UPDATE .. WHERE (expired or already ours)."""
    statement = upsert(session, LockRow).values(name=name, owner=owner, acquired_at=now, expires_at=now + ttl)
    statement = statement.on_conflict_do_update(
        index_elements=[LockRow.name],
        set_={"owner": owner, "acquired_at": now, "expires_at": now + ttl},
        where=(LockRow.expires_at <= now) | (LockRow.owner == owner),
    )
    session.execute(statement)
    holder = session.scalars(select(LockRow.owner).where(LockRow.name == name)).one()
    return holder == owner


def renew_lease(session: Session, name: str, owner: str, now: datetime, ttl: timedelta) -> bool:
    result = session.execute(
        update(LockRow).where(LockRow.name == name, LockRow.owner == owner).values(expires_at=now + ttl)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def release_lease(session: Session, name: str, owner: str) -> None:
    session.execute(delete(LockRow).where(LockRow.name == name, LockRow.owner == owner))


def lease_holder(session: Session, name: str, now: datetime) -> LockRow | None:
    return session.scalars(
        select(LockRow).where(LockRow.name == name, LockRow.expires_at > now)
    ).one_or_none()
