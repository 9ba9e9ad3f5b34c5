"""Helpers for the end-to-end tests: a sandbox org on a controllable clock, configs, one sync pass."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from connectors.base import ApplyResult
from connectors.salesforce import SalesforceConfig, SalesforceConnector
from core.assess import assess
from core.models import Deal, WritePlan
from core.plan import plan
from sandbox.faults import FaultPlan
from sandbox.generator import generate_book
from sandbox.salesforce import SalesforceSandbox, start_salesforce_sandbox
from worker.playbook_files import load_playbook

PLAYBOOK = load_playbook()
BOOK_NOW = datetime(2026, 11, 1, tzinfo=UTC)


class Clock:
    """The org's clock: starts an hour after the book's `now`, moves only when told."""

    def __init__(self) -> None:
        self.now = BOOK_NOW + timedelta(hours=1)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


def start_org(
    deals: int = 60, seed: int = 7, faults: FaultPlan | None = None, **store_options: Any
) -> tuple[SalesforceSandbox, Clock]:
    clock = Clock()
    book = generate_book(deals=deals, seed=seed, now=BOOK_NOW)
    return start_salesforce_sandbox(book, faults=faults, clock=clock, **store_options), clock


def config_for(box: SalesforceSandbox, **overrides: Any) -> SalesforceConfig:
    creds = box.credentials
    data: dict[str, Any] = {
        "auth": {
            "mode": "password",
            "username": creds["username"],
            "password": creds["password"],
            "security_token": creds["security_token"],
        },
        "api_base_url": creds["api_base_url"],
        "backoff_seconds": 0.001,
        "max_backoff_seconds": 0.01,
        "read_timeout": 10,
    }
    data.update(overrides)
    return SalesforceConfig.model_validate(data)


def connect(box: SalesforceSandbox, **overrides: Any) -> SalesforceConnector:
    return SalesforceConnector(config_for(box, **overrides), playbook=PLAYBOOK)


@dataclass
class Pass:
    deals: list[Deal] = field(default_factory=list)
    plans: list[WritePlan] = field(default_factory=list)
    result: ApplyResult = field(default_factory=ApplyResult)

    @property
    def non_empty(self) -> list[WritePlan]:
        return [p for p in self.plans if not p.is_empty]


def sync(
    sf: SalesforceConnector, now: datetime, since: datetime | None = None, include_ids: tuple[str, ...] = ()
) -> Pass:
    """read -> assess -> plan -> apply, chunk by chunk, as the worker does."""
    run = Pass()
    for chunk in sf.read_deals(since, now, include_ids=include_ids):
        plans = [plan(assess(deal, PLAYBOOK, now), deal, PLAYBOOK, now) for deal in chunk]
        run.deals.extend(chunk)
        run.plans.extend(plans)
        run.result.merge(sf.apply([p for p in plans if not p.is_empty], PLAYBOOK))
    return run


def rows(box: SalesforceSandbox, sobject: str) -> Iterator[dict[str, Any]]:
    yield from box.store.tables.get(sobject, {}).values()


def plugin_tasks(box: SalesforceSandbox) -> list[dict[str, Any]]:
    return [t for t in rows(box, "Task") if t.get("Commitment_Key__c")]
