"""The state store on SQLite and PostgreSQL: schema from migrations, UTC times, repository functions."""

from __future__ import annotations

import sqlite3
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, select, text

import worker.scheduling.schedules  # noqa: F401 - the scheduler's tables live on the same metadata
from connectors.base import RecordFailure
from core.assess import assess
from core.models import Commitment
from core.playbook import Playbook
from tests.worker.conftest import NOW, make_deal
from worker.errors import UserError
from worker.store import Store
from worker.store import deals as deal_store
from worker.store import runs as run_store
from worker.store import state as state_store
from worker.store.db import WAL_ATTEMPTS, journal_to_wal, migrate
from worker.store.models import Base, RunFailureRow


def test_given_migrated_database_when_compared_to_the_models_then_they_agree(store: Store) -> None:
    with store.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)

    assert differences == []


def test_given_migrated_database_when_migrating_again_then_nothing_happens(store: Store) -> None:
    migrate(store.engine)


def test_given_a_time_in_another_zone_when_stored_then_read_back_as_the_same_instant_in_utc(
    store: Store,
) -> None:
    plus_two = datetime(2026, 3, 29, 3, 30, tzinfo=timezone(timedelta(hours=2)))
    with store.session() as session:
        row = run_store.ensure_connection(session, "acme", "hubspot", NOW)
        state_store.set_watermark(session, row.id, plus_two, NOW)

    with store.session() as session:
        value = state_store.get_watermark(session, row.id)

    assert value == plus_two
    assert value is not None
    assert value.utcoffset() == timedelta(0)


def test_given_a_naive_datetime_when_stored_then_refused(store: Store) -> None:
    with pytest.raises(Exception, match="naive datetime"), store.session() as session:
        run_store.ensure_connection(session, "acme", "hubspot", datetime(2026, 1, 1))


def test_given_a_connection_name_when_reused_for_another_crm_then_refused(store: Store) -> None:
    with store.session() as session:
        row = run_store.ensure_connection(session, "acme", "hubspot", NOW)
        state_store.set_watermark(session, row.id, NOW, NOW)  # it synced: its state belongs to HubSpot

    with pytest.raises(UserError, match="is a hubspot connection"), store.session() as session:
        run_store.ensure_connection(session, "acme", "salesforce", NOW)


def test_given_a_connection_with_no_crm_data_yet_when_its_crm_is_corrected_then_it_follows(
    store: Store,
) -> None:
    # `schedule list` (or a run that failed at login) with a mistaken `crm:` recorded the name only
    with store.session() as session:
        run_store.ensure_connection(session, "acme", "hubspot", NOW)

    with store.session() as session:
        row = run_store.ensure_connection(session, "acme", "salesforce", NOW)

    with store.session() as session:
        assert run_store.find_connection(session, "acme").crm == "salesforce"  # type: ignore[union-attr]
    assert row.crm == "salesforce"


def test_given_a_held_lease_when_another_owner_asks_then_refused_until_it_expires(store: Store) -> None:
    ttl = timedelta(seconds=90)
    with store.session() as session:
        assert state_store.acquire_lease(session, "sync:acme", "one", NOW, ttl)
        assert not state_store.acquire_lease(session, "sync:acme", "two", NOW + timedelta(seconds=30), ttl)
        assert state_store.acquire_lease(session, "sync:acme", "two", NOW + timedelta(seconds=91), ttl)
        assert not state_store.renew_lease(session, "sync:acme", "one", NOW + timedelta(seconds=92), ttl)


@pytest.mark.parametrize(
    ("commitment", "stage", "owner", "expected"),
    [
        (Commitment.TIME, None, None, ["A"]),
        (Commitment.EXPLORE, None, None, ["A", "B"]),
        (Commitment.EXPLORE, "Needs Analysis", None, ["B"]),
        (Commitment.EXPLORE, "needs analysis", None, ["B"]),  # any case, on both databases
        (Commitment.EXPLORE, None, "nobody", []),
    ],
)
def test_given_assessed_deals_when_asking_who_misses_a_commitment_then_filtered_by_stage_and_owner(
    store: Store,
    playbook: Playbook,
    commitment: Commitment,
    stage: str | None,
    owner: str | None,
    expected: list[str],
) -> None:
    deals = [
        make_deal("A", stage="Qualification", meetings=0),
        make_deal("B", stage="Needs Analysis", meetings=1),
        make_deal("C", stage="Closed Lost", meetings=0, is_closed=True),
    ]
    with store.session() as session:
        row = run_store.ensure_connection(session, "acme", "memory", NOW)
        deal_store.save_assessments(session, row.id, [(d, assess(d, playbook, NOW)) for d in deals])

    with store.session() as session:
        found = deal_store.deals_missing(session, row.id, commitment, stage=stage, owner_id=owner)

    assert sorted(r.deal_id for r in found) == expected


