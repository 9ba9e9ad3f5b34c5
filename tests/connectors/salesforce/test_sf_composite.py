"""Reads batched through the Composite resource: discovery and an incremental run's change queries in a few
calls, each subrequest's error classified as its direct call's would be (strict HTTP mocks; the composite
mock relays each subrequest to the test's direct mocks, see `add_composite`)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
import responses
from salesforce_support import (
    API,
    CHILD_DESCRIBED,
    DESCRIBED,
    add_discovery,
    connector,
    payload,
    query_page,
    session_config,
    soql_with,
)

from connectors.base import ConfigurationError
from connectors.salesforce import soql

UNTIL = datetime(2024, 6, 10, 15, 0, tzinfo=UTC)
SINCE = datetime(2024, 6, 10, 12, 0, tzinfo=UTC)
BUSY = [{"errorCode": "SERVER_UNAVAILABLE", "message": "Server temporarily unavailable; please retry."}]


def _composites(rsps: responses.RequestsMock) -> list[list[dict[str, Any]]]:
    """The subrequests of every composite call sent, in order."""
    return [json.loads(c.request.body)["compositeRequest"] for c in rsps.calls
            if (c.request.url or "").endswith("/composite")]


def _no_changes(rsps: responses.RequestsMock, *, skip: tuple[str, ...] = ()) -> None:
    """Every change query of an incremental run answers no rows (but those in `skip`)."""
    rsps.get(f"{API}query/", json=query_page([]), match=[soql_with("SELECT Id FROM Opportunity WHERE")])
    for sobject, _parent in soql.CHANGE_SOURCES:
        if sobject not in skip:
            rsps.get(f"{API}queryAll/", json=query_page([]),
                     match=[soql_with(f" FROM {sobject} WHERE SystemModstamp >= ")])


def test_given_an_org_when_discovered_then_one_composite_call_describes_every_object_and_reads_the_stages(
    rsps: responses.RequestsMock,
) -> None:
    add_discovery(rsps)
    sf = connector()

    stages = sf.pipeline_stages()

    assert stages["salesforce"][0] == "Prospecting"
    assert sf.api_calls() == {"composite_describe": 1}
    (subrequests,) = _composites(rsps)
    described = [s["url"].split("/")[-2] for s in subrequests if s["url"].endswith("/describe")]
    assert sorted(described) == sorted((*DESCRIBED, *CHILD_DESCRIBED))
    assert {s["method"] for s in subrequests} == {"GET"}
    assert subrequests[-1]["url"].startswith("/services/data/v61.0/query/?q=SELECT+ApiName")
    assert subrequests[-1]["httpHeaders"] == {"Sforce-Query-Options": "batchSize=2000"}


def test_given_nothing_changed_when_reading_incrementally_then_a_fresh_connector_makes_three_calls(
    rsps: responses.RequestsMock,
) -> None:
    add_discovery(rsps)
    _no_changes(rsps)
    sf = connector()

    deals = [d for chunk in sf.read_deals(SINCE, UNTIL) for d in chunk]

    assert deals == []
    assert sf.api_calls() == {"composite_describe": 1, "composite_query": 2}
    queries = [s for s in _composites(rsps)[1:]]
    assert [len(q) for q in queries] == [5, 2]  # at most five queries a call
    assert [s["url"].split("?")[0] for s in queries[0]] == [
        "/services/data/v61.0/query/", *["/services/data/v61.0/queryAll/"] * 4
    ]


def test_given_the_attendee_changes_subrequest_refused_when_reading_incrementally_then_the_rest_is_read(
    rsps: responses.RequestsMock, caplog: pytest.LogCaptureFixture
) -> None:
    add_discovery(rsps)
    _no_changes(rsps, skip=("Task", "EventRelation"))
    rsps.get(f"{API}queryAll/", json=query_page([{"WhatId": "006A"}]),
             match=[soql_with("SELECT WhatId FROM Task WHERE")])
    refused = [{"errorCode": "INVALID_FIELD", "message": "No such relation 'Event' on 'EventRelation'"}]
    rsps.get(f"{API}queryAll/", status=400, json=refused, match=[soql_with("FROM EventRelation WHERE")])
    record = payload("opportunities_page.json")["records"][1]
    rsps.get(f"{API}queryAll/", json=query_page([{**record, "Id": "006A"}]),
             match=[soql_with("WHERE IsDeleted = false AND Id IN ('006A')")])
    sf = connector()

    deals = [d.id for chunk in sf.read_deals(SINCE, UNTIL) for d in chunk]

    assert deals == ["006A"]
    assert "(EventRelation) query" in caplog.text
    assert "INVALID_FIELD" in caplog.text
    assert sf.api_calls()["composite_query"] == 2  # not sent again: a refusal is no failure to retry


def test_given_a_change_subrequest_answering_503_when_reading_incrementally_then_the_composite_is_retried(
    rsps: responses.RequestsMock,
) -> None:
    add_discovery(rsps)
    rsps.get(f"{API}queryAll/", status=503, json=BUSY, match=[soql_with("SELECT WhatId FROM Task WHERE")])
    _no_changes(rsps)
    sf = connector()

    deals = [d for chunk in sf.read_deals(SINCE, UNTIL) for d in chunk]

    assert deals == []
    assert sf.api_calls() == {"composite_describe": 1, "composite_query": 3}  # the first call twice
    first, again = _composites(rsps)[1:3]
    assert first == again


def test_given_a_describe_subrequest_refused_for_permissions_when_discovering_then_setup_is_to_check(
    rsps: responses.RequestsMock,
) -> None:
    refused = [{"errorCode": "INSUFFICIENT_ACCESS", "message": "insufficient access rights on object id"}]
    rsps.get(f"{API}sobjects/Task/describe", status=403, json=refused)
    add_discovery(rsps, skip=("Task",))
    sf = connector(session_config(max_attempts=3))

    with pytest.raises(ConfigurationError, match="permissions") as caught:
        sf.pipeline_stages()

    assert "INSUFFICIENT_ACCESS" in str(caught.value)
    assert sf.api_calls() == {"composite_describe": 1}
