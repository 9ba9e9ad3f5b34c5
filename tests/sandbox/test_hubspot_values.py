"""Pure value handling of the HubSpot sandbox: how written values are checked and stored."""

from __future__ import annotations

from typing import Any

import pytest

from sandbox.hubspot.errors import PropertyProblem
from sandbox.hubspot.store import HubSpotStore
from sandbox.hubspot.values import normalize, number, sort_key

STORE = HubSpotStore()


def _definition(object_type: str, name: str) -> dict[str, Any]:
    definition = STORE.definition(object_type, name)
    assert definition is not None
    return definition


@pytest.mark.parametrize(
    ("object_type", "name", "raw", "stored"),
    [
        ("deals", "amount", "1000.0", "1000"),
        ("deals", "amount", 2500, "2500"),
        ("deals", "amount", "1e7", "10000000"),
        ("deals", "amount", "12.50", "12.50"),
        ("deals", "closedate", "1735689600000", "2025-01-01T00:00:00.000Z"),
        ("deals", "closedate", "2025-01-01T10:30:00+02:00", "2025-01-01T08:30:00.000Z"),
        ("deals", "closedate", "2025-01-01", "2025-01-01T00:00:00.000Z"),
        ("deals", "dealstage", "closedwon", "closedwon"),
        ("contacts", "hs_buying_role", "CHAMPION;DECISION_MAKER", "CHAMPION;DECISION_MAKER"),
        ("quotes", "hs_esign_enabled", True, "true"),
        ("deals", "hs_next_step", "", None),
        ("deals", "hs_next_step", None, None),
    ],
)
def test_given_a_valid_value_when_normalized_then_stored_as_hubspot_returns_it(
    object_type: str, name: str, raw: Any, stored: str | None
) -> None:
    assert normalize(_definition(object_type, name), raw) == stored


@pytest.mark.parametrize(
    ("object_type", "name", "raw", "error"),
    [
        ("deals", "amount", "lots", "INVALID_DECIMAL"),
        ("deals", "closedate", "next tuesday", "INVALID_DATE"),
        ("deals", "dealstage", "won", "INVALID_OPTION"),
        ("contacts", "hs_buying_role", "CHAMPION;BOSS", "INVALID_OPTION"),
        ("quotes", "hs_esign_enabled", "yes", "INVALID_BOOLEAN"),
    ],
)
def test_given_an_invalid_value_when_normalized_then_hubspot_error_code(
    object_type: str, name: str, raw: Any, error: str
) -> None:
    problem = normalize(_definition(object_type, name), raw)
    assert isinstance(problem, PropertyProblem)
    assert (problem.name, problem.error) == (name, error)


@pytest.mark.parametrize(
    ("value", "text"), [(1234567.0, "1234567"), (0.1 + 0.2, "0.3"), (3, "3"), (49.99, "49.99")]
)
def test_given_a_number_when_formatted_then_no_exponent_or_trailing_zero(value: float, text: str) -> None:
    assert number(value) == text


def test_given_dates_in_two_spellings_when_keyed_then_they_compare_equal() -> None:
    assert (
        sort_key("datetime", "2025-01-01T00:00:00.000Z")
        == sort_key("datetime", "1735689600000")
        == 1735689600000.0
    )
    assert sort_key("string", "Deal A") == "deal a"
    assert sort_key("number", None) is None
