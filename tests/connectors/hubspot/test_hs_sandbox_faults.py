"""Partial failures and faults through the sandbox: 207s reported, 400s bisected, 429/5xx/drops survived."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

import pytest
from hubspot_support import (
    FakeClock,
    Sleeps,
    after_answering,
    connector_for,
    deal_props,
    deal_task_keys,
    read_all,
    sync,
)
from sqlalchemy import select

from connectors.base import BudgetExhaustedError
from core.assess import assess
from core.models import OwnedField, OwnedFields, TaskActionKind, WritePlan
from core.plan import plan
from core.playbook import Playbook
from sandbox.http import DropConnection, Request, Response
from sandbox.hubspot import HubSpotSandbox
from worker.store import Store
from worker.store import state as state_store
from worker.store.models import ConnectionRow, RunRow
from worker.sync import SyncConnection, SyncResult, run_sync


def score_plans(deal_ids: list[str], score: int, evidence_for: str | None = None) -> list[WritePlan]:
    plans = []
    for deal_id in deal_ids:
        changed = {OwnedField.SCORE}
        if deal_id == evidence_for:
            changed.add(OwnedField.EVIDENCE)
        values = OwnedFields(score=score, evidence="why")
        plans.append(WritePlan(deal_id=deal_id, values=values, changed=frozenset(changed)))
    return plans


@pytest.fixture
def provisioned(portal: HubSpotSandbox, playbook: Playbook) -> HubSpotSandbox:
    connector_for(portal).setup(playbook, dry_run=False)
    portal.app.reset_calls()
    return portal


def test_given_a_record_failing_when_batch_updated_then_207_reported_and_rest_written(
    provisioned: HubSpotSandbox, playbook: Playbook
) -> None:
    deal_ids = sorted(provisioned.store.tables["deals"])[:5]
    provisioned.store.fail_record_ids.add(deal_ids[2])
    result = connector_for(provisioned).apply(score_plans(deal_ids, 7), playbook)
    assert result.deals_updated == 4
    (failure,) = result.failures
    assert (failure.deal_id, failure.operation, failure.code) == (deal_ids[2], "update", "VALIDATION_ERROR")
    assert [deal_props(provisioned, d).get("commitment_score") == "7" for d in deal_ids] == [
        True, True, False, True, True
    ]
    assert provisioned.app.calls["objects.batch_update"] == 1


def test_given_a_record_rejecting_the_whole_batch_when_updated_then_bisected_and_rest_written(
    provisioned: HubSpotSandbox, playbook: Playbook
) -> None:
    deal_ids = sorted(provisioned.store.tables["deals"])[:16]
    provisioned.store.tables["property_definitions"]["deals/commitment_evidence"]["archived"] = True
    result = connector_for(provisioned).apply(score_plans(deal_ids, 5, evidence_for=deal_ids[9]), playbook)
    assert result.deals_updated == 15
    (failure,) = result.failures
    assert (failure.deal_id, failure.code) == (deal_ids[9], "400")
    assert "commitment_evidence" in failure.message
    written = [d for d in deal_ids if deal_props(provisioned, d).get("commitment_score") == "5"]
    assert written == [d for d in deal_ids if d != deal_ids[9]]
    assert provisioned.app.calls["objects.batch_update"] == 1 + 2 * 4  # log2(16) levels, two halves each


def test_given_429s_5xx_and_drops_when_full_sync_then_nothing_lost_and_retry_after_honoured(
    provisioned: HubSpotSandbox, playbook: Playbook, clock: FakeClock
) -> None:
    faults = provisioned.app.faults
    faults.queue("rate_limit", "objects.batch_update", times=2)
    faults.queue("server_error", "objects.batch_read", times=2)
    faults.queue("drop", "associations.batch_read", times=1)
    faults.queue("server_error", "objects.batch_create", times=1)
    faults.queue("drop", "objects.list", times=1)
    sleeps = Sleeps()
    outcome = sync(connector_for(provisioned, sleeps), playbook, None, clock.now)
    assert outcome.result.failures == []
    assert outcome.result.deals_updated == len([p for p in outcome.plans if p.changed])
    assert sleeps.calls.count(float(faults.retry_after)) >= 2  # the two 429s waited Retry-After
    assert list(faults.script) == []
    again = sync(connector_for(provisioned), playbook, None, clock.advance(minutes=1))
    assert again.non_empty == []
    creates = [a for p in outcome.plans for a in p.tasks]
    for action in creates:
        assert deal_task_keys(provisioned, action.deal_id) == [action.key]


def test_given_task_create_answer_lost_after_creating_when_applied_then_no_duplicate_task(
    provisioned: HubSpotSandbox, playbook: Playbook, clock: FakeClock
) -> None:
    dropped: Counter[str] = Counter()

    def lose_first_answer(n: int) -> None:
        if n == 1:
            dropped["create"] += 1
            raise DropConnection  # HubSpot created the tasks, but the answer never arrives

    after_answering(provisioned, "/tasks/batch/create", lose_first_answer)
    outcome = sync(connector_for(provisioned), playbook, None, clock.now)
    creates = [a for p in outcome.plans for a in p.tasks]
    assert dropped["create"] == 1
    assert outcome.result.failures == []
    assert sorted(t.key for t in outcome.result.tasks_created) == sorted(a.key for a in creates)
    for action in creates:
        assert deal_task_keys(provisioned, action.deal_id) == [action.key]
    assert provisioned.app.calls["objects.batch_create"] == 1  # the re-check found them: not sent again


def test_given_daily_limit_spent_when_reading_then_budget_exhausted_error(
    provisioned: HubSpotSandbox, clock: FakeClock
) -> None:
    def daily_429(kind: str, request: Request) -> Response:
        body = {"status": "error", "message": "You have reached your daily limit.", "errorType": "RATE_LIMIT",
                "policyName": "DAILY"}
        return Response.json(body, 429)

    provisioned.app.fault_response = daily_429
    provisioned.app.faults.queue("rate_limit", "objects.list")
    with pytest.raises(BudgetExhaustedError, match="daily"):
        read_all(connector_for(provisioned), None, clock.now)
    assert provisioned.app.calls["objects.list"] == 1  # not retried


def test_given_daily_usage_inside_the_reserve_when_syncing_then_the_run_stops_before_spending_it(
    provisioned: HubSpotSandbox, clock: FakeClock, playbook: Playbook
) -> None:
    limits = provisioned.portal.limits
    limits.used_today = limits.daily - 50_000  # 7.7% left: other integrations on the portal need it
    connector = connector_for(provisioned)  # the default reserve: 20% of the day

    with pytest.raises(BudgetExhaustedError, match="20% reserve"):
        read_all(connector, None, clock.now)
    with pytest.raises(BudgetExhaustedError, match="20% reserve"):
        connector.apply(score_plans(sorted(provisioned.store.tables["deals"])[:5], 7), playbook)

    assert connector.api_calls() == {"pipelines": 1}  # its headers told; nothing more was spent
    assert provisioned.app.calls["objects.batch_update"] == 0


def test_given_rate_limit_headers_when_reading_then_budget_reported(
    provisioned: HubSpotSandbox, clock: FakeClock
) -> None:
    connector = connector_for(provisioned)
    read_all(connector, None, clock.now)
    budget = connector.budget()
    assert budget is not None
    assert budget.limit > budget.used > 0


def test_given_a_slow_answer_when_reading_then_read_timeout_retried(
    provisioned: HubSpotSandbox, clock: FakeClock
) -> None:
    def first_answer_slow(n: int) -> None:
        if n == 1:
            time.sleep(0.5)  # longer than the client's read timeout

    after_answering(provisioned, "/objects/deals", first_answer_slow)
    connector = connector_for(provisioned, read_timeout=0.2)
    assert len(read_all(connector, None, clock.now)) == 60
    assert connector.api_calls()["list"] == 2


def test_given_hubspot_down_midway_when_updating_then_written_batches_kept_and_rest_reported(
    provisioned: HubSpotSandbox, playbook: Playbook
) -> None:
    def down_after_two_batches(n: int) -> None:
        if n > 2:
            raise DropConnection

    after_answering(provisioned, "/deals/batch/update", down_after_two_batches)
    deal_ids = sorted(provisioned.store.tables["deals"])
    connector = connector_for(provisioned, batch_size=10, max_attempts=2)
    result = connector.apply(score_plans(deal_ids, 3), playbook)
    assert result.deals_updated == 20
    assert [f.deal_id for f in result.failures] == deal_ids[20:]
    assert {f.code for f in result.failures} == {"transient"}
    assert connector.api_calls()["batch_update"] == 2 + 2  # the third batch tried twice, the rest not at all


def spend_the_day_at_first_task_create(sandbox: HubSpotSandbox) -> None:
    """Other integrations spend the portal's day while the first task-create batch is answered: its
    headers show 10% of the day left, below the connector's 20% reserve, so the next batch is not sent."""
    decorate = sandbox.app.decorate
    limits = sandbox.portal.limits
    spent: list[bool] = []

    def hook(request: Request, response: Response) -> None:
        if request.path.endswith("/tasks/batch/create") and not spent:
            spent.append(True)
            limits.used_today = limits.daily * 9 // 10
        decorate(request, response)

    sandbox.app.decorate = hook


