"""End-to-end fixtures: a sandbox CRM (Salesforce or HubSpot) served over real HTTP, its connector, a store.

Every end-to-end test runs once per CRM. The book is generated once per session and imported into each
sandbox, so two sandboxes hold identical deals (a reference run and a faulted or killed run can be
compared). `crm_state` reads the CRM back through a fresh connector: the plugin's fields (without the
assessment time) and its tasks per deal.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from connectors.base import Connector
from core.playbook import Playbook
from sandbox.book import Book
from sandbox.faults import FaultPlan
from sandbox.generator import generate_book
from worker.connections import build_connector, sandbox_config, start_sandbox
from worker.playbook_files import load_playbook
from worker.store import Store
from worker.sync import SyncConnection, SyncResult, run_sync

BOOK_DEALS = 60
FAST_RETRIES = {
    "salesforce": {
        "backoff_seconds": 0.01,
        "max_backoff_seconds": 0.05,
        "max_attempts": 8,
        "bulk_wait_seconds": 0,
    },
    "hubspot": {"max_retry_wait_seconds": 0.05, "max_attempts": 8},
}


@pytest.fixture(scope="session")
def book() -> Book:
    return generate_book(deals=BOOK_DEALS, seed=11)


@pytest.fixture(scope="session")
def playbook() -> Playbook:
    return load_playbook()


@dataclass
class Crm:
    """A running sandbox and how to connect to it."""

    name: str
    handle: Any
    config: Any
    playbook: Playbook

    def connector(self) -> Connector:
        return build_connector(self.config, self.playbook)

    def stop(self) -> None:
        self.handle.stop()


def start_crm(crm: str, book: Book, playbook: Playbook, faults: FaultPlan | None = None) -> Crm:
    handle = start_sandbox(crm, deals=0, book=copy.deepcopy(book), faults=faults)
    config = sandbox_config(crm, handle.credentials).model_copy(update=FAST_RETRIES[crm])
    started = Crm(crm, handle, config, playbook)
    connector = started.connector()
    connector.setup(playbook, dry_run=False)
    connector.close()
    return started


@pytest.fixture(params=["salesforce", "hubspot"])
def crm(request: pytest.FixtureRequest, book: Book, playbook: Playbook) -> Iterator[Crm]:
    started = start_crm(request.param, book, playbook)
    yield started
    started.stop()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store.open(f"sqlite:///{tmp_path / 'state.sqlite3'}")
    yield opened
    opened.close()


def connect(crm: Crm, store: Store, name: str = "e2e") -> SyncConnection:
    return SyncConnection(name, crm.connector(), crm.playbook, store)


def sync(crm: Crm, store: Store, **options: Any) -> SyncResult:
    """One run now, through a fresh connector that is closed afterwards."""
    connection = connect(crm, store)
    try:
        return run_sync(connection, datetime.now(UTC), **options)
    finally:
        connection.connector.close()


def crm_state(crm: Crm) -> dict[str, Any]:
    """Deal id -> (owned fields without the assessment time, sorted (task key, open) pairs)."""
    connector = crm.connector()
    state: dict[str, Any] = {}
    try:
        for chunk in connector.read_deals(None, datetime.now(UTC) + timedelta(days=1)):
            for deal in chunk:
                fields = deal.current.model_dump(mode="json", exclude={"assessed_at"})
                tasks = sorted((t.key, t.is_open) for t in deal.plugin_tasks)
                state[deal.id] = (fields, tasks)
    finally:
        connector.close()
    return state


def all_but(state: dict[str, Any], deal_id: str) -> dict[str, Any]:
    """A `crm_state` without one deal's entry."""
    return {key: value for key, value in state.items() if key != deal_id}


def unknown_deal_id(crm: Crm) -> str:
    """A well-formed id of a deal the sandbox does not have, as the CRM would return it."""
    return "0065g00000zzzzzAAA" if crm.name == "salesforce" else "987654321"


WRITE_CALLS = {
    "salesforce": ("composite_update", "composite_create", "update", "create", "bulk2_create"),
    "hubspot": ("objects.batch_update", "objects.batch_create", "objects.update", "objects.create"),
}


def write_calls(crm: Crm) -> int:
    """Calls to the sandbox's record-write endpoints so far."""
    return sum(crm.handle.app.calls[name] for name in WRITE_CALLS[crm.name])
