"""run_sync against the in-memory connector, on SQLite and PostgreSQL stores."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from connectors.base import BudgetExhaustedError, FatalError, TransientError
from connectors.memory import MemoryConnector
from core.models import Activity, ActivityKind, ActivityStatus, Commitment, Contact
from core.playbook import Playbook
from tests.worker.conftest import NOW, make_deal
from worker.scheduling.schedules import last_success_by_mode
from worker.store import Store
from worker.store import deals as deal_store
from worker.store import runs as run_store
from worker.store import state as state_store
from worker.store.models import DealAssessmentRow, RunRow, TaskKeyRow
from worker.sync import ChunkReport, SyncAlreadyRunning, SyncConnection, SyncResult, run_sync


class Clock:
    """The CRM's and the worker's wall clock, moved by hand."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture
def crm(clock: Clock) -> MemoryConnector:
    deals = [make_deal(f"D{i:03}", meetings=i % 3) for i in range(25)]
    return MemoryConnector(deals, chunk_size=10, clock=clock)


@pytest.fixture
def connection(crm: MemoryConnector, playbook: Playbook, store: Store) -> SyncConnection:
    return SyncConnection("acme", crm, playbook, store)


def sync(connection: SyncConnection, clock: Clock, **options: object):  # type: ignore[no-untyped-def]
    """One run at the clock's current time; the CRM's writes land a second later."""
    now = clock()
    clock.advance(seconds=1)
    return run_sync(connection, now, clock=clock, **options)  # type: ignore[arg-type]


def watermark(store: Store) -> datetime | None:
    with store.session() as session:
        row = run_store.find_connection(session, "acme")
        return None if row is None else state_store.get_watermark(session, row.id)


def test_given_new_book_when_first_sync_then_every_deal_written_and_watermark_at_run_start(
    connection: SyncConnection, crm: MemoryConnector, clock: Clock, store: Store
) -> None:
    result = sync(connection, clock)

    assert result.outcome == "success"
    assert result.mode == "full"
    assert result.counts.deals_read == 25
    assert result.counts.deals_changed == 25
    assert result.counts.fields_written == sum(len(p.changed) for p in crm.applied)
    assert result.counts.tasks_created == len(crm.open_tasks()) > 0
    assert watermark(store) == NOW
    assert all(deal.current.assessed_at == NOW for deal in crm.deals.values())
    with store.session() as session:
        connection_id = run_store.find_connection(session, "acme").id  # type: ignore[union-attr]
        assert deal_store.assessed_count(session, connection_id) == 25
        assert len(state_store.task_keys(session, connection_id, open_only=True)) == len(crm.open_tasks())
        run = session.get(RunRow, result.run_id)
        assert run is not None
        assert run.outcome == "success"
        assert run.deals_read == 25
        assert run.api_calls == result.api_calls
        assert run.duration_s is not None


def test_given_synced_book_when_synced_again_then_nothing_written(
    connection: SyncConnection, crm: MemoryConnector, clock: Clock
) -> None:
    sync(connection, clock)
    clock.advance(minutes=5)

    rereads_own_writes = sync(connection, clock)
    clock.advance(minutes=5)
    idle = sync(connection, clock)

    assert rereads_own_writes.mode == "incremental"
    assert rereads_own_writes.counts.deals_read == 25  # our writes bumped their modification time
    assert rereads_own_writes.counts.fields_written == rereads_own_writes.counts.tasks_created == 0
    assert idle.counts.deals_read == 0
    assert idle.outcome == "success"


def test_given_one_deal_changed_when_incremental_sync_then_only_that_deal_is_read_and_updated(
    connection: SyncConnection, crm: MemoryConnector, clock: Clock
) -> None:
    sync(connection, clock)
    clock.advance(minutes=5)
    sync(connection, clock)
    clock.advance(minutes=5)
    deal = crm.deals["D004"]
    crm.put(deal.model_copy(update={"activities": ()}))
    clock.advance(minutes=5)

    result = sync(connection, clock)

    assert result.counts.deals_read == 1
    assert result.counts.deals_changed == 1
    assert crm.applied[-1].deal_id == "D004"


