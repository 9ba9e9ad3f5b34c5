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
`allOrNone: true` the others answer 400 PROCESSING_HALTED once one failed. A subrequest's url may name a
field of an earlier subrequest's answer (`@{ref.field}`, `.` and `[n]` as the guide describes; e.g.
`@{r0.nextRecordsUrl}`, the next page of the query `r0` answered): one whose reference has no value, or
names a subrequest that failed, is not run and answers 400 PROCESSING_HALTED (the guide says dependent
subrequests are not executed; the exact error is not documented). Not supported: subrequests other than
GET, and references in bodies.

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


_REFERENCE = re.compile(r"@\{([^.\[}]+)((?:\.[^.\[}]+|\[\d+\])*)\}")
_STEP = re.compile(r"\.([^.\[]+)|\[(\d+)\]")


def _is_query(subrequest: dict[str, Any]) -> bool:
    url = str(subrequest.get("url") or "")
    return bool(_QUERY.match(urlsplit(url).path)) or url.endswith(".nextRecordsUrl}")


def _resolved(url: str, answered: dict[str, _Result]) -> str | None:
    """`url` with every `@{ref.field}` replaced by that value of an earlier answer, or None when one has
    no value (the subrequest it names failed, or its answer has no such field)."""
    missing = False

    def value(match: re.Match[str]) -> str:
        nonlocal missing
        result = answered.get(match.group(1))
        current: Any = result.body if result and result.status < 400 else None
        for field, index in _STEP.findall(match.group(2)):
            if field and isinstance(current, dict):
                current = current.get(field)
            elif index and isinstance(current, list) and int(index) < len(current):
                current = current[int(index)]
            else:
                current = None
        if current is None or isinstance(current, (dict, list)):
            missing = True
            return ""
        return str(current)

    text = _REFERENCE.sub(value, url)
    return None if missing else text


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


def _answer(
    app: App, call: Request, subrequest: dict[str, Any], answered: dict[str, _Result]
) -> Response:
    if str(subrequest.get("method") or "").upper() != "GET":
        return sf_error(400, "INVALID_INPUT", "the sandbox's composite runs GET subrequests")
    url = _resolved(str(subrequest["url"]), answered)
    if url is None:
        message = f"Invalid reference specified in {subrequest['url']}: no value found; not executed"
        return sf_error(400, "PROCESSING_HALTED", message)
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


class _Result:
    """One subrequest's answer. Its body stays the bytes the route answered, spliced into the call's answer
    as they are: a query page is megabytes of JSON, which parsing and dumping again would cost the sandbox
    more than serving it. It is parsed only when a later subrequest's reference reads a field of it."""

    def __init__(self, reference: str, response: Response) -> None:
        self.reference, self.status, self.raw = reference, response.status, response.body or b"null"
        self.headers = {k: v for k, v in response.headers.items() if k.lower() != "content-type"}
        self._body: Any = None
        self._parsed = False

    @property
    def body(self) -> Any:
        """The body as JSON: for a query page, only the fields before its records (totalSize, done,
        nextRecordsUrl, in the order the sandbox writes them), which is all a reference reads of it and
        spares parsing the records once more per chained page."""
        if not self._parsed:
            records = self.raw.find(b',"records":') if self.raw.startswith(b'{"totalSize":') else -1
            head = self.raw[:records] + b"}" if records != -1 else self.raw
            self._body, self._parsed = json.loads(head), True
        return self._body

    def halted(self) -> None:
        """Rolled back with the call (allOrNone): answered as not run, unless it failed itself."""
        if self.status < 400:
            self.status, self.headers, self._parsed = 400, {}, False
            self.raw = json.dumps([{"errorCode": "PROCESSING_HALTED", "message": _HALTED}]).encode()

    def encoded(self) -> bytes:
        meta = {"httpHeaders": self.headers, "httpStatusCode": self.status, "referenceId": self.reference}
        return json.dumps(meta, separators=(",", ":"))[:-1].encode() + b',"body":' + self.raw + b"}"


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
        answered: dict[str, _Result] = {}
        with in_subrequests():
            for subrequest in subrequests:  # in order: a reference names an earlier answer
                reference = str(subrequest["referenceId"])
                answered[reference] = _Result(reference, _answer(app, request, subrequest, answered))
        results = list(answered.values())
        if body.get("allOrNone") and any(r.status >= 400 for r in results):
            for result in results:
                result.halted()
        payload = b'{"compositeResponse":[' + b",".join(r.encoded() for r in results) + b"]}"
        return Response(200, payload, {"Content-Type": "application/json;charset=UTF-8"})

    app.route("POST", DATA + r"/composite", "composite")(authed(store, composite))
