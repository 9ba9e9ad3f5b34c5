"""Faults and rep edits end to end on both CRMs: whatever happens, reruns converge to the undisturbed state.

The reference state S is what an undisturbed sync and a second sync leave in a fresh sandbox CRM (the owned
fields and the plugin's tasks with their keys, open or closed). Each scenario disturbs the runs of an
identical sandbox (429 storms, 5xx on a write batch, records the CRM refuses, a process killed
mid-apply, a task create whose answer is lost, a rep's edits) and reruns until a run succeeds; the CRM
must then hold S (or the documented variant), never a duplicate task key, never a non-owned field or stage
changed by the plugin, and the run history must say what happened (failed, partial, success).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select

from connectors.base import ApplyResult
from core.models import Deal, WritePlan
from core.playbook import Playbook
from sandbox.book import Book
from sandbox.http import DropConnection, Request, Response
from sandbox.salesforce import writes as sf_writes
from sandbox.salesforce.app import FaultStyle, make_fault_response
from tests.e2e.conftest import Crm, connect, crm_state, start_crm, sync
from worker.store import Store
from worker.store import runs as run_store
from worker.store import state as state_store
from worker.store.models import ConnectionRow, RunFailureRow
from worker.sync import run_sync

pytestmark = pytest.mark.slow

_REFERENCES: dict[str, dict[str, Any]] = {}


class Killed(Exception):
    """Stands in for the process dying in the middle of a run."""


@pytest.fixture
def reference(crm: Crm, book: Book, playbook: Playbook, tmp_path: Any) -> dict[str, Any]:
    """S: the CRM after an undisturbed sync and a second sync of the same book (computed once per CRM)."""
    if crm.name not in _REFERENCES:
        clean = start_crm(crm.name, book, playbook)
        store = Store.open(f"sqlite:///{tmp_path / 'reference.sqlite3'}")
        try:
            for _ in range(2):
                assert sync(clean, store).outcome == "success"
            _REFERENCES[crm.name] = crm_state(clean)
        finally:
            store.close()
            clean.stop()
    return _REFERENCES[crm.name]


@pytest.fixture
def untouched(crm: Crm) -> dict[str, Any]:
    """Every deal's non-owned data before any sync, as the connector reads it."""
    return non_owned(crm)


def rerun_until_success(crm: Crm, store: Store, runs: int = 4) -> list[str]:
    outcomes = []
    for _ in range(runs):
        result = sync(crm, store)
        outcomes.append(result.outcome)
        if result.outcome == "success":
            break
    return outcomes


def read_deals(crm: Crm) -> dict[str, Deal]:
    connector = crm.connector()
    try:
        until = datetime.now(UTC).replace(year=datetime.now(UTC).year + 1)
        return {deal.id: deal for chunk in connector.read_deals(None, until) for deal in chunk}
    finally:
        connector.close()


def non_owned(crm: Crm) -> dict[str, Any]:
    """Everything of each deal the plugin does not own (stage, amount, activities, ...)."""
    return {
        deal_id: deal.model_dump(mode="json", exclude={"current", "plugin_tasks", "modified_at"})
        for deal_id, deal in read_deals(crm).items()
    }


def assert_no_duplicate_keys(state: dict[str, Any]) -> None:
    keys = Counter(key for _fields, tasks in state.values() for key, _open in tasks)
    assert keys, "no plugin task at all"
    assert max(keys.values()) == 1, [key for key, n in keys.items() if n > 1]


def assert_converged(crm: Crm, store: Store, reference: dict[str, Any], untouched: dict[str, Any]) -> None:
    """The CRM holds S, nothing the plugin does not own changed, and the store knows every plugin task (so
    one a rep deletes is never made again)."""
    state = crm_state(crm)
    assert_no_duplicate_keys(state)
    assert state == reference
    assert non_owned(crm) == untouched
    assert stored_keys(store) == {key for _fields, tasks in state.values() for key, _open in tasks}


def outcomes_in_history(store: Store) -> list[str]:
    with store.session() as session:
        return [run.outcome for run, _name in reversed(run_store.recent_runs(session, "e2e"))]


def failures_recorded(store: Store, run_id: int) -> list[tuple[str, str]]:
    with store.session() as session:
        rows = session.query(RunFailureRow).filter(RunFailureRow.run_id == run_id)
        return sorted((row.deal_id, row.operation) for row in rows)