def test_given_dry_run_when_synced_then_crm_and_state_untouched_and_run_recorded_as_dry(
    connection: SyncConnection, crm: MemoryConnector, clock: Clock, store: Store
) -> None:
    plans: list[object] = []

    result = sync(connection, clock, dry_run=True, on_chunk=lambda r: plans.extend(r.plans))

    assert crm.applied == []
    assert crm.tasks == {}
    assert result.dry_run
    assert result.outcome == "success"
    assert result.counts.deals_changed == 25
    assert result.counts.fields_written > 0
    assert len(plans) == 25
    assert watermark(store) is None
    with store.session() as session:
        run = session.get(RunRow, result.run_id)
        assert run is not None
        assert run.dry_run
        assert deal_store.assessed_count(session, run.connection_id) == 0


def test_given_a_refused_deal_when_synced_then_run_is_partial_watermark_moves_and_deal_retried_next_run(
    connection: SyncConnection, crm: MemoryConnector, clock: Clock, store: Store
) -> None:
    crm.fail_deal_ids = {"D007"}
    first = sync(connection, clock)
    crm.fail_deal_ids = set()
    clock.advance(minutes=5)
    sync(connection, clock)  # rereads our own writes, D007 among them
    clock.advance(minutes=5)

    third = sync(connection, clock)

    assert first.outcome == "partial"
    assert [(f.deal_id, f.operation) for f in first.failures] == [("D007", "update")]
    assert watermark(store) is not None
    assert crm.deals["D007"].current.assessed_at is not None
    assert third.counts.deals_changed == 0  # only D007 comes back: run two's own write
    with store.session() as session:
        connection_id = run_store.find_connection(session, "acme").id  # type: ignore[union-attr]
        assert state_store.pending_retry_ids(session, connection_id) == []
        assert [f.deal_id for f in run_store.failures_of(session, first.run_id)] == ["D007"]


def test_given_a_refused_deal_unchanged_since_when_next_run_then_it_is_read_through_the_retry_list(
    connection: SyncConnection, crm: MemoryConnector, clock: Clock, store: Store
) -> None:
    crm.fail_deal_ids = {"D007"}
    sync(connection, clock)
    clock.advance(minutes=5)
    sync(connection, clock)  # still refused: D007's modification time never moves
    crm.fail_deal_ids = set()
    clock.advance(minutes=5)

    result = sync(connection, clock)

    assert result.counts.deals_read == 1
    assert result.counts.deals_changed == 1
    with store.session() as session:
        connection_id = run_store.find_connection(session, "acme").id  # type: ignore[union-attr]
        assert state_store.pending_retry_ids(session, connection_id) == []


@pytest.mark.parametrize(
    ("error", "outcome"),
    [
        (TransientError("HTTP 503 from the CRM", retry_after=5), "failed"),
        (FatalError("the CRM said no"), "failed"),
        (BudgetExhaustedError("daily API budget at 95%"), "budget_stopped"),
    ],
)
def test_given_connector_error_when_syncing_then_outcome_recorded_and_watermark_unchanged(
    connection: SyncConnection,
    crm: MemoryConnector,
    clock: Clock,
    store: Store,
    error: Exception,
    outcome: str,
) -> None:
    sync(connection, clock)
    before = watermark(store)
    crm.put(crm.deals["D001"].model_copy(update={"activities": ()}))
    crm.fail_apply_with = error
    clock.advance(minutes=5)

    result = sync(connection, clock)

    assert result.outcome == outcome
    assert result.error is not None
    assert str(error) in result.error
    assert watermark(store) == before
    assert (result.counts.deals_read, result.counts.deals_changed, result.counts.fields_written) == (10, 1, 0)


def test_given_stop_requested_when_syncing_then_run_ends_at_a_chunk_boundary_as_interrupted(
    connection: SyncConnection, crm: MemoryConnector, clock: Clock, store: Store
) -> None:
    reports: list[ChunkReport] = []

    result = sync(connection, clock, on_chunk=reports.append, should_stop=lambda: len(reports) >= 1)

    assert result.outcome == "interrupted"
    assert result.counts.deals_read == 10
    assert len(crm.applied) == 10
    assert watermark(store) is None


