"""The main job end to end on both CRMs: real connectors, real client libraries, sandbox CRMs over HTTP."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from core.models import EvidenceKind
from core.playbook import Playbook
from sandbox.book import Book
from sandbox.faults import Fault, FaultPlan
from tests.e2e.conftest import Crm, all_but, crm_state, start_crm, sync, unknown_deal_id, write_calls
from worker.store import Store
from worker.store import deals as deal_store
from worker.store import runs as run_store
from worker.store.models import DealAssessmentRow, RunRow
from worker.sync import ChunkReport

pytestmark = pytest.mark.slow


class CountingFaults(FaultPlan):
    """A fault plan that counts the faults it injected, so a test can tell faults really happened."""

    injected: int = 0

    def draw(self, endpoint: str) -> Fault:
        fault = super().draw(endpoint)
        if fault.kind is not None:
            self.injected += 1
        return fault


def test_given_fresh_crm_when_first_sync_then_fields_and_one_task_per_open_deal_are_written(
    crm: Crm, store: Store
) -> None:
    result = sync(crm, store)

    assert result.outcome == "success", result.error
    assert result.counts.deals_read == result.counts.deals_changed == 60
    assert result.counts.tasks_created > 0
    state = crm_state(crm)
    assert len(state) == 60
    assert all(fields["score"] is not None for fields, _tasks in state.values())
    assert all(sum(is_open for _key, is_open in tasks) <= 1 for _fields, tasks in state.values())


def test_given_synced_crm_when_synced_again_then_nothing_is_written(crm: Crm, store: Store) -> None:
    sync(crm, store)
    writes_before = write_calls(crm)

    second = sync(crm, store)
    third = sync(crm, store)

    for result in (second, third):
        assert result.outcome == "success", result.error
        assert result.mode == "incremental"
        assert (result.counts.fields_written, result.counts.tasks_created, result.counts.tasks_completed) == (
            0,
            0,
            0,
        )
    assert write_calls(crm) == writes_before


def _evidence_activity(store: Store) -> tuple[str, str]:
    """A (deal id, activity id) whose activity is the evidence of a secured commitment."""
    with store.session() as session:
        for row in session.query(DealAssessmentRow).order_by(DealAssessmentRow.deal_id):
            assessment = deal_store.stored_assessment(row)
            for result in assessment.results:
                for evidence in result.evidence:
                    if (
                        evidence.kind is EvidenceKind.OBSERVED
                        and evidence.source == "meeting"
                        and evidence.record_id
                    ):
                        return row.deal_id, evidence.record_id
    raise AssertionError("no deal has a meeting as evidence")


def _rename_activity(crm: Crm, activity_id: str, subject: str) -> None:
    store = crm.handle.store
    if crm.name == "salesforce":
        # SOQL datetime literals have whole seconds, so a change in the run's own second is only seen by the
        # next run (through the lookback); stamp the edit a little earlier, as an edit made before the run.
        at = datetime.now(UTC) - timedelta(seconds=2)
        stamp = at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}+0000"
        values = {"Subject": subject, "SystemModstamp": stamp, "LastModifiedDate": stamp}
        store.set_fields(store.type_of(activity_id), store.get(activity_id), values)
        return
    store.update("meetings", activity_id, {"hs_meeting_title": subject})


def test_given_one_activity_changed_when_incremental_sync_then_exactly_that_deal_is_updated(
    crm: Crm, store: Store
) -> None:
    sync(crm, store)
    sync(crm, store)
    deal_id, activity_id = _evidence_activity(store)
    _rename_activity(crm, activity_id, "Discovery workshop, renamed by the end-to-end test")
    written: list[str] = []

    result = sync(crm, store, on_chunk=lambda r: written.extend(p.deal_id for p in r.plans if not p.is_empty))

    assert result.outcome == "success", result.error
    assert result.mode == "incremental"
    assert written == [deal_id]
    assert result.counts.deals_changed == 1


def test_given_dry_run_when_synced_then_crm_is_unchanged_and_run_recorded_as_dry(
    crm: Crm, store: Store
) -> None:
    before = crm_state(crm)
    writes_before = write_calls(crm)
    plans: list[ChunkReport] = []

    result = sync(crm, store, dry_run=True, on_chunk=plans.append)

    assert result.outcome == "success", result.error
    assert result.counts.deals_changed == 60
    assert sum(len(r.plans) for r in plans) == 60
    assert write_calls(crm) == writes_before
    assert crm_state(crm) == before
    with store.session() as session:
        run = session.get(RunRow, result.run_id)
        assert run is not None
        assert run.dry_run


def test_given_faults_on_ten_percent_of_calls_when_synced_then_nothing_is_lost(
    crm: Crm, store: Store, book: Book, playbook: Playbook, tmp_path: Any
) -> None:
    sync(crm, store)
    reference = crm_state(crm)
    faults = CountingFaults(rate_limit=0.04, server_error=0.04, drop=0.02, retry_after=0, seed=5)
    faulty = start_crm(crm.name, book, playbook)
    faulty.handle.app.faults = faults
    faulty_store = Store.open(f"sqlite:///{tmp_path / 'faulty.sqlite3'}")
    try:
        outcomes = []
        for _attempt in range(4):  # a run stopped by a fault is simply run again, as the scheduler would
            result = sync(faulty, faulty_store)
            outcomes.append(result.outcome)
            if result.outcome == "success":
                break
        faulty.handle.app.faults = FaultPlan()
        assert outcomes[-1] == "success", outcomes
        assert faults.injected >= 1
        assert crm_state(faulty) == reference
    finally:
        faulty_store.close()
        faulty.stop()


def test_given_a_run_history_when_listing_runs_then_newest_first_with_counts(crm: Crm, store: Store) -> None:
    sync(crm, store)
    sync(crm, store, dry_run=True)

    with store.session() as session:
        rows = run_store.recent_runs(session, "e2e")

    assert [(run.dry_run, run.outcome) for run, _ in rows] == [(True, "success"), (False, "success")]
    assert rows[1][0].deals_read == 60


def test_given_fresh_crm_when_one_deal_and_an_unknown_id_synced_by_id_then_only_that_deal_is_read_and_written(
    crm: Crm, store: Store
) -> None:
    before = crm_state(crm)
    deal_id, missing = sorted(before)[3], unknown_deal_id(crm)
    reports: list[ChunkReport] = []

    result = sync(crm, store, mode="deals", deal_ids=[deal_id, missing], on_chunk=reports.append)

    after = crm_state(crm)
    assert (result.mode, result.outcome) == ("deals", "partial"), result.error
    assert result.deals_not_found == [missing]
    assert [deal.id for report in reports for deal in report.deals] == [deal_id]
    assert after[deal_id] != before[deal_id]
    assert all_but(after, deal_id) == all_but(before, deal_id)
    assert result.watermark_after is None
    writes = write_calls(crm)

    again = sync(crm, store, mode="deals", deal_ids=[deal_id])

    assert again.outcome == "success", again.error
    assert (again.counts.deals_read, again.counts.fields_written, again.counts.tasks_created) == (1, 0, 0)
    assert write_calls(crm) == writes
    assert crm_state(crm) == after


def test_given_a_hubspot_deal_in_a_pipeline_the_connection_leaves_out_when_synced_by_id_then_it_is_not_found(
    book: Book, playbook: Playbook, store: Store
) -> None:
    hubspot = start_crm("hubspot", book, playbook)
    try:
        deal_id = sorted(crm_state(hubspot))[0]
        hubspot.handle.store.update("deals", deal_id, {"pipeline": "renewals"})  # another team's pipeline
        hubspot.config = hubspot.config.model_copy(update={"pipelines": ("default",)})
        writes = write_calls(hubspot)

        result = sync(hubspot, store, mode="deals", deal_ids=[deal_id])

        assert (result.outcome, result.deals_not_found) == ("partial", [deal_id]), result.error
        assert result.counts.deals_read == 0
        assert write_calls(hubspot) == writes
    finally:
        hubspot.stop()
