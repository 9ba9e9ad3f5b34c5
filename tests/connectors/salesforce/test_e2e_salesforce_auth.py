"""End to end: each auth mode logs in through the sandbox; a rejected login is one clear message."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from salesforce_e2e_support import PLAYBOOK, start_org

from connectors.base import ConfigurationError
from connectors.salesforce import SalesforceConfig, SalesforceConnector
from sandbox.salesforce import SalesforceSandbox
from sandbox.salesforce.testing import rsa_key_pair


@pytest.fixture(scope="module")
def org() -> Iterator[SalesforceSandbox]:
    box, _ = start_org(deals=3)
    yield box
    box.stop()


def _connect(box: SalesforceSandbox, auth: dict[str, Any]) -> SalesforceConnector:
    config = SalesforceConfig.model_validate({"auth": auth, "api_base_url": box.url, "max_attempts": 2})
    return SalesforceConnector(config)


def test_given_a_jwt_signed_by_the_registered_key_when_connecting_then_the_org_is_read(
    org: SalesforceSandbox,
) -> None:
    private, public = rsa_key_pair()
    org.register_jwt_public_key(public)
    creds = org.credentials
    try:
        sf = _connect(
            org,
            {
                "mode": "jwt",
                "username": creds["username"],
                "consumer_key": creds["consumer_key"],
                "private_key": private,
                "my_domain": "commitments-sandbox.my",
            },
        )

        assert sf.pipeline_stages()["salesforce"][0] == "Prospecting"
        assert sf.api_calls()["login"] == 1
    finally:
        org.store.org["jwt_public_key"] = None


@pytest.mark.parametrize("mode", ["client_credentials", "session"])
def test_given_other_auth_modes_when_connecting_then_the_org_is_read(
    org: SalesforceSandbox, mode: str
) -> None:
    creds = org.credentials
    auth = (
        {
            "mode": mode,
            "consumer_key": creds["consumer_key"],
            "consumer_secret": creds["consumer_secret"],
            "domain": creds["client_credentials_domain"],
        }
        if mode == "client_credentials"
        else {"mode": mode, "session_id": creds["session_id"], "instance_url": creds["instance_url"]}
    )

    assert _connect(org, auth).pipeline_stages()["salesforce"][-1] == "Closed Lost"


def test_given_a_wrong_password_when_connecting_then_one_clear_error_without_the_secret(
    org: SalesforceSandbox,
) -> None:
    creds = org.credentials
    sf = _connect(
        org,
        {
            "mode": "password",
            "username": creds["username"],
            "password": "wrong-Pa55",
            "security_token": "wrong-T0ken",
        },
    )

    with pytest.raises(ConfigurationError) as caught:
        sf.pipeline_stages()

    message = str(caught.value)
    assert creds["username"] in message
    assert "security token" in message
    assert "wrong-Pa55" not in message
    assert "wrong-T0ken" not in message
    # the login went to api_base_url: the message names that host, not login.salesforce.com
    assert f"at {org.url.removeprefix('http://').rstrip('/')} (INVALID_LOGIN" in message
    assert "login.salesforce.com" not in message


def test_given_client_credentials_when_setup_runs_then_the_named_integration_user_gets_the_permission_set(
    org: SalesforceSandbox,
) -> None:
    creds = org.credentials
    auth = {
        "mode": "client_credentials",
        "consumer_key": creds["consumer_key"],
        "consumer_secret": creds["consumer_secret"],
        "domain": creds["client_credentials_domain"],
    }
    config = SalesforceConfig.model_validate(
        {"auth": auth, "api_base_url": org.url, "integration_user": creds["username"]}
    )

    report = SalesforceConnector(config).setup(PLAYBOOK, dry_run=False)

    assignment = next(c for c in report.changes if c.kind == "permission_assignment")
    assert assignment.name.endswith(creds["username"])
    assert SalesforceConnector(config).schema().has("Opportunity", "Commitment_Score__c")