def open_task_deals(reference: dict[str, Any], count: int) -> list[str]:
    return [d for d, (_fields, tasks) in sorted(reference.items()) if any(o for _k, o in tasks)][:count]


def stored_keys(store: Store) -> set[str]:
    with store.session() as session:
        connection_id = session.scalars(select(ConnectionRow.id).where(ConnectionRow.name == "e2e")).one()
        return {row.key for row in state_store.task_keys(session, connection_id)}


# ------------------------------------------------------------------------------------------ fault hooks


def rate_limit_style(crm: Crm, *, retry_after: bool) -> None:
    """Make injected rate limits answer 429, with or without a Retry-After header."""
    app = crm.handle.app
    if crm.name == "salesforce":
        app.fault_response = make_fault_response(crm.handle.store, FaultStyle(rate_limit_status=429))
    if not retry_after:
        answer = app.fault_response

        def without_retry_after(kind: str, request: Request) -> Response:
            response = answer(kind, request)
            response.headers.pop("Retry-After", None)
            return response

        app.fault_response = without_retry_after


def write_endpoint(crm: Crm) -> str:
    return "composite_update" if crm.name == "salesforce" else "objects.batch_update"


def refuse(crm: Crm, deal_ids: Sequence[str]) -> None:
    crm.handle.store.fail_record_ids.update(deal_ids)


def lose_answer_of_first_task_create(crm: Crm) -> list[int]:
    """The first task-create request is carried out by the CRM, but its answer never arrives."""
    app = crm.handle.app
    decorate = app.decorate
    dropped = [0]

    def is_task_create(request: Request) -> bool:
        if crm.name == "salesforce":
            return request.method == "POST" and request.path.endswith("/composite/sobjects")
        return request.path.endswith("/tasks/batch/create")

    def hook(request: Request, response: Response) -> None:
        decorate(request, response)
        if is_task_create(request) and not dropped[0]:
            dropped[0] += 1
            raise DropConnection

    app.decorate = hook
    return dropped


