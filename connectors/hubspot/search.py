"""Incremental search for ids changed in a time window, complete beyond HubSpot's 10,000-result cap.

HubSpot's search returns at most 10,000 results per query (paging further answers 400) and many records
can share one `hs_lastmodifieddate`, so paging by timestamp can loop forever (Airbyte #43317). The window
here is fixed on both ends (`since` minus lookback .. the run's frozen start), results are sorted by
`hs_object_id` ascending, and every page is its own query past the last id seen (`hs_object_id > last`,
cookbook B3): keyset paging, never HubSpot's `after`. That `after` is in practice a position in the live
result set ("200", "400", ...; it is why paging stops at 10,000), and a record edited while the run pages
leaves the window (its `hs_lastmodifieddate` moves past `until`), shifting every later record one place
back, so the next position would skip one; a keyset query cannot skip, and it never nears the cap. Only ids
are requested (200 per page); the caller batch-reads the records. The page fetch is a callable, so the
algorithm is tested without HTTP.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from connectors.base import FatalError

Filter = dict[str, str]
# filters -> (the first page of ids in hs_object_id order, whether the query matched more than that page)
PageFetch = Callable[[list[Filter]], tuple[list[str], bool]]


@dataclass(frozen=True)
class ChangeSource:
    """An object type searched for changes: the property that tells when one of its records last changed
    (contacts keep HubSpot's older name), and a property a record must have to matter, if any."""

    object_type: str
    modified: str = "hs_lastmodifieddate"
    having: str | None = None


def window_filters(
    since_ms: int, until_ms: int, after_id: int | None, source: ChangeSource = ChangeSource("deals")
) -> list[Filter]:
    filters = [
        {"propertyName": source.modified, "operator": "GTE", "value": str(since_ms)},
        {"propertyName": source.modified, "operator": "LTE", "value": str(until_ms)},
    ]
    if source.having is not None:
        filters.append({"propertyName": source.having, "operator": "HAS_PROPERTY"})
    if after_id is not None:
        filters.append({"propertyName": "hs_object_id", "operator": "GT", "value": str(after_id)})
    return filters


def search_request(filters: list[Filter], page_size: int) -> dict[str, Any]:
    """The first page of a query: every page is a new query past the last id, so no `after` is ever sent."""
    return {
        "filterGroups": [{"filters": filters}],
        "sorts": [{"propertyName": "hs_object_id", "direction": "ASCENDING"}],
        "properties": ["hs_object_id"],
        "limit": page_size,
    }


def changed_ids(
    fetch: PageFetch, since_ms: int, until_ms: int, source: ChangeSource = ChangeSource("deals")
) -> Iterator[str]:
    """Every id of `source` modified in [since_ms, until_ms], each once, in ascending id order."""
    last_id: int | None = None
    while True:
        start_id = last_id
        ids, more = fetch(window_filters(since_ms, until_ms, last_id, source))
        for object_id in ids:
            yield object_id
            last_id = int(object_id)
        if not more or not ids:
            return
        if last_id == start_id:  # loop guard: the next query must start past a new id
            raise FatalError("HubSpot search made no progress past the last id seen")
