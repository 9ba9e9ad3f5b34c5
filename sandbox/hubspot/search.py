"""CRM search: HubSpot's filterGroups (OR of ANDed filters), one sort, `after` paging and its limits.

Values compare by property type: dates as epoch milliseconds (filters may send epoch-ms or ISO 8601),
numbers as numbers, text case-insensitively. The documented limits answer 400 VALIDATION_ERROR:
`limit` above 200, more than 5 filter groups, 10 filters in a group or 25 in all, more than one sort, a
`query` over 3,000 characters, and paging to `after` >= 10,000 (HubSpot never returns results past
the 10,000th; `total` still counts them all). `associations.<type>` EQ/IN filters find the records
associated with given ids (the tasks of a deal). The sorted id list of a query is cached until the next
write, so paging through 10,000 deals does not re-filter the table per page. Keyset paging (every page its
own query, `hs_object_id GT <last id>`, sorted by hs_object_id ascending, as the connector pages) would
miss that cache on every page, so such a query is answered from the cached list of the same query without
its id filter, cut where that filter starts to hold: a real portal answers it from an index too.
"""

from __future__ import annotations

import bisect
import fnmatch
import json
import re
from collections.abc import Callable
from typing import Any

from sandbox.hubspot.errors import validation
from sandbox.hubspot.schema import canonical_type
from sandbox.hubspot.store import HubSpotStore, Record
from sandbox.hubspot.values import sort_key

MAX_LIMIT = 200
# HubSpot's limits since 2024-08-26 (before: 3 groups, 3 filters each, 9 in all)
MAX_GROUPS, MAX_FILTERS_PER_GROUP, MAX_FILTERS = 5, 10, 25
MAX_QUERY_CHARS = 3000
_TOKEN = re.compile(r"[\w@.*-]+")
QUERY_PROPERTIES = {
    "deals": ("dealname",),
    "contacts": ("firstname", "lastname", "email"),
    "companies": ("name", "domain"),
}

Predicate = Callable[[Record], bool]


def _check_limits(body: dict[str, Any]) -> tuple[int, int]:
    limit = int(body.get("limit") or 10)
    if limit < 1 or limit > MAX_LIMIT:
        raise validation(f"The limit must be between 1 and {MAX_LIMIT}, but was {limit}.")
    groups = body.get("filterGroups") or []
    counts = [len(group.get("filters") or []) for group in groups]
    if (
        len(groups) > MAX_GROUPS
        or any(c > MAX_FILTERS_PER_GROUP for c in counts)
        or sum(counts) > MAX_FILTERS
    ):
        raise validation(
            f"Too many filters: at most {MAX_GROUPS} filterGroups with {MAX_FILTERS_PER_GROUP} filters each "
            f"and {MAX_FILTERS} filters in total are allowed."
        )
    if len(body.get("sorts") or []) > 1:
        raise validation("Only one sort is allowed per search.")
    if len(str(body.get("query") or "")) > MAX_QUERY_CHARS:
        raise validation(f"The query is limited to {MAX_QUERY_CHARS} characters.")
    after_text = str(body.get("after") or "0")
    if not after_text.isdigit():
        raise validation(f"after must be a number, but was {after_text}.")
    return limit, int(after_text)


def _tokens(text: str) -> list[str]:
    return _TOKEN.findall(text.lower())


def _compile_filter(store: HubSpotStore, object_type: str, spec: dict[str, Any]) -> Predicate:
    name, operator = spec.get("propertyName"), str(spec.get("operator") or "EQ").upper()
    if str(name).startswith("associations."):
        return _association_filter(store, object_type, str(name), operator, spec)
    definition = store.definition(object_type, str(name))
    if definition is None:
        raise validation(f"Unable to filter: property {name} does not exist on {object_type}.")
    kind, multi = definition["type"], definition["fieldType"] == "checkbox"

    def key(value: Any) -> Any:
        return sort_key(kind, None if value is None else str(value))

    if operator in ("HAS_PROPERTY", "NOT_HAS_PROPERTY"):
        want = operator == "HAS_PROPERTY"
        return lambda r: (r["properties"].get(name) is not None) == want
    if operator in ("CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"):
        pattern, negate = str(spec.get("value") or "").lower(), operator.startswith("NOT")
        return lambda r: (
            negate != any(fnmatch.fnmatchcase(t, pattern) for t in _tokens(r["properties"].get(name) or ""))
        )
    if operator in ("IN", "NOT_IN", "EQ", "NEQ"):
        raw = spec.get("values") if operator in ("IN", "NOT_IN") else [spec.get("value")]
        wanted = {key(v) for v in raw or []}
        negate = operator in ("NOT_IN", "NEQ")

        def member(record: Record) -> bool:
            value = record["properties"].get(name)
            parts = value.split(";") if (multi and value) else [value]
            return negate != any(key(p) in wanted for p in parts if p is not None)

        return member
    return _range(name, operator, key, spec)


def _association_filter(
    store: HubSpotStore, object_type: str, name: str, operator: str, spec: dict[str, Any]
) -> Predicate:
    """`associations.deal EQ 123`: records associated with that object (HubSpot's pseudo-property)."""
    to_type = canonical_type(name.partition(".")[2])
    if to_type is None or operator not in ("EQ", "IN"):
        raise validation(f"Unable to filter on {name} with {operator}.")
    wanted = {str(v) for v in (spec.get("values") if operator == "IN" else [spec.get("value")]) or []}
    return lambda r: not wanted.isdisjoint(store.associated(object_type, r["id"], to_type))


