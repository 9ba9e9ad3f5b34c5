"""The error table and the one retry policy: retried, re-logged in, stopped, or explained."""

from __future__ import annotations

import socket
from datetime import UTC, datetime

import pytest
import requests
import responses
from salesforce_support import (
    API,
    CHILD_DESCRIBED,
    DESCRIBED,
    add_composite,
    add_discovery,
    connector,
    no_sleep,
    password_config,
    payload,
    session_config,
    text,
)

from connectors.base import BudgetExhaustedError, ConfigurationError, FatalError, TransientError
from connectors.salesforce import SalesforceConnector

DESCRIBE = f"{API}sobjects/Opportunity/describe"


def test_given_429_then_500_when_describing_then_both_are_retried_honouring_retry_after(
    rsps: responses.RequestsMock,
) -> None:
    rsps.get(
        DESCRIBE,
        status=429,
        json=[{"errorCode": "REQUEST_LIMIT_EXCEEDED", "message": "Too many"}],
        headers={"Retry-After": "2"},
    )
    rsps.get(DESCRIBE, status=500, json=payload("error_server_unavailable.json"))
    add_discovery(rsps)
    slept: list[float] = []
    sf = SalesforceConnector(session_config(max_backoff_seconds=30), sleep=slept.append)

    stages = sf.pipeline_stages()

    assert stages["salesforce"][0] == "Prospecting"
    assert sf.api_calls()["composite_describe"] == 3  # the 429 and the 500 each send the whole call again
    assert slept[0] == 2.0


def test_given_a_dropped_connection_when_querying_then_it_is_retried(rsps: responses.RequestsMock) -> None:
    rsps.get(DESCRIBE, body=requests.ConnectionError("Connection aborted."))
    add_discovery(rsps)

    assert connector().pipeline_stages()["salesforce"][-1] == "Closed Lost"


def test_given_the_concurrent_request_limit_when_describing_then_it_is_retried(
    rsps: responses.RequestsMock,
) -> None:
    rsps.get(DESCRIBE, status=403, json=payload("error_concurrent_limit.json"))
    add_discovery(rsps)

    assert connector().pipeline_stages()["salesforce"]


def test_given_the_daily_limit_when_describing_then_the_run_stops_without_retry(
    rsps: responses.RequestsMock,
) -> None:
    rsps.get(DESCRIBE, status=403, json=payload("error_daily_limit.json"))
    add_discovery(rsps, skip=("Opportunity",))  # the call's other subrequests
    sf = connector()

    with pytest.raises(BudgetExhaustedError, match="daily API request limit"):
        sf.pipeline_stages()
    assert sf.api_calls()["composite_describe"] == 1


def test_given_an_expired_session_with_password_auth_when_describing_then_it_logs_in_again(
    rsps: responses.RequestsMock,
) -> None:
    login = "https://login.salesforce.com/services/Soap/u/61.0"
    rsps.post(login, body=text("login_soap_ok.xml"))
    rsps.get(DESCRIBE, status=401, json=payload("error_expired_session.json"))
    rsps.post(login, body=text("login_soap_ok.xml"))
    add_discovery(rsps)

    assert connector(password_config()).pipeline_stages()["salesforce"]
    assert sum(1 for c in rsps.calls if c.request.url == login) == 2


def test_given_an_expired_session_id_when_describing_then_the_error_says_to_provide_a_new_one(
    rsps: responses.RequestsMock,
) -> None:
    rsps.get(DESCRIBE, status=401, json=payload("error_expired_session.json"))
    add_discovery(rsps, skip=("Opportunity",))  # the call's other subrequests

    with pytest.raises(ConfigurationError, match="provide a new session id or use JWT") as caught:
        connector().pipeline_stages()
    assert "SESSION-SECRET" not in str(caught.value)


def test_given_fields_not_provisioned_when_querying_then_the_error_says_to_run_setup(
    rsps: responses.RequestsMock,
) -> None:
    rsps.get(DESCRIBE, status=400, json=payload("error_invalid_field.json"))
    add_discovery(rsps, skip=("Opportunity",))  # the call's other subrequests

    with pytest.raises(ConfigurationError, match="commitments setup"):
        connector().pipeline_stages()


