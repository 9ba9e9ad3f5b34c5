"""The plugin's tasks: at most one open task per open deal, created once per stable key, completed in batch.

A task the plugin completed is reopened (its commitment was lost again) by a batch update of that task:
NOT_STARTED again, worded afresh (the key marker kept) and due anew, its owner left as it is.

The key (`cmt:{deal}:{commitment}`) is stored as the last paragraph of the task body (HTML, which is how
HubSpot shows a task's notes), `[commitments-key: ...]`.
A marker in `hs_task_body` works on every portal and tier with no extra schema scope (HubSpot tasks accept
custom properties only where the portal allows them), comes back in the batch reads the connector already
makes, and reads as a harmless footnote to the rep. Before each create batch the deals' tasks are re-read
through the deal->tasks association (strongly consistent, unlike search), so a crash between "created" and
"recorded", or a create whose answer was lost to a dropped connection, never makes a second task: a create
is never blindly resent; the re-check runs again and only the still-missing tasks are sent. Tasks are
associated to their deal with the tasks->deals type id looked up from the labels API (cached). A create
refused for its owner (the deal's owner is no longer a HubSpot owner) is sent once more without one.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import UTC, datetime, time

from connectors.base import (
    COMMITMENT_IDS,
    ApplyResult,
    CreatedTask,
    FatalError,
    TransientError,
    keeping,
    until_unavailable,
    unwritten_creates,
)
from connectors.hubspot.associations import associated_ids, read_associations
from connectors.hubspot.client import HubSpotClient, Json
from connectors.hubspot.mapping import OBJECT_PROPERTIES, TASK_KEY_PATTERN, plugin_task
from connectors.hubspot.read import DealReader
from connectors.hubspot.write import BatchOutcome, Item, batch_write, format_value, record_id
from core.models import PluginTask, TaskAction


def key_marker(key: str) -> str:
    return f"[commitments-key: {key}]"


def rich_text(text: str) -> str:
    """Plain text as the HTML HubSpot shows a task's notes in: a paragraph per blank-line-separated block,
    a <br> per line break (plain newlines would run the paragraphs together), and the text escaped, since
    the body quotes CRM text (meeting subjects, names) that may hold '<' or '&'."""
    blocks = [b for b in text.split("\n\n") if b.strip()]
    return "".join(
        "<p>" + "<br>".join(html.escape(line, quote=False) for line in block.strip().split("\n")) + "</p>"
        for block in blocks
    )


OWNER_REFUSED = "INVALID_OWNER_ID"  # in the message of a write naming an owner HubSpot no longer has


def task_properties(action: TaskAction) -> dict[str, str]:
    # hs_timestamp (the due date) is required on a task: 09:00 UTC on the planned day, else due now.
    due = action.due_date
    when = datetime.combine(due, time(9), tzinfo=UTC) if due else datetime.now(UTC)
    props = {
        "hs_task_subject": action.subject,
        "hs_task_body": rich_text(f"{action.body}\n\n{key_marker(action.key)}"),
        "hs_task_status": "NOT_STARTED",
        "hs_task_priority": "MEDIUM",
        "hs_task_type": "TODO",
        "hs_timestamp": format_value(when),
    }
    if action.owner_id:
        props["hubspot_owner_id"] = action.owner_id
    return props


REOPENED_PROPERTIES = ("hs_task_status", "hs_timestamp", "hs_task_subject", "hs_task_body")


class TaskWriter:
    def __init__(self, client: HubSpotClient, reader: DealReader) -> None:
        self.client = client
        self.reader = reader
        self._type_id: int | None = None

    def association_type_id(self) -> int:
        """The unlabeled HubSpot-defined tasks->deals type (216 on HubSpot today), looked up once."""
        if self._type_id is None:
            data = self.client.call("labels", "associations.labels", "get_all", "tasks", "deals")
            defined = [r for r in data.get("results", []) if r.get("category") == "HUBSPOT_DEFINED"]
            unlabeled = [r for r in defined if not r.get("label")] or defined
            if not unlabeled:
                raise FatalError("HubSpot has no tasks->deals association type; cannot attach tasks to deals")
            self._type_id = int(unlabeled[0]["typeId"])
        return self._type_id

    def open_plugin_tasks(self, deal_ids: Sequence[str]) -> dict[str, PluginTask]:
        """Open plugin tasks of these deals by key, re-read now (only tasks not known to be a rep's)."""
        rows = read_associations(self.client, "deals", "tasks", deal_ids)
        unknown = [t for t in associated_ids(rows) if t not in self.reader.rep_task_ids]
        found: dict[str, PluginTask] = {}
        for task in self.reader.batch_read("tasks", unknown, OBJECT_PROPERTIES["tasks"]):
            own = plugin_task(task, COMMITMENT_IDS)
            if own is None:
                self.reader.rep_task_ids.add(str(task["id"]))
            elif own.is_open:
                found[own.key] = own
        return found

    def create(self, actions: Sequence[TaskAction]) -> ApplyResult:
        def write(batch: Sequence[TaskAction]) -> ApplyResult:
            return self._create_batch(list(batch))

        return until_unavailable(actions, self.client.config.batch_size, write, unwritten_creates)

    def _create_batch(self, actions: list[TaskAction]) -> ApplyResult:
        result = ApplyResult()
        attempts = self.client.config.max_attempts
        with keeping(lambda: result):  # a stop keeps the tasks found under their keys
            for attempt in range(1, attempts + 1):
                existing = self.open_plugin_tasks(list(dict.fromkeys(a.deal_id for a in actions)))
                for action in [a for a in actions if a.key in existing]:
                    found = existing[action.key].task_id
                    result.tasks_created.append(CreatedTask(action.deal_id, action.key, found))
                actions = [a for a in actions if a.key not in existing]
                if not actions:
                    return result
                try:
                    result.merge(self._send_creates_or_unowned(actions))
                    return result
                except TransientError:
                    if attempt == attempts:
                        raise  # may or may not have been created: the next run's re-check settles it
        return result

    def _send_creates_or_unowned(self, actions: list[TaskAction]) -> ApplyResult:
        """Create the tasks; those HubSpot refuses for their owner are sent once more without one.

        A deal whose owner was deactivated or removed keeps that owner id, and HubSpot refuses a task for
        it (INVALID_OWNER_ID) on every run: the deal would never get its task. Without hubspot_owner_id the
        task is unassigned, on the deal's timeline for whoever takes the deal over. A refused create wrote
        nothing, so it is resent without looking the key up again."""
        result = self._send_creates(actions)
        refused = {f.deal_id for f in result.failures if OWNER_REFUSED in f.message}
        retry = [
            a.model_copy(update={"owner_id": None}) for a in actions if a.owner_id and a.deal_id in refused
        ]
        if retry:
            again = {a.deal_id for a in retry}
            result.failures = [f for f in result.failures if f.deal_id not in again]
            with keeping(lambda: result):  # a stop keeps what the first send created
                result.merge(self._send_creates(retry))
        return result

    def _send_creates(self, actions: list[TaskAction]) -> ApplyResult:
        type_id = self.association_type_id()
        items = [
            Item(a.deal_id, a.key, {
                "properties": task_properties(a),
                "associations": [{"to": {"id": a.deal_id},
                                  "types": [{"associationCategory": "HUBSPOT_DEFINED",
                                             "associationTypeId": type_id}]}],
                "objectWriteTraceId": a.key,
            })
            for a in actions
        ]
        return batch_write(self.client, "create", "tasks", items, "create_task", _key_of, _created,
                           kind="create", ambiguous_ok=False)

    def complete(self, actions: Sequence[TaskAction]) -> ApplyResult:
        items = [
            Item(a.deal_id, a.task_id, {"id": a.task_id, "properties": {"hs_task_status": "COMPLETED"}})
            for a in actions
            if a.task_id
        ]
        return batch_write(
            self.client, "update", "tasks", items, "complete_task", record_id, _completed, kind="batch_update"
        )

    def reopen(self, actions: Sequence[TaskAction]) -> ApplyResult:
        items = [
            Item(a.deal_id, a.task_id, {"id": a.task_id, "properties": _reopened_properties(a)})
            for a in actions
            if a.task_id
        ]
        return batch_write(
            self.client, "update", "tasks", items, "reopen_task", record_id, _reopened, kind="batch_update"
        )


def _reopened_properties(action: TaskAction) -> dict[str, str]:
    fresh = task_properties(action)
    return {name: fresh[name] for name in REOPENED_PROPERTIES}


def _created(outcome: BatchOutcome) -> ApplyResult:
    created = [CreatedTask(item.deal_id, item.ref, str(record["id"])) for item, record in outcome.written]
    return ApplyResult(tasks_created=created, failures=outcome.failures)


def _completed(outcome: BatchOutcome) -> ApplyResult:
    return ApplyResult(tasks_completed=len(outcome.written), failures=outcome.failures)


def _reopened(outcome: BatchOutcome) -> ApplyResult:
    return ApplyResult(tasks_reopened=len(outcome.written), failures=outcome.failures)


def _key_of(record: Json) -> str | None:
    trace = record.get("objectWriteTraceId")
    if trace:
        return str(trace)
    match = TASK_KEY_PATTERN.search(str((record.get("properties") or {}).get("hs_task_body") or ""))
    return match.group(1) if match else None