def task_keys(sandbox: HubSpotSandbox) -> list[str]:
    return [key for deal_id in sandbox.store.tables["deals"] for key in deal_task_keys(sandbox, deal_id)]


def test_given_the_budget_runs_out_between_task_batches_when_synced_then_the_run_records_what_it_wrote(
    provisioned: HubSpotSandbox, playbook: Playbook, clock: FakeClock, tmp_path: Path
) -> None:
    spend_the_day_at_first_task_create(provisioned)
    store = Store.open(f"sqlite:///{tmp_path / 'state.sqlite3'}")

    def run() -> SyncResult:
        connector = connector_for(provisioned, batch_size=10)
        try:
            return run_sync(SyncConnection("portal", connector, playbook, store), clock.now)
        finally:
            connector.close()
            clock.advance(minutes=1)

    stopped = run()
    keys_after_stop = set(task_keys(provisioned))
    provisioned.portal.limits.used_today = 0  # a new day
    rest = run()

    assert (stopped.outcome, rest.outcome) == ("budget_stopped", "success")
    assert "20% reserve" in (stopped.error or "")
    assert stopped.counts.tasks_created == len(keys_after_stop) == 10  # one batch, then the budget stop
    assert stopped.counts.fields_written > 0  # every deal's fields went before the tasks
    with store.session() as session:
        (connection_id,) = session.scalars(select(ConnectionRow.id))
        assert {row.key for row in state_store.task_keys(session, connection_id)} >= keys_after_stop
        recorded = session.get(RunRow, stopped.run_id)
        assert recorded is not None
        assert (recorded.fields_written, recorded.tasks_created) == (stopped.counts.fields_written, 10)
        assert state_store.get_watermark(session, connection_id) == rest.started_at
    assert stopped.watermark_after is None
    assert rest.counts.fields_written == 0
    keys = task_keys(provisioned)
    assert len(keys) == len(set(keys)) == 10 + rest.counts.tasks_created  # none made twice
    store.close()


