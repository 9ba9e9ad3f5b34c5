"""Pure mapping from HubSpot's JSON (as its v3 objects and v4 associations APIs document it) to core's Deal.

`deal_from_hubspot(bundle, context)` takes one deal's `DealBundle`: the deal object, its v4 association rows
per object type (`toObjectId` + `associationTypes` with labels), the associated objects by type and id, and
the contact ids of each meeting and call by type (`ATTENDED`): who was there, or on the line (such a contact
not associated with the deal is on it without a deal role). `MappingContext` holds what is per portal or per
run: the pipelines' stages (closed/won from the pipelines API, not from names), the owned property names, the
commitment ids and labels, the "connected" call dispositions and the run's `now`. No I/O, no clock; tested on
payload files in tests/fixtures/hubspot/.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from connectors.base import COMMITMENT_IDS, met_off_the_deal, parse_commitments
from connectors.hubspot.config import CONNECTED_DISPOSITION, PropertyNames
from core.models import (
    Activity,
    ActivityKind,
    ActivityStatus,
    Commitment,
    Contact,
    Deal,
    LineItem,
    OwnedFields,
    PluginTask,
    Quote,
    QuoteStatus,
    StageChange,
)

Json = Mapping[str, Any]
ENGAGEMENT_TYPES: tuple[str, ...] = ("meetings", "calls", "emails", "notes", "tasks")
# Engagements whose associated contacts took part in them: a meeting's attendees, a call's other end (a call
# is logged on the contact who was called). An email's or a note's contacts were only written to or about.
ATTENDED: tuple[str, ...] = ("meetings", "calls")
# The plugin's task key lives in the task body as its last paragraph, e.g. "[commitments-key: cmt:42:time]".
TASK_KEY_PATTERN = re.compile(r"\[commitments-key:\s*(cmt:(?P<deal>[^:\]\s]+):(?P<commitment>[a-z]+))\s*\]")

DEAL_PROPERTIES: tuple[str, ...] = (
    "dealname", "dealstage", "pipeline", "amount", "deal_currency_code", "closedate", "hs_is_closed",
    "hs_is_closed_won", "hs_manual_forecast_category", "hs_forecast_category", "hs_next_step", "description",
    "hubspot_owner_id", "createdate", "hs_lastmodifieddate", "hs_object_id",
)
OBJECT_PROPERTIES: dict[str, tuple[str, ...]] = {
    "contacts": ("firstname", "lastname", "jobtitle", "email", "hs_buying_role"),
    "meetings": ("hs_meeting_title", "hs_meeting_body", "hs_internal_meeting_notes", "hs_meeting_start_time",
                 "hs_meeting_end_time", "hs_meeting_outcome", "hs_timestamp"),
    "calls": ("hs_call_title", "hs_call_body", "hs_call_status", "hs_call_disposition", "hs_timestamp",
              "hs_call_duration"),
    "emails": ("hs_email_subject", "hs_email_text", "hs_email_html", "hs_email_status", "hs_email_direction",
               "hs_timestamp"),
    "notes": ("hs_note_body", "hs_timestamp"),
    "tasks": ("hs_task_subject", "hs_task_body", "hs_task_status", "hs_timestamp", "hs_task_completion_date"),
    "line_items": ("name", "quantity", "amount", "price", "createdate"),
    "quotes": ("hs_title", "hs_quote_status", "hs_status", "hs_accepted_date", "hs_esign_date",
               "hs_sign_status", "hs_quote_esign_status", "hs_manually_signed", "hs_createdate"),
}

_MEETING_STATUS = {
    "COMPLETED": ActivityStatus.COMPLETED,
    "SCHEDULED": ActivityStatus.SCHEDULED,  # until the meeting is over, see _meeting_status
    "RESCHEDULED": ActivityStatus.SCHEDULED,
    "NO_SHOW": ActivityStatus.NO_SHOW,
    "CANCELED": ActivityStatus.CANCELED,
}
_CALL_PENDING = {"QUEUED", "RINGING", "CONNECTING", "IN_PROGRESS", "CALLING_CRM_USER"}
_CALL_NOT_REACHED = {"BUSY", "NO_ANSWER", "FAILED", "MISSED"}
_EMAIL_STATUS = {"SCHEDULED": ActivityStatus.SCHEDULED, "SENDING": ActivityStatus.SCHEDULED,
                 "BOUNCED": ActivityStatus.CANCELED, "FAILED": ActivityStatus.CANCELED}
# hs_quote_status is the quote's lifecycle as the buyer sees it (published, accepted, expired, voided);
# hs_status is its internal approval state, the fallback where hs_quote_status is blank or unknown, and on
# newer portals may also carry the buyer's decision (_BUYER_DECISION).
_QUOTE_LIFECYCLE = {
    "DRAFT": QuoteStatus.DRAFT, "PENDING_APPROVAL": QuoteStatus.DRAFT, "CHANGES_REQUESTED": QuoteStatus.DRAFT,
    "PUBLISHING": QuoteStatus.PRESENTED, "PUBLISHED": QuoteStatus.PRESENTED,
    "EXPIRED": QuoteStatus.PRESENTED,  # it was in front of the buyer until it lapsed
    "ACCEPTED": QuoteStatus.ACCEPTED,
    "VOID": QuoteStatus.REJECTED, "ARCHIVED": QuoteStatus.REJECTED,
}
_QUOTE_STATUS = {
    "DRAFT": QuoteStatus.DRAFT, "PENDING_APPROVAL": QuoteStatus.DRAFT,
    "APPROVAL_NOT_NEEDED": QuoteStatus.PRESENTED, "APPROVED": QuoteStatus.PRESENTED,
    "PENDING_BUYER_ACTION": QuoteStatus.PRESENTED,
    "ACCEPTED": QuoteStatus.ACCEPTED, "WON": QuoteStatus.ACCEPTED,
    "REJECTED": QuoteStatus.REJECTED, "DECLINED": QuoteStatus.REJECTED, "LOST": QuoteStatus.REJECTED,
}
# hs_status values that record the buyer's decision (newer portals), which the lifecycle may not show yet.
_BUYER_DECISION = {"ACCEPTED": QuoteStatus.ACCEPTED, "WON": QuoteStatus.ACCEPTED,
                   "DECLINED": QuoteStatus.REJECTED, "LOST": QuoteStatus.REJECTED}
# hs_buying_role values as the role names the playbook speaks of; a budget holder is the economic buyer.
_BUYING_ROLES = {"BUDGET_HOLDER": "Economic Buyer", "LEGAL_AND_COMPLIANCE": "Legal and Compliance"}


@dataclass(frozen=True)
class Stage:
    id: str
    label: str
    order: int
    is_closed: bool
    is_won: bool


@dataclass(frozen=True)
class MappingContext:
    """Per-portal and per-run facts the pure mapping needs."""

    now: datetime
    names: PropertyNames
    stages: Mapping[str, Sequence[Stage]] = field(default_factory=dict)  # pipeline id -> stages in order
    commitment_lookup: Mapping[str, Commitment] = field(default_factory=lambda: COMMITMENT_IDS)
    connected_dispositions: frozenset[str] = frozenset({CONNECTED_DISPOSITION})

    def stage(self, pipeline: str, stage_id: str) -> Stage | None:
        return next((s for s in self.stages.get(pipeline, ()) if s.id == stage_id), None)


# ------------------------------------------------------------------------------------------ primitives


def parse_time(value: object) -> datetime | None:
    """HubSpot datetimes: ISO 8601 ("2024-05-01T10:00:00.000Z") or epoch milliseconds as a string."""
    if value in (None, ""):
        return None
    text = str(value).strip()
    if text.isdigit():
        try:
            return datetime.fromtimestamp(int(text) / 1000, tz=UTC)
        except (ValueError, OverflowError, OSError):  # beyond year 9999: unreadable, like a bad ISO date
            return None
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def parse_date(value: object) -> date | None:
    parsed = parse_time(value)
    if parsed is not None:
        return parsed.astimezone(UTC).date()
    try:
        return date.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def parse_number(value: object) -> float | None:
    try:
        number = float(str(value)) if value not in (None, "") else None
    except ValueError:
        return None
    # "NaN" and "Infinity" parse as floats, but a Deal holds finite numbers only: such a value is unread.
    return number if number is None or math.isfinite(number) else None


def _text(value: object) -> str | None:
    return str(value) if value not in (None, "") else None


_BREAK = re.compile(r"<\s*(?:br|/p|/div|/li)\s*/?\s*>", re.IGNORECASE)
# A tag opens with a letter, "/" or "!" right after "<": "x < 5 and y > 3" in a note is text, not a tag.
_TAG = re.compile(r"<[A-Za-z/!][^>]*>")
# A no-break space (HubSpot's editor writes &nbsp; for a repeated, leading or trailing space) and a run of
# spaces show as one space, as a browser renders them; keywords are phrases of single ASCII spaces.
_SPACES = re.compile(r"[ \t\u00a0]+")


def plain_text(value: object) -> str:
    """HubSpot stores note, meeting, call and task bodies as HTML; rules match words, so keep only text."""
    text = str(value or "")
    if "<" not in text and "&" not in text and "\u00a0" not in text:
        return text
    text = html.unescape(_TAG.sub("", _BREAK.sub("\n", text)))
    return "\n".join(line for raw in text.splitlines() if (line := _SPACES.sub(" ", raw).strip()))


def _props(obj: Json) -> Mapping[str, Any]:
    props = obj.get("properties")
    return props if isinstance(props, Mapping) else {}


# ------------------------------------------------------------------------------------------ deal parts


def owned_fields(props: Mapping[str, Any], context: MappingContext) -> OwnedFields:
    names, lookup = context.names, context.commitment_lookup
    next_value = _text(props.get(names.next))
    gap = props.get(names.stage_gap)
    score = parse_number(props.get(names.score))
    return OwnedFields(
        secured=parse_commitments(props.get(names.secured), lookup),
        missing=parse_commitments(props.get(names.missing), lookup),
        next=lookup.get(next_value) if next_value else None,
        score=int(score) if score is not None else None,
        stage_gap=None if gap in (None, "") else str(gap).lower() == "true",
        evidence=_text(props.get(names.evidence)),
        assessed_at=parse_time(props.get(names.assessed_at)),
    )


def stage_history(props: Mapping[str, Any], stages: Iterable[Stage]) -> tuple[StageChange, ...]:
    """`hs_v2_date_entered_<stage>`, falling back to the legacy `hs_date_entered_<stage>`, oldest first."""
    changes = []
    for stage in stages:
        entered = parse_time(props.get(f"hs_v2_date_entered_{stage.id}")) or parse_time(
            props.get(f"hs_date_entered_{stage.id}")
        )
        if entered is not None:
            changes.append(StageChange(stage=stage.id, entered_at=entered))
    return tuple(sorted(changes, key=lambda c: c.entered_at))


def contact_roles(association_types: Iterable[Json], buying_role: object) -> tuple[str, ...]:
    roles = [str(t["label"]) for t in association_types if t.get("label")]
    for raw in str(buying_role or "").split(";"):
        if raw.strip():
            roles.append(_BUYING_ROLES.get(raw.strip(), raw.strip().replace("_", " ").title()))
    return tuple(dict.fromkeys(roles))


def contact_from_hubspot(obj: Json, association_types: Iterable[Json]) -> Contact:
    props = _props(obj)
    name = " ".join(p for p in (_text(props.get("firstname")), _text(props.get("lastname"))) if p) or None
    return Contact(
        id=str(obj["id"]),
        name=name,
        title=_text(props.get("jobtitle")),
        roles=contact_roles(association_types, props.get("hs_buying_role")),
    )


def contacts_on_deal(bundle: Json, activities: Sequence[Activity]) -> tuple[Contact, ...]:
    """The deal's associated contacts, then the contacts its meetings were with that are not associated
    with it (without a deal role; their own buying role still counts)."""
    linked = [contact_from_hubspot(obj, types) for obj, types in _linked(bundle, "contacts")]
    known = bundle.get("objects", {}).get("contacts", {})
    met = met_off_the_deal(activities, {c.id for c in linked})
    return (*linked, *(contact_from_hubspot(known[c], ()) if c in known else Contact(id=c) for c in met))


def took_place(object_type: str, obj: Json, context: MappingContext) -> bool:
    """Whether a meeting was held, or a call connected, by the run's `now`: the reader reads the contacts met
    at one, and only them."""
    props = _props(obj)
    if object_type == "meetings":
        status = _meeting_status(props, *_meeting_span(props), context.now)
    else:
        status = _call_status(props, context.connected_dispositions)
    return status is ActivityStatus.COMPLETED


def _meeting_span(props: Mapping[str, Any]) -> tuple[datetime | None, datetime | None]:
    start = parse_time(props.get("hs_meeting_start_time")) or parse_time(props.get("hs_timestamp"))
    return start, parse_time(props.get("hs_meeting_end_time"))


def _meeting_status(
    props: Mapping[str, Any], start: datetime | None, end: datetime | None, now: datetime
) -> ActivityStatus:
    outcome = str(props.get("hs_meeting_outcome") or "").upper()
    if outcome in _MEETING_STATUS and outcome != "SCHEDULED":
        return _MEETING_STATUS[outcome]
    # HubSpot books a meeting as SCHEDULED and keeps that outcome until a rep logs another, so a SCHEDULED
    # meeting, like one logged without an outcome, was held once it is over (as a Salesforce Event is).
    over = end or start
    return ActivityStatus.COMPLETED if over is not None and over <= now else ActivityStatus.SCHEDULED


def _call_status(props: Mapping[str, Any], connected: frozenset[str]) -> ActivityStatus:
    disposition = str(props.get("hs_call_disposition") or "")
    status = str(props.get("hs_call_status") or "").upper()
    if disposition in connected:
        return ActivityStatus.COMPLETED
    if status == "CANCELED":
        return ActivityStatus.CANCELED
    if status in _CALL_PENDING:
        return ActivityStatus.SCHEDULED
    if status in _CALL_NOT_REACHED or disposition:
        return ActivityStatus.NO_SHOW  # dialled but the buyer was not reached
    return ActivityStatus.COMPLETED  # logged call with no outcome recorded


def activity_from_hubspot(
    object_type: str, obj: Json, context: MappingContext, attendees: Sequence[str] = ()
) -> Activity:
    props = _props(obj)
    when = parse_time(props.get("hs_timestamp"))
    kind, subject, body, start, end = ActivityKind.NOTE, "", "", when, None
    status = ActivityStatus.COMPLETED
    if object_type == "meetings":
        kind, subject = ActivityKind.MEETING, str(props.get("hs_meeting_title") or "")
        body = "\n".join(
            plain_text(props[k]) for k in ("hs_meeting_body", "hs_internal_meeting_notes") if props.get(k)
        )
        start, end = _meeting_span(props)
        status = _meeting_status(props, start, end, context.now)
    elif object_type == "calls":
        kind, subject = ActivityKind.CALL, str(props.get("hs_call_title") or "")
        body = plain_text(props.get("hs_call_body"))
        status = _call_status(props, context.connected_dispositions)
    elif object_type == "emails":
        kind, subject = ActivityKind.EMAIL, str(props.get("hs_email_subject") or "")
        # An email logged through the API may carry only its HTML body; its words count all the same.
        body = plain_text(props.get("hs_email_text")) or plain_text(props.get("hs_email_html"))
        status = _EMAIL_STATUS.get(str(props.get("hs_email_status") or "").upper(), ActivityStatus.COMPLETED)
    elif object_type == "notes":
        body = plain_text(props.get("hs_note_body"))
    elif object_type == "tasks":
        kind, subject = ActivityKind.TASK, str(props.get("hs_task_subject") or "")
        body = plain_text(props.get("hs_task_body"))
        done = str(props.get("hs_task_status") or "").upper() == "COMPLETED"
        status = ActivityStatus.COMPLETED if done else ActivityStatus.OPEN
    return Activity(
        id=str(obj["id"]), kind=kind, status=status, subject=subject, body=body, start=start, end=end,
        attendee_ids=tuple(attendees),
    )


def plugin_task(obj: Json, lookup: Mapping[str, Commitment]) -> PluginTask | None:
    """The plugin's own task (its key marker in the body), or None for a rep's task."""
    props = _props(obj)
    match = TASK_KEY_PATTERN.search(str(props.get("hs_task_body") or ""))
    if match is None or match["commitment"] not in lookup:
        return None
    is_open = str(props.get("hs_task_status") or "").upper() != "COMPLETED"
    return PluginTask(task_id=str(obj["id"]), key=match.group(1), commitment=lookup[match["commitment"]],
                      is_open=is_open)


def line_item_from_hubspot(obj: Json) -> LineItem:
    props = _props(obj)
    return LineItem(
        id=str(obj["id"]), name=_text(props.get("name")), quantity=parse_number(props.get("quantity")),
        amount=parse_number(props.get("amount")), created_at=parse_time(props.get("createdate")),
    )


def _quote_signed(props: Mapping[str, Any]) -> bool:
    """The buyer accepted or signed it (e-signature or marked signed), whatever its status says now."""
    return bool(
        props.get("hs_accepted_date") or props.get("hs_esign_date")
        or str(props.get("hs_sign_status") or "").upper() == "ESIGN_COMPLETED"
        or str(props.get("hs_quote_esign_status") or "").upper() == "SIGNED"
        or str(props.get("hs_manually_signed") or "").lower() == "true"
    )


def _quote_status(props: Mapping[str, Any]) -> QuoteStatus:
    """The lifecycle, else hs_status; a buyer's decision in hs_status outranks a lifecycle still open."""
    lifecycle = str(props.get("hs_quote_status") or "").upper()
    approval = str(props.get("hs_status") or "").upper()
    # A lifecycle value the table does not know (a newer one) reads as that word in hs_status would, and
    # one no table knows leaves hs_status to decide.
    status = (
        _QUOTE_LIFECYCLE.get(lifecycle) or _QUOTE_STATUS.get(lifecycle)
        or _QUOTE_STATUS.get(approval, QuoteStatus.DRAFT)
    )
    decision = _BUYER_DECISION.get(approval)
    if decision is not None and status in (QuoteStatus.DRAFT, QuoteStatus.PRESENTED):
        return decision
    return status


