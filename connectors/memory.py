"""An in-memory CRM implementing the `Connector` protocol, for testing the sync engine without HTTP.

It behaves like the real connectors where the sync engine can tell: deals come out in chunks ordered by
modification time, `since`/`until`/`include_ids` filter as documented, a write bumps the deal's
modification time (as SystemModstamp / hs_lastmodifieddate do), task creation looks up an open task by
key first (so a rerun after a crash never duplicates one), and per-record failures come back in the
`ApplyResult` instead of being raised. Tests steer failures through plain attributes.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from connectors.base import (
    ApiBudget,
    ApplyResult,
    ConnectorError,
    CreatedTask,
    DealChunk,
    FieldAccess,
    RecordFailure,
    SetupChange,
    SetupReport,
    no_access_to_grant,
)
from core.models import Deal, OwnedField, PluginTask, TaskAction, TaskActionKind, WritePlan
from core.playbook import Playbook


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class MemoryTask:
    """A task as the fake CRM holds it."""

    task_id: str
    deal_id: str
    key: str
    action: TaskAction
    is_open: bool = True


class MemoryConnector:
    """A fake CRM in a dict. Failure knobs: `fail_deal_ids` (the CRM refuses those deals' writes),
    `fail_apply_with` (apply raises it before writing), `stop_apply_after` (apply writes that many plans,
    then raises the error carrying what it wrote, as a budget spent between two batches), `fail_after_apply`
    (apply writes, then raises, as if the process died between the CRM's answer and the store's record),
    `fail_read_after_chunks`, `unreadable_ids` (those deals' records cannot be made deals: reported in
    their chunk, not yielded)."""

    crm = "memory"
    grants_field_access = False

    def __init__(
        self,
        deals: Iterable[Deal] = (),
        *,
        chunk_size: int = 100,
        clock: Callable[[], datetime] = _utc_now,
        stages: dict[str, list[str]] | None = None,
    ) -> None:
        self.deals: dict[str, Deal] = {deal.id: deal for deal in deals}
        self.tasks: dict[str, MemoryTask] = {}
        self.chunk_size = chunk_size
        self.clock = clock
        self.stages = stages or {}
        self.calls: Counter[str] = Counter()
        self.applied: list[WritePlan] = []
        self.fail_deal_ids: set[str] = set()
        self.fail_apply_with: BaseException | None = None
        self.stop_apply_after: tuple[int, ConnectorError] | None = None
        self.fail_after_apply: BaseException | None = None
        self.fail_read_after_chunks: tuple[int, ConnectorError] | None = None
        self.unreadable_ids: set[str] = set()
        self.provisioned = False
        self.closed = False
        self._task_ids = itertools.count(1)

    # ----------------------------------------------------------------------------------------- editing

    def put(self, deal: Deal, *, modified_at: datetime | None = None) -> None:
        """Add or change a deal as a user would, bumping its modification time."""
        self.deals[deal.id] = deal.model_copy(update={"modified_at": modified_at or self.clock()})

    def open_tasks(self, deal_id: str | None = None) -> list[MemoryTask]:
        return [t for t in self.tasks.values() if t.is_open and deal_id in (None, t.deal_id)]

    # ---------------------------------------------------------------------------------------- reading

    def read_deals(
        self, since: datetime | None, until: datetime, *, include_ids: Collection[str] = ()
    ) -> Iterator[list[Deal]]:
        wanted = set(include_ids)
        selected = [
            deal
            for deal in self.deals.values()
            if deal.id in wanted
            or since is None
            or (deal.modified_at is not None and since <= deal.modified_at <= until)
        ]
        selected.sort(key=lambda d: (d.modified_at or datetime.min.replace(tzinfo=UTC), d.id))
        return self._chunks(selected)

    def read_deals_by_id(self, ids: Sequence[str], until: datetime) -> Iterator[list[Deal]]:
        return self._chunks([self.deals[deal_id] for deal_id in ids if deal_id in self.deals])

    def _chunks(self, selected: list[Deal]) -> Iterator[list[Deal]]:
        for number, start in enumerate(range(0, len(selected), self.chunk_size)):
            if self.fail_read_after_chunks is not None and number >= self.fail_read_after_chunks[0]:
                raise self.fail_read_after_chunks[1]
            self.calls["query"] += 1
            chunk = DealChunk()
            for deal in selected[start : start + self.chunk_size]:
                chunk.add(deal.id, self._readable, deal)
            yield chunk

    def _readable(self, deal: Deal) -> Deal:
        if deal.id in self.unreadable_ids:
            raise ValueError(f"Invalid isoformat string: {deal.id!r}")  # as a mapping meeting odd data does
        return self._with_tasks(deal)

    def _with_tasks(self, deal: Deal) -> Deal:
        tasks = tuple(
            PluginTask(task_id=t.task_id, key=t.key, commitment=t.action.commitment, is_open=t.is_open)
            for t in self.tasks.values()
            if t.deal_id == deal.id
        )
        return deal.model_copy(update={"plugin_tasks": tasks})

    # ---------------------------------------------------------------------------------------- writing

    def apply(self, plans: Sequence[WritePlan], playbook: Playbook) -> ApplyResult:
        if self.fail_apply_with is not None:
            raise self.fail_apply_with
        result = ApplyResult()
        for number, plan in enumerate(plans):
            if self.stop_apply_after is not None and number >= self.stop_apply_after[0]:
                error = self.stop_apply_after[1]
                error.written = result
                raise error
            if plan.is_empty:
                continue
            if plan.deal_id in self.fail_deal_ids or plan.deal_id not in self.deals:
                result.failures.append(
                    RecordFailure(plan.deal_id, "update", "refused by the test", "TEST_REFUSED")
                )
                continue
            self._write_fields(plan, result)
            for action in plan.tasks:
                self._apply_task(plan.deal_id, action, result)
            self.applied.append(plan)
        if self.fail_after_apply is not None:
            raise self.fail_after_apply
        return result

    def _write_fields(self, plan: WritePlan, result: ApplyResult) -> None:
        updates: dict[str, Any] = {name.value: value for name, value in plan.field_updates().items()}
        deal = self.deals[plan.deal_id]
        self.deals[plan.deal_id] = deal.model_copy(
            update={"current": deal.current.model_copy(update=updates), "modified_at": self.clock()}
        )
        if updates:
            self.calls["update"] += 1
            result.deals_updated += 1
            result.fields_written += len(updates)

    def _apply_task(self, deal_id: str, action: TaskAction, result: ApplyResult) -> None:
        if action.kind is TaskActionKind.CREATE:
            self.calls["create_task"] += 1
            existing = next((t for t in self.open_tasks(deal_id) if t.key == action.key), None)
            task = existing or MemoryTask(f"T{next(self._task_ids)}", deal_id, action.key, action)
            self.tasks[task.task_id] = task
            result.tasks_created.append(CreatedTask(deal_id, action.key, task.task_id))
            return
        reopen = action.kind is TaskActionKind.REOPEN
        operation = "reopen_task" if reopen else "complete_task"
        self.calls[operation] += 1
        found = self.tasks.get(action.task_id or "")
        if found is None and not reopen:  # a completion known only by its key
            found = next((t for t in self.open_tasks(deal_id) if t.key == action.key), None)
        if found is None:
            result.failures.append(
                RecordFailure(deal_id, operation, f"no task {action.task_id}", "NOT_FOUND")
            )
            return
        found.is_open = reopen
        if reopen:  # worded afresh and due anew, the owner kept, as the real connectors do
            found.action = found.action.model_copy(
                update={"subject": action.subject, "body": action.body, "due_date": action.due_date}
            )
            result.tasks_reopened += 1
        else:
            result.tasks_completed += 1

    # ------------------------------------------------------------------------------------------- admin

    def setup(self, playbook: Playbook, *, dry_run: bool) -> SetupReport:
        action = "unchanged" if self.provisioned else "create"
        changes = [SetupChange("field", name.value, action) for name in OwnedField]
        if not dry_run:
            self.provisioned = True
        return SetupReport(changes=changes, dry_run=dry_run)

    def field_access(self) -> FieldAccess | None:
        return None

    def grant_field_access(self, *, dry_run: bool) -> SetupReport:
        raise no_access_to_grant(self.crm)

    def pipeline_stages(self) -> dict[str, list[str]]:
        return {pipeline: list(stages) for pipeline, stages in self.stages.items()}

    def api_calls(self) -> Counter[str]:
        return Counter(self.calls)

    def budget(self) -> ApiBudget | None:
        return None

    def close(self) -> None:
        self.closed = True