def test_given_a_book_larger_than_a_chunk_when_synced_then_each_chunk_is_recorded_before_the_next(
    connection: SyncConnection, crm: MemoryConnector, clock: Clock, store: Store
) -> None:
    progress: list[int] = []

    def on_chunk(report: ChunkReport) -> None:
        with store.session() as session:
            run = run_store.last_run(session, run_store.find_connection(session, "acme").id)  # type: ignore[union-attr]
            progress.append(run.deals_read if run else -1)
        assert len(report.deals) <= 10

    sync(connection, clock, on_chunk=on_chunk)

    assert progress == [10, 20, 25]


def test_given_crash_after_crm_write_when_rerun_then_same_state_and_no_duplicate_task(
    connection: SyncConnection, crm: MemoryConnector, clock: Clock, store: Store, playbook: Playbook
) -> None:
    crm.fail_after_apply = KeyboardInterrupt()
    with pytest.raises(KeyboardInterrupt):
        sync(connection, clock)
    crm.fail_after_apply = None
    clock.advance(minutes=1)

    sync(connection, clock)

    reference = MemoryConnector([make_deal(f"D{i:03}", meetings=i % 3) for i in range(25)], clock=clock)
    run_sync(SyncConnection("reference", reference, playbook, store), NOW + timedelta(minutes=1), clock=clock)
    assert sorted(t.key for t in crm.open_tasks()) == sorted(t.key for t in reference.open_tasks())
    assert len({t.key for t in crm.tasks.values()}) == len(crm.tasks)
    with store.session() as session:
        runs = run_store.recent_runs(session, "acme")
        assert [run.outcome for run, _ in runs] == ["success", "interrupted"]


def test_given_a_rep_deleted_the_plugin_task_when_synced_again_then_it_is_not_created_again(
    connection: SyncConnection, crm: MemoryConnector, clock: Clock, store: Store
) -> None:
    crm.put(make_deal("NEW", stage="Prospecting", meetings=0))
    sync(connection, clock)
    (task,) = crm.open_tasks("NEW")
    del crm.tasks[task.task_id]  # the rep deleted it: the CRM no longer returns it or its key
    crm.put(crm.deals["NEW"].model_copy(update={"name": "NEW (renamed)"}))
    clock.advance(minutes=5)

    result = sync(connection, clock)

    assert result.counts.deals_read >= 1
    assert result.counts.tasks_created == 0
    assert crm.open_tasks("NEW") == []


def test_given_run_left_running_by_a_dead_process_when_next_run_then_it_is_closed_as_interrupted(
    connection: SyncConnection, clock: Clock, store: Store
) -> None:
    with store.session() as session:
        row = run_store.ensure_connection(session, "acme", "memory", NOW)
        dead = run_store.start_run(
            session, row.id, mode="full", trigger="schedule", dry_run=False, started_at=NOW
        )

    sync(connection, clock)

    with store.session() as session:
        closed = session.get(RunRow, dead.id)
        assert closed is not None
        assert closed.outcome == "interrupted"
        assert closed.error


def test_given_another_process_holds_the_lease_when_syncing_then_refused_clearly(
    connection: SyncConnection, clock: Clock, store: Store
) -> None:
    with store.session() as session:
        run_store.ensure_connection(session, "acme", "memory", NOW)
        state_store.acquire_lease(session, "sync:acme", "someone-else", NOW, timedelta(minutes=30))

    with pytest.raises(SyncAlreadyRunning, match="already running"):
        sync(connection, clock)


def test_given_commitment_secured_then_lost_when_synced_then_history_records_both(
    connection: SyncConnection, crm: MemoryConnector, clock: Clock, store: Store
) -> None:
    sync(connection, clock)
    deal = crm.deals["D002"]
    clock.advance(days=1)
    crm.put(deal.model_copy(update={"activities": (), "contacts": ()}))
    clock.advance(minutes=1)
    lost_at = clock()

    sync(connection, clock)

    with store.session() as session:
        connection_id = run_store.find_connection(session, "acme").id  # type: ignore[union-attr]
        history = {row.commitment: row for row in deal_store.history_of(session, connection_id, "D002")}
    assert history["time"].first_secured_at == NOW
    assert history["time"].lost_at == lost_at


