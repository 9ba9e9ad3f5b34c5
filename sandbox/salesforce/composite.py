"""sObject Collections: `composite/sobjects` create (POST), update (PATCH) and retrieve (POST .../{type}).

Up to 200 records per call (more -> 400 EXCEEDED_ID_LIMIT); one result per record in request order,
`{"id", "success": true, "errors": []}` or `{"success": false, "errors": [{"statusCode", "message",
"fields"}]}`, with HTTP 200 even when records fail. Upsert (`PATCH composite/sobjects/{type}/{extIdField}`)
matches on an external id field (exact match) and adds `"created"` to each successful result. With
`allOrNone: true` every record is validated first and nothing is written if one fails: the failing
records carry their own errors and the others ALL_OR_NONE_OPERATION_ROLLED_BACK. The whole call counts
as one API request.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sandbox.http import App, Request, Response
from sandbox.salesforce import writes
from sandbox.salesforce.responses import authed, sf_error
from sandbox.salesforce.rest import DATA, object_or_none, parse_json, record_json
from sandbox.salesforce.schema import ObjectDef
from sandbox.salesforce.store import RecordError, SalesforceStore

MAX_RECORDS = 200
ROLLED_BACK = RecordError(
    "ALL_OR_NONE_OPERATION_ROLLED_BACK",
    "Record rolled back because not all records were valid and the request was using AllOrNone header",
)


Outcome = tuple[str | None, list[RecordError], bool | None]  # id, errors, created (upserts only)
Writer = Callable[[dict[str, Any], ObjectDef, bool], Outcome]


def _one(store: SalesforceStore, record: Any, user_id: str, writer: Writer, dry_run: bool) -> Outcome:
    if not isinstance(record, dict):
        return None, [RecordError("JSON_PARSER_ERROR", "record is not a JSON object")], None
    object_type = (record.get("attributes") or {}).get("type")
    obj = object_or_none(store, user_id, object_type) if object_type else None
    if obj is None:
        return None, [RecordError("INVALID_TYPE", f"sObject type '{object_type}' is not supported.")], None
    return writer(record, obj, dry_run)


def creator(store: SalesforceStore, user_id: str) -> Writer:
    def write(record: dict[str, Any], obj: ObjectDef, dry_run: bool) -> Outcome:
        if record.get("id") or record.get("Id"):
            return None, [RecordError("INVALID_FIELD", "cannot specify Id in an insert call", ("Id",))], None
        return (*writes.create(store, obj.name, record, user_id, dry_run=dry_run), None)

    return write


def updater(store: SalesforceStore, user_id: str) -> Writer:
    def write(record: dict[str, Any], obj: ObjectDef, dry_run: bool) -> Outcome:
        record_id = record.get("id") or record.get("Id")
        if not record_id:
            return (
                None,
                [RecordError("MISSING_ARGUMENT", "Id not specified in an update call", ("Id",))],
                None,
            )
        if store.type_of(record_id) is None or len(record_id) not in (15, 18):
            return None, [RecordError("MALFORMED_ID", f"malformed id {record_id}")], None
        fields = {k: v for k, v in record.items() if k not in ("id", "Id")}
        return record_id, writes.update(store, obj.name, record_id, fields, user_id, dry_run=dry_run), None

    return write


def upserter(store: SalesforceStore, user_id: str, key_field: str) -> Writer:
    def write(record: dict[str, Any], obj: ObjectDef, dry_run: bool) -> Outcome:
        key = record.get(key_field)
        if key in (None, ""):
            return None, [RecordError("MISSING_ARGUMENT", f"{key_field} not specified", (key_field,))], None
        new_id, created, errors = writes.upsert(
            store, obj.name, key_field, str(key), record, user_id, dry_run=dry_run
        )
        return new_id, errors, created

    return write


def _result(record_id: str | None, errors: list[RecordError], created: bool | None) -> dict[str, Any]:
    if errors:
        return {"success": False, "errors": [e.as_json() for e in errors]}
    out: dict[str, Any] = {"id": record_id, "success": True, "errors": []}
    if created is not None:
        out["created"] = created
    return out


def save(store: SalesforceStore, body: Any, user_id: str, writer: Writer) -> Response:
    if not isinstance(body, dict) or not isinstance(body.get("records"), list):
        return sf_error(400, "JSON_PARSER_ERROR", "Expected a JSON object with a records array")
    records = body["records"]
    if len(records) > MAX_RECORDS:
        return sf_error(
            400,
            "EXCEEDED_ID_LIMIT",
            "record limit reached. cannot submit more than 200 records into this call",
        )
    with store.lock:
        if body.get("allOrNone"):
            checks = [_one(store, r, user_id, writer, dry_run=True) for r in records]
            if any(errors for _id, errors, _created in checks):
                return Response.json(
                    [_result(None, errors or [ROLLED_BACK], None) for _i, errors, _c in checks]
                )
        return Response.json([_result(*_one(store, r, user_id, writer, dry_run=False)) for r in records])


def register_composite(app: App, store: SalesforceStore) -> None:
    path = DATA + r"/composite/sobjects"
    app.route("POST", path, "composite_create")(
        authed(store, lambda request, user: save(store, parse_json(request), user, creator(store, user)))
    )
    app.route("PATCH", path, "composite_update")(
        authed(store, lambda request, user: save(store, parse_json(request), user, updater(store, user)))
    )

    def upsert(request: Request, user_id: str) -> Response:
        if object_or_none(store, user_id, request.params["type"]) is None:
            return sf_error(404, "NOT_FOUND", "The requested resource does not exist")
        writer = upserter(store, user_id, request.params["field"])
        return save(store, parse_json(request), user_id, writer)

    app.route("PATCH", path + r"/(?P<type>\w+)/(?P<field>\w+)", "composite_upsert")(authed(store, upsert))

    def retrieve(request: Request, user_id: str) -> Response:
        obj = object_or_none(store, user_id, request.params["type"])
        body = parse_json(request) or {}
        if obj is None:
            return sf_error(404, "NOT_FOUND", "The requested resource does not exist")
        ids, fields = body.get("ids") or [], body.get("fields") or []
        if len(ids) > 2000:
            return sf_error(400, "EXCEEDED_ID_LIMIT", "cannot retrieve more than 2000 records")
        unknown = [f for f in fields if f not in obj.fields]
        if unknown:
            return sf_error(
                400, "INVALID_FIELD", f"No such column '{unknown[0]}' on sobject of type {obj.name}"
            )
        out: list[Any] = []
        for record_id in ids:
            record = store.get(record_id)
            if record is None or record["IsDeleted"] or store.type_of(record_id) != obj.name:
                out.append(None)
                continue
            full = record_json(store, obj, record, request.params["ver"])
            out.append({k: v for k, v in full.items() if k in ("attributes", "Id", *fields)})
        return Response.json(out)

    app.route("POST", path + r"/(?P<type>\w+)", "composite_retrieve")(authed(store, retrieve))
