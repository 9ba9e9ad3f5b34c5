"""The Composite resource: `POST /services/data/vXX.X/composite`, a series of subrequests in one call.

Salesforce's REST API Developer Guide ("Send Multiple Requests Using Composite"): "The entire series of
requests counts as a single call toward your API limits"; a call holds up to 25 subrequests, of which up to
5 may be query operations (query, queryAll, or a query's next page). The sandbox runs each GET subrequest
(describe, query, queryAll, a query's next page, sObject rows) through the handler of the direct route,
with the subrequest's `httpHeaders` (e.g. `Sforce-Query-Options`) and the call's session, and answers
`{"compositeResponse": [{"body", "httpHeaders", "httpStatusCode", "referenceId"}]}` in request order. A
failed subrequest's body is the error list the direct call answers (`[{"message", "errorCode"}]`), under
HTTP 200 for the call. More than 25 subrequests, or more than 5 queries, fail the whole call with 400
LIMIT_EXCEEDED (the shape of Salesforce's other errors; its exact message is not documented). With
`allOrNone: true` the others answer 400 PROCESSING_HALTED once one failed. Not supported: subrequests
other than GET and references between subrequests (`@{ref.field}`): such a subrequest answers 400.

The call counts once: the route `composite` in the app's counter, one request in Sforce-Limit-Info. Faults
drawn for the route `composite` (rates, "*" or by name) hit the whole call, as on any route; a fault queued
by name for a subrequest's own route (`query_all`, `describe`, ...) makes that subrequest alone answer it.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

from sandbox.http import App, DropConnection, Request, Response
from sandbox.salesforce.responses import authed, in_subrequests, sf_error
from sandbox.salesforce.rest import DATA, parse_json
from sandbox.salesforce.store import SalesforceStore

MAX_SUBREQUESTS = 25
MAX_QUERIES = 5
_QUERY = re.compile(DATA + r"/query(All)?(/|$)")
_HALTED = "The transaction was rolled back since another operation in the same transaction failed."


def _is_query(subrequest: dict[str, Any]) -> bool:
    return bool(_QUERY.match(urlsplit(str(subrequest.get("url") or "")).path))


def _shape_error(subrequests: Any) -> str | None:
    """What is wrong with the request body's `compositeRequest`, or None."""
    if not isinstance(subrequests, list) or not subrequests:
        return "compositeRequest must be a non-empty array"
    if not all(isinstance(s, dict) and s.get("referenceId") and s.get("url") for s in subrequests):
        return "each subrequest needs a url and a referenceId"
    references = [s["referenceId"] for s in subrequests]
    if len(set(references)) != len(references):
        return "Duplicate referenceId in the composite request"
    return None


def _answer(app: App, call: Request, subrequest: dict[str, Any]) -> Response:
    url = str(subrequest["url"])
    if str(subrequest.get("method") or "").upper() != "GET" or "@{" in url:
        message = "the sandbox's composite runs GET subrequests without references"
        return sf_error(400, "INVALID_INPUT", message)
    parts = urlsplit(url)
    headers = {str(k).lower(): str(v) for k, v in (subrequest.get("httpHeaders") or {}).items()}
    headers["authorization"] = call.headers.get("authorization", "")
    request = Request("GET", parts.path, parse_qs(parts.query, keep_blank_values=True), headers, b"")
    route = app.match(request)
    if route is None or not parts.path.startswith("/services/data/"):
        return app.not_found(request)
    kind = app.faults.draw_queued(route.name)
    if kind == "drop":
        raise DropConnection
    return app.fault_response(kind, request) if kind else route.handler(request)


def _result(reference: str, response: Response) -> dict[str, Any]:
    return {
        "body": json.loads(response.body) if response.body else None,
        "httpHeaders": {k: v for k, v in response.headers.items() if k.lower() != "content-type"},
        "httpStatusCode": response.status,
        "referenceId": reference,
    }


def _halted(result: dict[str, Any]) -> dict[str, Any]:
    if result["httpStatusCode"] >= 400:
        return result
    body = [{"errorCode": "PROCESSING_HALTED", "message": _HALTED}]
    return {**result, "body": body, "httpHeaders": {}, "httpStatusCode": 400}


def register_composite_requests(app: App, store: SalesforceStore) -> None:
    def composite(request: Request, _user_id: str) -> Response:
        body = parse_json(request)
        subrequests = body.get("compositeRequest") if isinstance(body, dict) else None
        problem = _shape_error(subrequests)
        if problem is not None:
            return sf_error(400, "JSON_PARSER_ERROR", problem)
        assert isinstance(body, dict)
        assert isinstance(subrequests, list)
        if len(subrequests) > MAX_SUBREQUESTS:
            return sf_error(400, "LIMIT_EXCEEDED", f"Exceeded max limit of subrequests, total subrequests "
                            f"count {len(subrequests)} (limit {MAX_SUBREQUESTS})")
        queries = sum(1 for s in subrequests if _is_query(s))
        if queries > MAX_QUERIES:
            return sf_error(400, "LIMIT_EXCEEDED", f"Exceeded max limit of query subrequests, total query "
                            f"subrequests count {queries} (limit {MAX_QUERIES})")
        with in_subrequests():
            results = [_result(str(s["referenceId"]), _answer(app, request, s)) for s in subrequests]
        if body.get("allOrNone") and any(r["httpStatusCode"] >= 400 for r in results):
            results = [_halted(r) for r in results]
        return Response.json({"compositeResponse": results})

    app.route("POST", DATA + r"/composite", "composite")(authed(store, composite))
