"""Helpers for tests that run the connector against the local HubSpot sandbox (real HTTP on 127.0.0.1)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pydantic import SecretStr

from connectors.base import ApplyResult
from connectors.hubspot import HubSpotConfig, HubSpotConnector
from connectors.hubspot.mapping import TASK_KEY_PATTERN
from core.assess import assess
from core.models import Deal, WritePlan
from core.plan import plan
from core.playbook import Playbook
from sandbox.http import Request, Response
from sandbox.hubspot import HubSpotSandbox


@dataclass
class FakeClock:
    """The sandbox's clock, moved by the test: stamps on writes are exact and no test sleeps."""

    now: datetime

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@dataclass
class Sleeps:
    """Stands in for time.sleep: records what the retry policy and the search bucket asked for."""

    calls: list[float] = field(default_factory=list)

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


def connector_for(sandbox: HubSpotSandbox, sleeps: Sleeps | None = None, **settings: Any) -> HubSpotConnector:
    config = HubSpotConfig(
        access_token=SecretStr(sandbox.credentials["access_token"]), base_url=sandbox.url, **settings
    )
    return HubSpotConnector(config, sleep=sleeps or Sleeps())


@dataclass
class SyncOutcome:
    deals: list[Deal]
    plans: list[WritePlan]
    result: ApplyResult

    @property
    def non_empty(self) -> list[WritePlan]:
        return [p for p in self.plans if not p.is_empty]


def read_all(connector: HubSpotConnector, since: datetime | None, until: datetime) -> list[Deal]:
    return [deal for chunk in connector.read_deals(since, until) for deal in chunk]


def sync(
    connector: HubSpotConnector, playbook: Playbook, since: datetime | None, now: datetime
) -> SyncOutcome:
    """One run as the worker does it: read, assess, plan, apply."""
    deals = read_all(connector, since, now)
    plans = [plan(assess(deal, playbook, now), deal, playbook, now) for deal in deals]
    result = connector.apply([p for p in plans if not p.is_empty], playbook)
    return SyncOutcome(deals, plans, result)


def deal_props(sandbox: HubSpotSandbox, deal_id: str) -> dict[str, Any]:
    return dict(sandbox.store.tables["deals"][deal_id]["properties"])


def deal_task_keys(sandbox: HubSpotSandbox, deal_id: str) -> list[str]:
    """The plugin task keys of every task associated with the deal, straight from the store."""
    keys = []
    for task_id in sandbox.store.associated("deals", deal_id, "tasks"):
        body = sandbox.store.tables["tasks"][task_id]["properties"].get("hs_task_body") or ""
        match = TASK_KEY_PATTERN.search(body)
        if match:
            keys.append(match.group(1))
    return keys



def after_answering(sandbox: HubSpotSandbox, path_suffix: str, then: Callable[[int], None]) -> None:
    """After the sandbox handled the n-th request to `path_suffix`, call `then(n)` before answering: it may
    sleep (a slow answer) or raise DropConnection (the work is done, the answer is lost)."""
    decorate = sandbox.app.decorate
    seen = [0]

    def hook(request: Request, response: Response) -> None:
        decorate(request, response)
        if request.path.endswith(path_suffix):
            seen[0] += 1
            then(seen[0])

    sandbox.app.decorate = hook
