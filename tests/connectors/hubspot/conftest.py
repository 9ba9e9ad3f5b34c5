"""Shared fixtures for the HubSpot connector tests: the mapping context the payload files assume."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from connectors.hubspot.config import PropertyNames
from connectors.hubspot.mapping import MappingContext
from connectors.hubspot.pipelines import stages_from_json
from tests.connectors.hubspot.payloads import load


@pytest.fixture
def context() -> MappingContext:
    return MappingContext(
        now=datetime(2026, 11, 24, 6, 0, tzinfo=UTC),
        names=PropertyNames.with_prefix(""),
        stages=stages_from_json(load("pipelines_deals.json")),
    )
