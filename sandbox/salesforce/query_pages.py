"""Query results in pages: batch sizes, query locators, `nextRecordsUrl`, nested child pages, COUNT().

A query returns at most `batchSize` rows per page (the `Sforce-Query-Options: batchSize=N` header, 200 to
2,000, default 2,000); child rows returned inline count toward it, as the REST docs say, and a page
always holds at least one parent. The rest waits behind a locator (`01g...`); `nextRecordsUrl` is
`/services/data/vXX.X/query/{locator}-{offset}`, so fetching the same URL twice returns the same page
(safe to retry). A child list longer than the store's `child_page_size` comes back with `done: false`
and its own `nextRecordsUrl`, which simple-salesforce's `query_more(url, identifier_is_url=True)` follows.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from sandbox.salesforce.soql import SoqlError, parse
from sandbox.salesforce.soql_eval import Evaluator
from sandbox.salesforce.store import Cursor, Record, SalesforceStore
from sandbox.salesforce.values import random_id

DEFAULT_BATCH = 2000
MIN_BATCH = 200
# Salesforce expires old locators (15 minutes idle, a per-user cap); a bound keeps a long-running sandbox
# from holding every result it ever paged. Generous, so draining a page's child locators always works.
MAX_CURSORS = 2000
_BATCH_OPTION = re.compile(r"batchSize\s*=\s*(\d+)", re.IGNORECASE)
_LOCATOR = re.compile(r"^(?P<id>01g[0-9A-Za-z]{15})-(?P<offset>\d+)$")


def batch_size(header: str | None) -> int:
    match = _BATCH_OPTION.search(header or "")
    if not match:
        return DEFAULT_BATCH
    return max(MIN_BATCH, min(DEFAULT_BATCH, int(match.group(1))))


def run_query(
    store: SalesforceStore, text: str, user_id: str, *, include_deleted: bool, version: str, batch: int
) -> Record:
    """Answer GET query/?q= (or queryAll): the first page, or COUNT()'s total."""
    query = parse(text)
    evaluator = Evaluator(store, user_id, include_deleted=include_deleted, text=text, version=version)
    with store.lock:
        compiled = evaluator.compile(query)
        rows = evaluator.rows(compiled, evaluator.candidates(compiled))
        if query.count:
            if query.fields or query.subqueries:
                raise SoqlError("MALFORMED_QUERY", "COUNT() cannot be combined with other fields")
            return {"totalSize": len(rows), "done": True, "records": []}
        return _page(store, rows, compiled.project, 0, batch, version, len(rows), None)


def _page(
    store: SalesforceStore,
    rows: list[Record],
    project: Callable[[Record], tuple[Record, int]],
    offset: int,
    batch: int,
    version: str,
    total: int,
    locator: str | None,
) -> Record:
    records: list[Record] = []
    used = 0
    position = offset
    while position < len(rows) and (used < batch or not records):
        record, count = project(rows[position])
        if records and used + count > batch:
            break
        records.append(record)
        used += count
        position += 1
    result: Record = {"totalSize": total, "done": position >= len(rows)}
    if position < len(rows):
        if locator is None:
            locator = new_locator(store, Cursor(rows, batch, total, version, project))
        result["nextRecordsUrl"] = f"/services/data/v{version}/query/{locator}-{position}"
    result["records"] = records
    return result


def new_locator(store: SalesforceStore, cursor: Cursor) -> str:
    """Keep a cursor; the oldest ones expire (INVALID_QUERY_LOCATOR) once MAX_CURSORS are open."""
    locator = random_id("01g")[:18]
    store.cursors[locator] = cursor
    while len(store.cursors) > MAX_CURSORS:
        del store.cursors[next(iter(store.cursors))]
    return locator


def _identity(record: Record) -> tuple[Record, int]:
    return record, 1


def child_result(
    store: SalesforceStore, projected: list[Record], page_size: int, version: str
) -> tuple[Any, int]:
    """A child relationship's nested result; long lists get their own locator."""
    total = len(projected)
    if total <= page_size:
        return {"totalSize": total, "done": True, "records": projected}, total
    locator = new_locator(store, Cursor(projected, page_size, total, version, _identity))
    return {
        "totalSize": total,
        "done": False,
        "nextRecordsUrl": f"/services/data/v{version}/query/{locator}-{page_size}",
        "records": projected[:page_size],
    }, page_size


def query_more(store: SalesforceStore, locator_text: str, header_batch: str | None) -> Record:
    match = _LOCATOR.match(locator_text)
    cursor = store.cursors.get(match.group("id")) if match else None
    if match is None or cursor is None:
        raise SoqlError("INVALID_QUERY_LOCATOR", "invalid query locator")
    batch = batch_size(header_batch) if header_batch else cursor.batch_size
    with store.lock:
        return _page(
            store,
            cursor.rows,
            cursor.project,
            int(match.group("offset")),
            batch,
            cursor.version,
            cursor.total_size,
            match.group("id"),
        )
