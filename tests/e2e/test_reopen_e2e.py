"""A commitment secured, then lost again (a setback note), on both CRMs: the plugin's own completed task is
reopened, never duplicated, and counted; the run after that writes nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from core.models import Commitment, PluginTask
from sandbox.salesforce.values import sf_datetime
from tests.e2e.conftest import Crm, sync
from worker.store import Store
from worker.store import deals as deal_store
from worker.store import runs as run_store
from worker.store import state as state_store
from worker.store.models import DealAssessmentRow, RunRow

pytestmark = pytest.mark.slow

EARLIER = timedelta(seconds=2)  # an edit made before the run (SOQL datetime literals have whole seconds)


def _change_wanted(store: Store) -> str:
    """A deal whose next commitment is Change, at a stage that expects it: a noted reason secures it."""
    with store.session() as session:
        for row in session.query(DealAssessmentRow).order_by(DealAssessmentRow.deal_id):
            assessment = deal_store.stored_assessment(row)
            reason = assessment.result(Commitment.CHANGE).reason
            if assessment.next is Commitment.CHANGE and reason.startswith("the stage expects it"):
                return row.deal_id
    raise AssertionError("no deal in the book waits for Change at a stage past discovery")


def _add_note(crm: Crm, deal_id: str, body: str, at: datetime) -> None:
    store = crm.handle.store
    if crm.name == "salesforce":  # orgs without Enhanced Notes log a note as a completed "Other" task
        stamp = sf_datetime(datetime.now(UTC) - EARLIER)
        values = {"WhatId": deal_id, "Subject": "Note", "Description": body, "Status": "Completed",
                  "IsClosed": True, "Type": "Other", "TaskSubtype": "Task",
                  "ActivityDate": at.date().isoformat(), "CompletedDateTime": sf_datetime(at)}
        store.insert("Task", values, stamp=stamp)
        return
    when = at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    note = store.insert("notes", {"hs_note_body": f"<p>{body}</p>", "hs_timestamp": when})
    store.associate("deals", deal_id, "notes", note["id"], [])


def _close_task(crm: Crm, task_id: str) -> None:
    """A rep marks the plugin's task done."""
    store = crm.handle.store
    if crm.name == "salesforce":
        stamp = sf_datetime(datetime.now(UTC) - EARLIER)
        values = {"Status": "Completed", "IsClosed": True, "SystemModstamp": stamp, "LastModifiedDate": stamp}
        store.set_fields("Task", store.get(task_id), values)
        return
    store.update("tasks", task_id, {"hs_task_status": "COMPLETED"})


def _plugin_tasks(crm: Crm, deal_id: str) -> list[PluginTask]:
    connector = crm.connector()
    try:
        chunks = connector.read_deals_by_id([deal_id], datetime.now(UTC) + timedelta(days=1))
        (deal,) = [d for chunk in chunks for d in chunk]
    finally:
        connector.close()
    return sorted(deal.plugin_tasks, key=lambda t: t.key)


def _change_secured(crm: Crm, store: Store) -> tuple[str, PluginTask, PluginTask, int]:
    """A deal synced with Change secured by a note: (its id, the Change task the plugin completed, the open
    task it created for the commitment after it, how many plugin tasks the deal has)."""
    sync(crm, store)
    deal_id = _change_wanted(store)
    evidence_at = datetime.now(UTC) - timedelta(days=2)
    _add_note(crm, deal_id, "The compelling event is the audit in June", evidence_at)
    secured = sync(crm, store)
    assert secured.outcome == "success", secured.error
    tasks = {t.commitment: t for t in _plugin_tasks(crm, deal_id)}
    change = tasks.pop(Commitment.CHANGE)
    assert not change.is_open  # the plugin completed it: Change is secured
    [later] = [t for t in tasks.values() if t.is_open]  # the task for the commitment after it
    return deal_id, change, later, len(tasks) + 1


def test_given_a_secured_commitment_lost_to_a_setback_when_synced_then_its_completed_task_is_reopened_once(
    crm: Crm, store: Store
) -> None:
    deal_id, change, later, task_count = _change_secured(crm, store)
    _close_task(crm, later.task_id)  # the rep closes it...
    setback_at = datetime.now(UTC) - timedelta(days=1)
    _add_note(crm, deal_id, "Update: the project is on hold until Q3.", setback_at)  # ...then

    reopened = sync(crm, store)

    assert reopened.outcome == "success", reopened.error
    counts = reopened.counts
    assert (counts.tasks_created, counts.tasks_completed, counts.tasks_reopened) == (0, 0, 1)
    after = _plugin_tasks(crm, deal_id)
    assert [(t.task_id, t.is_open) for t in after if t.is_open] == [(change.task_id, True)]  # the same task
    assert len(after) == task_count  # no new task
    with store.session() as session:
        connection = run_store.find_connection(session, reopened.connection)
        assert connection is not None
        [row] = [r for r in state_store.task_keys(session, connection.id) if r.key == change.key]
        assert row.completed_at is None  # the store holds the reopened task open again
        run = session.get(RunRow, reopened.run_id)
        assert run is not None
        assert run.tasks_reopened == 1

    again = sync(crm, store)

    assert again.outcome == "success", again.error
    c = again.counts
    assert (c.fields_written, c.tasks_created, c.tasks_completed, c.tasks_reopened) == (0, 0, 0, 0)


def test_given_a_commitment_lost_while_the_next_task_is_open_when_that_task_is_closed_then_its_task_reopens(
    crm: Crm, store: Store
) -> None:
    deal_id, change, later, _ = _change_secured(crm, store)
    setback_at = datetime.now(UTC) - timedelta(days=1)
    _add_note(crm, deal_id, "Update: the project is on hold until Q3.", setback_at)
    lost = sync(crm, store)  # the later task is open: it stays the one task; "secured" drops Change
    _close_task(crm, later.task_id)  # then the rep closes it, Change still lost

    reopened = sync(crm, store)

    assert lost.counts.tasks_reopened == 0
    assert reopened.outcome == "success", reopened.error
    counts = reopened.counts
    assert (counts.tasks_created, counts.tasks_completed, counts.tasks_reopened) == (0, 0, 1)
    after = _plugin_tasks(crm, deal_id)
    assert [(t.task_id, t.is_open) for t in after if t.is_open] == [(change.task_id, True)]  # the same task
    assert sync(crm, store).counts.tasks_reopened == 0  # once
