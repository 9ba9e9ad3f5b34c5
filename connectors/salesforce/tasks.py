"""The plugin's tasks: one open Task per open deal for the next commitment, never created twice.

Each task carries the stable key `cmt:{deal_id}:{commitment}` in the custom Task field
`Commitment_Key__c` (created by setup). Before creating, one query per 200 keys finds the OPEN tasks that
already carry them, so a crash between "created in Salesforce" and "recorded in the state store" never
duplicates a task: the existing one is reported as created instead. Creates are not idempotent, so the
retry policy only repeats them when the request provably never reached Salesforce; after any other
failure this module looks the keys up again and creates only the ones still missing. A task Salesforce
refuses for its owner (the deal's owner was deactivated) is created once more without an OwnerId.

A task the plugin completed is reopened (its commitment was lost again) by an update of that Task: back to
the open status, worded afresh and due anew, its key and owner kept.

Task Status is a restricted picklist that orgs edit ("Open" for "Not Started", "Done" for "Completed"), so
the status a task is created, completed and reopened with is read from the org's TaskStatus values, once,
at the first task action (see `TaskStatuses`). Priority is `task_priority`, unless the org refuses it (renamed
priorities): then tasks are created without one, taking the org's default.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from connectors.base import (
    ApplyResult,
    CreatedTask,
    FatalError,
    RecordFailure,
    TransientError,
    chunked,
    keeping,
    unavailable,
    until_unavailable,
    unwritten_creates,
)
from connectors.salesforce import soql
from connectors.salesforce.config import SalesforceConfig
from connectors.salesforce.session import SalesforceApi
from connectors.salesforce.write import PendingWrite, complete_task_write, first_error, truncate_bytes
from core.models import TaskAction

log = logging.getLogger(__name__)

SUBJECT_MAX = 255
DESCRIPTION_MAX_BYTES = 32000
INACTIVE_OWNER = "INACTIVE_OWNER_OR_USER"  # the deal's owner was deactivated
BAD_PICKLIST_VALUE = "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"


@dataclass(frozen=True)
class TaskStatuses:
    """The Task Status values the plugin writes: a new task's and a completed one's."""

    open: str = "Not Started"
    done: str = "Completed"

    @classmethod
    def of(cls, rows: Iterable[dict[str, Any]]) -> TaskStatuses:
        """The org's default status when it is an open one (else its first open one by sort order), and
        "Completed" when the org has it as a closed status (else its first closed one); Salesforce's
        standard values when the org lists no status of a kind."""
        ordered = sorted(rows, key=lambda row: row.get("SortOrder") or 0)
        named = [(str(row.get("ApiName") or row.get("MasterLabel") or ""), row) for row in ordered]
        opens = [(name, row) for name, row in named if name and not row.get("IsClosed")]
        closed = [name for name, row in named if name and row.get("IsClosed")]
        default = next((name for name, row in opens if row.get("IsDefault")), opens[0][0] if opens else None)
        done = cls.done if cls.done in closed else (closed[0] if closed else None)
        return cls(default or cls.open, done or cls.done)


def task_record(action: TaskAction, key_field: str, priority: str | None, status: str) -> dict[str, Any]:
    record: dict[str, Any] = {
        "attributes": {"type": "Task"},
        "WhatId": action.deal_id,
        "Subject": action.subject[:SUBJECT_MAX],
        "Description": truncate_bytes(action.body, DESCRIPTION_MAX_BYTES),
        "Status": status,
        key_field: action.key,
    }
    if priority:  # without one, Salesforce gives the task the org's default priority
        record["Priority"] = priority
    if action.owner_id:
        record["OwnerId"] = action.owner_id
    if action.due_date:
        record["ActivityDate"] = action.due_date.isoformat()
    return record


REOPENED_FIELDS = ("Subject", "Description", "ActivityDate")  # refreshed as a create would write them


def reopen_task_write(action: TaskAction, key_field: str, status: str) -> PendingWrite:
    """The update reopening the plugin's task `action.task_id`; its key and owner are left as they are."""
    fresh = task_record(action, key_field, None, status)
    record = {"attributes": {"type": "Task"}, "id": action.task_id, "Status": status}
    record.update((name, fresh[name]) for name in REOPENED_FIELDS if name in fresh)
    return PendingWrite(action.deal_id, "reopen_task", record)


def priority_refused(result: dict[str, Any]) -> bool:
    """A create refused for its Priority: a value the org's Task Priority picklist does not have (orgs rename
    High/Normal/Low), INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST naming the field."""
    return any(
        "Priority" in (e.get("fields") or [])
        or (e.get("statusCode") == BAD_PICKLIST_VALUE and "priority" in str(e.get("message") or "").lower())
        for e in result.get("errors") or []
    )


def owner_refused(result: dict[str, Any]) -> bool:
    """A create refused for its OwnerId: INACTIVE_OWNER_OR_USER, or an error on the OwnerId field (some orgs
    answer FIELD_INTEGRITY_EXCEPTION "Assigned To ID: owner cannot be inactive user" for tasks)."""
    return any(
        e.get("statusCode") == INACTIVE_OWNER or "OwnerId" in (e.get("fields") or [])
        for e in result.get("errors") or []
    )


