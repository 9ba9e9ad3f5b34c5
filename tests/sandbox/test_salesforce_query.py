"""SOQL through simple-salesforce against the Salesforce sandbox: shapes, filters, paging, errors, speed."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest
from simple_salesforce import format_soql
from simple_salesforce.api import Salesforce
from simple_salesforce.exceptions import SalesforceGeneralError, SalesforceMalformedRequest

from sandbox.book import Book
from sandbox.generator import generate_book
from sandbox.salesforce import SalesforceSandbox, start_salesforce_sandbox
from sandbox.salesforce.testing import password_login

SUBQUERIES = (
    "(SELECT ContactId, Contact.Name, Contact.Title, Role, IsPrimary FROM OpportunityContactRoles), "
    "(SELECT Id, Subject, Status, TaskSubtype, What.Type FROM Tasks), "
    "(SELECT Id, Subject, StartDateTime, EndDateTime FROM Events), "
    "(SELECT StageName, CreatedDate FROM OpportunityHistories ORDER BY CreatedDate), "
    "(SELECT Id, Name, Quantity, UnitPrice, TotalPrice FROM OpportunityLineItems), "
    "(SELECT Id, Status FROM Quotes)"
)


@pytest.fixture(scope="module")
def big_org() -> Iterator[SalesforceSandbox]:
    # 400 generated deals carry ~16,000 child rows: plenty to fill 2,000-row pages
    with start_salesforce_sandbox(generate_book(deals=400, seed=11)) as sandbox:
        yield sandbox


def _is_child_result(value: object) -> bool:
    return isinstance(value, dict) and "records" in value


def _names(result: dict) -> list[str]:
    return [r["Name"] for r in result["records"]]


def test_given_opportunity_with_children_when_queried_with_subqueries_then_nested_results(
    sf: Salesforce,
) -> None:
    result = sf.query(
        f"SELECT Id, Name, Owner.Name, Account.Name, {SUBQUERIES} FROM Opportunity WHERE Name = 'Deal 2'"
    )
    [opp] = result["records"]
    assert opp["attributes"] == {
        "type": "Opportunity",
        "url": f"/services/data/v61.0/sobjects/Opportunity/{opp['Id']}",
    }
    assert opp["Owner"]["Name"] == "Ann Rep"
    assert opp["Account"]["Name"] == "Acme"
    roles = opp["OpportunityContactRoles"]
    assert (roles["totalSize"], roles["done"]) == (3, True)
    assert {r["Role"] for r in roles["records"]} == {"Decision Maker", "Champion", None}
    assert roles["records"][0]["Contact"]["Title"] == "VP Sales"
    assert {t["TaskSubtype"] for t in opp["Tasks"]["records"]} == {"Call", "Task"}
    assert opp["Tasks"]["records"][0]["What"] == {
        "attributes": {"type": "Name", "url": f"/services/data/v61.0/sobjects/Opportunity/{opp['Id']}"},
        "Type": "Opportunity",
    }
    assert [h["StageName"] for h in opp["OpportunityHistories"]["records"]] == [
        "Prospecting",
        "Needs Analysis",
    ]
    assert opp["OpportunityLineItems"]["records"][0]["TotalPrice"] == 100.0
    assert opp["Quotes"]["records"][0]["Status"] == "Presented"


def test_given_opportunity_without_children_when_subqueried_then_relationships_are_null(
    sf: Salesforce,
) -> None:
    account = sf.query("SELECT Id FROM Account")["records"][0]["Id"]
    created = sf.Opportunity.create(
        {"Name": "Empty", "StageName": "Prospecting", "CloseDate": "2025-09-01", "AccountId": account}
    )
    [opp] = sf.query(f"SELECT Id, {SUBQUERIES} FROM Opportunity WHERE Id = '{created['id']}'")["records"]
    relationships = ("OpportunityContactRoles", "Tasks", "Events", "OpportunityLineItems", "Quotes")
    assert all(opp[name] is None for name in relationships)
    assert opp["OpportunityHistories"]["totalSize"] == 1  # the platform records the first stage


def test_given_long_child_list_when_queried_then_child_page_has_next_records_url(
    salesforce_sandbox: SalesforceSandbox, sf: Salesforce
) -> None:
    salesforce_sandbox.store.child_page_size = 2
    [opp] = sf.query(
        "SELECT Id, (SELECT Id, Role FROM OpportunityContactRoles ORDER BY Role NULLS LAST) "
        "FROM Opportunity WHERE Name = 'Deal 1'"
    )["records"]
    roles = opp["OpportunityContactRoles"]
    assert (roles["totalSize"], roles["done"], len(roles["records"])) == (3, False, 2)
    assert roles["nextRecordsUrl"].startswith("/services/data/v61.0/query/01g")
    rest = sf.query_more(roles["nextRecordsUrl"], identifier_is_url=True)
    assert rest["done"] is True
    assert [r["Role"] for r in roles["records"] + rest["records"]] == ["Champion", "Decision Maker", None]


def test_given_more_rows_than_batch_when_query_all_iter_then_pages_follow_next_records_url(
    big_org: SalesforceSandbox,
) -> None:
    sf = password_login(big_org.credentials)
    options = {"Sforce-Query-Options": "batchSize=200"}
    first = sf.query("SELECT Id, (SELECT Id FROM Tasks) FROM Opportunity", headers=options)
    assert first["done"] is False
    assert first["totalSize"] == 400
    rows_on_page = sum(1 + (r["Tasks"] or {"records": []})["totalSize"] for r in first["records"])
    assert rows_on_page <= 200  # children count toward the batch
    assert first["nextRecordsUrl"].endswith(f"-{len(first['records'])}")
    ids = [r["Id"] for r in sf.query_all_iter("SELECT Id FROM Opportunity", headers=options)]
    assert len(ids) == len(set(ids)) == 400
    again = sf.query_more(first["nextRecordsUrl"], identifier_is_url=True, headers=options)
    assert again == sf.query_more(first["nextRecordsUrl"], identifier_is_url=True, headers=options)


def test_given_2000_row_page_with_five_subqueries_when_queried_then_one_page_holds_the_batch(
    big_org: SalesforceSandbox,
) -> None:
    # How fast such a page is served is measured by bench/sandbox.py (target < 0.5 s), not asserted here:
    # a timing in a test fails on a busy machine without anything being wrong.
    sf = password_login(big_org.credentials)
    fields = "Id, Name, StageName, IsClosed, IsWon, Amount, CloseDate, Owner.Name, SystemModstamp"
    page = sf.query(f"SELECT {fields}, {SUBQUERIES} FROM Opportunity ORDER BY SystemModstamp, Id")
    children = sum(len(v["records"]) for r in page["records"] for v in r.values() if _is_child_result(v))
    assert len(page["records"]) + children >= 1900


def test_given_deleted_record_when_query_and_query_all_then_only_query_all_sees_it(sf: Salesforce) -> None:
    victim = sf.query("SELECT Id FROM Opportunity WHERE Name = 'Deal 3'")["records"][0]["Id"]
    assert sf.Opportunity.delete(victim) == 204
    assert sf.query("SELECT COUNT() FROM Opportunity")["totalSize"] == 4
    every = sf.query_all("SELECT Id, IsDeleted FROM Opportunity", include_deleted=True)["records"]
    assert {r["Id"]: r["IsDeleted"] for r in every}[victim] is True
    assert len(every) == 5


T0 = datetime(2025, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ("StageName IN ('Qualification', 'Needs Analysis')", ["Deal 1", "Deal 2"]),
        ("StageName NOT IN ('Qualification', 'Needs Analysis')", ["Deal 3", "Deal 4", "Deal 5"]),
        ("NOT (StageName = 'Qualification') AND Amount > 3000", ["Deal 4", "Deal 5"]),
        ("(Amount <= 1000 OR Amount >= 5000) AND IsClosed = false", ["Deal 1", "Deal 5"]),
        ("Name LIKE 'deal _'", ["Deal 1", "Deal 2", "Deal 3", "Deal 4", "Deal 5"]),
        ("Name LIKE '%4'", ["Deal 4"]),
        ("NextStep = null", ["Deal 2", "Deal 4"]),
        ("NextStep != null AND Amount < 5000", ["Deal 1", "Deal 3"]),
        (
            "CloseDate = 2025-06-01 AND Owner.Name = 'ann rep'",
            ["Deal 1", "Deal 2", "Deal 3", "Deal 4", "Deal 5"],
        ),
        ("Amount > 2500.5", ["Deal 3", "Deal 4", "Deal 5"]),
        ("Account.Name = 'Nobody'", []),
    ],
)
def test_given_where_clause_when_queried_then_matching_rows(
    sf: Salesforce, where: str, expected: list[str]
) -> None:
    assert sorted(_names(sf.query(f"SELECT Name FROM Opportunity WHERE {where}"))) == expected


def test_given_format_soql_datetime_when_filtering_modstamp_then_compares_as_utc(
    salesforce_sandbox: SalesforceSandbox, sf: Salesforce
) -> None:
    stamps = sorted(r["SystemModstamp"] for r in salesforce_sandbox.store.tables["Opportunity"].values())
    since = datetime.fromisoformat(stamps[2].replace("+0000", "+00:00"))
    query = format_soql(
        "SELECT Name FROM Opportunity WHERE SystemModstamp >= {} ORDER BY SystemModstamp", since
    )
    assert "+00:00" in query
    assert _names(sf.query(query)) == ["Deal 3", "Deal 4", "Deal 5"]
    zulu = "SELECT COUNT() FROM Opportunity WHERE SystemModstamp > 2025-01-04T00:00:00Z"
    assert sf.query(zulu)["totalSize"] == 2


def test_given_order_by_with_nulls_and_limit_when_queried_then_sorted(sf: Salesforce) -> None:
    assert _names(sf.query("SELECT Name FROM Opportunity ORDER BY Amount DESC LIMIT 2")) == [
        "Deal 5",
        "Deal 4",
    ]
    nulls_last = _names(sf.query("SELECT Name FROM Opportunity ORDER BY NextStep ASC NULLS LAST, Name DESC"))
    assert nulls_last == ["Deal 5", "Deal 3", "Deal 1", "Deal 4", "Deal 2"]
    assert _names(sf.query("SELECT Name FROM Opportunity ORDER BY Name LIMIT 2 OFFSET 1")) == [
        "Deal 2",
        "Deal 3",
    ]


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("SELECT Id FROM", "MALFORMED_QUERY"),
        ("SELECT Id, FROM Opportunity", "MALFORMED_QUERY"),
        ("SELECT Id FROM Opportunity WHERE Amount >", "MALFORMED_QUERY"),
        ("SELECT Bogus__c FROM Opportunity", "INVALID_FIELD"),
        ("SELECT Owner.Bogus FROM Opportunity", "INVALID_FIELD"),
        ("SELECT Id FROM Widget__c", "INVALID_TYPE"),
        ("SELECT Id, (SELECT Id FROM Bogus) FROM Opportunity", "INVALID_TYPE"),
        ("SELECT Id FROM Opportunity WHERE CloseDate = '2025-01-01'", "INVALID_QUERY_FILTER_OPERATOR"),
    ],
)
def test_given_bad_soql_when_queried_then_malformed_request_with_salesforce_code(
    sf: Salesforce, query: str, code: str
) -> None:
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.query(query)
    assert caught.value.status == 400
    assert caught.value.content[0]["errorCode"] == code
    assert "ERROR at Row:1:Column:" in caught.value.content[0]["message"]


def test_given_calls_when_made_then_sforce_limit_info_parsed_into_api_usage(sf: Salesforce) -> None:
    sf.query("SELECT COUNT() FROM Task")
    first = sf.api_usage["api-usage"]
    sf.query("SELECT COUNT() FROM Event")
    assert sf.api_usage["api-usage"].used == first.used + 1
    assert sf.api_usage["api-usage"].total == 15000
    assert sf.limits()["DailyApiRequests"]["Remaining"] == 15000 - first.used - 2


def test_given_archived_activity_when_query_and_query_all_then_only_query_all_sees_it(
    salesforce_sandbox: SalesforceSandbox, sf: Salesforce
) -> None:
    task = sf.query("SELECT Id, WhatId FROM Task WHERE Subject = 'Send deck' LIMIT 1")["records"][0]
    salesforce_sandbox.store.archive([task["Id"]])
    subquery = f"SELECT (SELECT Id FROM Tasks) FROM Opportunity WHERE Id = '{task['WhatId']}'"
    assert task["Id"] not in {t["Id"] for t in sf.query(subquery)["records"][0]["Tasks"]["records"]}
    every = sf.query_all(subquery, include_deleted=True)["records"][0]["Tasks"]["records"]
    assert task["Id"] in {t["Id"] for t in every}
    assert sf.query("SELECT COUNT() FROM Task")["totalSize"] == 9
    assert sf.query("SELECT COUNT() FROM Task", include_deleted=True)["totalSize"] == 10


def test_given_semi_join_when_queried_then_parents_of_matching_children(sf: Salesforce) -> None:
    query = (
        "SELECT Name FROM Opportunity WHERE Id IN (SELECT OpportunityId FROM OpportunityContactRole "
        "WHERE Role = 'Champion') AND Amount >= 4000 ORDER BY Name"
    )
    assert _names(sf.query(query)) == ["Deal 4", "Deal 5"]
    activity = "SELECT COUNT() FROM Task WHERE What.Type = 'Opportunity' AND TaskSubtype = 'Call'"
    assert sf.query(activity)["totalSize"] == 5


def test_given_huge_in_list_when_queried_by_get_then_414_uri_too_long(sf: Salesforce) -> None:
    ids = [f"006{n:015d}" for n in range(1000)]
    with pytest.raises(SalesforceGeneralError) as caught:
        sf.query(format_soql("SELECT Id FROM Opportunity WHERE Id IN {}", ids))
    assert caught.value.status == 414
    assert len(sf.query(format_soql("SELECT Id FROM Opportunity WHERE Id IN {}", ids[:300]))["records"]) == 0


def test_given_shared_activities_when_nested_subquery_then_attendees_under_each_event(sf: Salesforce) -> None:
    query = (
        "SELECT Id, (SELECT Id, Who.Name, (SELECT RelationId, Relation.Name FROM EventRelations "
        "WHERE IsWhat = false) FROM Events) FROM Opportunity WHERE Name = 'Deal 1'"
    )
    [event] = sf.query(query)["records"][0]["Events"]["records"]
    assert event["Who"]["attributes"]["type"] == "Name"  # WhoId is polymorphic (Contact or Lead)
    [attendee] = event["EventRelations"]["records"]
    assert attendee["Relation"]["Name"] == event["Who"]["Name"] == "First1 Last1"


def test_given_org_archiving_after_a_year_when_querying_activities_then_old_ones_need_query_all(
    make_hubspot_book: Callable[..., Book],
) -> None:
    book = make_hubspot_book()  # activities on 2025-01-01 .. 2025-01-12
    clock = lambda: datetime(2026, 2, 1, tzinfo=UTC)  # noqa: E731
    with start_salesforce_sandbox(book, clock=clock, archive_after_days=365) as sandbox:
        sf = password_login(sandbox.credentials)
        assert sf.query("SELECT COUNT() FROM Event")["totalSize"] == 0
        assert sf.query("SELECT COUNT() FROM Task")["totalSize"] == 5  # the open tasks stay
        assert (
            sf.query("SELECT COUNT() FROM Task WHERE IsArchived = true", include_deleted=True)["totalSize"]
            == 5
        )


def test_given_unknown_locator_when_query_more_then_invalid_query_locator(sf: Salesforce) -> None:
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.query_more("01g000000000000AAA-2000")
    assert caught.value.content[0]["errorCode"] == "INVALID_QUERY_LOCATOR"


def test_given_filters_on_ids_and_lookup_paths_when_queried_then_they_match_what_a_full_scan_matches(
    big_org: SalesforceSandbox,
) -> None:
    # Such filters are answered through the store's lookup index: the rows must be the ones a scan finds.
    sf = password_login(big_org.credentials)
    first = sf.query("SELECT Id FROM Opportunity ORDER BY Id LIMIT 3")["records"]
    opportunities = ids = [r["Id"] for r in first]
    event = sf.query(format_soql("SELECT Id FROM Event WHERE WhatId = {}", opportunities[0]))["records"][0]
    sf.Event.delete(event["Id"])
    queries = [
        format_soql("SELECT Id FROM EventRelation WHERE Event.WhatId IN {} AND IsWhat = false", ids),
        format_soql("SELECT Id FROM Event WHERE WhatId IN {} AND IsDeleted = false", opportunities),
        format_soql("SELECT Id FROM Opportunity WHERE Id IN {}", [*opportunities, event["Id"]]),
        format_soql("SELECT Id FROM Task WHERE What.Id = {}", opportunities[1]),  # polymorphic: a scan
    ]
    table = big_org.store.table
    expected = [
        {r["Id"] for r in table("EventRelation").values()
         if not r["IsWhat"] and table("Event")[r["EventId"]]["WhatId"] in opportunities},
        {r["Id"] for r in table("Event").values() if r["WhatId"] in opportunities and not r["IsDeleted"]},
        set(opportunities),
        {r["Id"] for r in table("Task").values() if r["WhatId"] == opportunities[1]},
    ]

    found = [{r["Id"] for r in sf.query_all(q)["records"]} for q in queries]

    assert found == expected
    assert all(found)
