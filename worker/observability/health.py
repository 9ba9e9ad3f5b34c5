"""The worker's HTTP endpoints: /metrics (Prometheus), /livez and /readyz, on a stdlib server thread.

Liveness never checks dependencies (a database blip must not get the process restarted): it is "the
process answers, the scheduler thread is alive and the worker loop ticked within `stale_after` seconds".
Readiness is "the database answers, the scheduler is running and the worker is not draining". Both answer
200 or 503 with a small JSON body saying which check failed.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from worker.observability.metrics import CONTENT_TYPE, Metrics

log = logging.getLogger(__name__)


@dataclass
class HealthState:
    """What the endpoints report; the worker updates it, the server thread only reads it."""

    stale_after: float = 60.0
    monotonic: Callable[[], float] = time.monotonic
    scheduler_alive: Callable[[], bool] = lambda: False
    scheduler_running: Callable[[], bool] = lambda: False
    database_ok: Callable[[], bool] = lambda: False
    draining: threading.Event = field(default_factory=threading.Event)
    last_tick: float | None = None

    def tick(self) -> None:
        self.last_tick = self.monotonic()

    def liveness(self) -> dict[str, bool]:
        ticked = self.last_tick is not None and self.monotonic() - self.last_tick <= self.stale_after
        return {"scheduler_thread": self.scheduler_alive(), "loop_ticked": ticked}

    def readiness(self) -> dict[str, bool]:
        return {
            "database": _safely(self.database_ok),
            "scheduler_running": self.scheduler_running(),
            "not_draining": not self.draining.is_set(),
        }


def _safely(check: Callable[[], bool]) -> bool:
    try:
        return bool(check())
    except Exception:
        log.warning("readiness check failed", exc_info=True)
        return False


def _handler(state: HealthState, metrics: Metrics) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/metrics":
                self._send(200, metrics.exposition(), CONTENT_TYPE)
            elif self.path in ("/livez", "/readyz"):
                checks = state.liveness() if self.path == "/livez" else state.readiness()
                ok = all(checks.values())
                body = json.dumps({"status": "ok" if ok else "failing", "checks": checks}).encode()
                self._send(200 if ok else 503, body, "application/json")
            else:
                self._send(
                    404, b'{"error": "not found; try /metrics, /livez or /readyz"}', "application/json"
                )

        def _send(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:  # probes every few seconds: keep quiet
            log.debug("http %s", format % args)

    return Handler


class _Server(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that reset its connection (a TCP health check, a scrape that timed out) is logged at
        debug level, not printed as a traceback into the worker's stderr, which is its log."""
        error = sys.exc_info()[1]
        if isinstance(error, ConnectionError):
            log.debug("http client %s went away: %s", client_address, type(error).__name__)
            return
        super().handle_error(request, client_address)


class HealthServer:
    """Serves the endpoints on `host:port` (port 0 picks a free one; see `.port`) in a daemon thread."""

    def __init__(
        self, state: HealthState, metrics: Metrics, *, host: str = "127.0.0.1", port: int = 9464
    ) -> None:
        self._server = _Server((host, port), _handler(state, metrics))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="health-http", daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self) -> HealthServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