def quote_from_hubspot(obj: Json) -> Quote:
    props = _props(obj)
    status = _quote_status(props)
    if _quote_signed(props) and status is not QuoteStatus.REJECTED:
        status = QuoteStatus.ACCEPTED
    return Quote(id=str(obj["id"]), status=status, name=_text(props.get("hs_title")),
                 created_at=parse_time(props.get("hs_createdate")))


# ------------------------------------------------------------------------------------------ the deal


def _linked(bundle: Json, object_type: str) -> list[tuple[Json, Sequence[Json]]]:
    """The associated objects of one type that were read, with their association types, in row order."""
    rows = bundle.get("associations", {}).get(object_type, ())
    objects = bundle.get("objects", {}).get(object_type, {})
    linked = []
    for row in rows:
        obj = objects.get(str(row["toObjectId"]))
        if obj is not None:
            linked.append((obj, row.get("associationTypes") or ()))
    return linked


def _activities(bundle: Json, context: MappingContext) -> tuple[tuple[Activity, ...], tuple[PluginTask, ...]]:
    attendees: Mapping[str, Mapping[str, Sequence[str]]] = bundle.get("attendees", {})
    activities: list[Activity] = []
    tasks: list[PluginTask] = []
    for object_type in ENGAGEMENT_TYPES:
        for obj, _types in _linked(bundle, object_type):
            own = plugin_task(obj, context.commitment_lookup) if object_type == "tasks" else None
            if own is not None:
                tasks.append(own)  # the plugin's own tasks are not buyer activity
                continue
            who = attendees.get(object_type, {}).get(str(obj["id"]), ())
            activities.append(activity_from_hubspot(object_type, obj, context, who))
    far_future = datetime.max.replace(tzinfo=UTC)
    activities.sort(key=lambda a: (a.start or far_future, a.id))
    return tuple(activities), tuple(tasks)


