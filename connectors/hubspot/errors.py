"""The one retry policy and the one error table for every HubSpot call.

hubspot-api-client gives each API module its own `ApiException` class hierarchy (a deals exception is not
an associations exception), so failures are recognised by their `.status`, `.body` and `.headers`, never by
class or message text. urllib3's own retrying is switched off in the client factory; retrying happens only
here, with tenacity: 429 (honouring `Retry-After`, else the rate-limit window header, else backoff; never
the DAILY policy, which is a spent budget), 5xx, timeouts and dropped connections, for POST and PATCH too.
Calls that create records pass `ambiguous_ok=False`: a dropped connection or a 5xx after the request was
sent may have created them, so the caller re-checks before trying again instead of duplicating.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import tenacity
from urllib3.exceptions import (
    ConnectTimeoutError,
    MaxRetryError,
    NewConnectionError,
    ProtocolError,
)
from urllib3.exceptions import TimeoutError as Urllib3Timeout

from connectors.base import (
    BudgetExhaustedError,
    ConfigurationError,
    ConnectorError,
    FatalError,
    TransientError,
)
from connectors.hubspot.config import REQUIRED_SCOPES

T = TypeVar("T")

RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})
# Raised by urllib3 when retries are off: the request may or may not have reached HubSpot.
NETWORK_ERRORS: tuple[type[BaseException], ...] = (
    ProtocolError,
    MaxRetryError,
    Urllib3Timeout,
    ConnectionError,
)
# Failures that prove the request never reached HubSpot, so even a create is safe to resend.
NEVER_SENT: tuple[type[BaseException], ...] = (NewConnectionError, ConnectTimeoutError)


class UnauthorizedError(ConfigurationError):
    """401: the token is invalid or expired (an OAuth client refreshes once before giving up)."""


class BadRequestError(FatalError):
    """HubSpot rejected the request as invalid (400); batch writers bisect to find the bad records."""


class NotFoundError(FatalError):
    """404: the object or property does not exist."""


class ConflictError(FatalError):
    """409: it already exists (creating a property or group twice)."""


@dataclass(frozen=True)
class HttpFailure:
    """The parts of any module's ApiException that matter: status, parsed body, headers."""

    status: int
    body: Mapping[str, Any]
    headers: Mapping[str, str]

    @property
    def message(self) -> str:
        return str(self.body.get("message") or f"HTTP {self.status}")

    @property
    def policy(self) -> str | None:
        policy = self.body.get("policyName")
        return str(policy) if policy else None

    def header(self, name: str) -> str | None:
        lowered = name.lower()
        for key, value in self.headers.items():
            if key.lower() == lowered:
                return str(value)
        return None


def parse_body(raw: object) -> Mapping[str, Any]:
    if isinstance(raw, bytes | bytearray):
        raw = raw.decode("utf-8", "replace")
    if isinstance(raw, str) and raw:
        try:
            parsed = json.loads(raw)
        except ValueError:
            return {"message": raw[:500]}
        return parsed if isinstance(parsed, dict) else {"message": str(parsed)[:500]}
    return {}


def http_failure(exc: BaseException) -> HttpFailure | None:
    """Duck-type an ApiException from any hubspot module (status 0 is the SDK's own non-HTTP error)."""
    status = getattr(exc, "status", None)
    if not isinstance(status, int) or status <= 0:
        return None
    headers = getattr(exc, "headers", None) or {}
    return HttpFailure(status, parse_body(getattr(exc, "body", None)), dict(headers.items()))


def is_retryable(exc: BaseException, *, ambiguous_ok: bool = True) -> bool:
    failure = http_failure(exc)
    if failure is not None:
        if failure.status == 429:
            return failure.policy != "DAILY"
        return ambiguous_ok and failure.status in RETRYABLE_STATUSES
    if isinstance(exc, NEVER_SENT):
        return True
    return ambiguous_ok and isinstance(exc, NETWORK_ERRORS)


def _number(text: str | None) -> float | None:
    try:
        return float(text) if text is not None else None
    except ValueError:
        return None


def retry_after(exc: BaseException) -> float | None:
    """Seconds HubSpot asked us to wait, from `Retry-After` (not always sent on 429)."""
    failure = http_failure(exc)
    return None if failure is None else _number(failure.header("Retry-After"))


def wait_seconds(exc: BaseException | None, attempt: int, max_wait: float) -> float:
    """Retry-After if given; on a 429 without it, up to the rolling window; else jittered backoff."""
    backoff: float = min(max_wait, 0.5 * 2.0 ** (attempt - 1)) * (0.5 + random.random() / 2)
    if exc is None:
        return backoff
    asked = retry_after(exc)
    if asked is not None:
        return min(max_wait, asked)
    failure = http_failure(exc)
    if failure is not None and failure.status == 429:
        if failure.policy == "SECONDLY":
            return min(max_wait, 1.0)
        window_ms = _number(failure.header("X-HubSpot-RateLimit-Interval-Milliseconds"))
        if window_ms:
            return min(max_wait, window_ms / 1000, max(1.0, backoff))
    return backoff


def redact(text: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


# A 401 is the credential, not its scopes (a missing scope is a 403).
TOKEN_HINT = (
    "for a private app, create a new access token (the app's Auth tab: rotate) and set it as the "
    "connection's access_token; for an OAuth app, check its refresh token, client id and client secret "
    "(reinstall the app for a new refresh token)"
)


def scope_hint() -> str:
    return "grant the app these scopes: " + ", ".join(REQUIRED_SCOPES)


def to_connector_error(exc: BaseException, what: str, secrets: Iterable[str] = ()) -> ConnectorError:
    """Map an SDK or network failure to the connectors.base group saying what the caller should do."""
    failure = http_failure(exc)
    if failure is None:
        detail = redact(f"{type(exc).__name__}: {exc}", secrets)
        return TransientError(f"HubSpot {what}: connection failed ({detail})")
    message = redact(f"HubSpot {what}: {failure.status} {failure.message}", secrets)
    status = failure.status
    if status == 401:
        return UnauthorizedError(f"{message}. The access token is invalid or expired; {TOKEN_HINT}")
    if status == 403:
        return ConfigurationError(f"{message}. The app lacks a scope; {scope_hint()}")
    if status == 429 and failure.policy == "DAILY":
        return BudgetExhaustedError(f"{message}. The portal's daily API limit is spent; retry tomorrow")
    if status in RETRYABLE_STATUSES:
        return TransientError(message, retry_after=retry_after(exc))
    kind = {400: BadRequestError, 404: NotFoundError, 409: ConflictError}.get(status, FatalError)
    return kind(message)


def with_retry(
    fn: Callable[[], T],
    *,
    attempts: int,
    max_wait: float,
    sleep: Callable[[float], None],
    ambiguous_ok: bool = True,
) -> T:
    """Run `fn` under the retry policy; the raw failure is re-raised when retrying is over."""

    def wait(state: tenacity.RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        return wait_seconds(exc, state.attempt_number, max_wait)

    retrying = tenacity.Retrying(
        stop=tenacity.stop_after_attempt(attempts),
        retry=tenacity.retry_if_exception(lambda e: is_retryable(e, ambiguous_ok=ambiguous_ok)),
        wait=wait,
        sleep=sleep,
        reraise=True,
    )
    return retrying(fn)
