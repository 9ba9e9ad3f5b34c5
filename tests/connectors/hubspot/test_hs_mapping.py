"""deal_from_hubspot and its parts, on payload files shaped as HubSpot documents them."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from hubspot_payloads import load

from connectors.base import ConfigurationError
from connectors.hubspot.mapping import (
    MappingContext,
    activity_from_hubspot,
    deal_from_hubspot,
    parse_commitments,
    parse_number,
    parse_time,
    plain_text,
    plugin_task,
    quote_from_hubspot,
)
from connectors.hubspot.pipelines import stages_from_json
from connectors.hubspot.tasks import task_properties
from core.assess import assess
from core.models import (
    ActivityKind,
    ActivityStatus,
    Commitment,
    CommitmentStatus,
    Deal,
    QuoteStatus,
    TaskAction,
    TaskActionKind,
)
from core.playbook import Playbook

C = Commitment


def test_given_pipelines_payload_when_parsed_then_stages_ordered_and_won_from_metadata() -> None:
    stages = stages_from_json(load("pipelines_deals.json"))
    default = stages["default"]
    assert [s.id for s in default][:2] == ["appointmentscheduled", "qualifiedtobuy"]
    assert [s.id for s in default if s.is_won] == ["closedwon"]
    assert [s.id for s in default if s.is_closed] == ["closedwon", "closedlost"]
    assert [s.id for s in stages["4018240"] if s.is_won] == ["4018242"]


def test_given_pipeline_filter_when_parsed_then_only_included_pipelines_kept() -> None:
    assert list(stages_from_json(load("pipelines_deals.json"), include=("4018240",))) == ["4018240"]


def test_given_an_unknown_pipeline_id_in_the_filter_when_parsed_then_the_known_pipelines_are_listed() -> None:
    with pytest.raises(ConfigurationError) as raised:
        stages_from_json(load("pipelines_deals.json"), include=("4018240", "Renewals"))

    message = str(raised.value)
    assert "no deal pipeline with id 'Renewals'" in message
    assert "default (Sales Pipeline), 4018240 (Renewals)" in message


def test_given_open_deal_bundle_when_mapped_then_deal_fields_are_read(context: MappingContext) -> None:
    deal = deal_from_hubspot(load("deal_bundle_open.json"), context)
    assert (deal.id, deal.name, deal.stage, deal.pipeline) == (
        "9001", "Acme Corp - Platform rollout", "presentationscheduled", "default"
    )
    assert deal.stage_label == "Presentation Scheduled"  # what a manager sees in HubSpot, for display
    assert (deal.is_closed, deal.is_won, deal.amount, deal.currency) == (False, False, 48000.0, "USD")
    assert deal.close_date == date(2026, 12, 15)
    assert (deal.forecast_category, deal.owner_id) == ("BEST_CASE", "77001")
    assert deal.next_step == "Send workshop agenda"
    assert deal.created_at == datetime(2026, 9, 1, 8, 30, tzinfo=UTC)


def test_given_owned_properties_when_mapped_then_current_and_confirmed_in_canonical_order(
    context: MappingContext,
) -> None:
    deal = deal_from_hubspot(load("deal_bundle_open.json"), context)
    assert deal.current.secured == (C.TIME, C.EXPLORE)  # the unknown option is ignored
    assert deal.current.missing == (C.COLLABORATE, C.CONSENSUS)
    assert (deal.current.next, deal.current.score, deal.current.stage_gap) == (C.CHANGE, 2, True)
    assert deal.current.assessed_at == datetime(2026, 11, 19, 6, 0, tzinfo=UTC)
    assert deal.confirmed == (C.CHANGE,)


def test_given_stage_dates_when_mapped_then_v2_preferred_and_legacy_fallback(context: MappingContext) -> None:
    deal = deal_from_hubspot(load("deal_bundle_open.json"), context)
    assert [(s.stage, s.entered_at.day) for s in deal.stage_history] == [
        ("appointmentscheduled", 1), ("qualifiedtobuy", 20), ("presentationscheduled", 15)
    ]


def test_given_contacts_with_labels_and_buying_roles_when_mapped_then_roles_merged(
    context: MappingContext,
) -> None:
    deal = deal_from_hubspot(load("deal_bundle_open.json"), context)
    dana, lee = deal.contacts
    assert (dana.name, dana.title, dana.roles) == ("Dana Ruiz", "CFO", ("Decision Maker", "Economic Buyer"))
    assert (lee.name, lee.title, lee.roles) == ("Lee", None, ())


def test_given_engagements_when_mapped_then_statuses_and_attendees(context: MappingContext) -> None:
    deal = deal_from_hubspot(load("deal_bundle_open.json"), context)
    by_id = {a.id: a for a in deal.activities}
    assert (by_id["601"].status, by_id["601"].attendee_ids) == (ActivityStatus.COMPLETED, ("501",))
    assert by_id["601"].body == "First meeting\nDiscussed goals"
    assert (by_id["602"].status, by_id["602"].attendee_ids) == (ActivityStatus.SCHEDULED, ("501", "502"))
    assert by_id["603"].status is ActivityStatus.COMPLETED  # no outcome, in the past
    # a connected call, with the contact called
    assert (by_id["701"].status, by_id["701"].attendee_ids) == (ActivityStatus.COMPLETED, ("502",))
    assert by_id["702"].status is ActivityStatus.NO_SHOW  # "No answer" disposition
    assert by_id["801"].kind is ActivityKind.EMAIL
    assert by_id["801"].start == datetime(2025, 10, 8, 10, 0, tzinfo=UTC)  # epoch-ms form
    assert by_id["851"].kind is ActivityKind.NOTE
    assert (by_id["901"].kind, by_id["901"].status) == (ActivityKind.TASK, ActivityStatus.OPEN)
    assert [a.start for a in deal.activities] == sorted(a.start for a in deal.activities if a.start)


def test_given_an_email_with_only_an_html_body_when_mapped_then_its_text_is_the_body(
    context: MappingContext,
) -> None:
    email = {"id": "802", "properties": {
        "hs_email_subject": "Re: next steps", "hs_email_text": None,
        "hs_email_html": "<div>Budget &amp; timeline<br>signed off by the CFO</div>",
    }}
    activity = activity_from_hubspot("emails", email, context)
    assert activity.body == "Budget & timeline\nsigned off by the CFO"


def test_given_plugin_task_marker_when_mapped_then_plugin_task_not_activity(context: MappingContext) -> None:
    deal = deal_from_hubspot(load("deal_bundle_open.json"), context)
    assert "902" not in {a.id for a in deal.activities}
    (task,) = deal.plugin_tasks
    assert (task.task_id, task.key) == ("902", "cmt:9001:change")
    assert (task.commitment, task.is_open) == (C.CHANGE, True)


def test_given_line_items_and_quotes_when_mapped_then_read(context: MappingContext) -> None:
    deal = deal_from_hubspot(load("deal_bundle_open.json"), context)
    (item,) = deal.line_items
    assert (item.name, item.quantity, item.amount) == ("Platform licence", 10.0, 48000.0)
    (quote,) = deal.quotes
    assert (quote.status, quote.name) == (QuoteStatus.PRESENTED, "Acme quote v1")


def test_given_custom_pipeline_won_stage_when_mapped_then_won_from_pipeline_not_flags(
    context: MappingContext,
) -> None:
    deal = deal_from_hubspot(load("deal_bundle_won_legacy.json"), context)
    assert (deal.is_closed, deal.is_won, deal.amount, deal.owner_id) == (True, True, None, None)
    assert deal.close_date == date(2026, 6, 30)
    assert [s.stage for s in deal.stage_history] == ["4018241", "4018242"]
    assert deal.contacts == ()  # the associated contact was not readable (deleted): skipped
    assert deal.quotes[0].status is QuoteStatus.ACCEPTED
    (task,) = deal.plugin_tasks
    assert (task.key, task.is_open) == ("cmt:9002:decide", False)
    assert deal.current.secured is None
    assert deal.confirmed == ()


@pytest.mark.parametrize(
    ("outcome", "start", "status"),
    [("COMPLETED", "2026-01-01T00:00:00Z", ActivityStatus.COMPLETED),
     ("SCHEDULED", "2026-12-01T00:00:00Z", ActivityStatus.SCHEDULED),
     # HubSpot leaves a booked meeting SCHEDULED unless a rep logs an outcome: once over, it was held.
     ("SCHEDULED", "2026-01-01T00:00:00Z", ActivityStatus.COMPLETED),
     (None, "2026-01-01T00:00:00Z", ActivityStatus.COMPLETED),
     (None, "2026-12-01T00:00:00Z", ActivityStatus.SCHEDULED),
     ("RESCHEDULED", "2026-01-01T00:00:00Z", ActivityStatus.SCHEDULED),
     ("NO_SHOW", "2026-01-01T00:00:00Z", ActivityStatus.NO_SHOW),
     ("CANCELED", "2026-01-01T00:00:00Z", ActivityStatus.CANCELED)],
)
def test_given_meeting_outcome_when_mapped_then_status(
    context: MappingContext, outcome: str | None, start: str, status: ActivityStatus
) -> None:
    props = {"hs_meeting_outcome": outcome, "hs_meeting_start_time": start}
    meeting = {"id": "1", "properties": props}
    assert activity_from_hubspot("meetings", meeting, context).status is status


def test_given_scheduled_meeting_in_progress_when_mapped_then_still_scheduled_until_its_end(
    context: MappingContext,
) -> None:
    props = {"hs_meeting_outcome": "SCHEDULED", "hs_meeting_start_time": "2026-11-24T05:30:00Z",
             "hs_meeting_end_time": "2026-11-24T06:30:00Z"}  # context.now is 06:00
    meeting = {"id": "1", "properties": props}
    assert activity_from_hubspot("meetings", meeting, context).status is ActivityStatus.SCHEDULED


@pytest.mark.parametrize(
    ("status", "disposition", "expected"),
    [("COMPLETED", "f240bbac-87c9-4f6e-bf70-924b57d47db7", ActivityStatus.COMPLETED),
     ("COMPLETED", "b2cf5968-551e-4856-9783-52b3da59a7d0", ActivityStatus.NO_SHOW),
     ("NO_ANSWER", None, ActivityStatus.NO_SHOW),
     ("CANCELED", None, ActivityStatus.CANCELED),
     ("QUEUED", None, ActivityStatus.SCHEDULED),
     ("COMPLETED", None, ActivityStatus.COMPLETED)],
)
def test_given_call_status_and_disposition_when_mapped_then_connected_means_completed(
    context: MappingContext, status: str, disposition: str | None, expected: ActivityStatus
) -> None:
    call = {"id": "1", "properties": {"hs_call_status": status, "hs_call_disposition": disposition}}
    assert activity_from_hubspot("calls", call, context).status is expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("2026-01-02T03:04:05Z", datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)),
     ("2026-01-02T03:04:05.250Z", datetime(2026, 1, 2, 3, 4, 5, 250000, tzinfo=UTC)),
     ("1767323045000", datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)),
     ("", None), (None, None), ("not a date", None)],
)
def test_given_hubspot_datetime_forms_when_parsed_then_aware_utc(
    raw: str | None, expected: datetime | None
) -> None:
    assert parse_time(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("18000", 18000.0), ("2.5", 2.5), ("", None), (None, None), ("n/a", None), ("NaN", None),
     ("Infinity", None), ("-inf", None)],
)
def test_given_number_property_forms_when_parsed_then_finite_or_unread(
    raw: str | None, expected: float | None
) -> None:
    # A Deal holds finite amounts only: a non-finite one read as a number would fail the whole deal.
    assert parse_number(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(None, None), ("", ()), ("decide;time", (C.TIME, C.DECIDE)), ("time;time", (C.TIME,))],
)
def test_given_checkbox_value_when_parsed_then_canonical_commitments(
    raw: str | None, expected: tuple[Commitment, ...] | None
) -> None:
    assert parse_commitments(raw, {c.value: c for c in Commitment}) == expected


def test_given_html_note_body_when_mapped_then_plain_text_lines(context: MappingContext) -> None:
    deal = deal_from_hubspot(load("deal_bundle_open.json"), context)
    note = next(a for a in deal.activities if a.id == "851")
    assert note.body == "Compelling event: audit in Q1\nCFO & COO aligned\nbudget approved"


@pytest.mark.parametrize(
    ("html", "text"),
    [
        ("<p>x < 5 and y > 3</p>", "x < 5 and y > 3"),  # comparisons in a note are text, not a tag
        ("<div>budget &lt;50k&gt; approved<br/>next</div>", "budget <50k> approved\nnext"),
        ("<!-- sig --><b>Go</b>-live", "Go-live"),
    ],
)
def test_given_html_body_when_made_plain_then_only_tags_are_dropped(html: str, text: str) -> None:
    assert plain_text(html) == text


def test_given_dates_beyond_year_9999_in_epoch_ms_when_mapped_then_unread_and_the_deal_still_maps(
    context: MappingContext,
) -> None:
    far = "253402300800000"  # 10000-01-01 in epoch ms: a typo'd year, as a bad ISO date already reads
    bundle = load("deal_bundle_open.json")
    bundle["deal"]["properties"].update(closedate=far, createdate="99999999999999999")
    meeting = next(iter(bundle["objects"]["meetings"].values()))
    meeting["properties"].update(hs_meeting_start_time=far, hs_meeting_end_time=far, hs_timestamp=far)

    deal = deal_from_hubspot(bundle, context)

    assert (deal.close_date, deal.created_at) == (None, None)
    assert parse_time(far) is None
    assert any(a.kind is ActivityKind.MEETING and a.start is None for a in deal.activities)


@pytest.mark.parametrize(
    "html",
    [
        "<p>Budget&nbsp;approved</p>",  # HubSpot's editor writes &nbsp; for a space typed after another
        "<p>Budget &nbsp;approved&nbsp;</p>",
        "Budget\u00a0approved",  # the no-break space itself, unescaped
        "<div>Budget \t approved</div>",
    ],
)
def test_given_a_note_with_no_break_spaces_when_assessed_then_its_keyword_phrase_counts(
    context: MappingContext, playbook: Playbook, html: str
) -> None:
    note = activity_from_hubspot("notes", {"id": "1", "properties": {"hs_note_body": html}}, context)
    assert note.body == "Budget approved"
    deal = Deal(id="9", stage="presentationscheduled", activities=(note,))
    invest = assess(deal, playbook, context.now).result(C.INVEST)
    assert invest.status is CommitmentStatus.PARTIAL
    assert "budget is noted" in invest.reason


@pytest.mark.parametrize(
    ("props", "status"),
    [
        # hs_quote_status is the lifecycle the buyer sees; hs_status only the internal approval state.
        ({"hs_quote_status": "PUBLISHED", "hs_status": "APPROVAL_NOT_NEEDED"}, QuoteStatus.PRESENTED),
        ({"hs_quote_status": "ACCEPTED", "hs_status": "APPROVAL_NOT_NEEDED"}, QuoteStatus.ACCEPTED),
        ({"hs_quote_status": "DRAFT", "hs_status": "APPROVED"}, QuoteStatus.DRAFT),  # approved, not sent
        ({"hs_quote_status": "CHANGES_REQUESTED", "hs_status": "REJECTED"}, QuoteStatus.DRAFT),
        ({"hs_quote_status": "EXPIRED", "hs_status": "APPROVAL_NOT_NEEDED"}, QuoteStatus.PRESENTED),
        ({"hs_quote_status": "VOID", "hs_status": "APPROVAL_NOT_NEEDED"}, QuoteStatus.REJECTED),
        # A signed quote was accepted, even once it has expired.
        ({"hs_quote_status": "EXPIRED", "hs_sign_status": "ESIGN_COMPLETED"}, QuoteStatus.ACCEPTED),
        ({"hs_quote_status": "PUBLISHED", "hs_esign_date": "2026-06-29T10:00:00Z"}, QuoteStatus.ACCEPTED),
        ({"hs_quote_status": "PUBLISHED", "hs_quote_esign_status": "SIGNED"}, QuoteStatus.ACCEPTED),
        ({"hs_quote_status": "PUBLISHED", "hs_manually_signed": "true"}, QuoteStatus.ACCEPTED),
        # Newer statuses: the buyer's decision in hs_status, newer words in the lifecycle.
        ({"hs_quote_status": "PUBLISHED", "hs_status": "WON"}, QuoteStatus.ACCEPTED),
        ({"hs_quote_status": "PUBLISHED", "hs_status": "ACCEPTED"}, QuoteStatus.ACCEPTED),
        ({"hs_quote_status": "PUBLISHED", "hs_status": "DECLINED"}, QuoteStatus.REJECTED),
        ({"hs_quote_status": "PUBLISHED", "hs_status": "LOST"}, QuoteStatus.REJECTED),
        ({"hs_quote_status": "ACCEPTED", "hs_status": "LOST"}, QuoteStatus.ACCEPTED),  # the buyer's own word
        ({"hs_quote_status": "PENDING_BUYER_ACTION"}, QuoteStatus.PRESENTED),
        ({"hs_quote_status": "DECLINED"}, QuoteStatus.REJECTED),
        ({"hs_quote_status": "SOMETHING_NEW", "hs_status": "APPROVAL_NOT_NEEDED"}, QuoteStatus.PRESENTED),
        # Portals without hs_quote_status: the approval state is all there is.
        ({"hs_status": "PENDING_BUYER_ACTION"}, QuoteStatus.PRESENTED),
        ({"hs_status": "WON"}, QuoteStatus.ACCEPTED),
        ({"hs_status": "APPROVAL_NOT_NEEDED"}, QuoteStatus.PRESENTED),
        ({"hs_quote_status": None, "hs_status": "DRAFT"}, QuoteStatus.DRAFT),
        ({}, QuoteStatus.DRAFT),
    ],
)
def test_given_quote_properties_when_mapped_then_status_from_lifecycle_then_signature(
    props: dict[str, str | None], status: QuoteStatus
) -> None:
    assert quote_from_hubspot({"id": "1", "properties": props}).status is status


def test_given_a_task_to_create_when_its_properties_are_made_then_its_body_is_html_key_last() -> None:
    action = TaskAction(
        kind=TaskActionKind.CREATE, deal_id="42", commitment=Commitment.TIME, key="cmt:42:time",
        subject="Secure the Commitment for Time",
        body='Ask for a first meeting.\n\nWhere it stands: meeting "R&D <sync>" is scheduled\nfor Monday.',
    )

    body = task_properties(action)["hs_task_body"]

    assert body == (
        "<p>Ask for a first meeting.</p>"
        "<p>Where it stands: meeting \"R&amp;D &lt;sync&gt;\" is scheduled<br>for Monday.</p>"
        "<p>[commitments-key: cmt:42:time]</p>"
    )
    task = plugin_task({"id": "7", "properties": {"hs_task_body": body}}, {"time": Commitment.TIME})
    assert task is not None
    assert task.key == "cmt:42:time"
    assert plain_text(body) == (
        'Ask for a first meeting.\nWhere it stands: meeting "R&D <sync>" is scheduled\nfor Monday.\n'
        "[commitments-key: cmt:42:time]"
    )
