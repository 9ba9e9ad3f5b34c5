"""The HubSpot client at the edge: the SDK built lazily, API objects cached, every call through one wrapper.

`HubSpotClient.call(kind, api, method, ...)` is the only way the connector talks to HubSpot. It adds
`_request_timeout` to every call, asks the SDK for the raw response (`_preload_content=False`) so the
connector works on the JSON shapes HubSpot documents (and skips the SDK's slow model deserialisation),
counts calls by kind for `api_calls()`, records the rate-limit headers for `budget()` (and for
`check_budget()`, which the reader and writers call between batches to keep the daily reserve), throttles
search calls through a token bucket (HubSpot's search bucket is ~5 requests/second per portal), refreshes
an OAuth access token on expiry or a 401, and retries under the one policy in errors.py. Each
`client.crm.x.y_api` attribute access builds a new ApiClient and urllib3 PoolManager, so API objects are
built once and kept. Nothing here touches the network until the first call.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from connectors.base import ApiBudget, BudgetExhaustedError, ConfigurationError, FatalError
from connectors.hubspot.config import HubSpotConfig
from connectors.hubspot.errors import (
    NETWORK_ERRORS,
    BadRequestError,
    UnauthorizedError,
    http_failure,
    parse_body,
    to_connector_error,
    with_retry,
)
from connectors.text import needs_cleaning, writable

Json = dict[str, Any]

# Where each API object lives on the SDK's discovery tree (attribute path from `client.crm`).
_API_PATHS: dict[str, tuple[str, ...]] = {
    "objects.basic": ("objects", "basic_api"),
    "objects.batch": ("objects", "batch_api"),
    "objects.search": ("objects", "search_api"),
    "associations.batch": ("associations", "v4", "batch_api"),
    "associations.labels": ("associations", "v4", "schema", "definitions_api"),
    "properties.core": ("properties", "core_api"),
    "properties.groups": ("properties", "groups_api"),
    "pipelines": ("pipelines", "pipelines_api"),
}


class TokenBucket:
    """At most `rate` calls per second on average, bursts up to `capacity`; time and sleep injected."""

    def __init__(
        self, rate: float, capacity: float, clock: Callable[[], float], sleep: Callable[[float], None]
    ) -> None:
        self.rate, self.capacity = rate, capacity
        self._clock, self._sleep = clock, sleep
        self._tokens = capacity
        self._last: float | None = None
        self._lock = threading.Lock()

    def take(self) -> None:
        with self._lock:
            now = self._clock()
            if self._last is not None:
                self._tokens = min(self.capacity, self._tokens + (now - self._last) * self.rate)
            self._last = now
            if self._tokens < 1:
                wait = (1 - self._tokens) / self.rate
                self._sleep(wait)
                self._last = now + wait
                self._tokens = 1.0
            self._tokens -= 1


@dataclass
class RateLimits:
    """The last daily rate-limit headers HubSpot sent (absent for OAuth apps on some tiers)."""

    daily: int | None = None
    daily_remaining: int | None = None

    def record(self, headers: Any) -> None:
        def number(name: str) -> int | None:
            value = headers.get(name) if headers is not None else None
            try:
                return int(value) if value is not None else None
            except (TypeError, ValueError):
                return None

        for name, attr in (
            ("X-HubSpot-RateLimit-Daily", "daily"),
            ("X-HubSpot-RateLimit-Daily-Remaining", "daily_remaining"),
        ):
            value = number(name)
            if value is not None:
                setattr(self, attr, value)

    def budget(self) -> ApiBudget | None:
        if self.daily is None or self.daily_remaining is None:
            return None
        return ApiBudget(used=self.daily - self.daily_remaining, limit=self.daily)


class HubSpotClient:
    """Builds the SDK on first use and runs every call through timeouts, counting, throttling, retries."""

    def __init__(
        self,
        config: HubSpotConfig,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self.calls: Counter[str] = Counter()
        self.rate_limits = RateLimits()
        self._sleep, self._clock = sleep, clock
        self._search_bucket = TokenBucket(config.search_requests_per_second, 4, clock, sleep)
        self._sdk: Any = None
        self._apis: dict[str, Any] = {}
        self._token: str | None = config.access_token.get_secret_value() if config.access_token else None
        self._token_expires_at: float | None = None
        self._lock = threading.RLock()  # building the SDK may refresh an OAuth token through _run

    # ------------------------------------------------------------------------------------------ building

    def _secrets(self) -> list[str]:
        values = [self._token or ""]
        if self.config.oauth is not None:
            values += [
                self.config.oauth.client_secret.get_secret_value(),
                self.config.oauth.refresh_token.get_secret_value(),
            ]
        return values

    def _build_sdk(self) -> Any:
        from hubspot import HubSpot  # the SDK import is heavy; only pay for it when a call is made

        # retry=False turns urllib3's own retrying off: errors.py is the one retry policy.
        return HubSpot(access_token=self._access_token(), host=self.config.base_url, retry=False)

    def api(self, name: str) -> Any:
        with self._lock:
            if name not in self._apis:
                if self._sdk is None:
                    self._sdk = self._build_sdk()
                node: Any = self._sdk.crm
                for part in _API_PATHS[name]:
                    node = getattr(node, part)
                self._apis[name] = node
            return self._apis[name]

    def _reset_sdk(self) -> None:
        with self._lock:
            self._sdk = None
            self._apis.clear()

    # ------------------------------------------------------------------------------------------- OAuth

    def _access_token(self) -> str:
        oauth = self.config.oauth
        if oauth is None:
            return self._token or ""
        if self._token is None or self._token_expired():
            self._refresh_token()
        return self._token or ""

    def _refresh_token(self) -> None:
        from hubspot import HubSpot

        oauth = self.config.oauth
        assert oauth is not None
        tokens_api = HubSpot(host=self.config.base_url, retry=False).oauth.tokens_api
        try:
            data = self._run(
                "oauth",
                lambda: tokens_api.create(
                    grant_type="refresh_token",
                    client_id=oauth.client_id,
                    client_secret=oauth.client_secret.get_secret_value(),
                    refresh_token=oauth.refresh_token.get_secret_value(),
                    _request_timeout=self.config.timeout,
                    _preload_content=False,
                ),
                what="refresh the OAuth access token",
                ambiguous_ok=True,
            )
        except (BadRequestError, UnauthorizedError) as exc:
            hint = "check the OAuth client id, secret and refresh token, or reinstall the app for a new one"
            raise ConfigurationError(f"{exc}; {hint}") from None
        self._token = str(data.get("access_token") or "")
        # Refresh a minute early so a long run never sends an expired token.
        self._token_expires_at = self._clock() + max(0.0, float(data.get("expires_in") or 1800) - 60)

    # ------------------------------------------------------------------------------------------- calls

    def call(
        self, kind: str, api: str, method: str, *args: Any, ambiguous_ok: bool = True, **kwargs: Any
    ) -> Json:
        """One API call (retried under the policy); returns the parsed JSON body ({} when empty)."""
        what = f"{kind} ({api}.{method})"
        try:
            return self._call_once_authorised(kind, api, method, args, kwargs, what, ambiguous_ok)
        except UnauthorizedError:
            if self.config.oauth is None:
                raise
            self._token = None
            self._reset_sdk()
            return self._call_once_authorised(kind, api, method, args, kwargs, what, ambiguous_ok)

    def _call_once_authorised(
        self, kind: str, api: str, method: str, args: tuple[Any, ...], kwargs: dict[str, Any], what: str,
        ambiguous_ok: bool,
    ) -> Json:
        def send() -> Any:
            if self.config.oauth is not None and self._token_expired():
                self._reset_sdk()
            bound = getattr(self.api(api), method)
            return bound(*args, _request_timeout=self.config.timeout, _preload_content=False, **kwargs)

        return self._run(kind, send, what=what, ambiguous_ok=ambiguous_ok)

    def _token_expired(self) -> bool:
        return self._token_expires_at is not None and self._clock() >= self._token_expires_at

    def _run(self, kind: str, send: Callable[[], Any], *, what: str, ambiguous_ok: bool) -> Json:
        def attempt() -> Json:
            if kind == "search":
                self._search_bucket.take()
            with self._lock:
                self.calls[kind] += 1
            try:
                response = send()
            except Exception as exc:
                self.rate_limits.record(getattr(exc, "headers", None))
                raise
            try:
                self.rate_limits.record(response.headers)
                raw = response.data
            finally:
                response.release_conn()
            return _json(raw)

        try:
            return with_retry(
                attempt,
                attempts=self.config.max_attempts,
                max_wait=self.config.max_retry_wait_seconds,
                sleep=self._sleep,
                ambiguous_ok=ambiguous_ok,
            )
        except Exception as exc:
            failure = http_failure(exc)
            if failure is None and not isinstance(exc, NETWORK_ERRORS):
                raise
            raise to_connector_error(exc, what, self._secrets()) from None

    def budget(self) -> ApiBudget | None:
        return self.rate_limits.budget()

    def check_budget(self) -> None:
        """Stop the run (between batches) once the portal's daily budget is below the configured reserve."""
        budget = self.budget()
        reserve = self.config.api_reserve_fraction
        if budget is not None and budget.remaining_fraction < reserve:
            raise BudgetExhaustedError(
                f"HubSpot API budget below the {reserve:.0%} reserve: {budget.used} of {budget.limit} daily "
                "requests used; the run stops here and resumes later"
            )

    def close(self) -> None:
        """Close the cached API objects' connection pools."""
        with self._lock:
            for api in self._apis.values():
                api.api_client.rest_client.pool_manager.clear()
            self._apis.clear()
            self._sdk = None


def _json(raw: bytes | str | None) -> Json:
    if not raw:
        return {}
    try:
        parsed = json.loads(raw)
    except ValueError as exc:
        raise FatalError(f"HubSpot answered with something that is not JSON: {parse_body(raw)}") from exc
    if needs_cleaning(raw):
        parsed = writable(parsed)
    return parsed if isinstance(parsed, dict) else {"results": parsed}

