"""REST routes: query / queryAll and their locators, limits, describe, and single-record sObject CRUD.

Paths are `/services/data/vXX.X/...` for any version. Single-record writes answer like the REST API:
create 201 `{"id", "success": true, "errors": []}`, update 204, delete 204 (the row becomes IsDeleted and
is then only visible to queryAll), and a failed write 400 `[{"message", "errorCode", "fields"}]`.
GET by id returns every field the user can see, with `attributes`. Upsert by external id
(`PATCH sobjects/{type}/{field}/{value}`) answers 201 created or 200 updated with `"created"`.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote_plus, unquote

from sandbox.http import App, Request, Response
from sandbox.salesforce import describe, writes
from sandbox.salesforce.query_pages import batch_size, query_more, run_query
from sandbox.salesforce.responses import authed, not_found, sf_error
from sandbox.salesforce.schema import ObjectDef
from sandbox.salesforce.soql import SoqlError
from sandbox.salesforce.store import RecordError, SalesforceStore
from sandbox.salesforce.values import normalise_datetime

DATA = r"/services/data/v(?P<ver>\d+\.\d)"
MAX_URI_BYTES = 16384  # a GET request line longer than this is refused with 414 by the REST API
MAX_SOQL_CHARS = 100000


def parse_json(request: Request) -> Any:
    try:
        return request.json()
    except (ValueError, UnicodeDecodeError) as exc:
        raise SoqlError("JSON_PARSER_ERROR", f"Unexpected character: {exc}") from exc


def object_or_none(store: SalesforceStore, user_id: str, name: str) -> ObjectDef | None:
    objects = store.objects(user_id)
    return objects.get(name) or next((o for o in objects.values() if o.name.lower() == name.lower()), None)


def record_json(
    store: SalesforceStore, obj: ObjectDef, record: dict[str, Any], version: str
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "attributes": {
            "type": obj.name,
            "url": f"/services/data/v{version}/sobjects/{obj.name}/{record['Id']}",
        }
    }
    for name, field in obj.fields.items():
        value = record.get(name)
        out[name] = bool(value) if field.type == "boolean" else value
    return out


def write_failure(errors: list[RecordError]) -> Response:
    first = errors[0]
    return sf_error(400, first.status_code, first.message, list(first.fields))


def register_rest(app: App, store: SalesforceStore) -> None:
    def query(request: Request, user_id: str, include_deleted: bool) -> Response:
        text = request.arg("q")
        if not text:
            return sf_error(400, "MALFORMED_QUERY", "A query string has to be specified")
        if len(request.path) + len(quote_plus(text)) + 3 > MAX_URI_BYTES:
            return sf_error(414, "URI_TOO_LONG", "The request URI is too long; split long IN lists")
        if len(text) > MAX_SOQL_CHARS:
            return sf_error(400, "MALFORMED_QUERY", f"Query is too long: at most {MAX_SOQL_CHARS} characters")
        batch = batch_size(request.headers.get("sforce-query-options"))
        return Response.json(
            run_query(
                store,
                text,
                user_id,
                include_deleted=include_deleted,
                version=request.params["ver"],
                batch=batch,
            )
        )

    app.route("GET", DATA + r"/query", "query")(authed(store, lambda r, u: query(r, u, False)))
    app.route("GET", DATA + r"/queryAll", "query_all")(authed(store, lambda r, u: query(r, u, True)))

    def more(request: Request, _user_id: str) -> Response:
        return Response.json(
            query_more(store, request.params["locator"], request.headers.get("sforce-query-options"))
        )

    app.route("GET", DATA + r"/query(?:All)?/(?P<locator>01g[^/]+)", "query_more")(authed(store, more))

    def limits(_request: Request, _user_id: str) -> Response:
        org = store.org
        remaining = max(0, org["api_max"] - org["api_used"])
        return Response.json(
            {
                "DailyApiRequests": {"Max": org["api_max"], "Remaining": remaining},
                "DailyBulkV2QueryJobs": {"Max": 10000, "Remaining": 10000},
                "DailyBulkApiBatches": {"Max": 15000, "Remaining": 15000},
                "ConcurrentAsyncGetReportInstances": {"Max": 200, "Remaining": 200},
            }
        )

    app.route("GET", DATA + r"/limits", "limits")(authed(store, limits))

    def describe_global(request: Request, user_id: str) -> Response:
        return Response.json(describe.describe_global(store.objects(user_id), request.params["ver"]))

    app.route("GET", DATA + r"/sobjects", "describe_global")(authed(store, describe_global))

    def describe_object(request: Request, user_id: str) -> Response:
        obj = object_or_none(store, user_id, request.params["type"])
        if obj is None:
            return sf_error(404, "NOT_FOUND", "The requested resource does not exist")
        return Response.json(describe.describe_object(obj, store.objects(user_id), request.params["ver"]))

    app.route("GET", DATA + r"/sobjects/(?P<type>\w+)/describe", "describe")(authed(store, describe_object))

    def sobject_info(request: Request, user_id: str) -> Response:
        obj = object_or_none(store, user_id, request.params["type"])
        if obj is None:
            return not_found()
        return Response.json(
            {"objectDescribe": describe.object_summary(obj, request.params["ver"]), "recentItems": []}
        )

    app.route("GET", DATA + r"/sobjects/(?P<type>\w+)", "sobject")(authed(store, sobject_info))
    _register_crud(app, store)


def changes(store: SalesforceStore, request: Request, user_id: str) -> Response:
    """`sobjects/{type}/updated|deleted?start=&end=`: ids changed or deleted in [start, end)."""
    obj = object_or_none(store, user_id, request.params["type"])
    start, end = request.arg("start"), request.arg("end")
    if obj is None:
        return not_found()
    try:
        low, high = normalise_datetime(start or ""), normalise_datetime(end or "")
    except ValueError:
        return sf_error(400, "INVALID_REPLICATION_DATE", "start and end must be ISO 8601 datetimes")
    rows = [r for r in store.table(obj.name).values() if low <= r["SystemModstamp"] < high]
    covered = high[:16] + ":00.000+0000"  # Salesforce reports whole minutes
    if request.params["which"] == "updated":
        return Response.json(
            {"ids": [r["Id"] for r in rows if not r["IsDeleted"]], "latestDateCovered": covered}
        )
    deleted = [{"id": r["Id"], "deletedDate": r["SystemModstamp"]} for r in rows if r["IsDeleted"]]
    return Response.json(
        {"deletedRecords": deleted, "earliestDateAvailable": low, "latestDateCovered": covered}
    )


def upsert(store: SalesforceStore, request: Request, user_id: str) -> Response:
    """PATCH sobjects/{type}/{field}/{value}: update the record with that external id, else create it."""
    obj = object_or_none(store, user_id, request.params["type"])
    if obj is None:
        return not_found()
    record_id, created, errors = writes.upsert(
        store,
        obj.name,
        request.params["field"],
        unquote(request.params["value"]),
        parse_json(request) or {},
        user_id,
    )
    if errors:
        return write_failure(errors)
    body: dict[str, Any] = {"id": record_id, "success": True, "errors": [], "created": created}
    return Response.json(body, 201 if created else 200)


def _register_crud(app: App, store: SalesforceStore) -> None:
    app.route("GET", DATA + r"/sobjects/(?P<type>\w+)/(?P<which>updated|deleted)", "changes")(
        authed(store, lambda request, user_id: changes(store, request, user_id))
    )

    def create(request: Request, user_id: str) -> Response:
        obj = object_or_none(store, user_id, request.params["type"])
        if obj is None:
            return not_found()
        body = parse_json(request)
        if not isinstance(body, dict):
            return sf_error(
                400, "JSON_PARSER_ERROR", "Cannot deserialize instance of sObject from a non-object"
            )
        new_id, errors = writes.create(store, obj.name, body, user_id)
        if errors:
            return write_failure(errors)
        return Response.json({"id": new_id, "success": True, "errors": []}, 201)

    app.route("POST", DATA + r"/sobjects/(?P<type>\w+)", "create")(authed(store, create))

    def get(request: Request, user_id: str) -> Response:
        obj = object_or_none(store, user_id, request.params["type"])
        record = store.get(request.params["id"])
        if obj is None or record is None or record["IsDeleted"] or store.type_of(record["Id"]) != obj.name:
            return not_found()
        full = record_json(store, obj, record, request.params["ver"])
        wanted = [f.strip() for f in (request.arg("fields") or "").split(",") if f.strip()]
        unknown = [f for f in wanted if f not in obj.fields]
        if unknown:
            return sf_error(
                400, "INVALID_FIELD", f"No such column '{unknown[0]}' on sobject of type {obj.name}"
            )
        return Response.json({k: v for k, v in full.items() if not wanted or k in ("attributes", *wanted)})

    app.route("GET", DATA + r"/sobjects/(?P<type>\w+)/(?P<id>\w{15,18})", "get")(authed(store, get))

    def update(request: Request, user_id: str) -> Response:
        obj = object_or_none(store, user_id, request.params["type"])
        record = store.get(request.params["id"])
        if obj is None or record is None or record["IsDeleted"]:
            return not_found()
        errors = writes.update(store, obj.name, record["Id"], parse_json(request) or {}, user_id)
        return write_failure(errors) if errors else Response(204)

    app.route("PATCH", DATA + r"/sobjects/(?P<type>\w+)/(?P<id>\w{15,18})", "update")(authed(store, update))

    def delete(request: Request, _user_id: str) -> Response:
        record = store.get(request.params["id"])
        if record is None or record["IsDeleted"]:
            return not_found()
        writes.delete(store, record)
        return Response(204)

    app.route("PATCH", DATA + r"/sobjects/(?P<type>\w+)/(?P<field>\w+)/(?P<value>[^/]+)", "upsert")(
        authed(store, lambda request, user_id: upsert(store, request, user_id))
    )
    app.route("DELETE", DATA + r"/sobjects/(?P<type>\w+)/(?P<id>\w{15,18})", "delete")(authed(store, delete))
