"""The session given to simple-salesforce: default timeouts, base-URL rewrite, usage headers, login errors."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
import responses
from salesforce_support import password_config, text

from connectors.base import ConfigurationError, TransientError
from connectors.salesforce.client import UsageTracker, build_salesforce, build_session
from connectors.salesforce.config import SalesforceConfig
from worker.observability.redaction import Redactor


def login_failure(config: SalesforceConfig, error: type[Exception]) -> str:
    """The message of the `error` that logging in with `config` raises."""
    with pytest.raises(error) as caught:
        build_salesforce(config, build_session(config, UsageTracker()))
    return str(caught.value)


def test_given_a_base_url_when_a_salesforce_url_is_called_then_it_goes_to_the_base_keeping_path_and_query(
    rsps: responses.RequestsMock,
) -> None:
    config = password_config(api_base_url="http://127.0.0.1:8765/proxy", connect_timeout=3, read_timeout=7)
    session = build_session(config, UsageTracker())
    rsps.get("http://127.0.0.1:8765/proxy/services/data/v61.0/query/?q=SELECT+Id", json={"ok": True})

    session.get("https://acme.my.salesforce.com/services/data/v61.0/query/?q=SELECT+Id")

    assert rsps.calls[0].request.url == "http://127.0.0.1:8765/proxy/services/data/v61.0/query/?q=SELECT+Id"
    assert rsps.calls[0].request.req_kwargs["timeout"] == (3.0, 7.0)


def test_given_a_limit_header_when_a_response_arrives_then_the_budget_and_retry_after_are_tracked(
    rsps: responses.RequestsMock,
) -> None:
    tracker = UsageTracker()
    session = build_session(password_config(), tracker)
    rsps.get(
        "https://acme.my.salesforce.com/x",
        status=429,
        headers={"Sforce-Limit-Info": "api-usage=4100/5000", "Retry-After": "2"},
    )

    session.get("https://acme.my.salesforce.com/x")

    budget = tracker.budget()
    assert budget is not None
    assert (budget.used, budget.limit, tracker.retry_after) == (4100, 5000, 2.0)


def test_given_a_rejected_login_when_building_then_a_configuration_error_names_user_and_domain_not_secrets(
    rsps: responses.RequestsMock,
) -> None:
    config = password_config()
    login = "https://login.salesforce.com/services/Soap/u/61.0"
    rsps.post(login, status=500, body=text("login_soap_invalid.xml"))

    message = login_failure(config, ConfigurationError)
    assert "sync@acme.com" in message
    assert "login.salesforce.com" in message
    assert "security token" in message
    assert "SECRET" not in message


@pytest.mark.parametrize("body", ["<html><body>Sign in to the proxy</body></html>", "<soapenv:Envelope"])
def test_given_a_login_answered_with_a_page_not_from_salesforce_when_building_then_a_transient_error_names_it(
    rsps: responses.RequestsMock, body: str
) -> None:
    config = password_config()
    rsps.post("https://login.salesforce.com/services/Soap/u/61.0", status=200, body=body)

    message = login_failure(config, TransientError)
    assert "sync@acme.com" in message
    assert "not Salesforce's" in message
    assert "SECRET" not in message


def test_given_client_credentials_refused_by_an_endpoint_echoing_headers_when_scrubbed_then_no_credential(
    rsps: responses.RequestsMock,
) -> None:
    auth = {"mode": "client_credentials", "consumer_key": "3MVG9-key", "consumer_secret": "cs-SECRET"}
    config = SalesforceConfig.model_validate({"auth": {**auth, "domain": "acme.my"}})
    rsps.add_callback(
        responses.POST,
        "https://acme.my.salesforce.com/services/oauth2/token",
        callback=lambda request: (400, {}, json.dumps({
            "error": "invalid_grant", "error_description": f"you sent {dict(request.headers)}"
        })),
    )

    message = login_failure(config, ConfigurationError)

    basic = base64.b64encode(b"3MVG9-key:cs-SECRET").decode()
    assert basic in message  # the echo arrived ...
    shown = Redactor(["cs-SECRET"]).scrub(message)  # ... and what the CLI and runs.error show
    assert basic not in shown
    assert "Basic ***" in shown


def test_given_rejected_client_credentials_when_building_then_the_error_shows_no_part_of_the_consumer_key(
    rsps: responses.RequestsMock,
) -> None:
    auth = {"mode": "client_credentials", "consumer_key": "3MVG9zKEY0001", "consumer_secret": "cs-SECRET"}
    config = SalesforceConfig.model_validate({"auth": {**auth, "domain": "acme.my"}})
    rsps.post(
        "https://acme.my.salesforce.com/services/oauth2/token",
        status=400,
        json={"error": "invalid_client_id", "error_description": "client identifier invalid"},
    )

    message = login_failure(config, ConfigurationError)
    assert "acme.my.salesforce.com" in message
    assert "client credentials" in message
    assert "3MVG9" not in message
    assert "KEY" not in message


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("missing.pem", "cannot read the JWT private key file"),
        (".", "cannot read the JWT private key file"),
        ("server.crt", "is not an unencrypted PEM private key"),
        (None, "the JWT signing key (private_key) is not an unencrypted PEM private key"),
    ],
)
def test_given_an_unusable_jwt_key_when_building_then_a_configuration_error_names_the_key_not_its_text(
    rsps: responses.RequestsMock, tmp_path: Path, key: str | None, expected: str
) -> None:
    certificate = "-----BEGIN CERTIFICATE-----\nMIIC-SECRET\n-----END CERTIFICATE-----\n"
    (tmp_path / "server.crt").write_text(certificate)
    source = {"private_key_file": str(tmp_path / key)} if key else {"private_key": "not-a-key-SECRET"}
    auth = {"mode": "jwt", "username": "sync@acme.com", "consumer_key": "ck", **source}
    config = SalesforceConfig.model_validate({"auth": auth})

    message = login_failure(config, ConfigurationError)
    assert expected in message
    assert source.get("private_key_file", "private_key") in message
    assert "SECRET" not in message
