"""A small HTTP application server shared by the Salesforce and HubSpot stand-ins.

Routes are (method, regex) pairs with a name; the name is what the per-endpoint API call counter counts
and what fault injection can target. The server is the standard library's threading HTTP server on
127.0.0.1, so the real client libraries (requests for simple-salesforce, urllib3 for hubspot-api-client)
talk to it over real sockets. `ServerThread` runs an app in a background thread for tests and the demo.
"""

from __future__ import annotations

import json
import re
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit

from sandbox.faults import FaultPlan


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-cased names
    body: bytes
    params: dict[str, str] = field(default_factory=dict)  # named groups of the matched route

    def json(self) -> Any:
        return json.loads(self.body or b"null")

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
        merged = {"Content-Type": "application/json;charset=UTF-8", **(headers or {})}
        return cls(status, json.dumps(payload, separators=(",", ":")).encode(), merged)

    @classmethod
    def xml(cls, text: str, status: int = 200) -> Response:
        return cls(status, text.encode(), {"Content-Type": "text/xml;charset=UTF-8"})


Handler = Callable[[Request], Response]


class DropConnection(Exception):
    """Raised by fault injection: close the socket without answering."""


@dataclass
class Route:
    method: str
    pattern: re.Pattern[str]
    name: str
    handler: Handler


class App:
    """Routes, the per-endpoint call counter, fault injection and per-response header hooks."""

    def __init__(self, name: str, faults: FaultPlan | None = None) -> None:
        self.name = name
        self.routes: list[Route] = []
        self.calls: Counter[str] = Counter()
        self.faults = faults or FaultPlan()
        self._lock = threading.Lock()
        # Each CRM answers its own way to a fault (error body shape, rate-limit headers); set by the app.
        self.fault_response: Callable[[str, Request], Response] = _generic_fault
        self.decorate: Callable[[Request, Response], None] = lambda _req, _resp: None
        self.not_found: Callable[[Request], Response] = lambda req: Response.json(
            [{"errorCode": "NOT_FOUND", "message": f"no route for {req.method} {req.path}"}], 404
        )

    def route(self, method: str, pattern: str, name: str) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self.routes.append(Route(method, re.compile(pattern + r"/?$"), name, handler))
            return handler

        return register

    def reset_calls(self) -> None:
        with self._lock:
            self.calls.clear()

    def match(self, request: Request) -> Route | None:
        """The route that answers `request`, its named groups put in `request.params`; None if none does."""
        for route in self.routes:
            if route.method != request.method:
                continue
            match = route.pattern.match(request.path)
            if match:
                request.params = {k: v for k, v in match.groupdict().items() if v is not None}
                return route
        return None

    def dispatch(self, request: Request) -> Response:
        route = self.match(request)
        if route is None:
            response = self.not_found(request)
        else:
            with self._lock:
                self.calls[route.name] += 1
            response = self._with_faults(route.name, request, route.handler)
        self.decorate(request, response)
        return response

    def _with_faults(self, name: str, request: Request, handler: Handler) -> Response:
        fault = self.faults.draw(name)
        if fault.latency:
            time.sleep(fault.latency)
        if fault.kind == "drop":
            raise DropConnection
        if fault.kind is not None:
            return self.fault_response(fault.kind, request)
        return handler(request)


def _generic_fault(kind: str, _request: Request) -> Response:
    status = {"rate_limit": 429, "server_error": 503, "expired_session": 401}.get(kind, 500)
    return Response.json({"message": kind}, status, {"Retry-After": "1"} if status == 429 else None)


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; with Nagle on, each answer waits ~40 ms for a delayed ACK.
    disable_nagle_algorithm = True
    app: App  # set on the subclass made per server

    def log_message(self, format: str, *args: Any) -> None:  # the sandbox is quiet; counters tell the story
        return

    def _handle(self) -> None:
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        request = Request(
            method=self.command,
            path=parts.path,
            query=parse_qs(parts.query, keep_blank_values=True),
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
        )
        try:
            response = self.app.dispatch(request)
        except DropConnection:
            self.close_connection = True
            return
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _handle


class _Server(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hung up mid-request (a sync stopped with Ctrl-C, a client timeout) is no error of
        the sandbox's: say nothing, where the standard server prints a traceback to the terminal."""
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class ServerThread:
    """Serve an `App` on 127.0.0.1 in a daemon thread; `port=0` picks a free port."""

    def __init__(self, app: App, port: int = 0, host: str = "127.0.0.1") -> None:
        handler = type("Handler", (_RequestHandler,), {"app": app})
        self.app = app
        self.server = _Server((host, port), handler)
        self.server.daemon_threads = True
        # a short poll interval so stop() returns in ~50 ms instead of the default 0.5 s (tests start many)
        self._thread = threading.Thread(
            target=self.server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"sandbox-{app.name}",
            daemon=True,
        )

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ServerThread:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> ServerThread:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()


class ServedSandbox:
    """What both CRM stand-ins' handles share: `.url`, `.start()`, `.stop()`, and a context manager.

    A handle comes back already started, so `with` only stops it on the way out.
    """

    _server: ServerThread

    @property
    def url(self) -> str:
        return self._server.url

    def start(self) -> Self:
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()
