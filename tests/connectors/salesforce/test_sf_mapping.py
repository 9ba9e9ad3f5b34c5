"""deal_from_salesforce on recorded query payloads, and its small parts as tables."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from salesforce_support import payload, session_config

from connectors.salesforce.config import SalesforceConfig
from connectors.salesforce.mapping import (
    MappingContext,
    deal_from_salesforce,
    event_attendees,
    event_status,
    quote,
    task_kind_status,
)
from core.models import ActivityKind, ActivityStatus, Commitment, QuoteStatus

NOW = datetime(2024, 6, 10, 15, 0, tzinfo=UTC)


def _context(config: SalesforceConfig | None = None) -> MappingContext:
    return MappingContext(names=(config or session_config()).field_names(), now=NOW)


def _drained_first_record() -> dict[str, Any]:
    raw = payload("opportunities_page.json")["records"][0]
    rest = payload("tasks_page2.json")["records"]
    raw["Tasks"] = {"totalSize": 3, "done": True, "records": [*raw["Tasks"]["records"], *rest]}
    return raw


def test_given_a_full_opportunity_payload_when_mapped_then_every_part_of_the_deal_is_read() -> None:
    deal = deal_from_salesforce(_drained_first_record(), _context())

    assert (deal.id, deal.pipeline, deal.stage, deal.is_closed) == (
        "0065g00000Abc01AAB",
        "salesforce",
        "Id. Decision Makers",
        False,
    )
    assert deal.amount == 48000.0
    assert deal.close_date == date(2024, 9, 30)
    assert deal.created_at == datetime(2024, 4, 2, 9, 15, tzinfo=UTC)
    assert [(c.id, c.name, c.roles) for c in deal.contacts] == [
        ("0035g00000Con02AAA", "Lee Park", ("Economic Buyer",)),
        ("0035g00000Con01AAA", "Dana Reyes", ("Evaluator", "Technical Buyer")),
    ]
    assert [s.stage for s in deal.stage_history] == ["Prospecting", "Id. Decision Makers"]
    assert [(q.id, q.status) for q in deal.quotes] == [
        ("0Q05g00000Quo01CAA", QuoteStatus.REJECTED),
        ("0Q05g00000Quo02CAA", QuoteStatus.PRESENTED),
    ]
    assert deal.line_items[0].amount == 48000.0


def test_given_events_and_tasks_when_mapped_then_kinds_and_statuses_follow_the_conventions() -> None:
    deal = deal_from_salesforce(_drained_first_record(), _context())

    statuses = {a.id: (a.kind, a.status) for a in deal.activities}
    assert statuses == {
        "00U5g00000Evt01EAA": (ActivityKind.MEETING, ActivityStatus.COMPLETED),
        "00U5g00000Evt02EAA": (ActivityKind.MEETING, ActivityStatus.CANCELED),
        "00U5g00000Evt03EAA": (ActivityKind.MEETING, ActivityStatus.SCHEDULED),
        "00T5g00000Tsk01EAA": (ActivityKind.CALL, ActivityStatus.COMPLETED),
        "00T5g00000Tsk02EAA": (ActivityKind.CALL, ActivityStatus.NO_SHOW),
    }
    assert deal.activities[0].attendee_ids == ("0035g00000Con01AAA",)


def test_given_a_task_with_the_plugin_key_when_mapped_then_it_is_a_plugin_task_not_an_activity() -> None:
    deal = deal_from_salesforce(_drained_first_record(), _context())

    assert [(t.task_id, t.commitment, t.is_open) for t in deal.plugin_tasks] == [
        ("00T5g00000Tsk03EAA", Commitment.CHANGE, True)
    ]
    assert "00T5g00000Tsk03EAA" not in {a.id for a in deal.activities}


def test_given_plugin_fields_when_mapped_then_current_and_confirmed_are_read_in_canonical_order() -> None:
    deal = deal_from_salesforce(_drained_first_record(), _context())

    assert deal.current.secured == (Commitment.TIME, Commitment.EXPLORE)
    assert deal.current.missing == (Commitment.CHANGE, Commitment.COLLABORATE, Commitment.CONSENSUS)
    assert deal.current.next is Commitment.CHANGE
    assert (deal.current.score, deal.current.stage_gap) == (2, True)
    assert deal.current.assessed_at == datetime(2024, 6, 9, 2, 0, tzinfo=UTC)
    assert deal.confirmed == (Commitment.CHANGE,)


def test_given_null_children_and_unset_fields_when_mapped_then_the_deal_is_empty_not_broken() -> None:
    raw = payload("opportunities_page.json")["records"][1]

    deal = deal_from_salesforce(raw, _context())

    assert (deal.is_closed, deal.is_won, deal.amount) == (True, True, None)
    assert deal.contacts == deal.activities == deal.quotes == ()
    assert deal.current.secured is None
    assert deal.current.stage_gap is False
    assert deal.confirmed == ()


def test_given_a_field_prefix_when_mapped_then_the_prefixed_fields_are_read() -> None:
    raw = {
        ("Acme_" + k if k.endswith("__c") else k): v
        for k, v in payload("opportunities_page.json")["records"][0].items()
    }

    deal = deal_from_salesforce(raw, _context(session_config(field_prefix="Acme_")))

    assert deal.current.next is Commitment.CHANGE
    assert deal.current.secured == (Commitment.TIME, Commitment.EXPLORE)


@pytest.mark.parametrize(
    ("subject", "end", "expected"),
    [
        ("Demo", "2024-06-10T14:59:00.000+0000", ActivityStatus.COMPLETED),
        ("Demo", "2024-06-10T15:00:00.000+0000", ActivityStatus.COMPLETED),
        ("Demo", "2024-06-10T15:01:00.000+0000", ActivityStatus.SCHEDULED),
        ("Cancelled: Demo", "2024-06-01T10:00:00.000+0000", ActivityStatus.CANCELED),
        ("No-show: Demo", "2024-06-01T10:00:00.000+0000", ActivityStatus.NO_SHOW),
        ("no show: Demo", "2024-06-01T10:00:00.000+0000", ActivityStatus.NO_SHOW),
    ],
)
def test_given_an_event_when_its_status_is_read_then_now_and_the_subject_prefix_decide(
    subject: str, end: str, expected: ActivityStatus
) -> None:
    assert event_status({"Subject": subject, "EndDateTime": end}, NOW) is expected


# NOW is 2024-06-10 15:00 UTC: an all-day event on June 10 is still going on (in UTC and in the Americas),
# one on June 9 is over in UTC but not until 12:00 UTC on June 10 in the last time zone.
@pytest.mark.parametrize(
    ("event", "expected"),
    [
        ({"StartDateTime": "2024-06-10T00:00:00.000+0000", "EndDateTime": "2024-06-10T00:00:00.000+0000",
          "DurationInMinutes": 1440}, ActivityStatus.SCHEDULED),
        ({"StartDateTime": "2024-06-10T00:00:00.000+0000", "EndDateTime": "2024-06-10T00:00:00.000+0000"},
         ActivityStatus.SCHEDULED),
        ({"StartDateTime": "2024-06-09T00:00:00.000+0000", "EndDateTime": "2024-06-09T00:00:00.000+0000",
          "DurationInMinutes": 1440}, ActivityStatus.COMPLETED),
        ({"StartDateTime": "2024-06-08T00:00:00.000+0000", "EndDateTime": "2024-06-10T00:00:00.000+0000",
          "DurationInMinutes": 4320}, ActivityStatus.SCHEDULED),
        ({"StartDateTime": "2024-06-09T00:00:00.000+0000", "EndDateTime": "2024-06-09T00:00:00.000+0000",
          "DurationInMinutes": 1440, "Subject": "Canceled: Onsite"}, ActivityStatus.CANCELED),
    ],
    ids=["today", "today-no-duration", "yesterday", "three-days-to-today", "canceled"],
)
def test_given_an_all_day_event_when_its_status_is_read_then_it_is_held_once_its_last_day_ended_everywhere(
    event: dict[str, object], expected: ActivityStatus
) -> None:
    assert event_status({"Subject": "Onsite workshop", **event, "IsAllDayEvent": True}, NOW) is expected


@pytest.mark.parametrize(
    ("task", "expected"),
    [
        (
            {"TaskSubtype": "Call", "Status": "Completed", "IsClosed": True, "CallDisposition": "Connected"},
            (ActivityKind.CALL, ActivityStatus.COMPLETED),
        ),
        (
            {"TaskSubtype": "Call", "Status": "Completed", "IsClosed": True, "CallDisposition": "No answer"},
            (ActivityKind.CALL, ActivityStatus.NO_SHOW),
        ),
        (
            {"TaskSubtype": "Call", "Status": "Completed", "IsClosed": True, "CallDisposition": "Canceled"},
            (ActivityKind.CALL, ActivityStatus.CANCELED),
        ),
        (
            {"TaskSubtype": "Task", "Type": "Other", "Status": "Completed", "IsClosed": True},
            (ActivityKind.NOTE, ActivityStatus.COMPLETED),
        ),
        (
            {"TaskSubtype": "Call", "Status": "Not Started", "IsClosed": False},
            (ActivityKind.CALL, ActivityStatus.OPEN),
        ),
        (
            {"TaskSubtype": "Email", "Status": "Completed", "IsClosed": True},
            (ActivityKind.EMAIL, ActivityStatus.COMPLETED),
        ),
        (
            {"TaskSubtype": "Task", "Status": "In Progress", "IsClosed": False},
            (ActivityKind.TASK, ActivityStatus.OPEN),
        ),
        (
            {"TaskSubtype": None, "Type": "Call", "Status": "Completed", "IsClosed": True},
            (ActivityKind.CALL, ActivityStatus.COMPLETED),
        ),
        (  # a dialer's call: created through the API, so TaskSubtype is the default "Task"
            {"TaskSubtype": "Task", "Type": "Call", "Status": "Completed", "IsClosed": True,
             "CallDisposition": "Left voicemail"},
            (ActivityKind.CALL, ActivityStatus.NO_SHOW),
        ),
        (
            {"TaskSubtype": "Task", "Type": "Email", "Status": "Completed", "IsClosed": True},
            (ActivityKind.EMAIL, ActivityStatus.COMPLETED),
        ),
    ],
)
def test_given_a_task_when_classified_then_subtype_status_and_disposition_decide(
    task: dict[str, Any], expected: tuple[ActivityKind, ActivityStatus]
) -> None:
    assert task_kind_status(task) == expected


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("Draft", QuoteStatus.DRAFT),
        ("Needs Review", QuoteStatus.DRAFT),
        ("Presented", QuoteStatus.PRESENTED),
        ("Accepted", QuoteStatus.ACCEPTED),
        ("Denied", QuoteStatus.REJECTED),
        ("Rejected", QuoteStatus.REJECTED),
        (None, QuoteStatus.DRAFT),
    ],
)
def test_given_a_quote_status_when_mapped_then_it_is_normalised(
    status: str | None, expected: QuoteStatus
) -> None:
    assert quote({"Id": "0Q0x", "Status": status}).status is expected


def _relations(*rows: tuple[str, str | None]) -> dict[str, Any]:
    records = [
        {"RelationId": who, "Status": status, "Relation": {"Name": f"Name {who}"}} for who, status in rows
    ]
    return {"totalSize": len(records), "done": True, "records": records}


def test_given_event_relations_when_attendees_are_read_then_related_and_invited_people_count_unless_declined(
) -> None:
    event = {
        "Id": "00U1",
        "WhoId": "003DECLINED",
        "EventRelations": _relations(
            ("003DECLINED", "Declined"), ("003ACCEPTED", "Accepted"), ("003RELATED", "New"),
            ("00QUNINVITED", "Uninvited"), ("003NOANSWER", None),
        ),
    }

    assert event_attendees(event) == ("003ACCEPTED", "003RELATED", "003NOANSWER")
    assert event_attendees({"Id": "00U2", "WhoId": "003WHO"}) == ("003WHO",)  # no EventRelation read


def test_given_contacts_met_without_a_contact_role_when_mapped_then_they_are_on_the_deal_without_a_role(
) -> None:
    meeting = {
        "Id": "00U1", "Subject": "Workshop", "StartDateTime": "2024-06-01T10:00:00.000+0000",
        "EndDateTime": "2024-06-01T11:00:00.000+0000", "WhoId": "0035g00000Con01AAA",
        "EventRelations": _relations(
            ("003MET", "Accepted"), ("00QLEAD", "Accepted"), ("003AWAY", "Declined")
        ),
    }
    call = {
        "Id": "00T1", "Subject": "Call", "TaskSubtype": "Call", "Status": "Completed", "IsClosed": True,
        "CallDisposition": "Connected", "WhoId": "003CALLED", "Who": {"Name": "Cal Led"},
    }
    email = {"Id": "00T2", "Subject": "Hi", "TaskSubtype": "Email", "IsClosed": True, "WhoId": "003EMAILED"}
    not_met = [  # invited to a meeting to come, or to one canceled: not met
        {**meeting, "Id": "00U2", "StartDateTime": "2024-07-01T10:00:00.000+0000",
         "EndDateTime": "2024-07-01T11:00:00.000+0000",
         "EventRelations": _relations(("003FUTURE", "Accepted"))},
        {**meeting, "Id": "00U3", "Subject": "Canceled: Workshop",
         "EventRelations": _relations(("003OFF", None))},
    ]
    raw = payload("opportunities_page.json")["records"][0]
    raw["Events"] = {"totalSize": 3, "done": True, "records": [meeting, *not_met]}
    raw["Tasks"] = {"totalSize": 2, "done": True, "records": [call, email]}

    deal = deal_from_salesforce(raw, _context())

    assert [(c.id, c.name, c.roles) for c in deal.contacts] == [
        ("0035g00000Con02AAA", "Lee Park", ("Economic Buyer",)),
        ("0035g00000Con01AAA", "Dana Reyes", ("Evaluator", "Technical Buyer")),
        ("003MET", "Name 003MET", ()),
        ("003CALLED", "Cal Led", ()),
    ]
