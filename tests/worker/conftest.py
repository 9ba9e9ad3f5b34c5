"""Fixtures for the worker tests: a state store on SQLite and on PostgreSQL, and small deals.

The `store` fixture is parametrized over both databases. PostgreSQL comes from
COMMITMENTS_TEST_POSTGRES_URL; each test session migrates a fresh schema of its own (dropped at the end),
and each test starts from empty tables. Without the URL the PostgreSQL cases skip, unless
COMMITMENTS_REQUIRE_SERVICES=1, in which case they fail.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from core.models import Activity, ActivityKind, ActivityStatus, Contact, Deal
from core.playbook import Playbook
from worker.playbook_files import load_playbook
from worker.store import Store
from worker.store.models import Base

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def postgres_url() -> str:
    url = os.environ.get("COMMITMENTS_TEST_POSTGRES_URL")
    if not url:
        if os.environ.get("COMMITMENTS_REQUIRE_SERVICES") == "1":
            pytest.fail("COMMITMENTS_REQUIRE_SERVICES=1 but COMMITMENTS_TEST_POSTGRES_URL is not set")
        pytest.skip("PostgreSQL not configured (set COMMITMENTS_TEST_POSTGRES_URL)")
    return url


@pytest.fixture(scope="session")
def postgres_store() -> Iterator[Store]:
    url = postgres_url()
    schema = f"test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url)
    try:
        with admin.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as exc:
        admin.dispose()
        if os.environ.get("COMMITMENTS_REQUIRE_SERVICES") == "1":
            pytest.fail(f"PostgreSQL at COMMITMENTS_TEST_POSTGRES_URL is unavailable: {exc}")
        pytest.skip(f"PostgreSQL unavailable: {exc}")
    store = Store.open(url, connect_args={"options": f"-csearch_path={schema}"})
    yield store
    store.close()
    with admin.begin() as connection:
        connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def _empty(store: Store) -> None:
    with store.engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            connection.execute(table.delete())


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "sqlite":
        sqlite_store = Store.open(f"sqlite:///{tmp_path / 'state.sqlite3'}")
        yield sqlite_store
        sqlite_store.close()
        return
    shared: Store = request.getfixturevalue("postgres_store")
    _empty(shared)
    yield shared


@pytest.fixture(scope="session")
def playbook() -> Playbook:
    return load_playbook()


def make_deal(
    deal_id: str,
    *,
    stage: str = "Qualification",
    meetings: int = 1,
    modified_at: datetime | None = None,
    is_closed: bool = False,
    is_won: bool = False,
) -> Deal:
    """A Salesforce-pipeline deal with `meetings` held meetings with one buyer contact."""
    held = tuple(
        Activity(
            id=f"{deal_id}-m{i}",
            kind=ActivityKind.MEETING,
            status=ActivityStatus.COMPLETED,
            subject="Discovery call" if i else "Intro meeting",
            start=NOW - timedelta(days=30 - i),
            attendee_ids=("c1",),
        )
        for i in range(meetings)
    )
    return Deal(
        id=deal_id,
        name=f"Deal {deal_id}",
        stage=stage,
        pipeline="salesforce",
        is_closed=is_closed,
        is_won=is_won,
        owner_id="005OWNER",
        created_at=NOW - timedelta(days=60),
        modified_at=modified_at or NOW - timedelta(days=1),
        contacts=(Contact(id="c1", name="Pat Buyer", title="VP Operations", roles=("Evaluator",)),),
        activities=held,
    )