def test_given_meeting_added_when_synced_then_open_task_completed_and_recorded(
    connection: SyncConnection, crm: MemoryConnector, clock: Clock, store: Store
) -> None:
    deal = make_deal("NEW", stage="Prospecting", meetings=0)
    crm.put(deal)
    sync(connection, clock)
    (task,) = crm.open_tasks("NEW")
    assert task.action.commitment is Commitment.TIME
    hold_a_meeting(crm, "NEW")
    clock.advance(minutes=5)

    result = sync(connection, clock)

    assert result.counts.tasks_completed == 1
    assert not crm.tasks[task.task_id].is_open
    assert task_key_rows(store)[task.key].completed_at is not None


def hold_a_meeting(crm: MemoryConnector, deal_id: str) -> None:
    """The deal's buyer contact was at a meeting: Time is secured, so its open task is to be completed."""
    meeting = Activity(
        id=f"m-{deal_id}",
        kind=ActivityKind.MEETING,
        status=ActivityStatus.COMPLETED,
        subject="Intro",
        start=NOW,
        attendee_ids=("c1",),
    )
    crm.put(crm.deals[deal_id].model_copy(update={"activities": (meeting,), "contacts": (Contact(id="c1"),)}))


def task_key_rows(store: Store) -> dict[str, TaskKeyRow]:
    with store.session() as session:
        connection_id = run_store.find_connection(session, "acme").id  # type: ignore[union-attr]
        return {row.key: row for row in state_store.task_keys(session, connection_id)}


def test_given_lease_left_by_a_killed_local_process_when_syncing_then_it_is_taken_over(
    connection: SyncConnection, clock: Clock, store: Store
) -> None:
    import socket
    import subprocess
    import sys

    finished = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, check=True
    )
    dead_owner = f"{socket.gethostname()}:{int(finished.stdout)}:dead"
    with store.session() as session:
        state_store.acquire_lease(session, "sync:acme", dead_owner, NOW, timedelta(minutes=30))

    result = sync(connection, clock)

    assert result.outcome == "success"


def stored_deal_ids(store: Store) -> set[str]:
    with store.session() as session:
        return set(session.scalars(select(DealAssessmentRow.deal_id)))


def test_given_deals_deleted_in_the_crm_when_full_sync_then_their_stored_assessment_and_history_go(
    connection: SyncConnection, crm: MemoryConnector, clock: Clock, store: Store
) -> None:
    sync(connection, clock)
    assert {"D001", "D002"} <= stored_deal_ids(store)
    del crm.deals["D001"], crm.deals["D002"]
    clock.advance(minutes=5)

    incremental = sync(connection, clock)
    assert incremental.deals_forgotten == 0  # an incremental read cannot tell a deletion from no change
    assert {"D001", "D002"} <= stored_deal_ids(store)
    dry = sync(connection, clock, mode="full", dry_run=True)
    assert dry.deals_forgotten == 0
    assert {"D001", "D002"} <= stored_deal_ids(store)

    result = sync(connection, clock, mode="full")

    assert result.outcome == "success"
    assert result.deals_forgotten == 2
    assert stored_deal_ids(store) == set(crm.deals)
    with store.session() as session:
        connection_id = run_store.find_connection(session, "acme").id  # type: ignore[union-attr]
        assert deal_store.history_of(session, connection_id, "D001") == []
        assert deal_store.assessed_count(session, connection_id) == 23


def test_given_a_full_sync_stopped_part_way_when_deals_were_not_read_then_none_is_forgotten(
    connection: SyncConnection, crm: MemoryConnector, clock: Clock, store: Store
) -> None:
    sync(connection, clock)
    del crm.deals["D024"]
    clock.advance(minutes=5)
    reports: list[ChunkReport] = []

    result = sync(
        connection, clock, mode="full", on_chunk=reports.append, should_stop=lambda: len(reports) >= 1
    )

    assert result.outcome == "interrupted"
    assert result.deals_forgotten == 0
    assert stored_deal_ids(store) == {*crm.deals, "D024"}


