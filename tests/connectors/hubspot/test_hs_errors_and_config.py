"""The error table, the retry policy's decisions, the search token bucket and the config model."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from pydantic import SecretStr, ValidationError
from urllib3.exceptions import NewConnectionError, ProtocolError

from connectors.base import BudgetExhaustedError, ConfigurationError, FatalError, TransientError
from connectors.hubspot import HubSpotConfig, HubSpotConnector
from connectors.hubspot.client import RateLimits, TokenBucket
from connectors.hubspot.config import REQUIRED_SCOPES
from connectors.hubspot.errors import (
    BadRequestError,
    ConflictError,
    NotFoundError,
    UnauthorizedError,
    is_retryable,
    to_connector_error,
    wait_seconds,
    with_retry,
)
from connectors.hubspot.write import deal_properties, format_value
from core.models import Commitment, OwnedField, OwnedFields, WritePlan

TOKEN = "pat-na1-00000000-secret-token"


class FakeApiException(Exception):
    """Shaped like any hubspot module's ApiException (the classes differ per module; the shape does not)."""

    def __init__(
        self, status: int, body: dict[str, object] | None = None, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(f"({status})")
        self.status, self.headers = status, headers or {}
        self.body = json.dumps(body or {"message": f"status {status}"}).encode()


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (FakeApiException(401), UnauthorizedError),
        (FakeApiException(403, {"category": "MISSING_SCOPES"}), ConfigurationError),
        (FakeApiException(429, {"policyName": "DAILY"}), BudgetExhaustedError),
        (FakeApiException(429, {"policyName": "TEN_SECONDLY_ROLLING"}), TransientError),
        (FakeApiException(502), TransientError),
        (FakeApiException(400), BadRequestError),
        (FakeApiException(404), NotFoundError),
        (FakeApiException(409), ConflictError),
        (FakeApiException(422), FatalError),
        (ProtocolError("Connection aborted."), TransientError),
    ],
)
def test_given_failure_when_mapped_then_error_group_says_what_to_do(exc: Exception, expected: type) -> None:
    assert type(to_connector_error(exc, "batch_read")) is expected


def test_given_401_when_mapped_then_message_says_to_renew_the_credential_not_the_scopes_nor_token() -> None:
    error = to_connector_error(FakeApiException(401, {"message": f"bad token {TOKEN}"}), "search", [TOKEN])
    text = str(error)
    assert "The access token is invalid or expired" in text
    assert "create a new access token" in text
    assert "check its refresh token, client id and client secret" in text
    assert "scope" not in text
    assert TOKEN not in text


def test_given_403_missing_scope_when_mapped_then_message_names_the_scopes() -> None:
    error = to_connector_error(FakeApiException(403, {"message": "missing scopes"}), "search")
    assert type(error) is ConfigurationError
    assert "The app lacks a scope" in str(error)
    assert all(scope in str(error) for scope in REQUIRED_SCOPES)


@pytest.mark.parametrize(
    ("exc", "ambiguous_ok", "retry"),
    [
        (FakeApiException(429, {"policyName": "SECONDLY"}), False, True),
        (FakeApiException(429, {"policyName": "DAILY"}), True, False),
        (FakeApiException(503), True, True),
        (FakeApiException(503), False, False),  # a create may have happened: the caller re-checks first
        (FakeApiException(400), True, False),
        (ProtocolError("dropped"), True, True),
        (ProtocolError("dropped"), False, False),
        (NewConnectionError(None, "refused"), False, True),  # never reached HubSpot: safe even for a create
    ],
)
def test_given_failure_when_policy_asked_then_retry_decision(
    exc: Exception, ambiguous_ok: bool, retry: bool
) -> None:
    assert is_retryable(exc, ambiguous_ok=ambiguous_ok) is retry