def test_given_stored_assessment_when_read_back_then_it_equals_the_original(
    store: Store, playbook: Playbook
) -> None:
    deal = make_deal("A", meetings=2)
    assessment = assess(deal, playbook, NOW)
    with store.session() as session:
        row = run_store.ensure_connection(session, "acme", "memory", NOW)
        deal_store.save_assessments(session, row.id, [(deal, assessment)])

    with store.session() as session:
        stored = deal_store.latest_assessment(session, row.id, "A")

    assert stored is not None
    assert deal_store.stored_assessment(stored) == assessment


@pytest.mark.parametrize("url", ["not a url at all", "postgresql+psycopg://sync:pw-SECRET@db:notaport/x"])
def test_given_a_bad_database_url_when_opening_then_one_clear_message(url: str) -> None:
    with pytest.raises(UserError, match="not a database URL") as raised:
        Store.open(url)
    assert "pw-SECRET" not in str(raised.value)


def test_given_a_password_with_an_unencoded_at_when_opening_the_store_then_its_tail_is_not_shown() -> None:
    # SQLAlchemy reads "pw@SECRET-tail@db" as password "pw" and host "SECRET-tail@db".
    with pytest.raises(UserError, match="%40") as raised:
        Store.open("postgresql+psycopg://sync:pw@SECRET-tail@db/x")
    assert "SECRET-tail" not in str(raised.value)


def test_given_a_crm_answer_echoing_a_token_when_a_failure_is_recorded_then_it_is_stored_scrubbed(
    store: Store,
) -> None:
    # The CRM's words are stored as they came, and a proxy or SDK may echo what the request carried.
    echoed = RecordFailure("006A", "update", "refused: Authorization: Bearer 00Dabc!AQ4AQLongSessionToken")
    with store.session() as session:
        connection = run_store.ensure_connection(session, "acme", "salesforce", NOW)
        run = run_store.start_run(
            session, connection.id, mode="full", trigger="manual", dry_run=False, started_at=NOW
        )
        run_store.add_failures(session, run.id, [echoed])

    with store.session() as session:
        (message,) = session.scalars(select(RunFailureRow.message)).all()

    assert "LongSessionToken" not in message
    assert message.startswith("refused: Authorization: Bearer ***")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://sync:pw@db.internal/commitments", "unsupported database 'mysql'; use SQLite"),
        ("postgresql+psycopg2://sync@db.internal/commitments", "unsupported database driver"),
        ("postgres://sync@db.internal/commitments", "use SQLite .* or PostgreSQL"),
    ],
)
def test_given_a_database_the_store_does_not_support_when_opening_then_one_clear_message(
    url: str, message: str
) -> None:
    with pytest.raises(UserError, match=message) as raised:
        Store.open(url)

    assert ":pw@" not in str(raised.value)


def test_given_a_file_where_the_sqlite_directory_should_be_when_opening_then_one_clear_message(
    tmp_path: Path,
) -> None:
    (tmp_path / "state").write_text("not a directory")

    with pytest.raises(UserError, match="cannot create the state store's directory"):
        Store.open(f"sqlite:///{tmp_path / 'state' / 'commitments.sqlite3'}")


def test_given_the_sqlite_file_replaced_by_one_that_is_not_a_database_when_opening_then_one_clear_message(
    tmp_path: Path,
) -> None:
    path = tmp_path / "commitments.sqlite3"
    path.write_text("not a database, e.g. a backup copied over it by mistake\n" * 200, encoding="utf-8")

    with pytest.raises(UserError, match=r"cannot open the state store sqlite:///.*: file is not a database"):
        Store.open(f"sqlite:///{path}")


_OPEN_STORE = """
import sys, time
from worker.store import Store
time.sleep(max(0.0, float(sys.argv[3]) - time.time()))  # start together, imports done
try:
    Store.open(sys.argv[1], connect_args={"options": sys.argv[2]} if sys.argv[2] else {}).close()
except Exception as exc:
    print(type(exc).__name__, str(exc).splitlines()[0])
    sys.exit(1)
"""