def deal_from_hubspot(bundle: Json, context: MappingContext) -> Deal:
    """One deal bundle (deal, v4 association rows, associated objects, the contacts of its meetings and calls)
    to a core Deal."""
    deal = bundle["deal"]
    props = _props(deal)
    pipeline = str(props.get("pipeline") or "default")
    stage_id = str(props.get("dealstage") or "")
    stage = context.stage(pipeline, stage_id)
    is_closed = stage.is_closed if stage else str(props.get("hs_is_closed") or "").lower() == "true"
    is_won = stage.is_won if stage else str(props.get("hs_is_closed_won") or "").lower() == "true"
    activities, plugin_tasks = _activities(bundle, context)
    forecast = _text(props.get("hs_manual_forecast_category")) or _text(props.get("hs_forecast_category"))
    return Deal(
        id=str(deal["id"]),
        name=str(props.get("dealname") or ""),
        stage=stage_id,
        stage_label=stage.label if stage and stage.label != stage_id else None,  # ids read badly: "1167842"
        pipeline=pipeline,
        is_closed=is_closed,
        is_won=is_won,
        amount=parse_number(props.get("amount")),
        currency=_text(props.get("deal_currency_code")),
        close_date=parse_date(props.get("closedate")),
        forecast_category=forecast,
        owner_id=_text(props.get("hubspot_owner_id")),
        created_at=parse_time(props.get("createdate")),
        modified_at=parse_time(props.get("hs_lastmodifieddate")),
        next_step=_text(props.get("hs_next_step")),
        description=_text(props.get("description")),
        contacts=contacts_on_deal(bundle, activities),
        activities=activities,
        stage_history=stage_history(props, context.stages.get(pipeline, ())),
        line_items=tuple(line_item_from_hubspot(obj) for obj, _ in _linked(bundle, "line_items")),
        quotes=tuple(quote_from_hubspot(obj) for obj, _ in _linked(bundle, "quotes")),
        confirmed=parse_commitments(props.get(context.names.confirmed), context.commitment_lookup) or (),
        current=owned_fields(props, context),
        plugin_tasks=plugin_tasks,
    )
