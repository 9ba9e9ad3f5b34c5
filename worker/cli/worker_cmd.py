"""`commitments worker`: the long-running scheduler process, with metrics and health endpoints.

Loads the settings (registering every secret with the log redactor), opens the state store, serves
/metrics, /livez and /readyz, starts the scheduler (defaults for new connections, catch-up of missed
runs) and polls the schedules table until SIGTERM or Ctrl-C. Then it drains: no new runs, the running
ones stop at their next chunk checkpoint, and the process exits 0.
"""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType

import typer

from worker.cli.output import counted
from worker.connections import open_worker_state
from worker.observability.health import HealthServer
from worker.observability.logs import configure_logging
from worker.observability.metrics import METRICS
from worker.scheduling.process import Worker
from worker.scheduling.runner import Runner, settings_sync
from worker.scheduling.schedules import WatchedConnections

log = logging.getLogger("worker")
DEFAULT_METRICS_PORT = 9464


def _stop_on_signals(stop: threading.Event) -> None:
    def handler(signum: int, _frame: FrameType | None) -> None:
        if stop.is_set() and signum == signal.SIGINT:
            raise KeyboardInterrupt
        log.info("received %s: draining", signal.Signals(signum).name)
        stop.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, handler)


def worker(
    metrics_port: int = typer.Option(
        DEFAULT_METRICS_PORT,
        "--metrics-port",
        min=0,
        max=65535,
        help="Port of /metrics, /livez, /readyz (0: any).",
    ),
    metrics_host: str = typer.Option(
        "127.0.0.1", "--metrics-host", help="Address to serve them on (0.0.0.0 inside a container)."
    ),
    log_json: bool = typer.Option(
        False, "--log-json", help="One JSON object per log line (for log shippers)."
    ),
    poll_seconds: float = typer.Option(
        5.0, "--poll-seconds", min=0.5, help="How often to reload the schedules."
    ),
    max_parallel: int = typer.Option(4, "--max-parallel", min=1, help="Connections synced at the same time."),
) -> None:
    """Run the scheduler: every connection's schedules, catch-up after downtime, one run per connection."""
    configure_logging(json_lines=log_json)
    stop = threading.Event()
    _stop_on_signals(stop)
    # Lenient: a connection with a problem (a secret not set yet) is left out, said in the log, and its
    # runs fail, recorded; the others are synced. Refusing to start would stop every connection's syncs.
    with open_worker_state(lenient=True, warn=False) as (settings, store):
        runner = Runner(store, settings_sync(store))
        watched = WatchedConnections(settings)
        process = Worker(
            store,
            runner,
            connections=watched,
            sandboxes=watched.sandboxes_run,
            poll_seconds=poll_seconds,
            max_parallel_runs=max_parallel,
        )
        try:
            server = HealthServer(process.health, METRICS, host=metrics_host, port=metrics_port).start()
        except OSError as exc:
            raise typer.BadParameter(
                f"cannot listen on {metrics_host}:{metrics_port}: {exc.strerror}"
            ) from None
        log.info("metrics and health on http://%s:%d (/metrics, /livez, /readyz)", metrics_host, server.port)
        try:
            due = process.start(paused=True)  # nothing runs before a stop asked for during start-up is seen
            if stop.is_set():
                log.info("stopped during start-up: no run was started")
                return
            process.resume()
            schedules = counted(len(process.schedules()), "schedule")
            log.info("worker started: %s, %s queued", schedules, counted(len(due), "catch-up run"))
            process.serve(stop)
        finally:
            process.stop()
            server.stop()


def register(app: typer.Typer) -> None:
    app.command("worker")(worker)
