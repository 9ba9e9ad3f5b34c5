"""CRM object routes: list, get, create, update, archive, batch read/create/update/archive and search.

Batch update error policy (as HubSpot draws it): a batch over 100 inputs, duplicate ids, or any input
writing a property that does not exist or is read-only rejects the WHOLE batch with 400
VALIDATION_ERROR and writes nothing; a value the property does not accept (INVALID_OPTION, bad number
or date), an unknown id, or an id in `store.fail_record_ids` fails only that record, the others are
written and the answer is 207 with per-record `errors`. Batch create follows the same split.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from typing import Any

from sandbox.http import Request, Response
from sandbox.hubspot.errors import (
    HubSpotError,
    PropertyProblem,
    RecordError,
    invalid_properties,
    not_found,
    property_values_message,
    validation,
)
from sandbox.hubspot.records import (
    Router,
    batch_inputs,
    batch_response,
    flag,
    names_from_query,
    record_json,
    resolve_type,
)
from sandbox.hubspot.schema import ENGAGEMENTS, OBJECT_TYPES, canonical_type
from sandbox.hubspot.search import SearchCache, search_page
from sandbox.hubspot.store import HubSpotStore, Record

OBJ = r"/crm/v3/objects/(?P<type>[^/]+)"
MAX_BATCH, MAX_HISTORY_BATCH, MAX_LIST = 100, 50, 100
WHOLE_BATCH_ERRORS = frozenset({"PROPERTY_DOESNT_EXIST", "READ_ONLY_VALUE"})


def object_type_of(request: Request) -> str:
    return resolve_type(request.params["type"])


def _inputs(body: dict[str, Any], limit: int = MAX_BATCH) -> list[dict[str, Any]]:
    return batch_inputs(body, limit)


def record_problem(object_id: str, problems: list[PropertyProblem]) -> RecordError:
    return RecordError(
        "VALIDATION_ERROR",
        property_values_message(problems),
        {"ids": [object_id]},
        errors=[
            {"message": p.message, "code": p.error, "context": {"propertyName": [p.name]}} for p in problems
        ],
    )


def _whole_batch_check(store: HubSpotStore, object_type: str, inputs: list[dict[str, Any]]) -> None:
    """Unknown or read-only properties anywhere reject the whole batch, as HubSpot does."""
    fatal: list[PropertyProblem] = []
    for item in inputs:
        _values, problems = store.check(object_type, item.get("properties") or {})
        fatal.extend(p for p in problems if p.error in WHOLE_BATCH_ERRORS and p not in fatal)
    if fatal:
        raise invalid_properties(fatal)


def _write_one(store: HubSpotStore, object_type: str, item: dict[str, Any]) -> Record | RecordError:
    object_id = str(item.get("id") or "")
    if store.get(object_type, object_id) is None:
        singular = OBJECT_TYPES[object_type][1]
        return RecordError(
            "OBJECT_NOT_FOUND", f"No {singular} with id {object_id} exists.", {"ids": [object_id]}
        )
    if object_id in store.fail_record_ids:
        return RecordError(
            "VALIDATION_ERROR", f"Record {object_id} could not be updated.", {"ids": [object_id]}
        )
    values, problems = store.check(object_type, item.get("properties") or {})
    if problems:
        return record_problem(object_id, problems)
    return store.update(object_type, object_id, values)


def _associations_of(
    store: HubSpotStore, object_type: str, specs: list[dict[str, Any]]
) -> list[tuple[str, str, list[int]]]:
    """Validate a create's `associations` into (to type, to id, type ids); unknown ones answer 400."""
    resolved = []
    for spec in specs or []:
        to_id = str((spec.get("to") or {}).get("id") or "")
        type_ids, to_types = [], set()
        for kind in spec.get("types") or []:
            entry = store.label(int(kind.get("associationTypeId") or 0))
            if entry is None or entry["fromObjectType"] != object_type:
                raise validation(
                    f"{kind.get('associationTypeId')} is not a valid association type id from {object_type}."
                )
            type_ids.append(int(entry["typeId"]))
            to_types.add(entry["toObjectType"])
        if len(to_types) != 1:
            raise validation("Each association needs types that all point to one object type.")
        to_type = to_types.pop()
        if store.get(to_type, to_id) is None:
            raise validation(f"Cannot create association: {OBJECT_TYPES[to_type][1]} {to_id} does not exist.")
        resolved.append((to_type, to_id, type_ids))
    return resolved