class TaskWriter:
    def __init__(self, api: SalesforceApi, config: SalesforceConfig) -> None:
        self._api = api
        self._config = config
        self._key_field = config.field_names().task_key
        self._statuses: TaskStatuses | None = None
        self._priority: str | None = config.task_priority  # None once the org refused it: its default

    def statuses(self) -> TaskStatuses:
        """The org's statuses for a new and a completed task: one query, at the first task action."""
        if self._statuses is None:
            self._statuses = TaskStatuses.of(self._api.records(soql.task_statuses()))
        return self._statuses

    def open_tasks(self, keys: Sequence[str]) -> dict[str, str]:
        """Open plugin task id by key, for the given keys (one query per `ids_per_query` keys)."""
        found: dict[str, str] = {}
        for chunk in chunked(sorted(set(keys)), self._config.ids_per_query):
            for row in self._api.records(soql.open_tasks_by_key(self._key_field, chunk)):
                found.setdefault(str(row[self._key_field]), str(row["Id"]))
        return found

    def create(self, actions: Sequence[TaskAction]) -> ApplyResult:
        pending = list({a.key: a for a in actions}.values())

        def write(batch: Sequence[TaskAction]) -> ApplyResult:
            self._api.caller.check_budget(self._config.api_reserve_fraction)
            return self._create_batch(list(batch))

        return until_unavailable(pending, self._config.write_batch_size, write, unwritten_creates)

    def _create_batch(self, batch: list[TaskAction]) -> ApplyResult:
        outcome = ApplyResult()
        with keeping(lambda: outcome):  # a stop keeps the tasks found under their keys
            for round_ in range(self._config.max_attempts):
                existing = self.open_tasks([a.key for a in batch])
                outcome.tasks_created.extend(
                    CreatedTask(a.deal_id, a.key, existing[a.key]) for a in batch if a.key in existing
                )
                batch = [a for a in batch if a.key not in existing]
                if not batch:
                    return outcome
                try:
                    results = self._post(batch)
                except TransientError:
                    if round_ + 1 >= self._config.max_attempts:
                        raise
                    continue  # the create may have landed: look the keys up again before retrying
                outcome.merge(self._tally_or_retried(batch, results))
                return outcome
        return outcome

    def _tally_or_retried(self, batch: list[TaskAction], results: list[dict[str, Any]]) -> ApplyResult:
        """The batch's results, with the tasks refused for their owner or their priority created once more
        without it, as Salesforce would refuse the same create on every run and the deal would never get
        its task.

        A deactivated user keeps their opportunities but can be given no new task: without OwnerId the task
        belongs to the integration user, on the deal's timeline for whoever takes the deal over. A priority
        the org does not have (`task_priority`, "Normal" by default) is left out of this and every later
        create of the run, so the org's default priority applies."""
        tallied = self._tally(batch, results)
        refused = [(a, r) for a, r in zip(batch, results, strict=True) if not r.get("success")]
        dropped = self._drop_refused_priority([r for _, r in refused])
        retry = [
            a.model_copy(update={"owner_id": None}) if unowned else a
            for a, r in refused
            if (unowned := bool(a.owner_id) and owner_refused(r)) or (dropped and priority_refused(r))
        ]
        if retry:
            again = {a.deal_id for a in retry}
            tallied.failures = [f for f in tallied.failures if f.deal_id not in again]
            try:
                with keeping(lambda: tallied):  # a stop keeps what the first post created too
                    tallied.merge(self._create_batch(retry))  # the key re-check first, as for any create
            except TransientError as exc:  # what the first post created stays counted
                tallied.failures.extend(unavailable(again, "create_task", exc))
        return tallied

    def _drop_refused_priority(self, refusals: list[dict[str, Any]]) -> bool:
        """Stop sending `task_priority` once the org refused it; True when that happened now."""
        if not (self._priority and any(priority_refused(r) for r in refusals)):
            return False
        log.warning(
            "Salesforce refused the task priority %r (not one of the org's Task Priority values): new tasks "
            "get the org's default priority; set task_priority on the connection to one of its values",
            self._priority,
        )
        self._priority = None
        return True

    def _post(self, batch: list[TaskAction]) -> list[dict[str, Any]]:
        status = self.statuses().open
        records = [task_record(a, self._key_field, self._priority, status) for a in batch]
        results = self._api.restful(
            "composite", "composite/sobjects", method="POST", create=True,
            json={"allOrNone": False, "records": records},
        )
        return list(results or [])

    @staticmethod
    def _tally(batch: list[TaskAction], results: list[dict[str, Any]]) -> ApplyResult:
        outcome = ApplyResult()
        if len(results) != len(batch):
            raise FatalError(f"Salesforce answered {len(results)} results for {len(batch)} new tasks")
        for action, result in zip(batch, results, strict=True):
            if result.get("success"):
                outcome.tasks_created.append(CreatedTask(action.deal_id, action.key, str(result["id"])))
            else:
                message, code = first_error(result)
                outcome.failures.append(RecordFailure(action.deal_id, "create_task", message, code))
        return outcome

    def completions(self, actions: Sequence[TaskAction]) -> list[PendingWrite]:
        """Composite records that close the given tasks; a task known only by key is looked up first."""
        unknown = [a.key for a in actions if not a.task_id]
        by_key = self.open_tasks(unknown) if unknown else {}
        writes = []
        for action in actions:
            task_id = action.task_id or by_key.get(action.key)
            if task_id:  # no open task under that key: nothing left to complete
                writes.append(complete_task_write(action.deal_id, task_id, self.statuses().done))
        return writes

    def reopenings(self, actions: Sequence[TaskAction]) -> list[PendingWrite]:
        """Composite records that reopen the given tasks (always known by id: core found them closed)."""
        return [reopen_task_write(a, self._key_field, self.statuses().open) for a in actions if a.task_id]
