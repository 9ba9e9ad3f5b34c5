"""End to end through a misbehaving sandbox: 429s, 503s, dropped connections, expired sessions, limits,
query timeouts and dropped query cursors.

Whatever the faults, a sync either finishes with everything written (a clean second run writes nothing)
or stops with a clear error; it never creates a plugin task twice.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import pytest
from salesforce_e2e_support import BOOK_NOW, PLAYBOOK, Clock, connect, plugin_tasks, start_org, sync

from connectors.base import BudgetExhaustedError
from core.models import Deal
from sandbox.faults import FaultPlan
from sandbox.generator import generate_book
from sandbox.salesforce import FaultStyle, SalesforceSandbox, new_org


@pytest.fixture
def org() -> Iterator[tuple[SalesforceSandbox, Clock]]:
    clock = Clock()
    store = new_org(generate_book(deals=40, seed=11, now=BOOK_NOW), clock=clock)
    box = SalesforceSandbox(store, FaultPlan(seed=5), style=FaultStyle(rate_limit_status=429)).start()
    connect(box).setup(PLAYBOOK, dry_run=False)
    yield box, clock
    box.stop()


def _assert_nothing_lost_nothing_doubled(box: SalesforceSandbox, clock: Clock) -> None:
    box.app.faults.clear()
    again = sync(connect(box), clock.advance(minutes=5))
    assert again.non_empty == []
    keys = Counter(t["Commitment_Key__c"] for t in plugin_tasks(box))
    assert keys
    assert max(keys.values()) == 1


def test_given_random_429_503_drops_and_expired_sessions_when_syncing_then_everything_lands_once(
    org: tuple[SalesforceSandbox, Clock],
) -> None:
    box, clock = org
    faults = box.app.faults
    faults.rate_limit, faults.server_error, faults.drop, faults.expired_session = 0.08, 0.08, 0.04, 0.03

    run = sync(connect(box, max_attempts=8), clock.now)

    assert run.result.deals_updated == 40
    assert not run.result.failures
    _assert_nothing_lost_nothing_doubled(box, clock)


@pytest.mark.parametrize("kind", ["drop", "server_error", "expired_session", "rate_limit"])
def test_given_a_task_create_call_fails_once_when_syncing_then_each_task_is_created_exactly_once(
    org: tuple[SalesforceSandbox, Clock], kind: str
) -> None:
    box, clock = org
    box.app.faults.queue(kind, "composite_create")

    run = sync(connect(box), clock.now)

    assert len(run.result.tasks_created) == len(plugin_tasks(box))
    _assert_nothing_lost_nothing_doubled(box, clock)


def test_given_the_full_read_times_out_when_syncing_then_every_deal_is_read_by_ids_and_lands_once(
    org: tuple[SalesforceSandbox, Clock],
) -> None:
    box, clock = org
    box.app.faults.queue("query_timeout", "query_all")  # the deal query over the whole book
    sf = connect(box, ids_per_query=16)

    run = sync(sf, clock.now)

    assert sorted(d.id for d in run.deals) == sorted(box.store.tables["Opportunity"])
    assert run.result.deals_updated == 40
    assert sf.api_calls()["query"] >= 1 + 1 + 1 + 3  # the stages, the full read, the ids, three by ids
    _assert_nothing_lost_nothing_doubled(box, clock)


def test_given_the_org_drops_the_read_cursor_midway_when_reading_all_then_every_deal_is_read_once(
    org: tuple[SalesforceSandbox, Clock], caplog: pytest.LogCaptureFixture
) -> None:
    box, clock = org
    sf = connect(box, chunk_size=5, query_batch_size=200)

    deals: list[Deal] = []
    for chunk in sf.read_deals(None, clock.now):
        if not deals:  # Salesforce drops a cursor left idle, or a user's oldest when too many are open
            box.store.cursors.clear()
        deals.extend(chunk)

    assert sorted(d.id for d in deals) == sorted(box.store.tables["Opportunity"])
    assert "dropped a query's cursor" in caplog.text


def test_given_the_daily_limit_is_spent_when_reading_then_the_run_stops_with_budget_exhausted(
    org: tuple[SalesforceSandbox, Clock],
) -> None:
    box, clock = org
    box.store.exhaust_daily_limit()

    with pytest.raises(BudgetExhaustedError, match="daily API request limit"):
        sync(connect(box), clock.now)


def test_given_usage_below_the_reserve_when_reading_then_the_run_stops_at_a_chunk_boundary() -> None:
    box, clock = start_org(deals=30, api_daily_max=100)
    try:
        sf = connect(box, chunk_size=5, api_reserve_fraction=0.5, query_batch_size=200)
        sf.setup(PLAYBOOK, dry_run=False)
        box.store.org["api_used"] = 45

        chunks: list[list[Deal]] = []
        with pytest.raises(BudgetExhaustedError, match="reserve"):
            chunks.extend(sf.read_deals(None, clock.now))
        budget = sf.budget()
        assert budget is not None
        assert budget.remaining_fraction < 0.5
        assert all(len(c) == 5 for c in chunks)
    finally:
        box.stop()


@pytest.mark.parametrize("endpoint", ["bulk2_create", "bulk2_job"])
def test_given_the_session_expires_during_a_bulk_job_when_applying_then_it_logs_in_again_and_finishes(
    org: tuple[SalesforceSandbox, Clock], endpoint: str
) -> None:
    box, clock = org
    sf = connect(box, bulk_threshold=10, bulk_wait_seconds=0)
    sf.pipeline_stages()
    box.app.faults.queue("expired_session", endpoint)

    run = sync(sf, clock.now)

    assert run.result.deals_updated == 40
    assert sf.api_calls()["login"] == 2
    _assert_nothing_lost_nothing_doubled(box, clock)


def test_given_a_change_query_subrequest_answering_503_when_syncing_then_the_composite_is_sent_again(
    org: tuple[SalesforceSandbox, Clock],
) -> None:
    box, clock = org
    synced_at = clock.now
    first = sync(connect(box), synced_at)
    box.app.faults.queue("server_error", "query_all")  # the first queryAll subrequest: Task changes
    sf = connect(box)

    again = sync(sf, clock.advance(minutes=5), since=synced_at)

    assert sorted(d.id for d in again.deals) == sorted(d.id for d in first.deals)  # the plugin's own writes
    assert list(box.app.faults.script) == []
    assert sf.api_calls()["composite_query"] == 2 + 1 + 1  # the changes (the first call twice), attendees
    _assert_nothing_lost_nothing_doubled(box, clock)
