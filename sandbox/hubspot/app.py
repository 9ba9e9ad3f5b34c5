"""Assemble the HubSpot stand-in: routes, private-app / OAuth bearer auth, rate-limit headers, faults.

Every route but the OAuth token endpoint needs `Authorization: Bearer <token>` with a token the portal
issued (the private app token, or an access token from `/oauth/v1/token`), else 401
INVALID_AUTHENTICATION. Every response carries HubSpot's `X-HubSpot-RateLimit-*` headers, counted over
a rolling 10 s window and the day; with `enforce=True` the window really runs out and answers 429.
Injected faults answer in HubSpot's shapes: 429 RATE_LIMIT with Retry-After, 502/503/500 in turn for
server errors, 401 EXPIRED_AUTHENTICATION for an expired session, and a dropped socket.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import cycle
from typing import Any
from urllib.parse import parse_qs, unquote

from sandbox.faults import FaultPlan
from sandbox.http import App, Handler, Request, Response
from sandbox.hubspot import routes_associations, routes_objects, routes_schema
from sandbox.hubspot.errors import (
    HubSpotError,
    authentication_expired,
    authentication_missing,
    correlation_id,
    validation,
)
from sandbox.hubspot.search import SearchCache
from sandbox.hubspot.store import HubSpotStore


@dataclass
class Auth:
    """What the portal accepts: the private app token plus OAuth tokens it issued."""

    access_token: str = field(default_factory=lambda: "pat-na1-" + secrets.token_hex(16))
    client_id: str = "sandbox-client-id"
    client_secret: str = "sandbox-client-secret"
    refresh_token: str = field(default_factory=lambda: "sandbox-refresh-" + secrets.token_hex(8))
    issued: set[str] = field(default_factory=set)

    def accepts(self, header: str | None) -> bool:
        scheme, _, token = (header or "").partition(" ")
        return scheme.lower() == "bearer" and (token == self.access_token or token in self.issued)


@dataclass
class RateLimits:
    """HubSpot's rolling 10-second, daily and search (5 per second) limits, reported in headers.

    Numbers are Professional tier defaults; `used_today` lets a test start the day nearly spent. With
    `enforce` a spent window answers 429 with the policy that ran out (TEN_SECONDLY_ROLLING, SECONDLY
    for search, DAILY), as HubSpot does; without it the headers just count down.
    """

    max_per_interval: int = 190
    interval_ms: int = 10_000
    daily: int = 650_000
    per_second: int = 19
    search_per_second: int = 5
    used_today: int = 0
    enforce: bool = False
    clock: Callable[[], float] = time.monotonic
    _window: deque[float] = field(default_factory=deque)
    _searches: deque[float] = field(default_factory=deque)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, endpoint: str) -> str | None:
        """Record one call; the exhausted policy's name instead when an enforced limit is used up."""
        with self._lock:
            now = self.clock()
            _expire(self._window, now, self.interval_ms / 1000)
            _expire(self._searches, now, 1.0)
            is_search = endpoint == "objects.search"
            if self.enforce:
                if self.used_today >= self.daily:
                    return "DAILY"
                if len(self._window) >= self.max_per_interval:
                    return "TEN_SECONDLY_ROLLING"
                if is_search and len(self._searches) >= self.search_per_second:
                    return "SECONDLY"
            self._window.append(now)
            if is_search:
                self._searches.append(now)
            self.used_today += 1
            return None

    def headers(self) -> dict[str, str]:
        with self._lock:
            now = self.clock()
            last_second = sum(1 for t in self._window if now - t < 1)
            return {
                "X-HubSpot-RateLimit-Max": str(self.max_per_interval),
                "X-HubSpot-RateLimit-Remaining": str(max(0, self.max_per_interval - len(self._window))),
                "X-HubSpot-RateLimit-Interval-Milliseconds": str(self.interval_ms),
                "X-HubSpot-RateLimit-Daily": str(self.daily),
                "X-HubSpot-RateLimit-Daily-Remaining": str(max(0, self.daily - self.used_today)),
                "X-HubSpot-RateLimit-Secondly": str(self.per_second),
                "X-HubSpot-RateLimit-Secondly-Remaining": str(max(0, self.per_second - last_second)),
            }


def _expire(window: deque[float], now: float, seconds: float) -> None:
    while window and now - window[0] >= seconds:
        window.popleft()


def error_response(error: HubSpotError) -> Response:
    return Response.json(error.body(), error.status)


