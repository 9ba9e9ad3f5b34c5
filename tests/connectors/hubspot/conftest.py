"""Shared fixtures for the HubSpot connector tests: the mapping context of the payload files, the default
playbook, and a fresh sandbox portal whose clock the test moves."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from hubspot_payloads import load
from hubspot_support import FakeClock

from connectors.hubspot.config import PropertyNames
from connectors.hubspot.mapping import MappingContext
from connectors.hubspot.pipelines import stages_from_json
from core.playbook import Playbook
from sandbox.hubspot import HubSpotSandbox, start_hubspot_sandbox
from worker.playbook_files import load_playbook


@pytest.fixture
def context() -> MappingContext:
    return MappingContext(
        now=datetime(2026, 11, 24, 6, 0, tzinfo=UTC),
        names=PropertyNames.with_prefix(""),
        stages=stages_from_json(load("pipelines_deals.json")),
    )


@pytest.fixture(scope="session")
def playbook() -> Playbook:
    return load_playbook()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime.now(UTC).replace(microsecond=0))


@pytest.fixture
def portal(clock: FakeClock) -> Iterator[HubSpotSandbox]:
    """A fresh sandbox portal with 60 generated deals, its clock under the test's control."""
    with start_hubspot_sandbox(deals=60, seed=7, clock=clock) as sandbox:
        yield sandbox
