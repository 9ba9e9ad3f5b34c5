"""One table from simple-salesforce / requests / zeep exceptions to what the caller should do, and the one
retry policy every Salesforce API call goes through (`ApiCaller.call`).

`classify(exc)` returns a `Verdict`: retry or not, whether a retry is safe for a non-idempotent create
(the request provably never reached Salesforce), whether a re-login could help, and the
`connectors.base` error to raise when retries are spent. It looks at exception types and status / error
codes, never at free text, with one exception Salesforce forces on us: the daily limit and the
concurrent-request limit share `REQUEST_LIMIT_EXCEEDED` and differ only in the message
("TotalRequests" vs "ConcurrentRequests"). Two query errors get classes of their own, as the reader can
recover from them where a retry of the same request cannot: `QueryTimeoutError` (QUERY_TIMEOUT, a query
that ran too long: the reader asks for less at a time) and `QueryCursorExpiredError` (INVALID_QUERY_LOCATOR,
a cursor Salesforce dropped while it was paged: the query is sent again for the rest).

`ApiCaller.call(kind, fn, ...)` retries with tenacity (exponential backoff with jitter, honouring
`Retry-After`, bounded attempts), counts every attempt by kind for `api_calls()`, re-logs in on an
expired session where the auth mode allows (Bulk 2.0 and the Metadata API never do it themselves), and
stops with `BudgetExhaustedError` when the daily budget is below the configured reserve. Error text is
scrubbed of the connection's secrets before it leaves (a server may echo what it was sent).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit

import requests
from simple_salesforce.exceptions import (
    SalesforceError,
    SalesforceExpiredSession,
    SalesforceGeneralError,
    SalesforceMalformedRequest,
    SalesforceOperationError,
    SalesforceRefusedRequest,
    SalesforceResourceNotFound,
)
from tenacity import RetryCallState, Retrying, nap, retry_if_exception, stop_after_attempt
from tenacity.wait import wait_random_exponential
from urllib3.exceptions import NewConnectionError
from zeep.exceptions import Fault

from connectors.base import (
    BudgetExhaustedError,
    ConfigurationError,
    ConnectorError,
    FatalError,
    TransientError,
)
from connectors.salesforce.client import UsageTracker

T = TypeVar("T")

_RETRY_STATUSES = frozenset({406, 420, 429, 500, 502, 503, 504})
_NOT_SENT_STATUSES = frozenset({420, 429})  # refused before any work was done
_CONFIG_CODES = frozenset(
    {"INVALID_FIELD", "INVALID_TYPE", "INSUFFICIENT_ACCESS", "INSUFFICIENT_ACCESS_OR_READONLY",
     "API_DISABLED_FOR_ORG", "API_CURRENTLY_DISABLED", "FUNCTIONALITY_NOT_ENABLED", "NOT_FOUND"}
)


class QueryTimeoutError(FatalError):
    """Salesforce stopped a query that ran too long (QUERY_TIMEOUT): the same query would time out again."""


class QueryCursorExpiredError(FatalError):
    """Salesforce dropped a query's cursor while it was paged (INVALID_QUERY_LOCATOR: idle too long, or
    pushed out by newer cursors of the same user)."""


@dataclass(frozen=True)
class Verdict:
    retry: bool
    error: ConnectorError
    safe_for_create: bool = False  # the request provably did not reach Salesforce
    relogin: bool = False  # an expired session: a fresh login may fix it


def error_code(exc: SalesforceError) -> tuple[str, str]:
    """(errorCode, message) of the first error in a Salesforce error body."""
    content = exc.content
    if isinstance(content, list) and content and isinstance(content[0], dict):
        return str(content[0].get("errorCode", "")), str(content[0].get("message", ""))
    if isinstance(content, dict):
        return str(content.get("errorCode", "")), str(content.get("message", ""))
    return "", ""


def _describe(exc: SalesforceError) -> str:
    code, message = error_code(exc)
    return f"HTTP {exc.status} {code}: {message}".strip(": ") + f" ({exc.resource_name or 'request'})"


def _refused(exc: SalesforceRefusedRequest) -> Verdict:
    code, message = error_code(exc)
    if code == "REQUEST_LIMIT_EXCEEDED" and "Concurrent" in message:
        return Verdict(True, TransientError(f"Salesforce concurrent request limit: {message}"), True)
    if code == "REQUEST_LIMIT_EXCEEDED":
        return Verdict(False, BudgetExhaustedError(f"Salesforce daily API request limit reached: {message}"))
    return Verdict(False, ConfigurationError(
        f"Salesforce refused the request ({_describe(exc)}); check the integration user's permissions "
        "(API Enabled, the Commitments permission set)"))


def _general(exc: SalesforceGeneralError, retry_after: float | None) -> Verdict:
    if exc.status in _RETRY_STATUSES:
        error = TransientError(f"Salesforce is busy or unavailable ({_describe(exc)})", retry_after)
        return Verdict(True, error, exc.status in _NOT_SENT_STATUSES)
    return Verdict(False, FatalError(f"Salesforce error {_describe(exc)}"))


def _client_error(exc: SalesforceError) -> Verdict:
    code, _ = error_code(exc)
    if code in _CONFIG_CODES:
        return Verdict(False, ConfigurationError(
            f"Salesforce does not accept the request ({_describe(exc)}); run `commitments setup` to "
            "provision the fields and the permission set, and check the API version"))
    if code == "QUERY_TIMEOUT":
        return Verdict(False, QueryTimeoutError(f"Salesforce timed out running a query: {_describe(exc)}"))
    if code == "INVALID_QUERY_LOCATOR":
        error = QueryCursorExpiredError(f"Salesforce dropped a query's cursor: {_describe(exc)}")
        return Verdict(False, error)
    return Verdict(False, FatalError(f"Salesforce rejected the request: {_describe(exc)}"))


def _network(exc: requests.RequestException) -> Verdict:
    not_sent = isinstance(exc, requests.ConnectTimeout) or (
        isinstance(exc, requests.ConnectionError)
        and isinstance(getattr(exc.args[0], "reason", None) if exc.args else None, NewConnectionError)
    )
    error = TransientError(f"cannot reach Salesforce{_host(exc)}: {type(exc).__name__}")
    return Verdict(True, error, not_sent)


def _host(exc: requests.RequestException) -> str:
    """' at host:port' of the request that failed (never its path, query or user info), or ''."""
    url = exc.request.url if exc.request is not None else None
    parts = urlsplit(url) if isinstance(url, str) else None
    if parts is None or not parts.hostname:
        return ""
    return f" at {parts.hostname}:{parts.port}" if parts.port else f" at {parts.hostname}"


def _expired(relogin_possible: bool) -> Verdict:
    if relogin_possible:
        return Verdict(True, ConfigurationError(
            "the Salesforce session keeps expiring right after a fresh login; check the connected app's "
            "session policies"), safe_for_create=True, relogin=True)
    return Verdict(False, ConfigurationError(
        "the Salesforce session expired; provide a new session id or use JWT (auth mode 'jwt')"))


def _fault(exc: Fault) -> Verdict:
    code = str(exc.code or "")
    if code.endswith("INVALID_SESSION_ID"):
        return _expired(True)
    if code.endswith("REQUEST_LIMIT_EXCEEDED"):
        return Verdict(False, BudgetExhaustedError("Salesforce daily API request limit reached"))
    return Verdict(False, FatalError(f"Salesforce Metadata API fault {code}: {exc.message}"))


def classify(
    exc: BaseException, *, relogin_possible: bool, retry_after: float | None = None
) -> Verdict | None:
    """What to do about `exc`; None for exceptions that are not Salesforce's or the network's."""
    match exc:
        case TransientError():  # e.g. a login the server failed to answer
            return Verdict(True, exc)
        case ConnectorError():
            return Verdict(False, exc)
        case SalesforceExpiredSession():
            return _expired(relogin_possible)
        case SalesforceRefusedRequest():
            return _refused(exc)
        case SalesforceGeneralError():
            return _general(exc, retry_after)
        case SalesforceMalformedRequest() | SalesforceResourceNotFound():
            return _client_error(exc)
        case SalesforceError():
            return Verdict(False, FatalError(f"Salesforce error {_describe(exc)}"))
        case SalesforceOperationError():
            return Verdict(False, FatalError(f"Salesforce Bulk API job failed: {exc}"))
        case requests.ConnectionError() | requests.Timeout() | requests.exceptions.ChunkedEncodingError():
            return _network(exc)
        case requests.exceptions.InvalidJSONError():  # a 2xx whose body is cut short or a proxy's page
            return Verdict(True, TransientError("Salesforce answered with a body that is not JSON"))
        case Fault():
            return _fault(exc)
    return None


def scrubbed(error: ConnectorError, secrets: Sequence[str]) -> ConnectorError:
    """`error` with any secret value in its text replaced (a server may echo what it was sent)."""
    text = cleaned = str(error)
    for secret in secrets:
        if len(secret) >= 4:
            cleaned = cleaned.replace(secret, "***")
    if cleaned == text:
        return error
    if isinstance(error, TransientError):
        return TransientError(cleaned, error.retry_after)
    return type(error)(cleaned)


class ApiCaller:
    """Runs every Salesforce API call: retries, re-login, call counts, budget."""

    def __init__(
        self,
        tracker: UsageTracker,
        *,
        max_attempts: int,
        backoff: float,
        max_backoff: float,
        relogin: Callable[[], None] | None,
        sleep: Callable[[float], None] | None = None,
        secrets: Callable[[], Sequence[str]] = tuple,
    ) -> None:
        self.tracker = tracker
        self.calls: Counter[str] = Counter()
        self._max_attempts = max_attempts
        self._max_backoff = max_backoff
        self._jitter = wait_random_exponential(multiplier=backoff, max=max_backoff)
        self._relogin = relogin
        self._sleep = sleep
        self._secrets = secrets

    def call(self, kind: str, fn: Callable[..., T], *args: Any, create: bool = False, **kwargs: Any) -> T:
        """Call `fn(*args, **kwargs)` under the retry policy; `create` marks a non-idempotent request."""
        retrying = Retrying(
            stop=stop_after_attempt(self._max_attempts),
            retry=retry_if_exception(lambda exc: self._should_retry(exc, create)),
            wait=self._wait,
            reraise=True,
            sleep=self._sleep or nap.sleep,
        )
        try:
            for attempt in retrying:
                with attempt:
                    self.calls[kind] += 1
                    return fn(*args, **kwargs)
        except Exception as exc:
            verdict = self._verdict(exc)
            if verdict is None:
                raise
            raise scrubbed(verdict.error, self._secrets()) from exc
        raise AssertionError("unreachable: tenacity either returns or raises")  # pragma: no cover

    def retries(self, exc: BaseException) -> bool:
        """Whether the retry policy sends a call failing with `exc` again (re-logging in first if need be)."""
        verdict = self._verdict(exc)
        return verdict is not None and verdict.retry

    def error(self, exc: Exception) -> ConnectorError:
        """What `call` raises for `exc` once it is not retried: for an error answered inside a call that
        succeeded, such as one subrequest's of a composite call."""
        verdict = self._verdict(exc)
        if verdict is None:
            return FatalError(f"Salesforce call failed: {type(exc).__name__}")
        return scrubbed(verdict.error, self._secrets())

    def _verdict(self, exc: BaseException) -> Verdict | None:
        return classify(exc, relogin_possible=self._relogin is not None, retry_after=self.tracker.retry_after)

    def _should_retry(self, exc: BaseException, create: bool) -> bool:
        verdict = self._verdict(exc)
        if verdict is None or not verdict.retry or (create and not verdict.safe_for_create):
            return False
        if verdict.relogin and self._relogin is not None:
            self._relogin()
        return True

    def _wait(self, state: RetryCallState) -> float:
        hinted = self.tracker.retry_after
        if hinted is not None:
            return min(hinted, self._max_backoff)
        return float(self._jitter(state))

    def check_budget(self, reserve_fraction: float) -> None:
        """Stop the run (at a chunk boundary) when the daily budget falls below the reserve."""
        budget = self.tracker.budget()
        if budget is not None and budget.remaining_fraction < reserve_fraction:
            raise BudgetExhaustedError(
                f"Salesforce API budget below the {reserve_fraction:.0%} reserve: "
                f"{budget.used} of {budget.limit} daily requests used; the run stops here and resumes later"
            )