def create_record(store: HubSpotStore, object_type: str, item: dict[str, Any]) -> Record:
    values, problems = store.check(object_type, item.get("properties") or {})
    if problems:
        raise invalid_properties(problems)
    if object_type == "deals":
        values.setdefault("pipeline", "default")  # HubSpot files a deal without one in the default pipeline
    if object_type in ENGAGEMENTS and values.get("hs_timestamp") is None:
        name = OBJECT_TYPES[object_type][1].upper()
        message = f"Error creating {name}. Some required properties were not set."
        raise validation(message, context={"properties": ["hs_timestamp"]})
    links = _associations_of(store, object_type, item.get("associations") or [])
    record = store.insert(object_type, values)
    for to_type, to_id, type_ids in links:
        store.associate(object_type, record["id"], to_type, to_id, type_ids)
    return record


class ObjectRoutes:
    def __init__(self, store: HubSpotStore, cache: SearchCache) -> None:
        self.store = store
        self.cache = cache

    def list_objects(self, request: Request) -> Response:
        object_type = object_type_of(request)
        history = names_from_query(request, "propertiesWithHistory")
        limit = int(request.arg("limit") or 10)
        cap = MAX_HISTORY_BATCH if history else MAX_LIST
        if limit < 1 or limit > cap:
            raise validation(f"limit must be between 1 and {cap}, but was {limit}.")
        after = int(request.arg("after") or 0)
        archived = flag(request, "archived")
        # one page and the id after it: a partial sort, not a sort of the whole table on every page
        rows = heapq.nsmallest(
            limit + 1,
            (
                r
                for r in self.store.tables[object_type].values()
                if bool(r.get("archived")) == archived and int(r["id"]) >= after
            ),
            key=lambda r: int(r["id"]),
        )
        page = rows[:limit]
        body: dict[str, Any] = {"results": [self._full_json(request, object_type, r) for r in page]}
        if len(rows) > limit:
            next_id = rows[limit]["id"]
            body["paging"] = {"next": {"after": next_id, "link": f"{request.path}?after={next_id}"}}
        return Response.json(body)

    def _full_json(self, request: Request, object_type: str, record: Record) -> dict[str, Any]:
        body = record_json(
            self.store,
            object_type,
            record,
            names_from_query(request, "properties"),
            names_from_query(request, "propertiesWithHistory"),
        )
        wanted = names_from_query(request, "associations")
        if wanted:
            body["associations"] = self._associations_json(object_type, record["id"], wanted)
        return body

    def _associations_json(self, object_type: str, object_id: str, wanted: list[str]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        singular = OBJECT_TYPES[object_type][1]
        for raw in wanted:
            to_type = canonical_type(raw)
            if to_type is None:
                continue
            linked = self.store.associated(object_type, object_id, to_type)
            if linked:
                kind = f"{singular}_to_{OBJECT_TYPES[to_type][1]}"
                out[to_type] = {"results": [{"id": to_id, "type": kind} for to_id in linked]}
        return out

    def _lookup(
        self, object_type: str, id_property: str | None, archived: bool
    ) -> Callable[[str], Record | None]:
        """Find records by id, or by the value of a unique property (`idProperty`, e.g. a contact's email)."""
        if not id_property or id_property == "hs_object_id":
            return lambda object_id: self.store.get(object_type, object_id, archived=archived)
        definition = self.store.definition(object_type, id_property)
        unique = definition is not None and (
            definition["hasUniqueValue"] or (object_type, id_property) == ("contacts", "email")
        )
        if not unique:
            raise validation(
                f"{id_property} is not a unique property of {object_type}; it cannot be an idProperty."
            )
        index = {
            str(r["properties"].get(id_property)).lower(): r
            for r in self.store.tables[object_type].values()
            if bool(r.get("archived")) == archived and r["properties"].get(id_property) is not None
        }
        return lambda value: index.get(value.lower())

    def get_object(self, request: Request) -> Response:
        object_type = object_type_of(request)
        archived = flag(request, "archived")
        record = self._lookup(object_type, request.arg("idProperty"), archived)(request.params["id"])
        if record is None:
            raise not_found()
        return Response.json(self._full_json(request, object_type, record))

    def create_object(self, request: Request) -> Response:
        object_type = object_type_of(request)
        record = create_record(self.store, object_type, request.json() or {})
        return Response.json(record_json(self.store, object_type, record, list(record["properties"])), 201)

    def update_object(self, request: Request) -> Response:
        object_type = object_type_of(request)
        outcome = _write_one(self.store, object_type, {"id": request.params["id"], **(request.json() or {})})
        if isinstance(outcome, RecordError):
            status = 404 if outcome.category == "OBJECT_NOT_FOUND" else 400
            raise HubSpotError(status, outcome.message, outcome.category)
        return Response.json(record_json(self.store, object_type, outcome, list(outcome["properties"])))

    def archive_object(self, request: Request) -> Response:
        object_type = object_type_of(request)
        if self.store.get(object_type, request.params["id"]) is not None:
            self.store.archive(object_type, request.params["id"])
        return Response(204)

    def batch_read(self, request: Request) -> Response:
        object_type = object_type_of(request)
        body = request.json() or {}
        history = body.get("propertiesWithHistory") or None
        inputs = _inputs(body, MAX_HISTORY_BATCH if history else MAX_BATCH)
        if history and len(inputs) > MAX_HISTORY_BATCH:
            raise validation(
                "The maximum number of inputs supported in a batch request for property histories is 50"
            )
        archived = flag(request, "archived")
        lookup = self._lookup(object_type, body.get("idProperty"), archived)
        results, missing = [], []
        for item in inputs:
            record = lookup(str(item.get("id")))
            if record is None:
                missing.append(str(item.get("id")))
            else:
                results.append(record_json(self.store, object_type, record, body.get("properties"), history))
        errors = []
        if missing:
            name = OBJECT_TYPES[object_type][1].upper()
            message = (
                f"Could not get some {name} objects, they may be deleted or not exist. "
                "Check that ids are valid."
            )
            errors.append(RecordError("OBJECT_NOT_FOUND", message, {"ids": missing}))
        return batch_response(self.store, results, errors)

    def batch_update(self, request: Request) -> Response:
        object_type = object_type_of(request)
        inputs = _inputs(request.json() or {})
        ids = [str(item.get("id")) for item in inputs]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise validation(f"Duplicate IDs found in batch input: {duplicates}. IDs must be unique")
        _whole_batch_check(self.store, object_type, inputs)
        results, errors = [], []
        for item in inputs:
            outcome = _write_one(self.store, object_type, item)
            if isinstance(outcome, RecordError):
                errors.append(outcome)
            else:
                results.append(
                    _traced(record_json(self.store, object_type, outcome, item.get("properties")), item)
                )
        return batch_response(self.store, results, errors)

    def batch_create(self, request: Request) -> Response:
        object_type = object_type_of(request)
        inputs = _inputs(request.json() or {})
        _whole_batch_check(self.store, object_type, inputs)
        results, errors = [], []
        for index, item in enumerate(inputs):
            try:
                record = create_record(self.store, object_type, item)
            except HubSpotError as error:
                trace = str(item.get("objectWriteTraceId") or index)
                errors.append(RecordError(error.category, error.message, {"objectWriteTraceId": [trace]}))
                continue
            results.append(
                _traced(record_json(self.store, object_type, record, list(record["properties"])), item)
            )
        return batch_response(self.store, results, errors, ok_status=201)

    def batch_archive(self, request: Request) -> Response:
        object_type = object_type_of(request)
        for item in _inputs(request.json() or {}):
            if self.store.get(object_type, str(item.get("id"))) is not None:
                self.store.archive(object_type, str(item.get("id")))
        return Response(204)

    def search(self, request: Request) -> Response:
        object_type = object_type_of(request)
        body = request.json() or {}
        ids, total, following = search_page(self.store, self.cache, object_type, body)
        wanted = body.get("properties") or None
        results = [
            record_json(self.store, object_type, self.store.tables[object_type][i], wanted) for i in ids
        ]
        payload: dict[str, Any] = {"total": total, "results": results}
        if following is not None:
            payload["paging"] = {"next": {"after": following, "link": f"?after={following}"}}
        return Response.json(payload)


def register(route: Router, store: HubSpotStore, cache: SearchCache) -> None:
    routes = ObjectRoutes(store, cache)
    route("GET", OBJ, "objects.list")(routes.list_objects)
    route("GET", OBJ + r"/(?P<id>[^/]+)", "objects.get")(routes.get_object)
    route("POST", OBJ, "objects.create")(routes.create_object)
    route("PATCH", OBJ + r"/(?P<id>[^/]+)", "objects.update")(routes.update_object)
    route("DELETE", OBJ + r"/(?P<id>[^/]+)", "objects.archive")(routes.archive_object)
    route("POST", OBJ + r"/batch/read", "objects.batch_read")(routes.batch_read)
    route("POST", OBJ + r"/batch/update", "objects.batch_update")(routes.batch_update)
    route("POST", OBJ + r"/batch/create", "objects.batch_create")(routes.batch_create)
    route("POST", OBJ + r"/batch/archive", "objects.batch_archive")(routes.batch_archive)
    route("POST", OBJ + r"/search", "objects.search")(routes.search)


def _traced(body: dict[str, Any], item: dict[str, Any]) -> dict[str, Any]:
    if item.get("objectWriteTraceId"):
        body["objectWriteTraceId"] = item["objectWriteTraceId"]
    return body