def test_given_no_budget_left_to_resend_unowned_tasks_when_applied_then_the_error_carries_the_created(
    provisioned: HubSpotSandbox, playbook: Playbook, clock: FakeClock
) -> None:
    del provisioned.store.tables["owners"][next(iter(provisioned.store.tables["owners"]))]
    spend_the_day_at_first_task_create(provisioned)  # the resend without owner is not sent

    with pytest.raises(BudgetExhaustedError) as stopped:
        sync(connector_for(provisioned), playbook, None, clock.now)

    written = stopped.value.written
    assert written is not None
    assert written.fields_written > 0  # the deal updates went first
    assert sorted(t.key for t in written.tasks_created) == sorted(task_keys(provisioned))
    assert written.tasks_created
    assert written.failures == []



def test_given_one_task_found_by_its_key_when_the_budget_stops_the_create_then_the_error_carries_it(
    provisioned: HubSpotSandbox, playbook: Playbook, clock: FakeClock
) -> None:
    connector = connector_for(provisioned)
    deals = read_all(connector, None, clock.now)
    creates = [
        WritePlan(deal_id=a.deal_id, values=OwnedFields(), tasks=(a,))
        for d in deals
        for a in plan(assess(d, playbook, clock.now), d, playbook, clock.now).tasks
        if a.kind is TaskActionKind.CREATE
    ][:2]
    (first,) = connector.apply(creates[:1], playbook).tasks_created  # since the read: a lost answer's retry
    limits = provisioned.portal.limits
    limits.used_today = limits.daily * 9 // 10  # the re-check's answers show the day spent

    with pytest.raises(BudgetExhaustedError, match="20% reserve") as stopped:
        connector.apply(creates, playbook)

    # as when the create goes through: the first deal's task is there, and the run records its key
    assert stopped.value.written is not None
    assert stopped.value.written.tasks_created == [first]
    assert deal_task_keys(provisioned, creates[1].deal_id) == []
