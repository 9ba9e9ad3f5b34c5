"""Prometheus metrics of the worker, all prefixed `commitments_`; counters end in `_total`.

One `Metrics` object owns its own `CollectorRegistry` (the process uses `METRICS`; tests make their own so
they never see each other's samples). Labels are bounded: connection names (an admin configures a
handful), outcomes, modes and API call kinds; never deal ids.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from worker.store.runs import SUCCESS_OUTCOMES

# `*_created` series double the exposition and no dashboard here uses them.
disable_created_metrics()  # type: ignore[no-untyped-call]

PREFIX = "commitments"
CONTENT_TYPE = CONTENT_TYPE_LATEST
_DURATION_BUCKETS = (1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200)


class Metrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.runs = Counter(
            f"{PREFIX}_runs", "Sync runs by outcome", ["connection", "mode", "trigger", "outcome"], registry=r
        )
        self.run_duration = Histogram(
            f"{PREFIX}_run_duration_seconds",
            "Wall time of a sync run",
            ["connection", "mode"],
            buckets=_DURATION_BUCKETS,
            registry=r,
        )
        self.deals_assessed = Counter(
            f"{PREFIX}_deals_assessed", "Deals assessed", ["connection"], registry=r
        )
        self.fields_written = Counter(
            f"{PREFIX}_fields_written", "Owned CRM fields written", ["connection"], registry=r
        )
        self.tasks_created = Counter(
            f"{PREFIX}_tasks_created", "Plugin tasks created", ["connection"], registry=r
        )
        self.tasks_completed = Counter(
            f"{PREFIX}_tasks_completed", "Plugin tasks completed", ["connection"], registry=r
        )
        self.tasks_reopened = Counter(
            f"{PREFIX}_tasks_reopened",
            "Plugin tasks reopened (completed, then their commitment was lost again)",
            ["connection"],
            registry=r,
        )
        self.record_failures = Counter(
            f"{PREFIX}_record_failures", "Records the CRM refused", ["connection"], registry=r
        )
        self.api_calls = Counter(
            f"{PREFIX}_api_calls", "CRM API calls by kind", ["connection", "kind"], registry=r
        )
        self.last_success = Gauge(
            f"{PREFIX}_last_success_timestamp_seconds",
            "Unix time the connection's last successful run started",
            ["connection"],
            registry=r,
        )
        self.scheduler_events = Counter(
            f"{PREFIX}_scheduler_events",
            "APScheduler job errors, misfires and max-instance skips",
            ["event"],
            registry=r,
        )
        self.lock_contention = Counter(
            f"{PREFIX}_lock_contention",
            "Runs skipped because another run held the connection's lock",
            ["connection"],
            registry=r,
        )
        self.running = Gauge(f"{PREFIX}_runs_in_progress", "Sync runs in progress", registry=r)

    def record_run(
        self,
        *,
        connection: str,
        mode: str,
        trigger: str,
        outcome: str,
        duration_s: float | None = None,
        counts: Mapping[str, int] | None = None,
        api_calls: Mapping[str, int] | None = None,
        started_at: datetime | None = None,
    ) -> None:
        """Count one finished (or skipped) run and what it did."""
        self.runs.labels(connection, mode, trigger, outcome).inc()
        if duration_s is not None:
            self.run_duration.labels(connection, mode).observe(duration_s)
        counts = counts or {}
        for name, counter in (
            ("deals_assessed", self.deals_assessed),
            ("fields_written", self.fields_written),
            ("tasks_created", self.tasks_created),
            ("tasks_completed", self.tasks_completed),
            ("tasks_reopened", self.tasks_reopened),
            ("failures", self.record_failures),
        ):
            if counts.get(name):
                counter.labels(connection).inc(counts[name])
        for kind, calls in (api_calls or {}).items():
            self.api_calls.labels(connection, kind).inc(calls)
        if outcome in SUCCESS_OUTCOMES and started_at is not None:
            self.last_success.labels(connection).set(started_at.timestamp())
        if outcome == "skipped_locked":
            self.lock_contention.labels(connection).inc()

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


METRICS = Metrics()
