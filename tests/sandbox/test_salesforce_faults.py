"""Injected faults answer in Salesforce's shapes, so the connector's error table sees what a real org does."""

from __future__ import annotations

import pytest
import requests
from simple_salesforce.api import Salesforce
from simple_salesforce.exceptions import (
    SalesforceGeneralError,
    SalesforceMalformedRequest,
    SalesforceRefusedRequest,
)
from zeep.exceptions import Fault

from sandbox.salesforce import SalesforceSandbox
from sandbox.salesforce.testing import route_metadata_api


def test_given_rate_limit_fault_when_querying_then_403_concurrent_request_limit(
    salesforce_sandbox: SalesforceSandbox, sf: Salesforce
) -> None:
    salesforce_sandbox.app.faults.queue("rate_limit", "query")
    with pytest.raises(SalesforceRefusedRequest) as caught:
        sf.query("SELECT Id FROM Opportunity")
    assert caught.value.content == [
        {
            "message": "ConcurrentRequests (Concurrent API Requests) Limit exceeded.",
            "errorCode": "REQUEST_LIMIT_EXCEEDED",
        }
    ]


def test_given_429_style_when_rate_limited_then_retry_after_header(
    salesforce_sandbox: SalesforceSandbox, sf: Salesforce
) -> None:
    salesforce_sandbox.style.rate_limit_status = 429
    salesforce_sandbox.style.retry_after = 7
    salesforce_sandbox.app.faults.queue("rate_limit", "limits")
    response = sf.session.get(f"{sf.base_url}limits", headers=sf.headers)
    assert (response.status_code, response.headers["Retry-After"]) == (429, "7")
    assert response.json()[0]["errorCode"] == "REQUEST_LIMIT_EXCEEDED"


@pytest.mark.parametrize(("status", "code"), [(503, "SERVER_UNAVAILABLE"), (500, "UNKNOWN_EXCEPTION")])
def test_given_server_error_fault_when_calling_then_general_error_with_salesforce_body(
    salesforce_sandbox: SalesforceSandbox, sf: Salesforce, status: int, code: str
) -> None:
    salesforce_sandbox.style.server_error_status = status
    salesforce_sandbox.app.faults.queue("server_error", "composite_update")
    with pytest.raises(SalesforceGeneralError) as caught:
        sf.restful("composite/sobjects", method="PATCH", json={"allOrNone": False, "records": []})
    assert caught.value.status == status
    assert caught.value.content[0]["errorCode"] == code


def test_given_drop_fault_when_calling_then_connection_error(
    salesforce_sandbox: SalesforceSandbox, sf: Salesforce
) -> None:
    salesforce_sandbox.app.faults.queue("drop", "query")
    with pytest.raises(requests.ConnectionError):
        sf.query("SELECT Id FROM Opportunity")
    assert sf.query("SELECT COUNT() FROM Opportunity")["totalSize"] == 5


def test_given_query_timeout_fault_when_querying_then_400_query_timeout(
    salesforce_sandbox: SalesforceSandbox, sf: Salesforce
) -> None:
    salesforce_sandbox.app.faults.queue("query_timeout", "query_all")
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.query_all("SELECT Id FROM Opportunity", include_deleted=True)
    assert caught.value.content == [
        {"message": "Your query request was running for too long.", "errorCode": "QUERY_TIMEOUT"}
    ]
    assert sf.query("SELECT COUNT() FROM Opportunity")["totalSize"] == 5


def test_given_daily_limit_exhausted_when_calling_then_total_requests_refused(
    salesforce_sandbox: SalesforceSandbox, sf: Salesforce
) -> None:
    salesforce_sandbox.store.exhaust_daily_limit()
    with pytest.raises(SalesforceRefusedRequest) as caught:
        sf.query("SELECT Id FROM Opportunity")
    assert caught.value.content == [
        {"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}
    ]
    response = sf.session.get(f"{sf.base_url}limits", headers=sf.headers)
    assert response.headers["Sforce-Limit-Info"] == "api-usage=15000/15000"


def test_given_expired_session_fault_on_metadata_call_when_upserting_then_soap_fault(
    salesforce_sandbox: SalesforceSandbox, sf: Salesforce
) -> None:
    route_metadata_api(sf, salesforce_sandbox.url)
    salesforce_sandbox.app.faults.queue("expired_session", "metadata")
    with pytest.raises(Fault, match="INVALID_SESSION_ID"):
        sf.mdapi.CustomField.read(["Opportunity.X__c"])
    assert salesforce_sandbox.store.session_user(sf.session_id) is None
