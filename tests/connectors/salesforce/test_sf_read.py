"""Reading through the connector against strict HTTP mocks: discovery, paging, child drain, incremental."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
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
    rsps.get(f"{API}queryAll/", json=query_page([]), match=[soql_with("FROM EventRelation")])
    sf = connector()

    chunks = list(sf.read_deals(None, UNTIL))

    assert [[d.id for d in chunk] for chunk in chunks] == [["0065g00000Abc01AAB", "0065g00000Abc02AAB"]]
    first = chunks[0][0]
    assert [t.commitment for t in first.plugin_tasks] == [Commitment.CHANGE]
    assert len(first.activities) == 5
    assert sf.api_calls() == {"composite_describe": 1, "query": 1, "query_more": 1, "composite_query": 1}
    deals = next(c for c in rsps.calls if "FROM+Opportunity+WHERE" in (c.request.url or ""))
    assert deals.request.headers["Sforce-Query-Options"] == "batchSize=2000"


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
    rsps.get(  # an invitee's answer: the event's opportunity, or no opportunity (an account's event)
        f"{API}queryAll/",
        json=query_page([{"Event": {"WhatId": "006B"}}, {"Event": {"WhatId": "001X"}}, {"Event": None}]),
        match=[soql_with("SELECT Event.WhatId FROM EventRelation", *window)],
    )
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
    add_discovery(rsps, unreadable=("Quote",))
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


def _with_events(opportunity_id: str) -> dict[str, Any]:
    record = payload("opportunities_page.json")["records"][0]
    return {**record, "Id": opportunity_id, "Tasks": None}


def test_given_meetings_with_invitees_when_reading_then_one_query_gives_each_event_its_buyer_side_people(
    rsps: responses.RequestsMock,
) -> None:
    add_discovery(rsps)
    without = {**payload("opportunities_page.json")["records"][1], "Id": "006B"}
    rsps.get(f"{API}queryAll/", json=query_page([_with_events("006A"), without]),
             match=[soql_with("FROM Opportunity WHERE IsDeleted = false ORDER BY Id")])
    relations = [
        {"EventId": "00U5g00000Evt01EAA", "RelationId": "003INVITED", "Status": "Accepted"},
        {"EventId": "00U5g00000Evt01EAA", "RelationId": "0055g00000Own01AAA", "Status": "Accepted"},  # a rep
        {"EventId": "00U5g00000Evt03EAA", "RelationId": "0035g00000Con01AAA", "Status": "Declined"},
    ]
    rsps.get(f"{API}queryAll/", json=query_page(relations), match=[soql_with(
        "FROM EventRelation WHERE IsDeleted = false AND EventId IN "
        "('00U5g00000Evt01EAA','00U5g00000Evt02EAA','00U5g00000Evt03EAA') AND IsWhat = false",
        "Relation.Name", "Status",
    )])
    sf = connector()

    deals = [d for chunk in sf.read_deals(None, UNTIL) for d in chunk]

    meetings = {a.id: a.attendee_ids for a in deals[0].activities if a.id.startswith("00U")}
    assert meetings == {
        "00U5g00000Evt01EAA": ("0035g00000Con01AAA", "003INVITED"),
        "00U5g00000Evt02EAA": (),
        "00U5g00000Evt03EAA": (),  # its only buyer declined
    }
    assert "003INVITED" in {c.id for c in deals[0].contacts}
    assert sf.api_calls()["query"] == 1  # the deals; the chunk's events' people: one composite call
    assert sf.api_calls()["composite_query"] == 1


def test_given_a_call_logged_with_several_contacts_when_reading_then_its_task_relations_name_the_others(
    rsps: responses.RequestsMock,
) -> None:
    add_discovery(rsps)
    call = payload("opportunities_page.json")["records"][0]["Tasks"]["records"][0]  # connected, Con01
    calls = [
        {**call, "Id": "00T5g00000Tsk01EAA", "WhoCount": 2},
        {**call, "Id": "00T5g00000Tsk02EAA", "WhoCount": 1},  # WhoId is its only contact: nothing to ask
        {**call, "Id": "00T5g00000Tsk03EAA", "WhoCount": 3, "CallDisposition": "Left voicemail"},  # not met
    ]
    tasks = {"totalSize": 3, "done": True, "records": calls}
    record = {**_with_events("006A"), "Events": None, "Tasks": tasks}
    rsps.get(f"{API}queryAll/", json=query_page([record]),
             match=[soql_with("FROM Opportunity WHERE IsDeleted = false ORDER BY Id", "WhoCount")])
    relations = [
        {"TaskId": "00T5g00000Tsk01EAA", "RelationId": "0035g00000Con01AAA"},
        {"TaskId": "00T5g00000Tsk01EAA", "RelationId": "003OTHER", "Relation": {"Name": "Sam Lee"}},
    ]
    rsps.get(f"{API}queryAll/", json=query_page(relations), match=[soql_with(
        "SELECT TaskId, RelationId, Relation.Name FROM TaskRelation WHERE IsDeleted = false "
        "AND TaskId IN ('00T5g00000Tsk01EAA') ORDER BY TaskId, Id",
    )])
    sf = connector()

    (deal,) = [d for chunk in sf.read_deals(None, UNTIL) for d in chunk]

    people = {a.id: a.attendee_ids for a in deal.activities}
    assert people["00T5g00000Tsk01EAA"] == ("0035g00000Con01AAA", "003OTHER")
    assert people["00T5g00000Tsk02EAA"] == ("0035g00000Con01AAA",)
    assert [(c.name, c.roles) for c in deal.contacts if c.id == "003OTHER"] == [("Sam Lee", ())]
    assert sf.api_calls()["query"] == 1  # the deals; the chunk's calls' people: one composite call
    assert sf.api_calls()["composite_query"] == 1


def _logged_with_two(opportunity_id: str, task_id: str) -> dict[str, Any]:
    """An opportunity whose one task is a connected call logged with two contacts (WhoCount 2)."""
    call = payload("opportunities_page.json")["records"][0]["Tasks"]["records"][0]  # connected, Con01
    tasks = {"totalSize": 1, "done": True, "records": [{**call, "Id": task_id, "WhoCount": 2}]}
    return {**_with_events(opportunity_id), "Tasks": tasks}


def test_given_an_org_refusing_the_task_relation_query_when_reading_then_calls_count_their_who_alone(
    rsps: responses.RequestsMock, caplog: pytest.LogCaptureFixture
) -> None:
    add_discovery(rsps)
    records = [_logged_with_two("006A", "00T5g00000Tsk01EAA"), _logged_with_two("006B", "00T5g00000Tsk02EAA")]
    rsps.get(f"{API}queryAll/", json=query_page(records),
             match=[soql_with("FROM Opportunity WHERE IsDeleted = false ORDER BY Id")])
    refused = [{"errorCode": "INVALID_TYPE", "message": "sObject type 'TaskRelation' is not supported."}]
    rsps.get(f"{API}queryAll/", status=400, json=refused, match=[soql_with("FROM TaskRelation")])
    invited = [{"EventId": "00U5g00000Evt01EAA", "RelationId": "003INVITED", "Status": "Accepted"}]
    rsps.get(f"{API}queryAll/", json=query_page(invited), match=[soql_with("FROM EventRelation")])
    sf = connector(session_config(chunk_size=1))

    deals = [d for chunk in sf.read_deals(None, UNTIL) for d in chunk]

    assert [[a.attendee_ids for a in d.activities if a.id.startswith("00T")] for d in deals] == [
        [("0035g00000Con01AAA",)]
    ] * 2
    assert all("003INVITED" in {c.id for c in d.contacts} for d in deals)  # meetings still read theirs
    assert caplog.text.count("(TaskRelation) query") == 1  # not asked again for the next chunk
    assert "INVALID_TYPE" in caplog.text


def test_given_an_org_without_shared_activities_when_reading_then_calls_count_their_who_and_ask_no_more(
    rsps: responses.RequestsMock,
) -> None:
    add_discovery(rsps, skip=("Task",))
    task = payload("describe_task.json")
    task["fields"] = [f for f in task["fields"] if f["name"] != "WhoCount"]  # no Shared Activities
    rsps.get(f"{API}sobjects/Task/describe", json=task)
    call = payload("opportunities_page.json")["records"][0]["Tasks"]["records"][0]  # connected, Con01
    record = {**_with_events("006A"), "Events": None,
              "Tasks": {"totalSize": 1, "done": True, "records": [call]}}
    rsps.get(f"{API}queryAll/", json=query_page([record]),
             match=[soql_with("FROM Opportunity WHERE IsDeleted = false ORDER BY Id")])
    sf = connector()

    (deal,) = [d for chunk in sf.read_deals(None, UNTIL) for d in chunk]

    assert [a.attendee_ids for a in deal.activities] == [("0035g00000Con01AAA",)]
    queries = [u for c in rsps.calls if "/query" in (u := c.request.url or "")]
    assert not [u for u in queries if "WhoCount" in u or "TaskRelation" in u]  # no such field or object


def test_given_event_relations_the_user_cannot_read_when_reading_then_a_meeting_is_with_its_who_alone(
    rsps: responses.RequestsMock,
) -> None:
    add_discovery(rsps, unreadable=("EventRelation",))
    rsps.get(f"{API}queryAll/", json=query_page([_with_events("006A")]),
             match=[soql_with("FROM Opportunity WHERE IsDeleted = false ORDER BY Id")])
    sf = connector()

    (deal,) = [d for chunk in sf.read_deals(None, UNTIL) for d in chunk]

    assert [a.attendee_ids for a in deal.activities][:1] == [("0035g00000Con01AAA",)]
    assert not [c for c in rsps.calls if "/query" in (u := c.request.url or "") and "EventRelation" in u]


def test_given_an_org_refusing_the_attendees_query_when_reading_then_deals_are_read_with_who_ids_alone(
    rsps: responses.RequestsMock, caplog: pytest.LogCaptureFixture
) -> None:
    add_discovery(rsps)
    second = {**_with_events("006B"), "Events": {"totalSize": 1, "done": True, "records": [
        {**_with_events("006A")["Events"]["records"][0], "Id": "00U5g00000Evt09EAA"}
    ]}}
    rsps.get(f"{API}queryAll/", json=query_page([_with_events("006A"), second]),
             match=[soql_with("FROM Opportunity WHERE IsDeleted = false ORDER BY Id")])
    refused = [{"errorCode": "MALFORMED_QUERY", "message": "EventRelation: unexpected token"}]
    rsps.get(f"{API}queryAll/", status=400, json=refused, match=[soql_with("FROM EventRelation")])
    sf = connector(session_config(chunk_size=1))

    deals = [d for chunk in sf.read_deals(None, UNTIL) for d in chunk]

    assert [[a.attendee_ids for a in d.activities][:1] for d in deals] == [[("0035g00000Con01AAA",)]] * 2
    assert caplog.text.count("count their WhoId alone") == 1  # not asked again for the next chunk
    assert "MALFORMED_QUERY" in caplog.text


def test_given_an_org_refusing_the_attendee_changes_query_when_reading_incrementally_then_the_rest_is_read(
    rsps: responses.RequestsMock, caplog: pytest.LogCaptureFixture
) -> None:
    add_discovery(rsps)
    refused = [{"errorCode": "INVALID_FIELD", "message": "No such relation 'Event' on 'EventRelation'"}]
    rsps.get(f"{API}queryAll/", status=400, json=refused, match=[soql_with("FROM EventRelation")])
    rsps.get(f"{API}query/", json=query_page([{"Id": "006A"}]),
             match=[soql_with("SELECT Id FROM Opportunity")])
    rsps.get(f"{API}queryAll/", json=query_page([]), match=[soql_with("WHERE SystemModstamp >= ")])
    record = payload("opportunities_page.json")["records"][1]
    rsps.get(f"{API}queryAll/", json=query_page([{**record, "Id": "006A"}]),
             match=[soql_with("WHERE IsDeleted = false AND Id IN ('006A')")])

    chunks = connector().read_deals(datetime(2024, 6, 10, tzinfo=UTC), UNTIL)
    deals = [d.id for chunk in chunks for d in chunk]

    assert deals == ["006A"]
    assert "count their WhoId alone" in caplog.text