@pytest.mark.parametrize("dialect", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_given_a_fresh_database_when_three_processes_open_the_store_at_once_then_all_of_them_open_it(
    tmp_path: Path, dialect: str
) -> None:
    import subprocess
    import sys
    import time
    import uuid

    from sqlalchemy import create_engine, text

    from tests.worker.conftest import postgres_url

    # given: a database no process has migrated yet (a first start, or an upgrade with a new migration)
    options, admin = "", None
    if dialect == "sqlite":
        url = f"sqlite:///{tmp_path / 'state.sqlite3'}"
    else:
        url, schema = postgres_url(), f"test_{uuid.uuid4().hex[:12]}"
        admin = create_engine(url)
        with admin.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        options = f"-csearch_path={schema}"
    try:
        # when: a worker, a second worker and an admin's `commitments runs` open it at the same moment
        start = str(time.time() + 5)
        processes = [
            subprocess.Popen(
                [sys.executable, "-c", _OPEN_STORE, url, options, start], stdout=subprocess.PIPE, text=True
            )
            for _ in range(3)
        ]
        outputs = [p.communicate(timeout=120)[0] for p in processes]
        results = [(p.returncode, out) for p, out in zip(processes, outputs, strict=True)]

        # then: every one of them opens the store; none crashes on the others' half-made tables
        assert results == [(0, "")] * 3
        store = Store.open(url, connect_args={"options": options} if options else {})
        try:
            with store.engine.connect() as connection:
                assert not compare_metadata(MigrationContext.configure(connection), Base.metadata)
        finally:
            store.close()
    finally:
        if admin is not None:
            with admin.begin() as connection:
                connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()


class LockedCursor:
    """A cursor whose journal-mode switch SQLite answers "database is locked" the first `locked` times."""

    def __init__(self, locked: int, error: str = "database is locked") -> None:
        self.locked, self.error, self.statements = locked, error, 0

    def execute(self, statement: str) -> None:
        self.statements += 1
        if self.statements <= self.locked:
            raise sqlite3.OperationalError(self.error)


def test_given_another_process_switching_a_new_file_to_wal_when_connecting_then_it_retries() -> None:
    # SQLite answers "locked" at once here (no busy wait): three processes opening a new store failed so.
    pauses: list[float] = []
    cursor = LockedCursor(locked=3)

    journal_to_wal(cursor, sleep=pauses.append)

    assert cursor.statements == 4
    assert len(pauses) == 3


def test_given_the_file_stays_locked_when_connecting_then_it_goes_on_in_its_current_mode() -> None:
    cursor = LockedCursor(locked=10_000)

    journal_to_wal(cursor, sleep=lambda _s: None)  # no error: the connection keeps the file's current mode

    assert cursor.statements == WAL_ATTEMPTS


def test_given_another_sqlite_error_when_switching_to_wal_then_it_is_raised() -> None:
    with pytest.raises(sqlite3.OperationalError, match="disk I/O error"):
        journal_to_wal(LockedCursor(locked=1, error="disk I/O error"), sleep=lambda _s: None)


@pytest.mark.postgres
def test_given_postgresql_dropped_the_stores_connection_when_used_again_then_it_reconnects(
    postgres_store: Store,
) -> None:
    # A database restart, a failover or an idle-connection killer leaves the worker's pooled connection
    # dead; the next run must get a live one, not fail on the dead one first.
    url = postgres_store.engine.url.render_as_string(hide_password=False)
    name = f"commitments-test-{uuid.uuid4().hex[:8]}"
    store = Store.open(url, run_migrations=False, connect_args={"application_name": name})
    admin = create_engine(url)
    try:
        with store.session() as session:
            assert session.execute(text("SELECT 1")).scalar() == 1
        with admin.begin() as connection:
            killed = connection.execute(
                text("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                     "WHERE application_name = :n"),
                {"n": name},
            ).scalar()
        assert killed == 1

        with store.session() as session:
            assert session.execute(text("SELECT 1")).scalar() == 1
    finally:
        store.close()
        admin.dispose()


def test_given_task_keys_when_completed_by_the_plugin_or_closed_by_a_rep_then_only_the_plugins_are_marked(
    store: Store,
) -> None:
    ours, reps = (state_store.TaskRecord(f"cmt:D1:{c}", "D1", c, f"T-{c}") for c in ("change", "time"))
    with store.session() as session:
        connection = run_store.ensure_connection(session, "acme", "memory", NOW)
        state_store.record_tasks_created(session, connection.id, [ours, reps], NOW)
        state_store.record_tasks_completed(session, connection.id, [ours], NOW)  # its commitment secured
        state_store.record_tasks_seen(session, connection.id, [(reps, False)], NOW)  # read closed: a rep's
        marked = state_store.plugin_completed(session, connection.id, [ours.key, reps.key])
        state_store.record_tasks_reopened(session, connection.id, [ours])
        after_reopening = state_store.plugin_completed(session, connection.id, [ours.key, reps.key])

    assert marked == {ours.key}
    assert after_reopening == set()  # open again: a rep closing it now is a rep's close
