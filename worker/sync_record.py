"""Recording one applied chunk in the state store (the last step of the sync engine's data flow).

`ChunkOutcome` condenses what the connector reported (or, in a dry run, what the plans would do) into
counts, failures and task records; `record_chunk` writes it in one transaction: the latest assessments and
commitment history, task keys created, completed, reopened and found in the CRM (made, completed or
reopened by a run that died or stopped before recording them), the run's failures, and which deals to retry.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from connectors.base import ApplyResult, RecordFailure
from core.models import Assessment, Deal, TaskActionKind, WritePlan
from core.plan import task_key
from worker.store import deals as deal_store
from worker.store import runs as run_store
from worker.store import state as state_store
from worker.store.state import TaskRecord


@dataclass
class ChunkOutcome:
    fields_written: int = 0
    tasks_created: int = 0
    tasks_completed: int = 0
    tasks_reopened: int = 0
    failures: list[RecordFailure] = field(default_factory=list)
    created: list[TaskRecord] = field(default_factory=list)
    completed: list[TaskRecord] = field(default_factory=list)
    reopened: list[TaskRecord] = field(default_factory=list)

    @classmethod
    def planned(cls, plans: Sequence[WritePlan]) -> ChunkOutcome:
        """What the plans would do if applied (a dry run's counts)."""
        return cls(
            fields_written=sum(len(p.changed) for p in plans),
            tasks_created=sum(1 for p in plans for t in p.tasks if t.kind is TaskActionKind.CREATE),
            tasks_completed=sum(1 for p in plans for t in p.tasks if t.kind is TaskActionKind.COMPLETE),
            tasks_reopened=sum(1 for p in plans for t in p.tasks if t.kind is TaskActionKind.REOPEN),
        )

    @classmethod
    def stopped(cls, plans: Sequence[WritePlan], written: ApplyResult | None) -> ChunkOutcome:
        """What an apply that an error stopped part-way had `written` (None: nothing). Completions and
        reopenings are left out, as which of them were sent is not known: the next run reads those tasks
        closed or open and records them then (`record_tasks_seen`)."""
        outcome = cls.from_apply(plans, written or ApplyResult())
        outcome.completed = []
        outcome.reopened = []
        return outcome

    @classmethod
    def from_apply(cls, plans: Sequence[WritePlan], result: ApplyResult) -> ChunkOutcome:
        commitment_by_key = {t.key: t.commitment.value for p in plans for t in p.tasks}
        created = [
            TaskRecord(t.key, t.deal_id, commitment_by_key.get(t.key, t.key.rsplit(":", 1)[-1]), t.task_id)
            for t in result.tasks_created
        ]
        return cls(
            fields_written=result.fields_written,
            tasks_created=len(result.tasks_created),
            tasks_completed=result.tasks_completed,
            tasks_reopened=result.tasks_reopened,
            failures=list(result.failures),
            created=created,
            completed=_written(plans, result, TaskActionKind.COMPLETE, "complete_task"),
            reopened=_written(plans, result, TaskActionKind.REOPEN, "reopen_task"),
        )


def _written(
    plans: Sequence[WritePlan], result: ApplyResult, kind: TaskActionKind, operation: str
) -> list[TaskRecord]:
    """The plans' task actions of `kind` on existing tasks, but those of deals the CRM refused them for."""
    failed = {f.deal_id for f in result.failures if f.operation == operation}
    return [
        TaskRecord(t.key, p.deal_id, t.commitment.value, t.task_id or "")
        for p in plans
        if p.deal_id not in failed
        for t in p.tasks
        if t.kind is kind
    ]


def record_chunk(
    session: Session,
    connection_id: int,
    run_id: int,
    deals: Sequence[Deal],
    assessments: Sequence[Assessment],
    plans: Sequence[WritePlan],
    outcome: ChunkOutcome,
    now: datetime,
    pending: set[str],
) -> None:
    """`pending` holds the deals queued for retry before this run; those written cleanly leave the queue."""
    deal_store.save_assessments(session, connection_id, list(zip(deals, assessments, strict=True)))
    seen = [
        (TaskRecord(t.key, d.id, t.commitment.value, t.task_id), t.is_open)
        for d in deals
        for t in d.plugin_tasks
        if t.key == task_key(d.id, t.commitment)  # not a key of another deal the task is also linked to
    ]
    state_store.record_tasks_seen(session, connection_id, seen, now)
    state_store.record_tasks_created(session, connection_id, outcome.created, now)
    state_store.record_tasks_completed(session, connection_id, outcome.completed, now)
    state_store.record_tasks_reopened(session, connection_id, outcome.reopened)
    run_store.add_failures(session, run_id, outcome.failures)
    reasons: dict[str, str] = {}
    for failure in outcome.failures:
        reasons.setdefault(failure.deal_id, f"{failure.operation}: {failure.message}")
    state_store.record_retries(session, connection_id, reasons, now)
    state_store.clear_retries(
        session, connection_id, [d.id for d in deals if d.id in pending and d.id not in reasons]
    )
