"""Reading through the connector against strict HTTP mocks: discovery, paging, child drain, incremental."""

from __future__ import annotations

from datetime import UTC, datetime

import responses
from salesforce_support import API, add_discovery, connector, payload, query_page, session_config, soql_with

from core.models import Commitment

UNTIL = datetime(2024, 6, 10, 15, 0, tzinfo=UTC)


def test_given_a_page_with_truncated_child_tasks_when_reading_all_then_the_children_are_drained(
    rsps: responses.RequestsMock,
) -> None:
    add_discovery(rsps)
    rsps.get(
        f"{API}queryAll/",
        json=payload("opportunities_page.json"),
        match=[soql_with(
            "(SELECT Id, Subject", "FROM Tasks WHERE IsDeleted = false)",
            "FROM Opportunity WHERE IsDeleted = false ORDER BY Id",
        )],
    )
    rsps.get(f"{API}query/01gD0000002HU6KIAW-2", json=payload("tasks_page2.json"))
    sf = connector()

    chunks = list(sf.read_deals(None, UNTIL))

    assert [[d.id for d in chunk] for chunk in chunks] == [["0065g00000Abc01AAB", "0065g00000Abc02AAB"]]
    first = chunks[0][0]
    assert [t.commitment for t in first.plugin_tasks] == [Commitment.CHANGE]
    assert len(first.activities) == 5
    assert sf.api_calls() == {"describe": 3, "query": 2, "query_more": 1}
    assert rsps.calls[3].request.headers["Sforce-Query-Options"] == "batchSize=2000"


def test_given_a_top_level_next_page_when_reading_all_then_it_is_followed_and_chunks_are_bounded(
    rsps: responses.RequestsMock,
) -> None:
    add_discovery(rsps)
    second = payload("opportunities_page.json")["records"][1]
    first = {**second, "Id": "0065g00000Abc00AAB"}
    rsps.get(
        f"{API}queryAll/",
        json=query_page([first], "/services/data/v61.0/query/01gNEXT-200"),
        match=[soql_with("FROM Opportunity WHERE IsDeleted = false ORDER BY Id")],
    )
    rsps.get(f"{API}query/01gNEXT-200", json=query_page([second]))
    sf = connector(session_config(chunk_size=1))

    chunks = list(sf.read_deals(None, UNTIL))

    assert [[d.id for d in chunk] for chunk in chunks] == [["0065g00000Abc00AAB"], ["0065g00000Abc02AAB"]]


def test_given_changes_on_deals_and_children_when_reading_incrementally_then_each_deal_is_hydrated_once(
    rsps: responses.RequestsMock,
) -> None:
    add_discovery(rsps)
    window = ("SystemModstamp >= 2024-06-10T11:50:00+00:00", "SystemModstamp <= 2024-06-10T15:00:00+00:00")
    rsps.get(
        f"{API}query/",
        json=query_page([{"Id": "006A"}]),
        match=[soql_with("SELECT Id FROM Opportunity", *window)],
    )
    rsps.get(
        f"{API}queryAll/",
        json=query_page([{"WhatId": "006B"}]),
        match=[soql_with("SELECT WhatId FROM Task", "What.Type = 'Opportunity'", *window)],
    )
    rsps.get(f"{API}queryAll/", json=query_page([]), match=[soql_with("SELECT WhatId FROM Event", *window)])
    rsps.get(
        f"{API}queryAll/",
        json=query_page([{"OpportunityId": "006A"}]),
        match=[soql_with("SELECT OpportunityId FROM OpportunityContactRole", *window)],
    )
    rsps.get(
        f"{API}queryAll/",
        json=query_page([]),
        match=[soql_with("SELECT OpportunityId FROM OpportunityLineItem")],
    )
    rsps.get(f"{API}queryAll/", json=query_page([]), match=[soql_with("SELECT OpportunityId FROM Quote")])
    record = payload("opportunities_page.json")["records"][1]
    rsps.get(
        f"{API}queryAll/",
        json=query_page([{**record, "Id": "006A"}, {**record, "Id": "006B"}]),
        match=[soql_with("WHERE IsDeleted = false AND Id IN ('006A','006B')")],
    )
    rsps.get(
        f"{API}queryAll/",
        json=query_page([{**record, "Id": "006C"}]),
        match=[soql_with("WHERE IsDeleted = false AND Id IN ('006C')")],
    )
    sf = connector(session_config(ids_per_query=2))

    chunks = list(
        sf.read_deals(datetime(2024, 6, 10, 12, 0, tzinfo=UTC), UNTIL, include_ids=["006C", "006A"])
    )

    assert [d.id for chunk in chunks for d in chunk] == ["006A", "006B", "006C"]
