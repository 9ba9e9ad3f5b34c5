"""Reading on through the query errors Salesforce answers for large orgs: a query that runs too long
(QUERY_TIMEOUT) and a cursor dropped while paging (INVALID_QUERY_LOCATOR), against strict HTTP mocks."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
import responses
from salesforce_support import API, add_discovery, connector, payload, query_page, session_config, soql_with

from connectors.base import FatalError
from connectors.salesforce import SalesforceConnector

UNTIL = datetime(2024, 6, 10, 15, 0, tzinfo=UTC)
SINCE = datetime(2024, 6, 10, 12, 0, tzinfo=UTC)
TIMEOUT = [{"errorCode": "QUERY_TIMEOUT", "message": "Your query request was running for too long."}]
DROPPED = [{"errorCode": "INVALID_QUERY_LOCATOR", "message": "invalid query locator"}]
FULL_READ = "FROM Tasks WHERE IsDeleted = false)"  # only the deal query has the subqueries
NEXT = "/services/data/v61.0/query/01gNEXT-1"
NEXT_URL = f"{API}query/01gNEXT-1"
QUERY = f"{API}query/"
QUERY_ALL = f"{API}queryAll/"


def _deal(opportunity_id: str) -> dict[str, Any]:
    return {**payload("opportunities_page.json")["records"][1], "Id": opportunity_id}


def _listed(*ids: str) -> Any:
    return soql_with(FULL_READ, f"AND Id IN ({','.join(repr(i) for i in ids)}) ORDER BY Id")


def _hydrated(rsps: responses.RequestsMock, *ids: str) -> None:
    """The query by `ids` answers their deals."""
    rsps.get(QUERY_ALL, json=query_page([_deal(i) for i in ids]), match=[_listed(*ids)])


def _times_out(rsps: responses.RequestsMock, *ids: str) -> None:
    rsps.get(QUERY_ALL, status=400, json=TIMEOUT, match=[_listed(*ids)])


def _full_read_first_page(rsps: responses.RequestsMock) -> None:
    """Discovery, then a full read whose first page is 006A, with more behind `NEXT`."""
    add_discovery(rsps)
    rsps.get(QUERY_ALL, json=query_page([_deal("006A")], NEXT),
             match=[soql_with(FULL_READ, "FROM Opportunity WHERE IsDeleted = false ORDER BY Id")])


def _no_changes(rsps: responses.RequestsMock) -> None:
    """An incremental window where nothing changed: the deals read are the ones asked for."""
    rsps.get(QUERY, json=query_page([]), match=[soql_with("SELECT Id FROM Opportunity WHERE System")])
    rsps.get(QUERY_ALL, json=query_page([]), match=[soql_with("WHERE SystemModstamp >= ")])


def _read(
    config: dict[str, Any], since: datetime | None = None, include_ids: tuple[str, ...] = ()
) -> tuple[SalesforceConnector, list[str]]:
    """The connector and the ids of the deals it read, in order."""
    sf = connector(session_config(**config))
    return sf, [d.id for chunk in sf.read_deals(since, UNTIL, include_ids=include_ids) for d in chunk]


def test_given_a_query_by_ids_that_times_out_when_reading_then_it_is_split_in_halves_until_it_reads(
    rsps: responses.RequestsMock, caplog: pytest.LogCaptureFixture
) -> None:
    add_discovery(rsps)
    _no_changes(rsps)
    _times_out(rsps, "006A", "006B", "006C", "006D")
    _hydrated(rsps, "006A", "006B")
    _times_out(rsps, "006C", "006D")
    _hydrated(rsps, "006C")
    _hydrated(rsps, "006D")

    sf, deals = _read({"ids_per_query": 4}, SINCE, ("006A", "006B", "006C", "006D"))

    assert deals == ["006A", "006B", "006C", "006D"]
    splits = [r.getMessage().split("; ")[1] for r in caplog.records if "timed out reading" in r.getMessage()]
    assert splits == [
        "reading the 4 not read yet by queries of 2 and 2",
        "reading the 2 not read yet by queries of 1 and 1",
    ]
    assert sum("Id+IN" in (c.request.url or "") for c in rsps.calls) == 5  # every attempt sent and counted
    assert sf.api_calls()["query"] == 5  # the five deal queries (the change sources: two composite calls)
    assert sf.api_calls()["composite_query"] == 2


def test_given_one_opportunity_whose_query_still_times_out_alone_when_reading_then_the_run_stops_naming_it(
    rsps: responses.RequestsMock,
) -> None:
    add_discovery(rsps)
    _no_changes(rsps)
    _times_out(rsps, "006A", "006B")
    _hydrated(rsps, "006A")
    _times_out(rsps, "006B")

    with pytest.raises(FatalError, match="timed out reading opportunity 006B alone") as caught:
        _read({"ids_per_query": 2}, SINCE, ("006A", "006B"))

    assert "Salesforce support" in str(caught.value)


def test_given_the_full_read_times_out_after_a_page_when_reading_all_then_the_rest_is_read_by_ids_once(
    rsps: responses.RequestsMock, caplog: pytest.LogCaptureFixture
) -> None:
    _full_read_first_page(rsps)
    rsps.get(NEXT_URL, status=400, json=TIMEOUT)
    rsps.get(QUERY_ALL, json=query_page([{"Id": "006B"}, {"Id": "006C"}]),
             match=[soql_with("SELECT Id FROM Opportunity WHERE IsDeleted = false AND Id > '006A' ORDER")])
    _hydrated(rsps, "006B", "006C")

    sf, deals = _read({})

    assert deals == ["006A", "006B", "006C"]
    assert "timed out on the full read's query" in caplog.text
    assert sf.api_calls()["composite_query_more"] == 1  # the next pages, five to a composite call


def test_given_the_full_read_times_out_at_once_when_reading_all_then_every_id_is_read_and_hydrated(
    rsps: responses.RequestsMock,
) -> None:
    add_discovery(rsps)
    rsps.get(QUERY_ALL, status=400, json=TIMEOUT, match=[soql_with(FULL_READ, "false ORDER BY Id")])
    rsps.get(QUERY_ALL, json=query_page([{"Id": "006A"}, {"Id": "006B"}, {"Id": "006C"}]),
             match=[soql_with("SELECT Id FROM Opportunity WHERE IsDeleted = false ORDER BY Id")])
    _hydrated(rsps, "006A", "006B")
    _hydrated(rsps, "006C")

    _, deals = _read({"ids_per_query": 2})

    assert deals == ["006A", "006B", "006C"]


def test_given_a_cursor_dropped_while_paging_the_full_read_when_reading_then_it_goes_on_after_the_last_id(
    rsps: responses.RequestsMock,
) -> None:
    _full_read_first_page(rsps)
    rsps.get(NEXT_URL, status=400, json=DROPPED)
    rsps.get(QUERY_ALL, json=query_page([_deal("006B")]),
             match=[soql_with(FULL_READ, "FROM Opportunity WHERE IsDeleted = false AND Id > '006A' ORDER")])

    sf, deals = _read({})

    assert deals == ["006A", "006B"]
    assert sf.api_calls()["composite_query_more"] == 1  # the next pages, five to a composite call


def test_given_a_cursor_dropped_mid_chain_of_pages_when_reading_then_the_pages_before_count_and_it_goes_on(
    rsps: responses.RequestsMock,
) -> None:
    _full_read_first_page(rsps)
    rsps.get(NEXT_URL, json=query_page([_deal("006B")], "/services/data/v61.0/query/01gNEXT-2"))
    rsps.get(f"{API}query/01gNEXT-2", status=400, json=DROPPED)  # the second page of one composite call
    rsps.get(QUERY_ALL, json=query_page([_deal("006C")]),
             match=[soql_with(FULL_READ, "FROM Opportunity WHERE IsDeleted = false AND Id > '006B' ORDER")])

    sf, deals = _read({})

    assert deals == ["006A", "006B", "006C"]
    assert sf.api_calls()["composite_query_more"] == 1


def test_given_a_cursor_dropped_twice_in_one_read_when_reading_then_the_run_stops_as_before(
    rsps: responses.RequestsMock,
) -> None:
    _full_read_first_page(rsps)
    rsps.get(NEXT_URL, status=400, json=DROPPED)
    rsps.get(QUERY_ALL, json=query_page([_deal("006B")], "/services/data/v61.0/query/01gAGAIN-1"),
             match=[soql_with(FULL_READ, "AND Id > '006A' ORDER BY Id")])  # the query sent again
    rsps.get(f"{API}query/01gAGAIN-1", status=400, json=DROPPED)

    sf = connector()

    with pytest.raises(FatalError, match="INVALID_QUERY_LOCATOR"):
        list(sf.read_deals(None, UNTIL))
    assert sf.api_calls()["composite_query_more"] == 2  # the first drop was gone past: the second stops it


def test_given_a_cursor_dropped_while_paging_changes_when_reading_incrementally_then_each_deal_is_read_once(
    rsps: responses.RequestsMock,
) -> None:
    add_discovery(rsps)
    changed = soql_with("SELECT Id FROM Opportunity WHERE System")
    rsps.get(QUERY, json=query_page([{"Id": "006A"}], NEXT), match=[changed])
    rsps.get(NEXT_URL, status=400, json=DROPPED)
    rsps.get(QUERY, json=query_page([{"Id": "006A"}, {"Id": "006B"}]), match=[changed])
    rsps.get(QUERY_ALL, json=query_page([]), match=[soql_with("WHERE SystemModstamp >= ")])
    _hydrated(rsps, "006A", "006B")

    _, deals = _read({}, SINCE)

    assert deals == ["006A", "006B"]


def test_given_a_cursor_dropped_while_paging_attendees_when_reading_then_each_is_at_the_meeting_once(
    rsps: responses.RequestsMock,
) -> None:
    add_discovery(rsps)
    record = {**payload("opportunities_page.json")["records"][0], "Id": "006A", "Tasks": None}
    rsps.get(QUERY_ALL, json=query_page([record]), match=[soql_with(FULL_READ)])
    invited = {"EventId": "00U5g00000Evt02EAA", "RelationId": "003INVITED", "Status": "Accepted"}
    late = {"EventId": "00U5g00000Evt02EAA", "RelationId": "003LATE", "Status": "Accepted"}
    attendees = soql_with("FROM EventRelation")
    rsps.get(QUERY_ALL, json=query_page([invited], NEXT), match=[attendees])
    rsps.get(NEXT_URL, status=400, json=DROPPED)
    rsps.get(QUERY_ALL, json=query_page([invited, late]), match=[attendees])

    (deal,) = [d for chunk in connector().read_deals(None, UNTIL) for d in chunk]

    meeting = next(a for a in deal.activities if a.id == "00U5g00000Evt02EAA")
    assert meeting.attendee_ids == ("003INVITED", "003LATE")