_POLICY_MESSAGES = {
    "TEN_SECONDLY_ROLLING": "You have reached your ten_secondly_rolling limit.",
    "SECONDLY": "You have reached your secondly limit.",
    "DAILY": "You have reached your daily limit.",
}


def rate_limited(retry_after: int, policy: str = "TEN_SECONDLY_ROLLING") -> Response:
    body = {
        "status": "error",
        "message": _POLICY_MESSAGES[policy],
        "errorType": "RATE_LIMIT",
        "correlationId": correlation_id(),
        "policyName": policy,
        "groupName": f"publicapi:private-app:{policy.lower()}:sandbox",
    }
    return Response.json(body, 429, {"Retry-After": str(retry_after)})


class HubSpotApp:
    """The routes bound to one store, auth and rate-limit state; `.app` is the servable App."""

    def __init__(
        self,
        store: HubSpotStore,
        faults: FaultPlan | None = None,
        auth: Auth | None = None,
        limits: RateLimits | None = None,
    ) -> None:
        self.store = store
        self.auth = auth or Auth()
        self.limits = limits or RateLimits()
        self.app = App("hubspot", faults)
        self._server_errors = cycle((502, 503, 500))
        self.app.fault_response = self._fault
        self.app.decorate = self._decorate
        self.app.not_found = lambda req: error_response(
            HubSpotError(404, f"No route for {req.method} {req.path}", "OBJECT_NOT_FOUND")
        )
        cache = SearchCache()
        routes_objects.register(self.route, store, cache)
        routes_associations.register(self.route, store)
        routes_schema.register(self.route, store)
        self.app.route("POST", r"/oauth/v1/token", "oauth.token")(
            self._guarded(self._token, "oauth.token", public=True)
        )

    def route(self, method: str, pattern: str, name: str) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self.app.route(method, pattern, name)(self._guarded(handler, name))
            return handler

        return register

    def _guarded(self, handler: Handler, name: str, public: bool = False) -> Handler:
        def guarded(request: Request) -> Response:
            exhausted = self.limits.count(name)
            if exhausted:
                return rate_limited(self.app.faults.retry_after, exhausted)
            if not public and not self.auth.accepts(request.headers.get("authorization")):
                return error_response(authentication_missing())
            # path segments arrive percent-encoded (an email as idProperty: c3%40acme.test)
            request.params = {key: unquote(value) for key, value in request.params.items()}
            try:
                with self.store.lock:
                    return handler(request)
            except HubSpotError as error:
                return error_response(error)
            except (json.JSONDecodeError, UnicodeDecodeError) as error:
                return error_response(validation(f"Invalid input JSON: {error}"))
            except (ValueError, TypeError, AttributeError) as error:  # malformed but parseable input
                return error_response(validation(f"Invalid input: {error}"))

        return guarded

    def _decorate(self, _request: Request, response: Response) -> None:
        response.headers.update(self.limits.headers())

    def _fault(self, kind: str, _request: Request) -> Response:
        if kind == "rate_limit":
            return rate_limited(self.app.faults.retry_after)
        if kind == "expired_session":
            return error_response(authentication_expired())
        status = next(self._server_errors)
        message = {502: "Bad Gateway", 503: "Service Unavailable"}.get(status, "internal error")
        return error_response(HubSpotError(status, message, "INTERNAL_ERROR"))

    def _token(self, request: Request) -> Response:
        form = {k: v[0] for k, v in parse_qs(request.body.decode()).items()}
        if (
            form.get("client_id") != self.auth.client_id
            or form.get("client_secret") != self.auth.client_secret
        ):
            body = {
                "status": "BAD_CLIENT_ID",
                "message": "missing or invalid client_id or client_secret",
                "correlationId": correlation_id(),
            }
            return Response.json(body, 400)
        if form.get("grant_type") != "refresh_token" or form.get("refresh_token") != self.auth.refresh_token:
            body = {
                "status": "BAD_REFRESH_TOKEN",
                "message": "missing or unknown refresh token",
                "correlationId": correlation_id(),
            }
            return Response.json(body, 400)
        token = "oauth-" + secrets.token_hex(16)
        self.auth.issued.add(token)
        answer: dict[str, Any] = {
            "token_type": "bearer",
            "access_token": token,
            "refresh_token": self.auth.refresh_token,
            "expires_in": 1800,
        }
        return Response.json(answer)
