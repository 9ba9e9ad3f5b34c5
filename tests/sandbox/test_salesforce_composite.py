"""The Composite resource: GET subrequests answered as the direct routes answer them, in one counted call."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote_plus

from simple_salesforce.api import Salesforce

from sandbox.salesforce import SalesforceSandbox

V = "/services/data/v61.0"


def _query(reference: str, soql: str, every: bool = False, **headers: str) -> dict[str, Any]:
    resource = "queryAll" if every else "query"
    url = f"{V}/{resource}/?q={quote_plus(soql)}"
    sub: dict[str, Any] = {"method": "GET", "url": url, "referenceId": reference}
    if headers:
        sub["httpHeaders"] = headers
    return sub


def _describe(reference: str, sobject: str) -> dict[str, Any]:
    return {"method": "GET", "url": f"{V}/sobjects/{sobject}/describe", "referenceId": reference}


def _composite(sf: Salesforce, subrequests: list[dict[str, Any]], **options: Any) -> Any:
    return sf.restful("composite", method="POST", json={"allOrNone": False, **options,
                                                         "compositeRequest": subrequests})


def test_given_describes_and_queries_when_sent_as_one_composite_then_answers_come_in_order_as_one_call(
    salesforce_sandbox: SalesforceSandbox, sf: Salesforce
) -> None:
    direct = sf.query_all("SELECT Id FROM Opportunity ORDER BY Id", include_deleted=True)
    described = sf.Opportunity.describe()
    salesforce_sandbox.app.reset_calls()
    used = salesforce_sandbox.store.org["api_used"]

    answer = _composite(sf, [
        _describe("opportunity", "Opportunity"),
        _query("ids", "SELECT Id FROM Opportunity ORDER BY Id", every=True),
        _describe("task", "Task"),
    ])

    results = answer["compositeResponse"]
    assert [(r["referenceId"], r["httpStatusCode"]) for r in results] == [
        ("opportunity", 200), ("ids", 200), ("task", 200)
    ]
    assert results[0]["body"]["fields"] == described["fields"]
    assert results[1]["body"]["records"] == direct["records"]
    assert results[2]["body"]["name"] == "Task"
    assert dict(salesforce_sandbox.app.calls) == {"composite": 1}
    assert salesforce_sandbox.store.org["api_used"] == used + 1


def test_given_a_batch_size_header_on_a_subrequest_when_querying_then_the_page_is_cut_and_continues(
    salesforce_sandbox: SalesforceSandbox, sf: Salesforce
) -> None:
    for index in range(250):
        sf.Contact.create({"LastName": f"Buyer {index}"})

    answer = _composite(sf, [_query("contacts", "SELECT Id FROM Contact", **{
        "Sforce-Query-Options": "batchSize=200"})])

    page = answer["compositeResponse"][0]["body"]
    assert (len(page["records"]), page["done"]) == (200, False)
    rest = sf.query_more(page["nextRecordsUrl"], identifier_is_url=True)
    assert len(rest["records"]) == page["totalSize"] - 200


def test_given_failing_subrequests_when_sent_then_each_answers_its_own_error_and_the_others_their_result(
    salesforce_sandbox: SalesforceSandbox, sf: Salesforce
) -> None:
    answer = _composite(sf, [
        _describe("secret", "NoSuchObject__c"),
        _query("bad", "SELECT Nope FROM Opportunity"),
        _query("good", "SELECT Id FROM Opportunity"),
    ])

    results = answer["compositeResponse"]
    codes = [(r["referenceId"], r["httpStatusCode"], r["body"][0]["errorCode"] if r["httpStatusCode"] >= 400
              else None) for r in results]
    assert codes == [("secret", 404, "NOT_FOUND"), ("bad", 400, "INVALID_FIELD"), ("good", 200, None)]


def test_given_all_or_none_and_a_failing_subrequest_when_sent_then_the_others_are_halted(
    salesforce_sandbox: SalesforceSandbox, sf: Salesforce
) -> None:
    answer = _composite(sf, [_query("bad", "SELECT Nope FROM Opportunity"), _describe("task", "Task")],
                        allOrNone=True)

    codes = [(r["httpStatusCode"], r["body"][0]["errorCode"]) for r in answer["compositeResponse"]]
    assert codes == [(400, "INVALID_FIELD"), (400, "PROCESSING_HALTED")]


def test_given_more_than_25_subrequests_or_6_queries_when_sent_then_the_call_is_refused_whole(
    salesforce_sandbox: SalesforceSandbox, sf: Salesforce
) -> None:
    describes = [_describe(f"d{i}", "Task") for i in range(26)]
    queries = [_query(f"q{i}", "SELECT Id FROM Opportunity", every=bool(i % 2)) for i in range(6)]
    responses = []
    for subrequests in (describes, queries, [*describes[:20], *queries[:5]]):
        url = f"{sf.base_url}composite"
        body = {"allOrNone": False, "compositeRequest": subrequests}
        responses.append(sf.session.post(url, headers=sf.headers, json=body))

    assert [r.status_code for r in responses] == [400, 400, 200]
    assert [r.json()[0]["errorCode"] for r in responses[:2]] == ["LIMIT_EXCEEDED", "LIMIT_EXCEEDED"]
    assert "limit 25" in responses[0].json()[0]["message"]
    assert "limit 5" in responses[1].json()[0]["message"]


def test_given_a_fault_queued_for_a_subrequest_route_when_sent_then_that_subrequest_alone_answers_it(
    salesforce_sandbox: SalesforceSandbox, sf: Salesforce
) -> None:
    salesforce_sandbox.app.faults.queue("server_error", "query_all")

    answer = _composite(sf, [
        _query("changes", "SELECT Id FROM Opportunity"),
        _query("archived", "SELECT Id FROM Task", every=True),
    ])

    results = answer["compositeResponse"]
    assert [r["httpStatusCode"] for r in results] == [200, 503]
    assert results[1]["body"][0]["errorCode"] == "SERVER_UNAVAILABLE"


def test_given_a_fault_for_the_composite_route_when_sent_then_the_whole_call_answers_it(
    salesforce_sandbox: SalesforceSandbox, sf: Salesforce
) -> None:
    salesforce_sandbox.app.faults.queue("server_error", "composite")
    body = {"allOrNone": False, "compositeRequest": [_describe("task", "Task")]}

    response = sf.session.post(f"{sf.base_url}composite", headers=sf.headers, json=body)

    assert response.status_code == 503
    assert response.json()[0]["errorCode"] == "SERVER_UNAVAILABLE"


def _next_of(reference: str, previous: str) -> dict[str, Any]:
    return {"method": "GET", "url": f"@{{{previous}.nextRecordsUrl}}", "referenceId": reference,
            "httpHeaders": {"Sforce-Query-Options": "batchSize=200"}}


def test_given_subrequests_naming_the_page_before_when_sent_then_each_answers_the_next_page_until_the_last(
    salesforce_sandbox: SalesforceSandbox, sf: Salesforce
) -> None:
    for index in range(450):
        sf.Contact.create({"LastName": f"Buyer {index}"})
    first = sf.query("SELECT Id FROM Contact ORDER BY Id", headers={"Sforce-Query-Options": "batchSize=200"})
    salesforce_sandbox.app.reset_calls()

    answer = _composite(sf, [
        {"method": "GET", "url": first["nextRecordsUrl"], "referenceId": "p1",
         "httpHeaders": {"Sforce-Query-Options": "batchSize=200"}},
        _next_of("p2", "p1"), _next_of("p3", "p2"), _next_of("p4", "p3"),
    ])

    results = answer["compositeResponse"]
    assert [r["httpStatusCode"] for r in results] == [200, 200, 400, 400]
    pages = [r["body"] for r in results[:2]]
    total = first["totalSize"]
    assert [(len(p["records"]), p["done"]) for p in pages] == [(200, False), (total - 400, True)]
    ids = [r["Id"] for r in first["records"]] + [r["Id"] for p in pages for r in p["records"]]
    assert len(set(ids)) == len(ids) == total
    # the last page names no next one: what depends on it is not run
    assert {r["body"][0]["errorCode"] for r in results[2:]} == {"PROCESSING_HALTED"}
    assert dict(salesforce_sandbox.app.calls) == {"composite": 1}