def test_given_usage_above_the_reserve_when_reading_then_the_run_stops_before_the_first_page(
    rsps: responses.RequestsMock,
) -> None:
    add_composite(rsps)  # the composite call carries the last Sforce-Limit-Info of its subrequests
    for sobject in (*DESCRIBED, *CHILD_DESCRIBED):
        rsps.get(
            f"{API}sobjects/{sobject}/describe",
            json=payload(f"describe_{sobject.lower()}.json"),
            headers={"Sforce-Limit-Info": "api-usage=4500/5000"},
        )
    rsps.get(
        f"{API}query/",
        json=payload("opportunity_stages.json"),
        headers={"Sforce-Limit-Info": "api-usage=4501/5000"},
    )
    sf = connector(session_config(api_reserve_fraction=0.2))

    with pytest.raises(BudgetExhaustedError, match="4501 of 5000"):
        next(sf.read_deals(None, datetime(2024, 6, 10, tzinfo=UTC)))
    budget = sf.budget()
    assert budget is not None
    assert budget.remaining_fraction < 0.2


def test_given_an_error_echoing_the_password_when_raised_then_the_secret_is_scrubbed(
    rsps: responses.RequestsMock,
) -> None:
    rsps.post("https://login.salesforce.com/services/Soap/u/61.0", body=text("login_soap_ok.xml"))
    echo = [{"errorCode": "MALFORMED_QUERY", "message": "unexpected token: 'hunter2-SECRET'"}]
    rsps.get(DESCRIBE, status=400, json=echo)
    add_discovery(rsps, skip=("Opportunity",))  # the call's other subrequests

    with pytest.raises(FatalError) as caught:
        connector(password_config()).pipeline_stages()

    assert "hunter2-SECRET" not in str(caught.value)
    assert "***" in str(caught.value)


def test_given_an_unreachable_org_when_reading_then_login_tried_max_attempts_times_and_host_named() -> None:
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()  # nothing listens there now: every connection is refused at once
    config = password_config(api_base_url=f"http://127.0.0.1:{port}", max_attempts=3)
    sf = SalesforceConnector(config, sleep=no_sleep)

    expected = rf"cannot reach Salesforce at 127\.0\.0\.1:{port}: ConnectionError"
    with pytest.raises(TransientError, match=expected):
        sf.pipeline_stages()

    assert sf.api_calls()["login"] == 3
    assert sf.api_calls().get("describe", 0) == 0


def test_given_the_daily_request_limit_used_up_when_logging_in_then_the_run_is_out_of_budget_at_once(
    rsps: responses.RequestsMock,
) -> None:
    limit = text("login_soap_invalid.xml").replace("INVALID_LOGIN", "REQUEST_LIMIT_EXCEEDED").replace(
        "Invalid username, password, security token; or user locked out.", "TotalRequests Limit exceeded."
    )
    rsps.post("https://login.salesforce.com/services/Soap/u/61.0", status=500, body=limit)
    sf = connector(password_config(max_attempts=3))

    with pytest.raises(BudgetExhaustedError, match="limit reached at the login of sync@acme"):
        sf.pipeline_stages()

    assert sf.api_calls()["login"] == 1  # no retry can succeed before the limit's 24-hour window moves


def test_given_a_query_answer_that_is_not_json_when_reading_then_it_is_retried(
    rsps: responses.RequestsMock,
) -> None:
    # A 200 whose body was cut short, or a proxy's HTML page, escaped as a raw requests JSONDecodeError: no
    # retry, and a traceback out of `commitments sync`.
    add_discovery(rsps)
    rsps.get(f"{API}queryAll/", body='{"totalSize": 1, "done": tr', status=200)
    rsps.get(f"{API}queryAll/", body="<html>Gateway says hello</html>", status=200)
    rsps.get(f"{API}queryAll/", json=payload("empty_query.json"))
    sf = connector()

    assert list(sf.read_deals(None, datetime(2024, 6, 10, tzinfo=UTC))) == []
    assert sf.api_calls()["query"] == 3  # the deals three times (the stages come with the describes)


def test_given_answers_that_stay_not_json_when_reading_then_the_run_stops_with_a_transient_error(
    rsps: responses.RequestsMock,
) -> None:
    add_discovery(rsps)
    rsps.get(f"{API}queryAll/", body="<html>Gateway says hello</html>", status=200)
    sf = connector(session_config(max_attempts=2))

    with pytest.raises(TransientError, match="not JSON"):
        list(sf.read_deals(None, datetime(2024, 6, 10, tzinfo=UTC)))