def test_given_a_deal_the_connector_cannot_read_when_synced_then_the_rest_is_written_and_it_is_retried(
    connection: SyncConnection, crm: MemoryConnector, clock: Clock, store: Store
) -> None:
    crm.unreadable_ids = {"D007"}

    first = sync(connection, clock, mode="full")

    assert first.outcome == "partial"
    assert [(f.deal_id, f.operation, f.code) for f in first.failures] == [("D007", "read", "unreadable")]
    assert "Invalid isoformat string" in first.failures[0].message
    assert (first.counts.deals_read, first.counts.deals_assessed, first.counts.failures) == (25, 24, 1)
    assert crm.deals["D007"].current.assessed_at is None
    assert crm.deals["D008"].current.assessed_at is not None
    with store.session() as session:
        connection_id = run_store.find_connection(session, "acme").id  # type: ignore[union-attr]
        assert state_store.pending_retry_ids(session, connection_id) == ["D007"]

    # when: a full run (it forgets deals gone from the CRM) still cannot read it, then a fixed mapping can
    clock.advance(minutes=5)
    again = sync(connection, clock, mode="full")
    crm.unreadable_ids = set()
    clock.advance(minutes=5)
    fixed = sync(connection, clock)

    # then: never forgotten as deleted, and written through the retry list once it can be read
    assert again.deals_forgotten == 0
    assert fixed.outcome == "success"
    assert crm.deals["D007"].current.assessed_at is not None
    with store.session() as session:
        assert state_store.pending_retry_ids(session, connection_id) == []