@pytest.mark.parametrize(
    ("exc", "attempt", "low", "high"),
    [
        (FakeApiException(429, headers={"Retry-After": "3"}), 1, 3.0, 3.0),
        (FakeApiException(429, {"policyName": "SECONDLY"}), 1, 1.0, 1.0),
        (FakeApiException(429, headers={"X-HubSpot-RateLimit-Interval-Milliseconds": "10000"}), 3, 1.0, 2.0),
        (FakeApiException(500), 1, 0.25, 0.5),
        (FakeApiException(500), 20, 30.0, 60.0),
    ],
)
def test_given_failure_when_waiting_then_retry_after_window_or_backoff(
    exc: Exception, attempt: int, low: float, high: float
) -> None:
    assert low <= wait_seconds(exc, attempt, max_wait=60.0) <= high


def test_given_two_429s_when_called_with_retry_then_third_try_succeeds_after_waiting() -> None:
    answers: list[Exception | str] = [FakeApiException(429, headers={"Retry-After": "2"})] * 2 + ["ok"]
    slept: list[float] = []

    def call() -> str:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    assert with_retry(call, attempts=5, max_wait=60, sleep=slept.append) == "ok"
    assert slept == [2.0, 2.0]


def test_given_search_bucket_when_bursting_then_waits_to_keep_the_rate() -> None:
    now = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    bucket = TokenBucket(rate=4, capacity=4, clock=lambda: now[0], sleep=sleep)
    for _ in range(8):
        bucket.take()
    assert sum(slept) == pytest.approx(1.0)


def test_given_daily_headers_when_recorded_then_budget_known() -> None:
    limits = RateLimits()
    assert limits.budget() is None
    limits.record({"X-HubSpot-RateLimit-Daily": "250000", "X-HubSpot-RateLimit-Daily-Remaining": "249000"})
    budget = limits.budget()
    assert budget is not None
    assert (budget.used, budget.limit) == (1000, 250000)


def test_given_no_or_two_credentials_when_configured_then_rejected() -> None:
    with pytest.raises(ValidationError, match="exactly one"):
        HubSpotConfig()
    with pytest.raises(ValidationError, match="exactly one"):
        HubSpotConfig.model_validate({"access_token": "x", "oauth": {"client_id": "a", "client_secret": "b",
                                                                      "refresh_token": "c"}})


def test_given_token_when_config_and_connector_built_then_no_secret_in_repr_and_no_io() -> None:
    config = HubSpotConfig(access_token=SecretStr(TOKEN), base_url="http://127.0.0.1:9/")
    connector = HubSpotConnector(config)  # port 9 (discard): any I/O here would fail
    assert config.base_url == "http://127.0.0.1:9"
    assert TOKEN not in repr(config)
    assert TOKEN not in repr(connector)
    assert connector.api_calls() == {}
    assert connector.budget() is None


def test_given_prefix_when_configured_then_owned_names_prefixed() -> None:
    names = HubSpotConfig(access_token=SecretStr("t"), property_prefix="acme_").names
    assert (names.secured, names.next, names.confirmed) == (
        "acme_commitments_secured", "acme_next_commitment", "acme_commitments_confirmed"
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ((Commitment.TIME, Commitment.EXPLORE), "time;explore"),
        ((), ""),
        (None, ""),
        (Commitment.CHANGE, "change"),
        (True, "true"),
        (3, "3"),
        (datetime(2026, 11, 24, 6, 0, 1, 123456, tzinfo=UTC), "2026-11-24T06:00:01.123Z"),
    ],
)
def test_given_owned_value_when_formatted_then_hubspot_property_value(value: object, expected: str) -> None:
    assert format_value(value) == expected


def test_given_plan_when_properties_built_then_only_changed_fields() -> None:
    plan = WritePlan(
        deal_id="1",
        values=OwnedFields(secured=(Commitment.TIME,), score=1, stage_gap=False),
        changed=frozenset({OwnedField.SECURED, OwnedField.STAGE_GAP}),
    )
    assert deal_properties(plan, HubSpotConfig(access_token=SecretStr("t")).names) == {
        "commitments_secured": "time", "commitment_stage_gap": "false"
    }