def kill_after_applying_half(crm: Crm, store: Store) -> list[str]:
    """A run whose process dies after the CRM took the writes of half of the deals, before recording them;
    returns the deals it created a task on."""
    connection = connect(crm, store)
    apply = connection.connector.apply
    created: list[str] = []

    def half_then_die(plans: Sequence[WritePlan], playbook: Playbook) -> ApplyResult:
        result = apply(plans[: len(plans) // 2], playbook)
        created.extend(task.deal_id for task in result.tasks_created)
        raise Killed("process killed mid-apply")

    connection.connector.apply = half_then_die  # type: ignore[method-assign]
    try:
        with pytest.raises(Killed):
            run_sync(connection, datetime.now(UTC))
    finally:
        connection.connector.close()
    return created


# ----------------------------------------------------------------------------------------- rep edits


def rep_moves_stage(crm: Crm, deal_id: str) -> str:
    store = crm.handle.store
    if crm.name == "salesforce":
        current = store.get(deal_id)["StageName"]
        stage = "Negotiation/Review" if current != "Negotiation/Review" else "Qualification"
        user = store.org["api_user_id"]
        assert not sf_writes.update(store, "Opportunity", deal_id, {"StageName": stage}, user)
        return stage
    current = store.get("deals", deal_id)["properties"]["dealstage"]
    stage = "contractsent" if current != "contractsent" else "qualifiedtobuy"
    store.update("deals", deal_id, {"dealstage": stage}, source="CRM_UI")
    return stage


def rep_edits_description(crm: Crm, deal_id: str, text: str) -> None:
    store = crm.handle.store
    if crm.name == "salesforce":
        user = store.org["api_user_id"]
        assert not sf_writes.update(store, "Opportunity", deal_id, {"Description": text}, user)
    else:
        store.update("deals", deal_id, {"description": text}, source="CRM_UI")


def open_plugin_task(crm: Crm, deal_id: str) -> tuple[str, str]:
    (task,) = [t for t in read_deals(crm)[deal_id].plugin_tasks if t.is_open]
    return task.task_id, task.key


def rep_completes_task(crm: Crm, task_id: str) -> None:
    store = crm.handle.store
    if crm.name == "salesforce":
        assert not sf_writes.update(store, "Task", task_id, {"Status": "Completed"}, store.org["api_user_id"])
    else:
        store.update("tasks", task_id, {"hs_task_status": "COMPLETED"}, source="CRM_UI")


def rep_deletes_task(crm: Crm, task_id: str) -> None:
    store = crm.handle.store
    if crm.name == "salesforce":
        store.soft_delete(store.get(task_id))
    else:
        store.archive("tasks", task_id)


# ------------------------------------------------------------------------------------------- scenarios


@pytest.fixture
def disturbed(crm: Crm, tmp_path: Any) -> Iterator[Store]:
    store = Store.open(f"sqlite:///{tmp_path / 'disturbed.sqlite3'}")
    yield store
    store.close()


@pytest.mark.parametrize("retry_after", [True, False], ids=["retry-after", "no-retry-after"])
def test_given_a_429_storm_shorter_than_the_retries_when_syncing_then_the_run_succeeds_and_converges(
    crm: Crm, disturbed: Store, reference: dict[str, Any], untouched: dict[str, Any], retry_after: bool
) -> None:
    rate_limit_style(crm, retry_after=retry_after)
    crm.handle.app.faults.queue("rate_limit", times=6)

    outcomes = rerun_until_success(crm, disturbed)

    assert outcomes == ["success"]
    assert list(crm.handle.app.faults.script) == []
    assert_converged(crm, disturbed, reference, untouched)


def task_create_endpoint(crm: Crm) -> str:
    return "composite_create" if crm.name == "salesforce" else "objects.batch_create"


@pytest.mark.parametrize("retry_after", [True, False], ids=["retry-after", "no-retry-after"])
def test_given_a_429_storm_on_reads_longer_than_the_retries_when_rerun_then_runs_fail_truthfully_and_converge(
    crm: Crm, disturbed: Store, reference: dict[str, Any], untouched: dict[str, Any], retry_after: bool
) -> None:
    rate_limit_style(crm, retry_after=retry_after)
    crm.handle.app.faults.queue("rate_limit", times=12)  # more than the 8 attempts of one call

    first = sync(crm, disturbed)
    outcomes = [first.outcome, *rerun_until_success(crm, disturbed)]

    assert first.outcome == "failed"
    assert first.error
    assert first.watermark_after is None
    assert outcomes[-1] == "success"
    assert outcomes_in_history(disturbed) == outcomes
    assert_converged(crm, disturbed, reference, untouched)


@pytest.mark.parametrize("target", ["update", "task_create"])
def test_given_a_429_storm_on_writes_longer_than_the_retries_when_rerun_then_runs_tell_and_converge(
    crm: Crm, disturbed: Store, reference: dict[str, Any], untouched: dict[str, Any], target: str
) -> None:
    rate_limit_style(crm, retry_after=False)
    endpoint = write_endpoint(crm) if target == "update" else task_create_endpoint(crm)
    crm.handle.app.faults.queue("rate_limit", endpoint, times=100)  # outlasts every retry and re-check

    first = sync(crm, disturbed)
    crm.handle.app.faults.clear()
    outcomes = [first.outcome, *rerun_until_success(crm, disturbed)]

    # Both CRMs: the deals the CRM stayed unavailable for are failures to retry; the run goes on.
    assert first.outcome == "partial", first.error
    assert first.counts.failures == len(first.failures) > 0
    assert {f.operation for f in first.failures} == {"update" if target == "update" else "create_task"}
    assert {f.code for f in first.failures} == {"transient"}
    assert outcomes[-1] == "success"
    assert outcomes_in_history(disturbed) == outcomes
    assert_converged(crm, disturbed, reference, untouched)


@pytest.mark.parametrize("kind", ["server_error_500", "server_error_503"])
def test_given_a_write_batch_answering_5xx_until_retries_give_up_when_rerun_then_it_converges(
    crm: Crm, disturbed: Store, reference: dict[str, Any], untouched: dict[str, Any], kind: str
) -> None:
    status = 500 if kind.endswith("500") else 503
    if crm.name == "salesforce":
        crm.handle.app.fault_response = make_fault_response(
            crm.handle.store, FaultStyle(server_error_status=status)
        )
    crm.handle.app.faults.queue("server_error", write_endpoint(crm), times=8)

    first = sync(crm, disturbed)
    outcomes = [first.outcome, *rerun_until_success(crm, disturbed)]

    assert first.outcome == "partial", first.error  # its deals are reported one by one, retried next run
    assert first.counts.failures == len(first.failures) > 0
    assert failures_recorded(disturbed, first.run_id)
    assert outcomes[1:] == ["success"]
    assert outcomes_in_history(disturbed) == outcomes
    assert_converged(crm, disturbed, reference, untouched)


def test_given_some_deals_refused_when_synced_then_partial_with_per_record_failures_and_retried_next_run(
    crm: Crm, disturbed: Store, reference: dict[str, Any], untouched: dict[str, Any]
) -> None:
    refused = sorted(reference)[3:6]
    refuse(crm, refused)

    first = sync(crm, disturbed)
    crm.handle.store.fail_record_ids.clear()
    second = sync(crm, disturbed)
    third = sync(crm, disturbed)

    assert first.outcome == "partial"
    assert {f.deal_id for f in first.failures} == set(refused)
    assert {deal for deal, _op in failures_recorded(disturbed, first.run_id)} == set(refused)
    assert first.watermark_after is not None  # refused deals do not hold the watermark back
    assert second.outcome == "success"
    assert second.counts.deals_changed >= len(refused)
    assert (third.counts.fields_written, third.counts.tasks_created) == (0, 0)
    assert outcomes_in_history(disturbed) == ["partial", "success", "success"]
    assert_converged(crm, disturbed, reference, untouched)


def test_given_the_process_killed_mid_apply_when_rerun_then_it_converges_and_remembers_every_task(
    crm: Crm, disturbed: Store, reference: dict[str, Any], untouched: dict[str, Any]
) -> None:
    created_by_killed_run = kill_after_applying_half(crm, disturbed)
    outcomes = rerun_until_success(crm, disturbed)

    assert created_by_killed_run
    assert outcomes_in_history(disturbed) == ["failed", "success"]
    assert outcomes == ["success"]
    assert_converged(crm, disturbed, reference, untouched)
    # a task the killed run made and a rep then deletes is not made again: the store remembers it too
    deal_id = created_by_killed_run[0]
    task_id, key = open_plugin_task(crm, deal_id)
    rep_deletes_task(crm, task_id)
    recreated = sync(crm, disturbed, mode="full")
    assert recreated.outcome == "success"
    assert key not in {k for k, _open in crm_state(crm)[deal_id][1]}
    assert recreated.counts.tasks_created == 0
    state = crm_state(crm)
    assert stored_keys(disturbed) >= {key for _fields, tasks in state.values() for key, _open in tasks}


def test_given_a_task_create_answer_lost_when_synced_then_each_task_exists_once_and_is_recorded(
    crm: Crm, disturbed: Store, reference: dict[str, Any], untouched: dict[str, Any]
) -> None:
    dropped = lose_answer_of_first_task_create(crm)

    outcomes = rerun_until_success(crm, disturbed)

    assert dropped == [1]
    assert outcomes[-1] == "success"
    assert_converged(crm, disturbed, reference, untouched)
    state = crm_state(crm)
    assert stored_keys(disturbed) == {key for _fields, tasks in state.values() for key, _open in tasks}


def test_given_rep_edits_between_runs_when_synced_then_the_plugin_keeps_them_and_writes_only_its_own(
    crm: Crm, disturbed: Store, reference: dict[str, Any]
) -> None:
    assert sync(crm, disturbed).outcome == "success"
    moved, described, completed, deleted = open_task_deals(reference, 4)
    stage = rep_moves_stage(crm, moved)
    rep_edits_description(crm, described, "Rep's own words, not the plugin's")
    completed_task, completed_key = open_plugin_task(crm, completed)
    rep_completes_task(crm, completed_task)
    deleted_task, deleted_key = open_plugin_task(crm, deleted)
    rep_deletes_task(crm, deleted_task)
    edited = non_owned(crm)

    results = [sync(crm, disturbed, mode="full"), sync(crm, disturbed), sync(crm, disturbed, mode="full")]

    assert [r.outcome for r in results] == ["success"] * 3
    assert non_owned(crm) == edited  # stage, description, every non-owned value as the rep left it
    deals = read_deals(crm)
    assert deals[moved].stage == stage
    assert deals[described].description == "Rep's own words, not the plugin's"
    state = crm_state(crm)
    assert_no_duplicate_keys(state)
    assert (completed_key, False) in state[completed][1]  # stays completed, never reopened or recreated
    assert deleted_key not in {key for key, _open in state[deleted][1]}  # a deleted task is not recreated
    for deal_id in set(reference) - {moved, described, completed, deleted}:
        assert state[deal_id] == reference[deal_id], deal_id
    assert (results[2].counts.fields_written, results[2].counts.tasks_created) == (0, 0)


def rep_confirms(crm: Crm, deal_id: str, commitment: str) -> None:
    store = crm.handle.store
    if crm.name == "salesforce":
        # read-only for the integration user: the rep ticks it in the UI
        store.set_fields("Opportunity", store.get(deal_id), {"Commitments_Confirmed__c": commitment})
    else:
        store.update("deals", deal_id, {"commitments_confirmed": commitment}, source="CRM_UI")


def test_given_a_locked_task_when_the_plugin_completes_it_then_partial_reported_and_completed_next_run(
    crm: Crm, disturbed: Store, reference: dict[str, Any]
) -> None:
    assert sync(crm, disturbed).outcome == "success"
    deal_id = open_task_deals(reference, 1)[0]
    task_id, key = open_plugin_task(crm, deal_id)
    rep_confirms(crm, deal_id, key.rsplit(":", 1)[-1])  # the commitment is secured: its task is done
    refuse(crm, [task_id])

    locked = sync(crm, disturbed, mode="full")
    crm.handle.store.fail_record_ids.clear()
    retried = sync(crm, disturbed)
    settled = sync(crm, disturbed, mode="full")

    assert locked.outcome == "partial"
    assert [(f.deal_id, f.operation) for f in locked.failures] == [(deal_id, "complete_task")]
    assert failures_recorded(disturbed, locked.run_id) == [(deal_id, "complete_task")]
    assert retried.outcome == "success"
    assert retried.counts.tasks_completed == 1
    assert (settled.counts.fields_written, settled.counts.tasks_created, settled.counts.tasks_completed) == (
        0, 0, 0
    )
    state = crm_state(crm)
    assert_no_duplicate_keys(state)
    assert (key, False) in state[deal_id][1]
    assert sum(is_open for _key, is_open in state[deal_id][1]) <= 1
    assert outcomes_in_history(disturbed) == ["success", "partial", "success", "success"]


def test_given_the_crm_unavailable_to_complete_a_task_when_synced_then_its_successor_waits_for_the_next_run(
    crm: Crm, disturbed: Store, reference: dict[str, Any], untouched: dict[str, Any]
) -> None:
    assert sync(crm, disturbed).outcome == "success"
    deals = read_deals(crm)
    deal_id = next(d for d in open_task_deals(reference, len(reference)) if not deals[d].is_closed)
    _task_id, key = open_plugin_task(crm, deal_id)
    rep_confirms(crm, deal_id, key.rsplit(":", 1)[-1])  # its task is done: complete it, create the next
    rate_limit_style(crm, retry_after=False)
    # Salesforce completes tasks in its update batches, HubSpot in a tasks batch update: both outlast retries.
    crm.handle.app.faults.queue("rate_limit", write_endpoint(crm), times=100)

    stalled = sync(crm, disturbed, mode="full")
    open_keys_while_stalled = [k for k, is_open in crm_state(crm)[deal_id][1] if is_open]
    crm.handle.app.faults.clear()
    retried = sync(crm, disturbed)

    assert stalled.outcome == "partial", stalled.error
    assert (deal_id, "complete_task") in [(f.deal_id, f.operation) for f in stalled.failures]
    assert open_keys_while_stalled == [key]  # the old task, still open; no second open task beside it
    assert retried.outcome == "success", retried.error
    assert (retried.counts.tasks_completed, retried.counts.tasks_created) == (1, 1)
    state = crm_state(crm)
    assert_no_duplicate_keys(state)
    assert (key, False) in state[deal_id][1]
    assert sum(is_open for _key, is_open in state[deal_id][1]) == 1