def test_given_deals_in_a_stage_the_playbook_does_not_map_when_synced_then_the_run_names_the_stage_and_count(
    playbook: Playbook, store: Store, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    deals = [make_deal("D001"), make_deal("D002", stage="Legal Hold"), make_deal("D003", stage="Legal Hold")]
    connection = SyncConnection("acme", MemoryConnector(deals, clock=clock), playbook, store)

    with caplog.at_level("WARNING", logger="worker.sync"):
        result = sync(connection, clock)

    unmapped = "stage 'Legal Hold' is not in the playbook's stage map for pipeline 'salesforce'"
    assert result.outcome == "success"  # still assessed and written: the warning loses nothing
    assert result.counts.deals_changed == 3
    assert result.warnings == {unmapped: 2}
    assert f"2 deal(s): {unmapped}" in caplog.text


def pending_retries(store: Store) -> list[str]:
    with store.session() as session:
        connection_id = run_store.find_connection(session, "acme").id  # type: ignore[union-attr]
        return state_store.pending_retry_ids(session, connection_id)


def test_given_the_budget_spent_part_way_through_a_chunk_when_synced_then_the_run_records_what_it_wrote(
    connection: SyncConnection, crm: MemoryConnector, clock: Clock, store: Store
) -> None:
    crm.fail_deal_ids = {"D001"}
    crm.stop_apply_after = (5, BudgetExhaustedError("daily API budget at 95%"))

    stopped = sync(connection, clock)

    assert stopped.outcome == "budget_stopped"
    assert "daily API budget at 95%" in (stopped.error or "")
    assert [p.deal_id for p in crm.applied] == ["D000", "D002", "D003", "D004"]
    written = sum(len(p.field_updates()) for p in crm.applied)
    assert (stopped.counts.deals_changed, stopped.counts.fields_written) == (10, written)
    assert stopped.counts.tasks_created == len(crm.tasks)
    assert [(f.deal_id, f.operation) for f in stopped.failures] == [("D001", "update")]
    assert watermark(store) is None
    with store.session() as session:
        connection_id = run_store.find_connection(session, "acme").id  # type: ignore[union-attr]
        (run, _name) = run_store.recent_runs(session, "acme")[0]
        assert (run.fields_written, run.tasks_created, run.failures) == (written, len(crm.tasks), 1)
        assert [f.deal_id for f in run_store.failures_of(session, stopped.run_id)] == ["D001"]
        assert {row.key for row in state_store.task_keys(session, connection_id)} == {
            t.key for t in crm.tasks.values()
        }
        assert state_store.pending_retry_ids(session, connection_id) == ["D001"]
    assert stored_deal_ids(store) == {f"D{i:03}" for i in range(10)}  # the chunk read, assessed

    crm.fail_deal_ids = set()
    crm.stop_apply_after = None
    clock.advance(minutes=5)
    rest = sync(connection, clock)

    assert rest.outcome == "success"
    assert rest.counts.deals_changed == 25 - 4
    assert len({t.key for t in crm.tasks.values()}) == len(crm.tasks) == stopped.counts.tasks_created + (
        rest.counts.tasks_created
    )
    assert pending_retries(store) == []


def test_given_the_store_refusing_the_stopped_chunk_when_synced_then_the_run_still_reports_the_stop(
    connection: SyncConnection,
    crm: MemoryConnector,
    clock: Clock,
    store: Store,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    crm.stop_apply_after = (3, BudgetExhaustedError("daily API budget at 95%"))

    def store_down(*_args: object) -> None:
        raise OperationalError("INSERT INTO deal_assessments", {}, Exception("server closed the connection"))

    monkeypatch.setattr("worker.sync.record_chunk", store_down)

    stopped = sync(connection, clock)

    # the CRM's stop is what the run reports (budget_stopped resumes later), not the store's hiccup over it
    assert stopped.outcome == "budget_stopped"
    assert "daily API budget at 95%" in (stopped.error or "")
    assert stopped.counts.fields_written == sum(len(p.field_updates()) for p in crm.applied) > 0
    assert watermark(store) is None
    with store.session() as session:
        (run, _name) = run_store.recent_runs(session, "acme")[0]
        assert (run.outcome, run.fields_written) == ("budget_stopped", stopped.counts.fields_written)


def test_given_deals_queued_for_retry_when_a_run_stops_before_writing_them_then_they_stay_queued(
    connection: SyncConnection, crm: MemoryConnector, clock: Clock, store: Store
) -> None:
    crm.fail_deal_ids = {"D020", "D021"}
    sync(connection, clock)
    crm.fail_deal_ids = set()
    crm.stop_apply_after = (1, FatalError("the CRM said no"))  # D020 is written, D021 is not
    clock.advance(minutes=5)

    stopped = sync(connection, clock)

    assert stopped.outcome == "failed"
    assert [p.deal_id for p in crm.applied][-1] == "D020"
    assert stopped.counts.fields_written == len(crm.applied[-1].field_updates())
    # D020 stays queued as well: which deals of a stopped apply were written in full is not known
    assert pending_retries(store) == ["D020", "D021"]

    crm.stop_apply_after = None
    clock.advance(minutes=5)
    rest = sync(connection, clock)

    assert rest.outcome == "success"
    assert crm.deals["D021"].current.assessed_at is not None
    assert pending_retries(store) == []


def stopped_after_new_then_synced(
    connection: SyncConnection, crm: MemoryConnector, clock: Clock
) -> tuple[SyncResult, SyncResult]:
    """A run whose apply stops right after writing deal NEW (D001, edited too, is read after it in its
    chunk), then a run that goes through."""
    clock.advance(minutes=5)
    crm.put(crm.deals["D001"].model_copy(update={"activities": ()}))
    crm.stop_apply_after = (1, FatalError("the CRM said no"))
    clock.advance(minutes=5)
    stopped = sync(connection, clock)
    assert (stopped.outcome, [p.deal_id for p in crm.applied][-1]) == ("failed", "NEW")
    crm.stop_apply_after = None
    clock.advance(minutes=5)
    return stopped, sync(connection, clock)


def test_given_a_task_completed_before_the_run_stopped_when_synced_again_then_the_store_has_it_closed(
    connection: SyncConnection, crm: MemoryConnector, clock: Clock, store: Store
) -> None:
    crm.put(make_deal("NEW", stage="Prospecting", meetings=0))
    sync(connection, clock)
    (task,) = crm.open_tasks("NEW")
    clock.advance(minutes=5)
    hold_a_meeting(crm, "NEW")

    stopped, _after = stopped_after_new_then_synced(connection, crm, clock)

    assert stopped.counts.tasks_completed == 1
    assert not crm.tasks[task.task_id].is_open
    assert task_key_rows(store)[task.key].completed_at is not None


def test_given_a_task_reopened_before_the_run_stopped_when_synced_again_then_counted_once_and_held_open(
    connection: SyncConnection, crm: MemoryConnector, clock: Clock, store: Store
) -> None:
    crm.put(make_deal("NEW", stage="Prospecting", meetings=0))
    sync(connection, clock)
    (time_task,) = crm.open_tasks("NEW")
    clock.advance(minutes=5)
    hold_a_meeting(crm, "NEW")  # Time secured: its task completed, one created for the next commitment
    clock.advance(minutes=5)
    sync(connection, clock)
    (next_task,) = crm.open_tasks("NEW")
    next_task.is_open = False  # the rep closes it
    crm.put(crm.deals["NEW"].model_copy(update={"activities": ()}))  # the meeting is gone: Time is lost

    stopped, after = stopped_after_new_then_synced(connection, crm, clock)

    assert (stopped.counts.tasks_reopened, stopped.counts.tasks_created) == (1, 0)
    assert (after.counts.tasks_reopened, after.counts.tasks_created) == (0, 0)  # not sent, nor counted, twice
    assert [t.task_id for t in crm.open_tasks("NEW")] == [time_task.task_id]
    assert task_key_rows(store)[time_task.key].completed_at is None


# ------------------------------------------------------------------ mode `deals` (`commitments sync --deal`)


def read_ids(reports: list[ChunkReport]) -> list[str]:
    return [deal.id for report in reports for deal in report.deals]


def written_ids(reports: list[ChunkReport]) -> list[str]:
    return [plan.deal_id for report in reports for plan in report.plans if not plan.is_empty]


def recorded_run(store: Store, run_id: int) -> tuple[str, str, int, bool, str | None]:
    with store.session() as session:
        run = session.get(RunRow, run_id)
        assert run is not None
        return run.mode, run.outcome, run.deals_read, run.dry_run, run.error


def test_given_a_connection_never_synced_when_one_deal_synced_by_id_then_only_it_is_read_and_written(
    connection: SyncConnection, crm: MemoryConnector, clock: Clock, store: Store
) -> None:
    reports: list[ChunkReport] = []

    result = sync(connection, clock, mode="deals", deal_ids=["D007"], on_chunk=reports.append)

    assert (result.mode, result.outcome) == ("deals", "success")
    assert read_ids(reports) == ["D007"]
    assert result.counts.deals_read == result.counts.deals_changed == 1
    assert [plan.deal_id for plan in crm.applied] == ["D007"]
    assert crm.deals["D007"].current.assessed_at == NOW
    assert crm.deals["D008"].current.assessed_at is None
    assert watermark(store) is None  # no window was read: the next incremental run is still a full one
    assert recorded_run(store, result.run_id) == ("deals", "success", 1, False, None)


def test_given_a_synced_book_when_one_deal_synced_by_id_then_the_watermark_stays_for_the_next_run(
    connection: SyncConnection, crm: MemoryConnector, clock: Clock, store: Store
) -> None:
    sync(connection, clock)
    sync(connection, clock)  # rereads its own writes
    for deal_id in ("D004", "D005"):  # a rep edits two deals
        crm.put(crm.deals[deal_id].model_copy(update={"activities": ()}))
    clock.advance(minutes=5)
    mark = watermark(store)
    by_id_reports: list[ChunkReport] = []
    next_reports: list[ChunkReport] = []

    by_id = sync(connection, clock, mode="deals", deal_ids=["D004"], on_chunk=by_id_reports.append)
    after_by_id = watermark(store)
    clock.advance(minutes=5)
    incremental = sync(connection, clock, on_chunk=next_reports.append)

    assert by_id.outcome == "success"
    assert read_ids(by_id_reports) == written_ids(by_id_reports) == ["D004"]
    assert after_by_id == by_id.watermark_after == mark
    assert incremental.mode == "incremental"
    assert "D005" in written_ids(next_reports)  # its change is still in the window of the next run


def test_given_a_deal_synced_by_id_when_synced_by_id_again_then_nothing_is_written(
    connection: SyncConnection, crm: MemoryConnector, clock: Clock
) -> None:
    sync(connection, clock, mode="deals", deal_ids=["D002"])
    clock.advance(minutes=5)

    again = sync(connection, clock, mode="deals", deal_ids=["D002"])

    assert again.outcome == "success"
    assert again.counts.deals_read == 1
    assert (again.counts.deals_changed, again.counts.fields_written, again.counts.tasks_created) == (0, 0, 0)
    assert len(crm.open_tasks("D002")) == 1


def test_given_an_unknown_id_among_the_ids_when_synced_by_id_then_it_is_reported_and_the_known_one_written(
    connection: SyncConnection, crm: MemoryConnector, clock: Clock, store: Store
) -> None:
    result = sync(connection, clock, mode="deals", deal_ids=["NOPE", "D003", "D003"])

    assert result.outcome == "partial"
    assert result.deals_not_found == ["NOPE"]
    assert [plan.deal_id for plan in crm.applied] == ["D003"]
    assert recorded_run(store, result.run_id) == ("deals", "partial", 1, False, "not found in the CRM: NOPE")


def test_given_dry_run_when_synced_by_id_then_the_plan_is_reported_and_nothing_is_written(
    connection: SyncConnection, crm: MemoryConnector, clock: Clock, store: Store
) -> None:
    reports: list[ChunkReport] = []

    result = sync(connection, clock, mode="deals", deal_ids=["D001"], dry_run=True, on_chunk=reports.append)

    assert result.outcome == "success"
    assert written_ids(reports) == ["D001"]
    assert crm.applied == []
    assert crm.open_tasks() == []
    assert stored_deal_ids(store) == set()
    assert recorded_run(store, result.run_id) == ("deals", "success", 1, True, None)


def test_given_deals_queued_for_retry_when_one_synced_by_id_then_it_leaves_the_queue_and_the_rest_stay(
    connection: SyncConnection, crm: MemoryConnector, clock: Clock, store: Store
) -> None:
    crm.fail_deal_ids = {"D001", "D002"}
    sync(connection, clock)
    crm.fail_deal_ids = set()
    assert pending_retries(store) == ["D001", "D002"]

    result = sync(connection, clock, mode="deals", deal_ids=["D001", "GONE"])

    assert result.deals_not_found == ["GONE"]
    assert pending_retries(store) == ["D002"]


def test_given_a_deal_deleted_in_the_crm_when_synced_by_id_then_no_stored_deal_is_forgotten(
    connection: SyncConnection, crm: MemoryConnector, clock: Clock, store: Store
) -> None:
    sync(connection, clock)
    del crm.deals["D009"]

    result = sync(connection, clock, mode="deals", deal_ids=["D001", "D009"])

    assert result.deals_not_found == ["D009"]
    assert result.deals_forgotten == 0
    assert len(stored_deal_ids(store)) == 25


def test_given_another_process_holds_the_lease_when_synced_by_id_then_refused_and_nothing_written(
    connection: SyncConnection, crm: MemoryConnector, clock: Clock, store: Store
) -> None:
    with store.session() as session:
        run_store.ensure_connection(session, "acme", "memory", NOW)
        state_store.acquire_lease(session, "sync:acme", "someone-else", NOW, timedelta(minutes=30))

    with pytest.raises(SyncAlreadyRunning, match="already running"):
        sync(connection, clock, mode="deals", deal_ids=["D001"])

    assert crm.applied == []


@pytest.mark.parametrize(("mode", "deal_ids"), [("deals", []), ("full", ["D001"]), ("incremental", ["D001"])])
def test_given_deal_ids_and_a_mode_they_do_not_go_with_when_syncing_then_refused_before_starting(
    connection: SyncConnection, store: Store, mode: str, deal_ids: list[str]
) -> None:
    with pytest.raises(ValueError, match="deal_ids"):
        run_sync(connection, NOW, mode=mode, deal_ids=deal_ids)

    with store.session() as session:
        assert run_store.find_connection(session, "acme") is None  # no run was started


def test_given_a_deals_run_after_a_full_one_when_the_worker_reads_last_successes_then_the_full_one_is_last(
    connection: SyncConnection, clock: Clock, store: Store
) -> None:
    sync(connection, clock)
    clock.advance(hours=3)

    sync(connection, clock, mode="deals", deal_ids=["D001"])

    with store.session() as session:
        history = last_success_by_mode(session)
    # what catch-up and the staleness alert (restored at a worker start) go by: a few deals are not a sync
    assert [(mode, started) for (_connection, mode), started in history.items()] == [("full", NOW)]
