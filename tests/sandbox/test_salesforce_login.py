"""The Salesforce sandbox's logins and sessions, driven through simple-salesforce itself."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import requests
from simple_salesforce.api import Salesforce
from simple_salesforce.exceptions import SalesforceAuthenticationFailed, SalesforceExpiredSession

from sandbox.salesforce import SalesforceSandbox, start_salesforce_sandbox
from sandbox.salesforce.testing import password_login, rsa_key_pair, sandbox_session


def _jwt_client(
    sandbox: SalesforceSandbox, private_key: str, username: str | None = None, consumer_key: str | None = None
) -> Salesforce:
    creds = sandbox.credentials
    return Salesforce(
        username=username or creds["username"],
        consumer_key=consumer_key or creds["consumer_key"],
        privatekey=private_key,
        version="61.0",
        session=sandbox_session(sandbox.url),
    )


def _client_credentials(sandbox: SalesforceSandbox, secret: str) -> Salesforce:
    creds = sandbox.credentials
    return Salesforce(
        consumer_key=creds["consumer_key"],
        consumer_secret=secret,
        domain=creds["client_credentials_domain"],
        session=sandbox_session(sandbox.url),
    )


def _direct_session(sandbox: SalesforceSandbox) -> Salesforce:
    creds = sandbox.credentials
    return Salesforce(
        session_id=creds["session_id"],
        instance_url=creds["instance_url"],
        session=sandbox_session(sandbox.url),
    )


def test_given_right_password_and_token_when_soap_login_then_queries_work(sf: Salesforce) -> None:
    assert sf.auth_type == "password"
    assert sf.sf_instance == "commitments-sandbox.my.salesforce.com"
    assert sf.query("SELECT COUNT() FROM Opportunity")["totalSize"] == 5


def test_given_wrong_password_when_soap_login_then_invalid_login_fault(
    salesforce_sandbox: SalesforceSandbox,
) -> None:
    creds = salesforce_sandbox.credentials
    with pytest.raises(SalesforceAuthenticationFailed) as caught:
        Salesforce(
            username=creds["username"],
            password="wrong",
            security_token=creds["security_token"],
            session=sandbox_session(salesforce_sandbox.url),
        )
    assert caught.value.code == "INVALID_LOGIN"
    assert "Invalid username, password, security token" in str(caught.value)


def test_given_registered_public_key_when_jwt_login_then_session_issued(
    salesforce_sandbox: SalesforceSandbox,
) -> None:
    private, public = rsa_key_pair()
    salesforce_sandbox.register_jwt_public_key(public)
    sf = _jwt_client(salesforce_sandbox, private)
    assert sf.auth_type == "jwt-bearer"
    assert sf.query("SELECT Id FROM User WHERE Username = 'ann@seller.test'")["totalSize"] == 1


@pytest.mark.parametrize(
    ("case", "error"),
    [("wrong key", "invalid_grant"), ("wrong issuer", "invalid_client_id")],
)
def test_given_bad_assertion_when_jwt_login_then_oauth_error(
    salesforce_sandbox: SalesforceSandbox, case: str, error: str
) -> None:
    private, public = rsa_key_pair()
    salesforce_sandbox.register_jwt_public_key(public if case != "wrong key" else rsa_key_pair()[1])
    consumer_key = "another-app" if case == "wrong issuer" else None
    with pytest.raises(SalesforceAuthenticationFailed) as caught:
        _jwt_client(salesforce_sandbox, private, consumer_key=consumer_key)
    assert caught.value.code == error


def test_given_unknown_user_when_jwt_login_then_not_approved_error_as_salesforce_says(
    salesforce_sandbox: SalesforceSandbox,
) -> None:
    private, public = rsa_key_pair()
    salesforce_sandbox.register_jwt_public_key(public)
    # simple-salesforce warns with authorization instructions on exactly this description
    with (
        pytest.warns(UserWarning, match="authorize this"),
        pytest.raises(SalesforceAuthenticationFailed) as caught,
    ):
        _jwt_client(salesforce_sandbox, private, "nobody@nowhere.test")
    assert caught.value.code == "invalid_grant"


def test_given_consumer_key_and_secret_when_client_credentials_then_session_issued(
    salesforce_sandbox: SalesforceSandbox,
) -> None:
    sf = _client_credentials(salesforce_sandbox, salesforce_sandbox.credentials["consumer_secret"])
    assert sf.auth_type == "client-credentials"
    assert sf.query("SELECT COUNT() FROM Account")["totalSize"] == 1


def test_given_wrong_secret_when_client_credentials_then_invalid_client(
    salesforce_sandbox: SalesforceSandbox,
) -> None:
    with pytest.raises(SalesforceAuthenticationFailed) as caught:
        _client_credentials(salesforce_sandbox, "nope")
    assert caught.value.code == "invalid_client"


def test_given_no_bearer_token_when_rest_call_then_401_invalid_session(
    salesforce_sandbox: SalesforceSandbox,
) -> None:
    response = requests.get(f"{salesforce_sandbox.url}/services/data/v61.0/limits", timeout=5)
    assert response.status_code == 401
    assert response.json() == [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]


def test_given_session_id_from_credentials_when_direct_login_then_it_works(
    salesforce_sandbox: SalesforceSandbox,
) -> None:
    sf = _direct_session(salesforce_sandbox)
    assert sf.limits()["DailyApiRequests"]["Max"] == 15000


def test_given_expired_session_fault_when_querying_then_client_logs_in_again(
    salesforce_sandbox: SalesforceSandbox, sf: Salesforce
) -> None:
    old_session = sf.session_id
    salesforce_sandbox.app.faults.queue("expired_session", "query")
    assert sf.query("SELECT COUNT() FROM Contact")["totalSize"] == 4
    assert sf.session_id != old_session
    assert salesforce_sandbox.store.session_user(old_session) is None  # really revoked
    assert salesforce_sandbox.app.calls["login_soap"] == 2


def test_given_revoked_session_when_direct_session_client_calls_then_expired_session_raised(
    salesforce_sandbox: SalesforceSandbox,
) -> None:
    sf = _direct_session(salesforce_sandbox)
    salesforce_sandbox.store.expire_all_sessions()
    with pytest.raises(SalesforceExpiredSession):
        sf.query("SELECT Id FROM Opportunity")


def test_given_session_timeout_when_idle_too_long_then_session_invalid_and_client_logs_in_again() -> None:
    now = [datetime(2025, 3, 1, tzinfo=UTC)]
    with start_salesforce_sandbox(deals=0, clock=lambda: now[0], session_timeout=7200) as sandbox:
        sf = password_login(sandbox.credentials)
        first = sf.session_id
        now[0] += timedelta(hours=1)
        sf.query("SELECT COUNT() FROM User")
        now[0] += timedelta(hours=1, minutes=59)  # still within 2 h of the last use
        sf.query("SELECT COUNT() FROM User")
        assert sf.session_id == first
        now[0] += timedelta(hours=3)
        sf.query("SELECT COUNT() FROM User")
        assert sf.session_id != first
        assert sandbox.store.session_user(first) is None
