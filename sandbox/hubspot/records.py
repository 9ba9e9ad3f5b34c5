"""How records and batch results look on the wire (SimplePublicObject and the batch envelopes).

Shared by the object, association and search routes: which properties a response carries (HubSpot's
defaults for the type when none are asked for, always plus hs_object_id and the create/modify stamps),
`propertiesWithHistory`, and the batch envelope with `status`, `startedAt`, `completedAt` and, when some
inputs failed, `numErrors` and `errors` (answered as 207 Multi-Status).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from sandbox.http import Handler, Request, Response
from sandbox.hubspot.errors import RecordError, validation
from sandbox.hubspot.schema import always_returned, canonical_type, default_returned
from sandbox.hubspot.store import HubSpotStore, Record

# How route modules register handlers: route(method, pattern, endpoint name)(handler)
Router = Callable[[str, str, str], Callable[[Handler], Handler]]


def resolve_type(raw: str) -> str:
    """The canonical object type for a path segment (`deals`, `deal`, `0-3`), else HubSpot's 400."""
    name = canonical_type(raw)
    if name is None:
        raise validation(f"Unable to infer object type from: {raw}")
    return name


def batch_inputs(body: Any, limit: int) -> list[dict[str, Any]]:
    inputs = (body or {}).get("inputs")
    if not isinstance(inputs, list):
        raise validation("Invalid input JSON: 'inputs' must be a list.")
    if len(inputs) > limit:
        raise validation(
            f"The maximum number of inputs supported in a batch request is {limit}, got {len(inputs)}."
        )
    return inputs


def names_from_query(request: Request, name: str) -> list[str] | None:
    """`?properties=a&properties=b` or `?properties=a,b` (both are accepted by HubSpot)."""
    values = request.query.get(name)
    if not values:
        return None
    return [part for value in values for part in value.split(",") if part]


def flag(request: Request, name: str) -> bool:
    return (request.arg(name) or "false").lower() == "true"


def returned_properties(store: HubSpotStore, object_type: str, requested: Iterable[str] | None) -> list[str]:
    if not requested:
        return list(default_returned(object_type))
    wanted = [n for n in requested if store.definition(object_type, n) is not None]
    return list(dict.fromkeys([*wanted, *always_returned(object_type)]))


def history_json(record: Record, name: str) -> list[dict[str, Any]]:
    entries = record["history"].get(name)
    if not entries and record["properties"].get(name) is not None:
        entries = [[record["properties"][name], record["createdAt"], "CRM_UI"]]
    return [
        {"value": value, "timestamp": stamp, "sourceType": source} for value, stamp, source in entries or []
    ]


def record_json(
    store: HubSpotStore,
    object_type: str,
    record: Record,
    properties: Iterable[str] | None = None,
    with_history: Iterable[str] | None = None,
) -> dict[str, Any]:
    props = record["properties"]
    body: dict[str, Any] = {
        "id": record["id"],
        "properties": {n: props.get(n) for n in returned_properties(store, object_type, properties)},
        "createdAt": record["createdAt"],
        "updatedAt": record["updatedAt"],
        "archived": bool(record.get("archived")),
    }
    if record.get("archived"):
        body["archivedAt"] = record.get("archivedAt")
    if with_history:
        body["propertiesWithHistory"] = {
            n: history_json(record, n) for n in with_history if store.definition(object_type, n) is not None
        }
    return body


def batch_response(
    store: HubSpotStore, results: list[dict[str, Any]], errors: list[RecordError], ok_status: int = 200
) -> Response:
    started = store.now()
    body: dict[str, Any] = {
        "status": "COMPLETE",
        "results": results,
        "startedAt": started,
        "completedAt": store.now(),
    }
    if errors:
        body.update(numErrors=len(errors), errors=[e.as_json() for e in errors])
        return Response.json(body, 207)
    return Response.json(body, ok_status)
