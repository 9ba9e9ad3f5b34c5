"""SOQL building: the subquery select filtered by describe, the incremental window, id chunking."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import requests
from pydantic import ValidationError
from salesforce_support import session_config

from connectors.base import chunked
from connectors.salesforce import soql
from connectors.salesforce.soql import OrgSchema

NAMES = session_config().field_names()


def _schema(relationships: set[str], opportunity: set[str], task: set[str]) -> OrgSchema:
    return OrgSchema(
        fields={"Opportunity": frozenset(opportunity), "Task": frozenset(task), "Event": frozenset({"Id"})},
        relationships=frozenset(relationships),
    )


def test_given_an_org_without_quotes_or_plugin_fields_when_selecting_then_only_what_exists_is_asked() -> None:
    schema = _schema({"Tasks", "OpportunityContactRoles"}, {"Id", "Name", "StageName"}, {"Id", "Subject"})

    text = soql.opportunity_select(schema, NAMES)

    assert text == (
        "SELECT Id, Name, StageName, "
        "(SELECT Id, ContactId, Role, IsPrimary, Contact.Name, Contact.Title FROM OpportunityContactRoles "
        "WHERE IsDeleted = false), "
        "(SELECT Id, Subject FROM Tasks WHERE IsDeleted = false) FROM Opportunity"
    )


def test_given_provisioned_fields_when_selecting_then_plugin_fields_and_the_task_key_are_read() -> None:
    schema = _schema(
        {"Tasks", "OpportunityHistories"}, {"Id", NAMES.secured, NAMES.confirmed}, {"Id", NAMES.task_key}
    )

    text = soql.opportunity_select(schema, NAMES)

    assert text.startswith("SELECT Id, Commitments_Secured__c, Commitments_Confirmed__c, ")
    assert "(SELECT Id, Commitment_Key__c FROM Tasks WHERE IsDeleted = false)" in text
    assert "FROM OpportunityHistories WHERE IsDeleted = false ORDER BY CreatedDate)" in text


def test_given_a_window_when_building_the_incremental_query_then_it_is_inclusive_and_tie_broken() -> None:
    start = datetime(2024, 6, 1, 9, 50, tzinfo=UTC)
    end = datetime(2024, 6, 1, 12, 0, 30, 123456, tzinfo=UTC)

    text = soql.changed_opportunities(start, end)

    assert text == (
        "SELECT Id FROM Opportunity WHERE SystemModstamp >= 2024-06-01T09:50:00+00:00 "
        "AND SystemModstamp <= 2024-06-01T12:00:30+00:00 ORDER BY SystemModstamp, Id"
    )


def test_given_activity_changes_when_querying_parents_then_only_opportunity_activities_are_asked() -> None:
    start, end = datetime(2024, 6, 1, tzinfo=UTC), datetime(2024, 6, 2, tzinfo=UTC)

    task = soql.changed_children("Task", "WhatId", start, end)
    role = soql.changed_children("OpportunityContactRole", "OpportunityId", start, end)

    assert "AND What.Type = 'Opportunity'" in task
    assert task.startswith("SELECT WhatId FROM Task WHERE SystemModstamp >= 2024-06-01T00:00:00+00:00")
    assert "What.Type" not in role


def test_given_450_ids_when_chunked_by_200_then_three_queries_cover_them_in_order() -> None:
    ids = [f"0065g00000A{i:05d}AAA" for i in range(450)]

    chunks = chunked(ids, 200)

    assert [len(c) for c in chunks] == [200, 200, 50]
    assert [i for c in chunks for i in c] == ids


def test_given_ids_with_quotes_when_hydrating_then_literals_are_escaped() -> None:
    schema = _schema(set(), {"Id"}, set())

    text = soql.by_ids(schema, NAMES, ["006A", "x' OR Id != '"])

    assert text == (
        "SELECT Id FROM Opportunity WHERE IsDeleted = false "
        "AND Id IN ('006A','x\\' OR Id != \\'') ORDER BY Id"
    )


URI_LIMIT = 16_384  # bytes of URI + headers per REST call; keep ~1.4 kB for the headers and a long host


def _query_url(query: str) -> str:
    url = requests.Request("GET", "https://acme-corporation-emea.my.salesforce.com/services/data/v61.0/query/",
                           params={"q": query}).prepare().url
    return str(url)


def test_given_the_largest_id_chunk_and_a_long_prefix_when_queries_are_built_then_their_urls_fit() -> None:
    config = session_config(field_prefix="Acme_Corporation_", ids_per_query=200)
    names = config.field_names()
    schema = OrgSchema(fields={}, relationships=frozenset(rel for rel, _, _, _ in soql.CHILDREN))
    ids = [f"0065g00000{i:05d}AAA" for i in range(config.ids_per_query)]
    keys = [f"cmt:{i}:collaborate" for i in ids]

    events = [f"00U5g00000{i:05d}AAA" for i in range(2 * config.ids_per_query)]  # attendees.py's chunk

    hydrate = _query_url(soql.by_ids(schema, names, ids))
    open_tasks = _query_url(soql.open_tasks_by_key(names.task_key, keys))
    attendees = _query_url(
        soql.activity_relations(schema, "EventRelation", soql.EVENT_RELATION_FIELDS, events)
    )

    assert max(len(hydrate), len(open_tasks), len(attendees)) < URI_LIMIT - 1_400


def test_given_more_ids_per_query_than_a_url_holds_when_configured_then_refused() -> None:
    with pytest.raises(ValidationError, match="ids_per_query"):
        session_config(ids_per_query=400)


def test_given_contact_title_hidden_when_selecting_contact_roles_then_the_path_is_left_out() -> None:
    schema = OrgSchema(
        fields={
            "Opportunity": frozenset({"Id"}),
            "OpportunityContactRole": frozenset({"Id", "ContactId", "IsPrimary"}),
            "Contact": frozenset({"Id", "Name"}),
        },
        relationships=frozenset({"OpportunityContactRoles"}),
    )

    text = soql.opportunity_select(schema, NAMES)

    assert text == (
        "SELECT Id, (SELECT Id, ContactId, IsPrimary, Contact.Name FROM OpportunityContactRoles "
        "WHERE IsDeleted = false) FROM Opportunity"
    )


def test_given_recurring_events_when_selecting_events_then_series_masters_are_left_out() -> None:
    # A Classic recurring series' master (IsRecurrence) repeats its first occurrence: one more meeting.
    schema = OrgSchema(
        fields={"Opportunity": frozenset({"Id"}), "Event": frozenset({"Id", "IsChild", "IsRecurrence"})},
        relationships=frozenset({"Events"}),
    )

    text = soql.opportunity_select(schema, NAMES)

    assert text == (
        "SELECT Id, (SELECT Id FROM Events WHERE IsDeleted = false AND IsChild = false "
        "AND IsRecurrence = false) FROM Opportunity"
    )