def _range(name: Any, operator: str, key: Callable[[Any], Any], spec: dict[str, Any]) -> Predicate:
    low = key(spec.get("value"))
    high = key(spec.get("highValue"))
    tests: dict[str, Callable[[Any], bool]] = {
        "LT": lambda v: v < low,
        "LTE": lambda v: v <= low,
        "GT": lambda v: v > low,
        "GTE": lambda v: v >= low,
        "BETWEEN": lambda v: low <= v <= high,
    }
    if operator not in tests:
        raise validation(f"Unsupported operator {operator}.")
    if low is None or (operator == "BETWEEN" and high is None):
        raise validation(f"Filter on {name} with {operator} needs a value of the property's type.")
    test = tests[operator]

    def compare(record: Record) -> bool:
        value = key(record["properties"].get(name))
        return value is not None and type(value) is type(low) and test(value)

    return compare


def _query_predicate(object_type: str, query: str) -> Predicate | None:
    words = _tokens(query)
    if not words:
        return None
    names = QUERY_PROPERTIES.get(object_type, ())

    def matches(record: Record) -> bool:
        tokens = [t for n in names for t in _tokens(record["properties"].get(n) or "")]
        return all(any(t.startswith(w) for t in tokens) for w in words)

    return matches


def matching_ids(store: HubSpotStore, object_type: str, body: dict[str, Any]) -> list[str]:
    groups = [
        [_compile_filter(store, object_type, f) for f in group.get("filters") or []]
        for group in body.get("filterGroups") or []
    ]
    query = _query_predicate(object_type, str(body.get("query") or ""))
    records = [
        r
        for r in store.live(object_type)
        if (not groups or any(all(p(r) for p in group) for group in groups)) and (query is None or query(r))
    ]
    records.sort(key=lambda r: int(r["id"]))
    for spec in body.get("sorts") or []:
        name, descending = _sort_of(spec)
        definition = store.definition(object_type, name)
        kind = definition["type"] if definition else "string"
        keyed = [(sort_key(kind, r["properties"].get(name)), r) for r in records]
        present = [(k, r) for k, r in keyed if k is not None]
        present.sort(key=lambda pair: pair[0], reverse=descending)
        records = [r for _k, r in present] + [r for k, r in keyed if k is None]
    return [r["id"] for r in records]


def _sort_of(spec: Any) -> tuple[str, bool]:
    """A sort's property name and whether it is descending (a dict, or a bare property name)."""
    if isinstance(spec, dict):
        return str(spec.get("propertyName")), spec.get("direction") == "DESCENDING"
    return str(spec).lstrip("-"), False


def _keyset_split(body: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """For a keyset page (one filter group with one `hs_object_id` GT/GTE filter, results in ascending
    hs_object_id order): the same query without that filter, and the filter. None for any other query."""
    groups = body.get("filterGroups") or []
    sorts = body.get("sorts") or []
    if len(groups) != 1 or any(_sort_of(spec) != ("hs_object_id", False) for spec in sorts):
        return None
    filters = list(groups[0].get("filters") or [])
    keyset = [
        f for f in filters
        if f.get("propertyName") == "hs_object_id" and str(f.get("operator") or "").upper() in ("GT", "GTE")
    ]
    if len(keyset) != 1:
        return None
    rest = [f for f in filters if f is not keyset[0]]
    return {**body, "filterGroups": [{**groups[0], "filters": rest}]}, keyset[0]


class SearchCache:
    """Sorted ids per (object type, query), valid until the store's next write."""

    def __init__(self, size: int = 32) -> None:
        self.size = size
        self._entries: dict[tuple[str, str], tuple[int, list[str]]] = {}

    def ids(self, store: HubSpotStore, object_type: str, body: dict[str, Any]) -> list[str]:
        split = _keyset_split(body)
        if split is None:
            return self._cached(store, object_type, body)
        without_keyset, keyset = split
        past_keyset = _compile_filter(store, object_type, keyset)
        ordered = self._cached(store, object_type, without_keyset)
        # Every record has its id as hs_object_id, and `ordered` ascends by it, so the filter is false
        # up to one place and true from there on: cut there.
        records = store.tables[object_type]
        return ordered[bisect.bisect_left(ordered, True, key=lambda i: past_keyset(records[i])) :]

    def _cached(self, store: HubSpotStore, object_type: str, body: dict[str, Any]) -> list[str]:
        criteria = {k: body.get(k) for k in ("filterGroups", "sorts", "query")}
        cache_key = (object_type, json.dumps(criteria, sort_keys=True, default=str))
        hit = self._entries.get(cache_key)
        if hit is not None and hit[0] == store.version:
            return hit[1]
        ids = matching_ids(store, object_type, body)
        if len(self._entries) >= self.size:
            self._entries.pop(next(iter(self._entries)))
        self._entries[cache_key] = (store.version, ids)
        return ids


def search_page(
    store: HubSpotStore, cache: SearchCache, object_type: str, body: dict[str, Any]
) -> tuple[list[str], int, str | None]:
    """The page's ids, the total and the next `after` (None on the last page)."""
    limit, after = _check_limits(body)
    if after >= store.search_page_cap:
        raise validation(
            f"Search results are limited to {store.search_page_cap}: 'after' must be below "
            f"{store.search_page_cap}, but was {after}. Narrow the query, for example by filtering "
            "on hs_object_id GT the last id seen."
        )
    ids = cache.ids(store, object_type, body)
    page = ids[after : after + limit]
    following = after + limit
    return page, len(ids), (str(following) if following < len(ids) else None)
