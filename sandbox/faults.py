"""Fault injection for the sandbox servers: latency, 429s, 5xx, dropped connections, expired sessions and
Salesforce's query timeouts.

A `FaultPlan` is drawn from once per API call. Rates are probabilities per call, drawn from a seeded
random generator so a test run is repeatable; `only` restricts faults to some endpoint names (the names
routes are registered under), and `script` queues exact faults for the next calls, which is how tests
say "the next composite call answers 500". Partial batch failures are record-level and live in each
CRM's store (`fail_record_ids`), not here.
"""

from __future__ import annotations

import random
import threading
from collections import deque
from dataclasses import dataclass, field

FAULT_KINDS = ("rate_limit", "server_error", "drop", "expired_session", "query_timeout")


@dataclass(frozen=True)
class Fault:
    kind: str | None = None  # one of FAULT_KINDS, or None for a clean call
    latency: float = 0.0


@dataclass
class FaultPlan:
    latency: float = 0.0
    rate_limit: float = 0.0
    server_error: float = 0.0
    drop: float = 0.0
    expired_session: float = 0.0
    query_timeout: float = 0.0
    retry_after: int = 1
    only: frozenset[str] | None = None
    seed: int = 0
    script: deque[tuple[str, str]] = field(default_factory=deque)  # (endpoint name or "*", kind)
    _rng: random.Random = field(init=False, repr=False)
    _lock: threading.Lock = field(init=False, repr=False, default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    def queue(self, kind: str, endpoint: str = "*", times: int = 1) -> None:
        """Make the next `times` calls to `endpoint` fail with `kind`."""
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; expected one of {FAULT_KINDS}")
        with self._lock:
            self.script.extend([(endpoint, kind)] * times)

    def clear(self) -> None:
        with self._lock:
            self.script.clear()
            self.rate_limit = self.server_error = self.drop = self.expired_session = self.query_timeout = 0.0
            self.latency = 0.0

    def draw_queued(self, endpoint: str) -> str | None:
        """The kind of the next fault queued for `endpoint` by name (not "*"), taken off the queue; None if
        there is none. How one subrequest of a Salesforce composite call fails: random rates and "*" faults
        hit the composite call as a whole, as they hit any other call."""
        with self._lock:
            for index, (target, kind) in enumerate(self.script):
                if target == endpoint:
                    del self.script[index]
                    return kind
            return None

    def draw(self, endpoint: str) -> Fault:
        with self._lock:
            for index, (target, kind) in enumerate(self.script):
                if target in ("*", endpoint):
                    del self.script[index]
                    return Fault(kind, self.latency)
            if self.only is not None and endpoint not in self.only:
                return Fault(None, self.latency)
            roll = self._rng.random()
            for kind in FAULT_KINDS:
                rate = float(getattr(self, kind))
                if roll < rate:
                    return Fault(kind, self.latency)
                roll -= rate
            return Fault(None, self.latency)
