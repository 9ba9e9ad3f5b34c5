"""Save a sandbox CRM's state to one SQLite file and load it back, for either sandbox store.

Both stores keep everything that must survive a restart in `store.tables[table][id] = JSON-able dict`, so
one generic format serves both: `records` rows of (store kind, table, id, json), a `tables` list per kind
(so empty tables come back too) and a `meta` table with the format version. The kind is the store's class
name, so one file can hold a Salesforce org and a HubSpot portal side by side: saving one replaces only its
own rows. A save writes a temporary file and renames it over the old one, so an interrupted save never
leaves a half-written state file. A load replaces the tables the file holds and keeps the store's defaults
for any it lacks, then lets the store rebuild its derived state (`store.load(tables)` if the store has it,
else `reindex()`).
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

FORMAT_VERSION = 1

_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE tables (kind TEXT NOT NULL, name TEXT NOT NULL, columns TEXT NOT NULL, PRIMARY KEY (kind, name));
CREATE TABLE records (kind TEXT NOT NULL, object_type TEXT NOT NULL, id TEXT NOT NULL, json TEXT NOT NULL);
"""


class Store(Protocol):
    tables: dict[str, dict[str, Any]]


class StateFileError(Exception):
    """The state file cannot be used (not a sandbox state file, or written by a newer format)."""


def store_kind(store: Store) -> str:
    return type(store).__name__


def save(store: Store, path: str | Path) -> int:
    """Write the store's tables to `path`, keeping other stores' state there; returns the record count."""
    path = Path(path)
    kind = store_kind(store)
    tables, rows = _snapshot(store)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".saving")
    temporary.unlink(missing_ok=True)
    connection = sqlite3.connect(temporary.resolve().as_uri(), uri=True)  # uri: ATTACH ...?mode=ro
    try:
        # The file is renamed into place only once complete, so SQLite's own journal would only cost time.
        connection.execute("PRAGMA journal_mode=OFF")
        connection.execute("PRAGMA synchronous=OFF")
        connection.executescript(_SCHEMA)
        connection.execute("INSERT INTO meta VALUES ('format', ?)", (str(FORMAT_VERSION),))
        if path.exists():
            _copy_other_kinds(connection, path, kind)
        connection.executemany(
            "INSERT INTO tables VALUES (?, ?, ?)", [(kind, name, json.dumps(cols)) for name, cols in tables]
        )
        connection.executemany("INSERT INTO records VALUES (?, ?, ?, ?)", [(kind, *row) for row in rows])
        connection.commit()
    except BaseException:
        connection.close()
        temporary.unlink(missing_ok=True)
        raise
    connection.close()
    os.replace(temporary, path)
    return len(rows)


def _copy_other_kinds(connection: sqlite3.Connection, path: Path, kind: str) -> None:
    try:
        connection.execute("ATTACH DATABASE ? AS old", (f"{path.resolve().as_uri()}?mode=ro",))
        _check_format(connection, path, "old.")
        for table in ("tables", "records"):
            connection.execute(f"INSERT INTO {table} SELECT * FROM old.{table} WHERE kind != ?", (kind,))
        connection.commit()
        connection.execute("DETACH DATABASE old")
    except sqlite3.DatabaseError as exc:
        raise _not_a_state_file(path, exc) from exc


def load(store: Store, path: str | Path) -> bool:
    """Replace the store's state with the file's; False (store untouched) when the file has none for it."""
    path = Path(path)
    if not path.exists():
        return False
    kind = store_kind(store)
    try:
        connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            _check_format(connection, path)
            query = "SELECT name, columns FROM tables WHERE kind = ?"
            decoders = {name: _decoder(json.loads(cols)) for name, cols in connection.execute(query, (kind,))}
            saved: dict[str, dict[str, Any]] = {name: {} for name in decoders}
            query = "SELECT object_type, id, json FROM records WHERE kind = ?"
            for object_type, record_id, text in connection.execute(query, (kind,)):
                saved[object_type][record_id] = decoders[object_type](text)
        finally:
            connection.close()
    except sqlite3.DatabaseError as exc:
        raise _not_a_state_file(path, exc) from exc
    if not saved:
        return False
    _restore(store, saved)
    return True


def kinds(path: str | Path) -> set[str]:
    """The store kinds a state file holds (empty when there is no file yet)."""
    path = Path(path)
    if not path.exists():
        return set()
    try:
        connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            _check_format(connection, path)
            return {kind for (kind,) in connection.execute("SELECT DISTINCT kind FROM tables")}
        finally:
            connection.close()
    except sqlite3.DatabaseError as exc:
        raise _not_a_state_file(path, exc) from exc


def _not_a_state_file(path: Path, exc: Exception) -> StateFileError:
    return StateFileError(f"{path} is not a sandbox state file ({exc}); remove it or choose another --state")


Table = tuple[str, list[str]]  # (name, columns shared by its records)
Row = tuple[str, str, str]  # (table, id, json)


def _snapshot(store: Store) -> tuple[list[Table], list[Row]]:
    """A consistent copy as JSON text, taken under the store's lock (much cheaper than a deep copy).

    A record whose keys are its table's columns (the first record's keys) is stored as a JSON array of
    values: Salesforce rows carry every field, mostly null, so this halves the file and the time.
    """
    lock = getattr(store, "lock", None) or contextlib.nullcontext()
    dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
    with lock:  # a writer that skips the lock can still resize a table mid-copy: then copy again
        for _attempt in range(3):
            try:
                return _encode(store, dumps)
            except RuntimeError:
                continue
        return _encode(store, dumps)


def _encode(store: Store, dumps: Callable[[Any], str]) -> tuple[list[Table], list[Row]]:
    tables: list[Table] = []
    rows: list[Row] = []
    for name, table in list(store.tables.items()):
        columns = list(next(iter(table.values()), {}))
        keys = dict.fromkeys(columns).keys()
        tables.append((name, columns))
        for record_id, record in table.items():
            shaped = [record[c] for c in columns] if record.keys() == keys else record
            rows.append((name, str(record_id), dumps(shaped)))
    return tables, rows


def _decoder(columns: list[str]) -> Callable[[str], Any]:
    def decode(text: str) -> Any:
        value = json.loads(text)
        return dict(zip(columns, value, strict=True)) if isinstance(value, list) else value

    return decode


def _check_format(connection: sqlite3.Connection, path: Path, schema: str = "") -> None:
    row = connection.execute(f"SELECT value FROM {schema}meta WHERE key = 'format'").fetchone()
    if row is None or not str(row[0]).isdigit() or int(row[0]) > FORMAT_VERSION:
        raise StateFileError(f"{path} was written by a newer or unknown sandbox; choose another --state")


def _restore(store: Store, saved: dict[str, dict[str, Any]]) -> None:
    lock = getattr(store, "lock", None) or contextlib.nullcontext()
    with lock:
        tables = {**store.tables, **saved}  # tables a newer store added keep their defaults
        if callable(getattr(store, "load", None)):
            store.load(tables)  # type: ignore[attr-defined]
        else:
            store.tables = tables
            reindex = getattr(store, "reindex", None)
            if callable(reindex):
                reindex()
