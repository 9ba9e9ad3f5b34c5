"""The connector's handle on Salesforce: a lazily logged-in client and the few call shapes it uses.

`SalesforceApi` owns the requests session, the simple-salesforce client (built on first use, so
constructing a connector does no I/O), the usage tracker and the `ApiCaller` every call goes through.
It pages queries itself (one paginator, with a loop guard) and drains child-relationship pages, which
simple-salesforce silently drops (`done: false` + `nextRecordsUrl` inside a subquery result). A cursor
Salesforce drops while a query is paged (INVALID_QUERY_LOCATOR) is replaced once by a query the caller
gives for the rest, as only the caller knows how its query can carry on.

Reads go several to a call through the Composite resource (`composite`): discovery's describes, the first
pages of the queries an incremental run starts with and of a chunk's attendee queries (`queries`, five a
call), and a query's later pages, five a call too, each subrequest asking for the page its predecessor's
answer names (`_next_pages`). Subrequests' errors are classified as the same direct calls' would be (the
simple-salesforce exception that call raises, through `errors.classify`): one the retry policy retries
(server busy, an expired session) sends the whole composite again, as every subrequest is a read; any other
is the answer of that subrequest alone, raised as `call` raises it when the caller reads that answer.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import urlencode

from pydantic import SecretStr
from simple_salesforce.api import Salesforce
from simple_salesforce.bulk2 import SFBulk2Handler, SFBulk2Type
from simple_salesforce.exceptions import (
    SalesforceAuthenticationFailed,
    SalesforceError,
    SalesforceExpiredSession,
    SalesforceGeneralError,
    SalesforceMalformedRequest,
    SalesforceMoreThanOneRecord,
    SalesforceRefusedRequest,
    SalesforceResourceNotFound,
)
from simple_salesforce.metadata import SfdcMetadataApi

from connectors.base import FatalError, chunked
from connectors.salesforce.client import (
    UsageTracker,
    build_salesforce,
    build_session,
    can_relogin,
    configure_session,
    login_error,
    seconds,
)
from connectors.salesforce.config import SalesforceConfig
from connectors.salesforce.errors import ApiCaller, QueryCursorExpiredError

Record = dict[str, Any]
# The query that carries on after a dropped cursor, given the last record read (None: none read yet).
Resume = Callable[[Record | None], str]
log = logging.getLogger(__name__)

# Salesforce REST API Developer Guide, "Send Multiple Requests Using Composite" (POST vXX.X/composite):
# "The entire series of requests counts as a single call toward your API limits"; a call holds up to 25
# subrequests, of which up to 5 may be query operations (query, queryAll, a query's next page).
MAX_SUBREQUESTS = 25
MAX_QUERIES = 5
# The exception simple-salesforce raises for a direct call answering this status (simple_salesforce.util
# `exception_handler`; any other status: SalesforceGeneralError), built for a failed subrequest.
_SUBREQUEST_ERRORS: dict[int, type[SalesforceError]] = {
    300: SalesforceMoreThanOneRecord,
    400: SalesforceMalformedRequest,
    401: SalesforceExpiredSession,
    403: SalesforceRefusedRequest,
    404: SalesforceResourceNotFound,
}


@dataclass(frozen=True)
class Subrequest:
    """A GET subrequest of a composite call: `path` relative to the versioned data URL, as for `restful`,
    or a URL as Salesforce gives one (`/services/data/...`, a query's nextRecordsUrl) or a reference to one
    in an earlier subrequest's answer (`@{r0.nextRecordsUrl}`); `name` is what an error names
    (simple-salesforce's resource name for the direct call)."""

    path: str
    name: str
    headers: Mapping[str, str] | None = None
    query: bool = False


@dataclass(frozen=True)
class Query:
    """A query to send in a composite call: its pages continue as `SalesforceApi.pages` would."""

    soql: str
    include_deleted: bool = False
    resume: Resume | None = None


def from_subrequest(url: str, name: str, result: Mapping[str, Any]) -> Any:
    """A composite subrequest's body, or for a failed one the exception the direct call would raise."""
    status = int(result.get("httpStatusCode") or 0)
    if 200 <= status < 300:
        return result.get("body")
    body = result.get("body")  # simple-salesforce types it bytes, and passes the parsed JSON as here
    return _SUBREQUEST_ERRORS.get(status, SalesforceGeneralError)(url, status, name, cast(bytes, body))


def from_the_start(soql: str) -> Resume:
    """Resume by sending the same query again: for callers that ignore the rows they already have."""
    return lambda _last: soql


class SalesforceApi:
    def __init__(self, config: SalesforceConfig, *, sleep: Callable[[float], None] | None = None) -> None:
        self.config = config
        self.tracker = UsageTracker()
        self.caller = ApiCaller(
            self.tracker,
            max_attempts=config.max_attempts,
            backoff=config.backoff_seconds,
            max_backoff=config.max_backoff_seconds,
            relogin=self._relogin if can_relogin(config) else None,
            sleep=sleep,
            secrets=self._secrets,
        )
        self._sf: Salesforce | None = None
        self._configured_mdapi: SfdcMetadataApi | None = None

    def _secrets(self) -> list[str]:
        """Every secret this connection knows, for scrubbing error text."""
        values = [v.get_secret_value() for v in vars(self.config.auth).values() if isinstance(v, SecretStr)]
        if self._sf is not None:
            values.append(self._sf.session_id)
        return values

    @property
    def sf(self) -> Salesforce:
        if self._sf is None:
            session = build_session(self.config, self.tracker)
            if can_relogin(self.config):
                self._sf = self.caller.call("login", build_salesforce, self.config, session)
            else:  # a session id is used as is: no login request
                self._sf = build_salesforce(self.config, session)
        return self._sf

    def _relogin(self) -> None:
        """Fresh session for the handlers that never refresh themselves (Bulk 2.0, Metadata API)."""
        if self._sf is None:
            return
        try:
            self._sf._refresh_session()
        except SalesforceAuthenticationFailed as exc:
            raise login_error(self.config, exc) from None
        self._sf._mdapi = None  # its SOAP session header holds the old session id
        self.caller.calls["login"] += 1

    def call(self, kind: str, fn: Callable[..., Any], *args: Any, create: bool = False, **kwargs: Any) -> Any:
        # Log in first, under the login's own retries: a first login inside `fn` would be retried by this
        # call's retries too, max_attempts² tries (25 by default) before an unreachable org is reported.
        _ = self.sf
        return self.caller.call(kind, fn, *args, create=create, **kwargs)

    @property
    def _query_headers(self) -> dict[str, str]:
        return {"Sforce-Query-Options": f"batchSize={self.config.query_batch_size}"}

    def pages(
        self, soql: str, *, include_deleted: bool = False, resume: Resume | None = None
    ) -> Iterator[list[Record]]:
        """Every page of a query's records, following `nextRecordsUrl` with a loop guard. When Salesforce
        drops the cursor on the way, `resume(last record read)` is the query sent instead, once: a query
        for what is left, or the same query again where the caller ignores rows it already has."""
        yield from self.pages_from(self._query(soql, include_deleted), include_deleted, resume)

    def pages_from(
        self, result: Any, include_deleted: bool, resume: Resume | None = None
    ) -> Iterator[list[Record]]:
        """The pages of a query whose first page is `result` (its own call's, or a composite's)."""
        seen: set[str] = set()
        last: Record | None = None
        ahead: list[Any] = []  # the next pages, fetched together (`_next_pages`), in order
        while True:
            records = list(result.get("records") or [])
            last = records[-1] if records else last
            yield records
            if result.get("done", True):
                return
            next_url = str(result["nextRecordsUrl"])
            if next_url in seen:
                raise FatalError(f"Salesforce returned the same query page twice ({next_url}); stopping")
            seen.add(next_url)
            try:
                if not ahead:
                    ahead = self._next_pages(next_url)
                result = self.answer(ahead.pop(0))
            except QueryCursorExpiredError:
                if resume is None:
                    raise
                log.warning("Salesforce dropped a query's cursor while it was paged; sending the query again "
                            "for the rest")
                ahead = []
                result = self._query(resume(last), include_deleted)
                resume = None  # once: a cursor dropped again is raised, as any other error

    def _next_pages(self, next_url: str) -> list[Any]:
        """The query's next pages, up to five in one Composite call: the first at `next_url`, each other at
        the nextRecordsUrl of the page before it (`@{r0.nextRecordsUrl}`, a reference the guide documents
        for subrequest URLs). A query's pages are most of a full read's calls (a page holds 2,000 rows,
        child rows included, so some 65 deals), and this takes a fifth of them. Pages past the last are
        None (`composite(pages=True)`); a query with one page left costs one call either way."""
        chain = [Subrequest(next_url, "query_more", self._query_headers, query=True)]
        chain += [Subrequest(f"@{{r{index}.nextRecordsUrl}}", "query_more", self._query_headers, query=True)
                  for index in range(MAX_QUERIES - 1)]
        return self.composite("composite_query_more", chain, pages=True)

    def _query(self, soql: str, include_deleted: bool) -> Any:
        return self.call("query", self.sf.query, soql, include_deleted=include_deleted,
                         headers=self._query_headers)

    def records(
        self, soql: str, *, include_deleted: bool = False, resume: Resume | None = None
    ) -> Iterator[Record]:
        for page in self.pages(soql, include_deleted=include_deleted, resume=resume):
            yield from page

    def drain_children(self, record: Record) -> Record:
        """The record with every child relationship's remaining pages fetched into its `records`."""
        for name, value in list(record.items()):
            if not (isinstance(value, Mapping) and "records" in value and value.get("done") is False):
                continue
            rows = list(value["records"])
            rel: Mapping[str, Any] = value
            seen: set[str] = set()
            while rel.get("done") is False:
                next_url = str(rel["nextRecordsUrl"])
                if next_url in seen:
                    raise FatalError(f"Salesforce returned the same {name} page twice; stopping")
                seen.add(next_url)
                rel = self.call("query_more", self.sf.query_more, next_url, identifier_is_url=True)
                rows.extend(rel.get("records") or [])
            record[name] = {"totalSize": len(rows), "done": True, "records": rows}
        return record

    def restful(
        self, kind: str, path: str, *, method: str = "GET", create: bool = False, **kwargs: Any
    ) -> Any:
        return self.call(kind, lambda: self.sf.restful(path, method=method, **kwargs), create=create)

    def mdapi(self) -> SfdcMetadataApi:
        """`sf.mdapi`, whose zeep client posts through its own requests session: give it our adapter too."""
        md = self.sf.mdapi
        if md is not self._configured_mdapi:
            configure_session(md._client.transport.session, self.config, self.tracker)
            self._configured_mdapi = md
        return md

    def bulk2(self, sobject: str) -> SFBulk2Type:
        """A Bulk API 2.0 handler built now, so it carries the current session id."""
        handler = cast(SFBulk2Handler, self.sf.bulk2)
        return cast(SFBulk2Type, getattr(handler, sobject))

    @staticmethod
    def describe_request(sobject: str) -> Subrequest:
        return Subrequest(f"sobjects/{sobject}/describe", sobject)

    def query_request(self, soql: str, include_deleted: bool = False) -> Subrequest:
        resource = "queryAll" if include_deleted else "query"
        return Subrequest(f"{resource}/?{urlencode({'q': soql})}", "query", self._query_headers, query=True)

    def composite(self, kind: str, subrequests: Sequence[Subrequest], *, pages: bool = False) -> list[Any]:
        """One Composite call (counted as `kind`) of GET subrequests; returns each one's body, in order, or
        for a failed one the simple-salesforce exception its direct call raises (`answer` raises what
        `call` would). A failure the retry policy retries sends the whole call again (reads only). With
        `pages` (a chain of a query's pages, each naming the one before), the answers after the query's
        last page are None: those subrequests had no page to ask for, and their failures mean nothing."""
        if len(subrequests) > MAX_SUBREQUESTS or sum(s.query for s in subrequests) > MAX_QUERIES:
            raise ValueError(f"a composite call holds at most {MAX_SUBREQUESTS} subrequests, {MAX_QUERIES} "
                             "of them queries")

        def send() -> list[Any]:
            base = f"/services/data/v{self.sf.sf_version}/"
            urls = [s.path if s.path.startswith(("/", "@{")) else base + s.path for s in subrequests]
            body = {"allOrNone": False, "compositeRequest": [
                {"method": "GET", "url": url, "referenceId": f"r{index}",
                 **({"httpHeaders": dict(s.headers)} if s.headers else {})}
                for index, (s, url) in enumerate(zip(subrequests, urls, strict=True))
            ]}
            answer = self.sf.restful("composite", method="POST", json=body) or {}
            results = {str(r.get("referenceId")): r for r in answer.get("compositeResponse") or []}
            if len(results) != len(subrequests):
                raise FatalError(f"Salesforce answered {len(results)} of {len(subrequests)} composite "
                                 "subrequests")
            answers: list[Any] = []
            for index, (s, url) in enumerate(zip(subrequests, urls, strict=True)):
                if pages and answers and isinstance(answers[-1], Mapping) and answers[-1].get("done", True):
                    answers.append(None)
                    continue
                answers.append(self._subresult(url, s.name, results[f"r{index}"]))
            return answers

        return cast(list[Any], self.call(kind, send))

    def _subresult(self, url: str, name: str, result: Mapping[str, Any]) -> Any:
        answer = from_subrequest(url, name, result)
        if isinstance(answer, SalesforceError) and self.caller.retries(answer):
            hinted = seconds((result.get("httpHeaders") or {}).get("Retry-After"))
            if hinted is not None:
                self.tracker.retry_after = hinted
            raise answer  # the whole composite is sent again: its subrequests are all reads
        return answer

    def answer(self, result: Any) -> Any:
        """A composite subrequest's body; for a failed one, raises what `call` raises for that failure."""
        if isinstance(result, SalesforceError):
            raise self.caller.error(result) from result
        return result

    def readable(self, described: Any) -> Record | None:
        """A describe subrequest's body, or None when Salesforce answered NOT_FOUND (the user cannot read
        the object)."""
        if isinstance(described, SalesforceResourceNotFound):
            return None
        return cast(Record, self.answer(described))

    def queries(self, kind: str, queries: Sequence[Query]) -> list[Iterator[list[Record]]]:
        """The pages of each query, as `pages` gives them: the first pages read now, by composite calls of
        up to 5 queries each; a query that failed raises its error when its pages are read."""
        firsts: list[Any] = []
        for group in chunked(queries, MAX_QUERIES):
            firsts += self.composite(kind, [self.query_request(q.soql, q.include_deleted) for q in group])
        return [self._continued(first, q) for first, q in zip(firsts, queries, strict=True)]

    def _continued(self, first: Any, query: Query) -> Iterator[list[Record]]:
        yield from self.pages_from(self.answer(first), query.include_deleted, query.resume)

    def close(self) -> None:
        if self._configured_mdapi is not None:
            self._configured_mdapi._client.transport.session.close()
        if self._sf is not None:
            self._sf.session.close()
        self._sf = self._configured_mdapi = None

