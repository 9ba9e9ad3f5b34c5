"""Reopening the plugin's completed tasks through the sandbox: one batch update, fresh wording, key kept."""

from __future__ import annotations

from datetime import date

from hubspot_support import FakeClock, connector_for, sync

from connectors.hubspot.mapping import TASK_KEY_PATTERN
from core.models import OwnedFields, TaskAction, TaskActionKind, WritePlan
from core.playbook import Playbook
from sandbox.hubspot import HubSpotSandbox


def _as(kind: TaskActionKind, action: TaskAction, task_id: str) -> WritePlan:
    fresh = {"subject": "Secure it again", "body": "Ask again.\n\nWhere it stands: on hold."}
    update = {"kind": kind, "task_id": task_id, "due_date": date(2030, 1, 7), **fresh}
    again = action.model_copy(update=update)
    return WritePlan(deal_id=action.deal_id, values=OwnedFields(), tasks=(again,))


def test_given_completed_plugin_tasks_when_reopened_then_open_again_worded_afresh_with_key_and_owner_kept(
    portal: HubSpotSandbox, playbook: Playbook, clock: FakeClock
) -> None:
    connector = connector_for(portal)
    connector.setup(playbook, dry_run=False)
    first = sync(connector, playbook, None, clock.now)
    created = {t.key: t.task_id for t in first.result.tasks_created}
    creates = [a for p in first.plans for a in p.tasks if a.kind is TaskActionKind.CREATE][:3]
    ids = [created[a.key] for a in creates]
    tasks = portal.store.tables["tasks"]
    owners = [tasks[i]["properties"].get("hubspot_owner_id") for i in ids]
    connector.apply([_as(TaskActionKind.COMPLETE, a, i) for a, i in zip(creates, ids, strict=True)], playbook)
    del tasks[ids[2]]  # a rep deleted the third one meanwhile
    before = connector.api_calls()["batch_update"]

    result = connector.apply(
        [_as(TaskActionKind.REOPEN, a, i) for a, i in zip(creates, ids, strict=True)], playbook
    )

    assert result.tasks_reopened == 2
    assert [(f.deal_id, f.operation) for f in result.failures] == [(creates[2].deal_id, "reopen_task")]
    assert connector.api_calls()["batch_update"] - before == 1  # one batch, not a call per task
    for action, task_id, owner in zip(creates[:2], ids[:2], owners[:2], strict=True):
        props = tasks[task_id]["properties"]
        assert props["hs_task_status"] == "NOT_STARTED"
        assert props["hs_task_subject"] == "Secure it again"
        assert "Where it stands: on hold." in props["hs_task_body"]
        match = TASK_KEY_PATTERN.search(props["hs_task_body"])
        assert match is not None
        assert match.group(1) == action.key
        assert props["hs_timestamp"].startswith("2030-01-07T09:00:00")
        assert props.get("hubspot_owner_id") == owner
