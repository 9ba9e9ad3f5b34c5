"""Bulk API 2.0 ingest jobs, the sequence simple-salesforce's `sf.bulk2.<Object>.update(...)` drives.

`POST jobs/ingest` creates a job (state Open) -> `PUT jobs/ingest/{id}/batches` uploads CSV (201) ->
`PATCH jobs/ingest/{id}` `{"state": "UploadComplete"}` processes it at once (rows through the same
validation as REST writes; an empty cell leaves a field unchanged, `#N/A` clears it; an unknown column
fails the whole job with "InvalidBatch : Field name not found") -> `GET jobs/ingest/{id}` reports
JobComplete with numberRecordsProcessed/Failed -> `GET .../successfulResults|failedResults|
unprocessedrecords` return CSV with `sf__Id`, `sf__Created` / `sf__Error` ("CODE:message:fields --").
Operations: insert, update, upsert (on Id), delete. Jobs live in `tables["_BulkJob"]`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import Any

from sandbox.http import App, Request, Response
from sandbox.salesforce import writes
from sandbox.salesforce.responses import authed, sf_error
from sandbox.salesforce.rest import DATA, object_or_none, parse_json
from sandbox.salesforce.store import RecordError, SalesforceStore
from sandbox.salesforce.values import random_id

OPERATIONS = frozenset({"insert", "update", "upsert", "delete"})
# The documented path is unprocessedrecords; simple-salesforce asks for unprocessedRecords: serve both.
RESULT_KINDS = {
    "successfulresults": "successful",
    "failedresults": "failed",
    "unprocessedrecords": "unprocessed",
}


def _info(job: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in job.items() if not k.startswith("_")}


def create_job(store: SalesforceStore, request: Request, user_id: str) -> Response:
    body = parse_json(request) or {}
    obj = object_or_none(store, user_id, str(body.get("object") or ""))
    if body.get("operation") not in OPERATIONS:
        return sf_error(400, "INVALIDJOB", f"Invalid operation: {body.get('operation')}")
    if obj is None:
        return sf_error(400, "INVALIDJOB", f"InvalidJob : Invalid object type: {body.get('object')}")
    job_id = random_id("750")
    now = store.now()
    job = {
        "id": job_id,
        "operation": body["operation"],
        "object": obj.name,
        "createdById": user_id,
        "createdDate": now,
        "systemModstamp": now,
        "state": "Open",
        "externalIdFieldName": body.get("externalIdFieldName") or "Id",
        "concurrencyMode": "Parallel",
        "contentType": "CSV",
        "apiVersion": float(request.params["ver"]),
        "contentUrl": f"services/data/v{request.params['ver']}/jobs/ingest/{job_id}/batches",
        "lineEnding": body.get("lineEnding") or "LF",
        "columnDelimiter": body.get("columnDelimiter") or "COMMA",
        "jobType": "V2Ingest",
        "numberRecordsProcessed": 0,
        "numberRecordsFailed": 0,
        "retries": 0,
        "totalProcessingTime": 0,
        "apiActiveProcessingTime": 0,
        "apexProcessingTime": 0,
        "_csv": "",
        "_user": user_id,
        "_results": {"successful": [], "failed": [], "unprocessed": []},
        "_columns": [],
    }
    store.tables["_BulkJob"][job_id] = job
    return Response.json(_info(job))


def _delimiter(job: dict[str, Any]) -> str:
    return {"COMMA": ",", "TAB": "\t", "PIPE": "|", "SEMICOLON": ";", "CARET": "^", "BACKQUOTE": "`"}.get(
        job["columnDelimiter"], ","
    )


def _error_text(errors: list[RecordError]) -> str:
    first = errors[0]
    return f"{first.status_code}:{first.message}:{','.join(first.fields)}--"


def _write_row(
    store: SalesforceStore, job: dict[str, Any], row: dict[str, str]
) -> tuple[str, list[RecordError], bool]:
    values: dict[str, Any] = {
        k: (None if v == "#N/A" else v) for k, v in row.items() if v != "" and k != "Id"
    }
    record_id = row.get("Id") or ""
    operation, user_id = job["operation"], job["_user"]
    if operation == "delete":
        record = store.get(record_id)
        if record is None or record["IsDeleted"]:
            return record_id, [RecordError("ENTITY_IS_DELETED", "entity is deleted")], False
        writes.delete(store, record)
        return record_id, [], False
    if operation == "insert" or (operation == "upsert" and not record_id):
        new_id, errors = writes.create(store, job["object"], values, user_id)
        return new_id or "", errors, not errors
    if not record_id:
        return "", [RecordError("MISSING_ARGUMENT", "Id not specified in an update call", ("Id",))], False
    return record_id, writes.update(store, job["object"], record_id, values, user_id), False


def process(store: SalesforceStore, job: dict[str, Any]) -> None:
    reader = csv.DictReader(io.StringIO(job["_csv"]), delimiter=_delimiter(job))
    columns = list(reader.fieldnames or [])
    job["_columns"] = columns
    obj = store.objects(job["_user"])[job["object"]]
    unknown = [c for c in columns if c not in obj.fields]
    if unknown:
        job.update(state="Failed", errorMessage=f"InvalidBatch : Field name not found : {unknown[0]}")
        return
    results = job["_results"]
    with store.lock:
        for row in reader:
            record_id, errors, created = _write_row(store, job, row)
            original = [row.get(c, "") for c in columns]
            if errors:
                results["failed"].append([record_id, _error_text(errors), *original])
            else:
                results["successful"].append([record_id, str(created).lower(), *original])
    job.update(
        state="JobComplete",
        numberRecordsFailed=len(results["failed"]),
        numberRecordsProcessed=len(results["failed"]) + len(results["successful"]),
        systemModstamp=store.now(),
    )


def results_csv(job: dict[str, Any], kind: str) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n", quoting=csv.QUOTE_ALL)
    columns = job["_columns"]
    header = {"successful": ["sf__Id", "sf__Created"], "failed": ["sf__Id", "sf__Error"], "unprocessed": []}[
        kind
    ]
    writer.writerow([*header, *columns])
    writer.writerows(job["_results"][kind])
    return out.getvalue()


JobHandler = Callable[[Request, dict[str, Any]], Response]


def _with_job(store: SalesforceStore, handler: JobHandler) -> Callable[[Request], Response]:
    def wrapped(request: Request, _user_id: str) -> Response:
        job = store.tables["_BulkJob"].get(request.params["job"])
        if job is None:
            return sf_error(404, "NOT_FOUND", "The requested resource does not exist")
        return handler(request, job)

    return authed(store, wrapped)


def upload(request: Request, job: dict[str, Any]) -> Response:
    if job["state"] != "Open":
        return sf_error(409, "INVALIDJOBSTATE", f"Job {job['id']} is not open for upload")
    job["_csv"] += request.body.decode("utf-8")
    return Response(201)


def set_state(store: SalesforceStore, request: Request, job: dict[str, Any]) -> Response:
    state = (parse_json(request) or {}).get("state")
    if state == "UploadComplete" and job["state"] == "Open":
        job["state"] = "UploadComplete"
        answer = _info(job)
        process(store, job)
        return Response.json(answer)
    if state == "Aborted" and job["state"] in ("Open", "UploadComplete", "InProgress"):
        job["state"] = "Aborted"
        return Response.json(_info(job))
    return sf_error(400, "INVALIDJOBSTATE", f"Cannot change job state from {job['state']} to {state}")


def results(request: Request, job: dict[str, Any]) -> Response:
    text = results_csv(job, RESULT_KINDS[request.params["kind"].lower()])
    return Response(200, text.encode(), {"Content-Type": "text/csv"})


def register_bulk2(app: App, store: SalesforceStore) -> None:
    base = DATA + r"/jobs/ingest"
    job = base + r"/(?P<job>750\w+)"
    app.route("POST", base, "bulk2_create")(authed(store, lambda r, u: create_job(store, r, u)))
    app.route("PUT", job + "/batches", "bulk2_upload")(_with_job(store, upload))
    app.route("PATCH", job, "bulk2_state")(_with_job(store, lambda r, j: set_state(store, r, j)))
    app.route("GET", job, "bulk2_job")(_with_job(store, lambda _r, j: Response.json(_info(j))))
    app.route(
        "GET", job + "/(?P<kind>successfulResults|failedResults|unprocessed[rR]ecords)", "bulk2_results"
    )(_with_job(store, results))

    def delete_job(request: Request, _job: dict[str, Any]) -> Response:
        store.tables["_BulkJob"].pop(request.params["job"], None)
        return Response(204)

    app.route("DELETE", job, "bulk2_delete")(_with_job(store, delete_job))
