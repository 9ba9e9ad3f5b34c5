"""What the connector benchmarks (hubspot_sync.py, salesforce_sync.py) share: a settable clock for the
sandbox, their command line, one measured run's calls by kind and wall time, the idle incremental run, and
the target lines."""

from __future__ import annotations

import argparse
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime

from connectors.base import Connector

# Counted by a connector's api_calls() but not a REST API call toward the CRM's limit (a SOAP login).
NOT_API = ("login",)


class Clock:
    """The sandbox's clock, moved by the benchmark (an idle run happens an hour later)."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def book_options(crm: str) -> argparse.Namespace:
    """The command line both take: the sandbox book's size (`--deals`) and `--seed`."""
    parser = argparse.ArgumentParser(description=f"{crm} connector benchmark on the sandbox")
    parser.add_argument("--deals", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    return parser.parse_args()


def frozen_clock() -> Clock:
    """The sandbox's clock at now, to the second (SOQL datetime literals have whole seconds)."""
    return Clock(datetime.now(UTC).replace(microsecond=0))


@dataclass
class Run:
    seconds: float
    calls: Counter[str]

    @property
    def api(self) -> int:
        """API calls toward the CRM's limit: every counted call but a login."""
        return sum(n for kind, n in self.calls.items() if kind not in NOT_API)

    def show(self, title: str, extra: str) -> None:
        kinds = ", ".join(f"{kind} {count}" for kind, count in sorted(self.calls.items()))
        print(f"{title:<17} {self.seconds:7.2f} s {self.api:6d} calls  ({kinds})  {extra}")


def ceil_div(count: int, size: int) -> int:
    return -(-count // size)


def idle_run(connector: Connector, since: datetime, until: datetime) -> Run:
    """An incremental read of a window in which nothing changed."""
    started = time.perf_counter()
    deals = sum(len(chunk) for chunk in connector.read_deals(since, until))
    run = Run(time.perf_counter() - started, connector.api_calls())
    run.show("idle incremental", f"{deals} deals")
    return run


def check(label: str, ok: bool, detail: str) -> bool:
    print(f"  [{'ok' if ok else 'FAIL'}] {label}: {detail}")
    return ok
