"""Reading through the connector against strict HTTP mocks: discovery, paging, child drain, incremental."""

from __future__ import annotations

from datetime import UTC, datetime

import responses
from salesforce_support import (
    API,
    PLAYBOOK,
    add_discovery,
    connector,
    payload,
    query_page,
    session_config,
    soql_with,
)

from connectors.base import DealChunk
from core.assess import assess
from core.models import Commitment
from core.plan import plan

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
    assert sf.api_calls() == {"describe": 8, "query": 2, "query_more": 1}
    assert rsps.calls[8].request.headers["Sforce-Query-Options"] == "batchSize=2000"


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


def test_given_fields_hidden_by_field_level_security_when_reading_then_the_query_leaves_them_out(
    rsps: responses.RequestsMock,
) -> None:
    # The integration user may not see Contact.Title or OpportunityContactRole.Role: describe leaves them
    # out, and SOQL naming them answers INVALID_FIELD, which failed every run of the whole book.
    add_discovery(rsps, skip=("OpportunityContactRole", "Contact"))
    role = payload("describe_opportunitycontactrole.json")
    role["fields"] = [f for f in role["fields"] if f["name"] != "Role"]
    contact = payload("describe_contact.json")
    contact["fields"] = [f for f in contact["fields"] if f["name"] != "Title"]
    rsps.get(f"{API}sobjects/OpportunityContactRole/describe", json=role)
    rsps.get(f"{API}sobjects/Contact/describe", json=contact)
    rsps.get(
        f"{API}queryAll/",
        json=query_page([payload("opportunities_page.json")["records"][1]]),
        match=[soql_with("(SELECT Id, ContactId, IsPrimary, Contact.Name FROM OpportunityContactRoles ")],
    )
    sf = connector()

    chunks = list(sf.read_deals(None, UNTIL))

    assert [d.id for chunk in chunks for d in chunk] == ["0065g00000Abc02AAB"]
    assert not [c for c in rsps.calls if "Contact.Title" in (c.request.url or "")]


def test_given_quotes_the_user_cannot_read_when_reading_then_the_quote_subquery_is_left_out(
    rsps: responses.RequestsMock,
) -> None:
    add_discovery(rsps, skip=("Quote",))
    missing = [{"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}]
    rsps.get(f"{API}sobjects/Quote/describe", status=404, json=missing)
    record = payload("opportunities_page.json")["records"][1]
    rsps.get(
        f"{API}queryAll/",
        json=query_page([{k: v for k, v in record.items() if k != "Quotes"}]),
        match=[soql_with("FROM OpportunityLineItems WHERE IsDeleted = false) FROM Opportunity ")],
    )
    sf = connector()

    chunks = list(sf.read_deals(None, UNTIL))

    assert [d.id for chunk in chunks for d in chunk] == ["0065g00000Abc02AAB"]
    assert "Quotes" not in sf.schema().relationships


def test_given_half_an_emoji_and_a_nul_in_an_answer_when_read_then_the_deal_is_writable_and_planned(
    rsps: responses.RequestsMock,
) -> None:
    add_discovery(rsps)
    record = payload("opportunities_page.json")["records"][1]
    # A name cut at its length limit in the middle of an emoji, and a NUL left by an import.
    record.update(Name="Globex \ud83d", Description="Budget approved\u0000 by the CFO")
    rsps.get(f"{API}queryAll/", json=query_page([record]))
    sf = connector()

    (deal,) = [d for chunk in sf.read_deals(None, UNTIL) for d in chunk]

    assert deal.name == "Globex \ufffd"
    assert deal.description == "Budget approved by the CFO"
    planned = plan(assess(deal, PLAYBOOK, UNTIL), deal, PLAYBOOK, UNTIL)  # encodes the evidence text
    assert (planned.values.evidence or "").encode("utf-8")


def test_given_a_record_no_mapping_foresaw_when_read_then_it_is_reported_and_the_other_deals_are_read(
    rsps: responses.RequestsMock,
) -> None:
    add_discovery(rsps)
    good = payload("opportunities_page.json")["records"][1]
    odd = {**good, "Id": "0065g00000Abc00AAB", "CloseDate": "31/12/2024"}  # not the ISO date Salesforce sends
    rsps.get(f"{API}queryAll/", json=query_page([odd, good]))

    (chunk,) = list(connector().read_deals(None, UNTIL))

    assert isinstance(chunk, DealChunk)
    assert [d.id for d in chunk] == [good["Id"]]
    assert [(f.deal_id, f.operation, f.code) for f in chunk.unreadable] == [(odd["Id"], "read", "unreadable")]
    assert "31/12/2024" in chunk.unreadable[0].message
