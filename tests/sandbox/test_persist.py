"""Saving a sandbox store to SQLite and loading it back, for any store that keeps JSON-able `tables`."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Any

import pytest

from sandbox import persist
from sandbox.generator import generate_book
from sandbox.hubspot.importer import import_book as import_hubspot
from sandbox.hubspot.store import HubSpotStore
from sandbox.salesforce.book_import import import_book as import_salesforce
from sandbox.salesforce.book_import import seed_org
from sandbox.salesforce.store import SalesforceStore


class FakeStore:
    """The smallest thing persist works with: tables, a lock, and a reindex hook it must call."""

    def __init__(self, tables: dict[str, dict[str, Any]] | None = None) -> None:
        default = {"defaults": {"a": {"x": 1}}}
        self.tables: dict[str, dict[str, Any]] = tables if tables is not None else default
        self.lock = threading.RLock()
        self.reindexed = 0

    def reindex(self) -> None:
        self.reindexed += 1


class OtherStore(FakeStore):
    pass


TABLES: dict[str, dict[str, Any]] = {
    "Opportunity": {
        "006A": {"Id": "006A", "Name": "Acme", "Amount": None, "Tags": ["a", "b"], "Nested": {"k": 1}},
        "006B": {"Id": "006B", "Name": "Zeta \u2013 \u00e9t\u00e9", "Amount": 1.5, "Tags": [], "Nested": {}},
        "006C": {"Id": "006C", "Extra": True},  # a record with other keys than its table's first
    },
    "Empty": {},
    "_Org": {"org": {"counters": {"006": 3}, "api_used": 7}},
}


def test_given_fake_store_when_saved_and_loaded_then_tables_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite3"
    assert persist.save(FakeStore(TABLES), path) == 4
    store = FakeStore()
    assert persist.load(store, path) is True
    assert store.tables == {"defaults": {"a": {"x": 1}}, **TABLES}  # defaults the file lacks are kept
    assert store.reindexed == 1
    assert not list(tmp_path.glob("*.saving"))


def test_given_no_file_when_loaded_then_false_and_store_untouched(tmp_path: Path) -> None:
    store = FakeStore()
    assert persist.load(store, tmp_path / "missing.sqlite3") is False
    assert store.tables == {"defaults": {"a": {"x": 1}}}
    assert store.reindexed == 0


def test_given_two_kinds_when_each_saved_then_one_file_keeps_both(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite3"
    persist.save(FakeStore(TABLES), path)
    persist.save(OtherStore({"deals": {"1": {"id": "1"}}}), path)
    persist.save(FakeStore({"Opportunity": {}}), path)  # replaces FakeStore's rows only
    fake, other = FakeStore(), OtherStore()
    assert persist.load(fake, path)
    assert persist.load(other, path)
    assert fake.tables["Opportunity"] == {}
    assert other.tables["deals"] == {"1": {"id": "1"}}
    assert persist.kinds(path) == {"FakeStore", "OtherStore"}


def test_given_file_without_this_kind_when_loaded_then_false(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite3"
    persist.save(OtherStore(), path)
    assert persist.load(FakeStore(), path) is False


@pytest.mark.parametrize("content", [b"not a database at all" * 100, b""])
def test_given_foreign_file_when_loaded_or_saved_then_clear_error(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "state.sqlite3"
    path.write_bytes(content)
    with pytest.raises(persist.StateFileError, match=r"not a sandbox state file|unknown sandbox"):
        persist.load(FakeStore(), path)
    with pytest.raises(persist.StateFileError):
        persist.save(FakeStore(), path)
    assert path.read_bytes() == content  # never clobbered
    assert not list(tmp_path.glob("*.saving"))


def test_given_newer_format_when_loaded_then_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite3"
    persist.save(FakeStore(), path)
    with sqlite3.connect(path) as connection:
        connection.execute("UPDATE meta SET value = '99' WHERE key = 'format'")
    connection.close()
    with pytest.raises(persist.StateFileError, match="newer or unknown"):
        persist.load(FakeStore(), path)


def test_given_salesforce_org_when_saved_and_loaded_then_identical(tmp_path: Path) -> None:
    original = SalesforceStore()
    seed_org(original)
    import_salesforce(original, generate_book(deals=20, seed=3))
    path = tmp_path / "sf.sqlite3"
    persist.save(original, path)
    restored = SalesforceStore()
    assert persist.load(restored, path)
    assert restored.tables == original.tables
    opportunity = next(iter(restored.tables["Opportunity"].values()))
    assert restored.children("OpportunityContactRole", "OpportunityId", opportunity["Id"]) == (
        original.children("OpportunityContactRole", "OpportunityId", opportunity["Id"])
    )


def test_given_hubspot_portal_when_saved_and_loaded_then_identical_and_ids_continue(tmp_path: Path) -> None:
    original = HubSpotStore()
    import_hubspot(original, generate_book(deals=20, seed=3))
    path = tmp_path / "hs.sqlite3"
    persist.save(original, path)
    restored = HubSpotStore()
    assert persist.load(restored, path)
    assert restored.tables == original.tables
    assert restored.new_id() == original.new_id()
