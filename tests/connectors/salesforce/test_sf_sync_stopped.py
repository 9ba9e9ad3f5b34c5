"""A sync whose writes an error stops part-way (the daily limit, an expired session): the run's record tells
what the first batches wrote, and the next run writes only the rest."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import responses
from salesforce_support import API, PLAYBOOK, add_discovery, connector, payload, query_page, session_config

from worker.store import Store
from worker.store import deals as deal_store
from worker.store import state as state_store
from worker.store.models import RunRow
from worker.sync import SyncConnection, SyncResult, run_sync

NOW = datetime(2024, 6, 10, 15, 0, tzinfo=UTC)
DEAL_IDS = [f"0065g00000Abc{n:02}AAB" for n in range(10, 15)]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store.open(f"sqlite:///{tmp_path / 'state.sqlite3'}")
    yield opened
    opened.close()


def opportunities(written: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Five lost deals as Salesforce returns them (the plugin writes their fields, and no task), with the
    owned fields a run wrote to them."""
    lost = {"StageName": "Closed Lost", "IsWon": False, "ForecastCategoryName": "Omitted"}
    template = {**payload("opportunities_page.json")["records"][1], **lost}
    return [{**template, "Id": deal_id, **written.get(deal_id, {})} for deal_id in DEAL_IDS]


def sync(store: Store) -> SyncResult:
    sf = connector(session_config(write_batch_size=2))
    try:
        return run_sync(SyncConnection("acme", sf, PLAYBOOK, store), NOW)
    finally:
        sf.close()


@pytest.mark.parametrize(
    ("status", "answer", "outcome", "error"),
    [
        (403, "error_daily_limit.json", "budget_stopped", "daily API request limit reached: TotalRequests"),
        (401, "error_expired_session.json", "failed", "the Salesforce session expired"),
    ],
    ids=["daily-limit", "session-expired"],
)
def test_given_the_second_batch_stops_the_run_when_synced_then_runs_count_the_first_and_next_run_the_rest(
    rsps: responses.RequestsMock, store: Store, status: int, answer: str, outcome: str, error: str
) -> None:
    written: dict[str, dict[str, Any]] = {}  # what Salesforce holds after each composite batch it took
    sent: list[list[str]] = []

    def composite(request: Any) -> tuple[int, dict[str, str], str]:
        records = json.loads(request.body)["records"]
        sent.append([r["id"] for r in records])
        if len(sent) == 2:
            return status, {}, json.dumps(payload(answer))
        for record in records:
            written[record["id"]] = {k: v for k, v in record.items() if k not in ("attributes", "id")}
        return 200, {}, json.dumps([{"id": r["id"], "success": True, "errors": []} for r in records])

    rsps.add_callback("PATCH", f"{API}composite/sobjects", callback=composite)
    add_discovery(rsps)
    rsps.get(f"{API}queryAll/", json=query_page(opportunities({})))

    stopped = sync(store)
    first_batch = sum(len(fields) for fields in written.values())
    rsps.reset()
    rsps.add_callback("PATCH", f"{API}composite/sobjects", callback=composite)
    add_discovery(rsps)
    rsps.get(f"{API}queryAll/", json=query_page(opportunities(written)))
    rest = sync(store)

    assert (stopped.outcome, rest.outcome) == (outcome, "success")
    assert error in (stopped.error or "")
    assert sent == [DEAL_IDS[:2], DEAL_IDS[2:4], DEAL_IDS[2:4], [DEAL_IDS[4]]]
    assert first_batch > 0
    with store.session() as session:
        run = session.get(RunRow, stopped.run_id)
        assert run is not None
        assert (run.outcome, run.deals_changed, run.failures) == (outcome, 5, 0)
        assert run.fields_written == first_batch
        connection_id = run.connection_id
        assert state_store.get_watermark(session, connection_id) == NOW  # moved by the second run only
        assert deal_store.latest_assessment(session, connection_id, DEAL_IDS[0]) is not None
    assert stopped.watermark_after is None
    assert rest.counts.deals_changed == 3
    assert rest.counts.fields_written == sum(len(fields) for fields in written.values()) - first_batch
