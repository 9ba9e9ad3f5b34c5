"""Salesforce records to core's `Deal`: one pure function, `deal_from_salesforce(raw, context)`.

`raw` is one Opportunity exactly as the REST query API returns it (an `attributes` key, child relationships as
`{totalSize, done, records}` or null), with child lists already drained of their `nextRecordsUrl` pages.
`context` carries what the mapping cannot know from the record: the stages' meaning, the plugin's field names,
how to read commitment picklist values, and `now` (an event is held once it has ended; an all-day event once
its last day has ended in every time zone).

Conventions (shared with the sandbox and what real orgs do): an Event whose Subject starts with
"Canceled:"/"Cancelled:" was canceled and "No-show:"/"No show:" was a no-show; a Task with TaskSubtype Call is
a call, connected when closed and its CallDisposition is not a no-answer outcome ("Canceled" is a canceled
call); TaskSubtype Email is an email; a generic subtype ("Task", the default of API-created tasks) defers to
Type (Call, Email); a Task of Type "Other" is a note (how orgs without Enhanced Notes log them); any other
Task is a task. A meeting's attendees are its WhoId and the contacts and leads of its EventRelation rows
(attached by the reader), less those who declined; a call's are its WhoId and, for one logged with several
contacts, the others of its TaskRelation rows (attached the same way); a contact the deal met or spoke
with but who holds no contact role is a contact on the deal without a role. Tasks carrying the plugin's key
are the plugin's own tasks (`Deal.plugin_tasks`), never buyer activities.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from connectors.base import COMMITMENT_IDS, met_off_the_deal, parse_commitments
from connectors.salesforce.config import FieldNames
from connectors.salesforce.soql import StageMeaning
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

PIPELINE = "salesforce"
Record = Mapping[str, Any]

_CANCELED_PREFIXES = ("canceled:", "cancelled:")
_NO_SHOW_PREFIXES = ("no-show:", "no show:", "noshow:")
_NO_ANSWER = frozenset({
    "no answer", "no-answer", "not answered", "left voicemail", "left message", "voicemail", "busy",
    "wrong number", "not reached", "unreachable", "no contact", "gatekeeper",
})
_CANCELED_DISPOSITIONS = frozenset({"canceled", "cancelled"})
# EventRelation answers that mean the person was not there ("Uninvited": taken off the invitation).
_NOT_ATTENDING = frozenset({"declined", "uninvited"})
_QUOTE_STATUS = {
    "draft": QuoteStatus.DRAFT, "needs review": QuoteStatus.DRAFT, "in review": QuoteStatus.DRAFT,
    "approved": QuoteStatus.DRAFT, "presented": QuoteStatus.PRESENTED, "accepted": QuoteStatus.ACCEPTED,
    "denied": QuoteStatus.REJECTED, "rejected": QuoteStatus.REJECTED,
}


@dataclass(frozen=True)
class MappingContext:
    names: FieldNames
    now: datetime
    stages: Mapping[str, StageMeaning] = field(default_factory=dict)
    commitment_lookup: Mapping[str, Commitment] = field(default_factory=lambda: COMMITMENT_IDS)


def children(raw: Record, relationship: str) -> list[Record]:
    """The records of a child relationship; null (no children) is an empty list."""
    rel = raw.get(relationship)
    return list(rel.get("records") or []) if isinstance(rel, Mapping) else []


def parse_datetime(value: Any) -> datetime | None:
    if not value:
        return None
    text = str(value).replace("Z", "+00:00")
    parsed = datetime.fromisoformat(text)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def parse_date(value: Any) -> date | None:
    return date.fromisoformat(str(value)[:10]) if value else None


def _date_as_datetime(value: Any) -> datetime | None:
    day = parse_date(value)
    return datetime(day.year, day.month, day.day, tzinfo=UTC) if day else None


def deal_from_salesforce(raw: Record, context: MappingContext) -> Deal:
    """Map one Opportunity query record (children drained) to core's Deal."""
    stage = str(raw.get("StageName") or "")
    meaning = context.stages.get(stage)
    is_closed = raw.get("IsClosed")
    is_won = raw.get("IsWon")
    tasks = children(raw, "Tasks")
    key_field = context.names.task_key
    buyer_tasks = [t for t in tasks if not t.get(key_field)]
    events = children(raw, "Events")
    activities = (
        *(activity_from_event(e, context.now) for e in events),
        *(activity_from_task(t) for t in buyer_tasks),
    )
    with_roles = contacts_from_roles(children(raw, "OpportunityContactRoles"))
    return Deal(
        id=str(raw["Id"]),
        name=str(raw.get("Name") or ""),
        stage=stage,
        pipeline=PIPELINE,
        is_closed=bool(is_closed if is_closed is not None else meaning and meaning.is_closed),
        is_won=bool(is_won if is_won is not None else meaning and meaning.is_won),
        amount=_float(raw.get("Amount")),
        currency=raw.get("CurrencyIsoCode"),
        close_date=parse_date(raw.get("CloseDate")),
        forecast_category=raw.get("ForecastCategoryName"),
        owner_id=raw.get("OwnerId"),
        created_at=parse_datetime(raw.get("CreatedDate")),
        modified_at=parse_datetime(raw.get("SystemModstamp")),
        next_step=raw.get("NextStep"),
        description=raw.get("Description"),
        contacts=(*with_roles, *attendee_contacts(activities, with_roles, people_named([*events, *tasks]))),
        activities=activities,
        stage_history=stage_history(children(raw, "OpportunityHistories")),
        line_items=tuple(line_item(r) for r in children(raw, "OpportunityLineItems")),
        quotes=tuple(quote(r) for r in children(raw, "Quotes")),
        confirmed=parse_commitments(raw.get(context.names.confirmed), context.commitment_lookup) or (),
        current=owned_fields(raw, context),
        plugin_tasks=tuple(p for t in tasks if (p := plugin_task(t, key_field)) is not None),
    )


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def owned_fields(raw: Record, context: MappingContext) -> OwnedFields:
    names, lookup = context.names, context.commitment_lookup
    next_values = parse_commitments(raw.get(names.next), lookup)
    score = raw.get(names.score)
    gap = raw.get(names.stage_gap)
    # A checkbox is never null in Salesforce; before the first write it reads false, which equals "unset".
    return OwnedFields(
        secured=parse_commitments(raw.get(names.secured), lookup),
        missing=parse_commitments(raw.get(names.missing), lookup),
        next=next_values[0] if next_values else None,
        score=None if score is None else int(score),
        stage_gap=None if gap is None else bool(gap),
        evidence=raw.get(names.evidence),
        assessed_at=parse_datetime(raw.get(names.assessed_at)),
    )


def contacts_from_roles(roles: list[Record]) -> tuple[Contact, ...]:
    """One Contact per ContactId, holding every role it plays on the deal (primary first)."""
    by_contact: dict[str, dict[str, Any]] = {}
    for row in sorted(roles, key=lambda r: not r.get("IsPrimary")):
        contact_id = row.get("ContactId")
        if not contact_id:
            continue
        person = row.get("Contact") or {}
        entry = by_contact.setdefault(
            contact_id,
            {"id": contact_id, "name": person.get("Name"), "title": person.get("Title"), "roles": []},
        )
        if row.get("Role") and row["Role"] not in entry["roles"]:
            entry["roles"].append(row["Role"])
    return tuple(Contact(**{**e, "roles": tuple(e["roles"])}) for e in by_contact.values())


def attendee_contacts(
    activities: Sequence[Activity], with_roles: Sequence[Contact], names: Mapping[str, str]
) -> tuple[Contact, ...]:
    """Contacts the deal met or spoke with who hold no contact role on it, without a role (not leads)."""
    met = met_off_the_deal(activities, {c.id for c in with_roles}, "003")  # a Contact's id (a lead's: 00Q)
    return tuple(Contact(id=person, name=names.get(person)) for person in met)


# The child lists of relation rows the reader attaches to events and calls (attendees.py).
EVENT_RELATIONS, TASK_RELATIONS = "EventRelations", "TaskRelations"
RELATION_LISTS = (EVENT_RELATIONS, TASK_RELATIONS)


def people_named(activities: Sequence[Record]) -> dict[str, str]:
    """Names of the people on activity records: `Who.Name`, and each relation row's `Relation.Name`."""
    named: dict[str, str] = {}
    for raw in activities:
        for person_id, person in (
            (raw.get("WhoId"), raw.get("Who")),
            *(
                (r.get("RelationId"), r.get("Relation"))
                for relations in RELATION_LISTS for r in children(raw, relations)
            ),
        ):
            if person_id and isinstance(person, Mapping) and person.get("Name"):
                named.setdefault(str(person_id), str(person["Name"]))
    return named


def event_status(raw: Record, now: datetime) -> ActivityStatus:
    subject = str(raw.get("Subject") or "").strip().lower()
    if subject.startswith(_CANCELED_PREFIXES):
        return ActivityStatus.CANCELED
    if subject.startswith(_NO_SHOW_PREFIXES):
        return ActivityStatus.NO_SHOW
    end = all_day_event_over(raw) if raw.get("IsAllDayEvent") else None
    end = end or parse_datetime(raw.get("EndDateTime")) or parse_datetime(raw.get("StartDateTime"))
    return ActivityStatus.COMPLETED if end is not None and end <= now else ActivityStatus.SCHEDULED


# An all-day event's times are midnights UTC (Salesforce drops their time part), so its EndDateTime is no
# end: it is over once its last day has ended in every time zone (the org's is not known here), which is
# 12 hours after that day ends in UTC.
_LAST_TIME_ZONE = timedelta(hours=12)


def all_day_event_over(raw: Record) -> datetime | None:
    """When an all-day event is over everywhere: its days are StartDateTime plus DurationInMinutes (1,440 a
    day); without a duration, EndDateTime is taken as the start of its last day."""
    start, minutes = parse_datetime(raw.get("StartDateTime")), raw.get("DurationInMinutes")
    if start is not None and isinstance(minutes, int) and minutes > 0:
        return start + timedelta(minutes=minutes) + _LAST_TIME_ZONE
    last_day = parse_datetime(raw.get("EndDateTime")) or start
    return None if last_day is None else last_day + timedelta(days=1) + _LAST_TIME_ZONE


def activity_from_event(raw: Record, now: datetime) -> Activity:
    return Activity(
        id=str(raw["Id"]),
        kind=ActivityKind.MEETING,
        status=event_status(raw, now),
        subject=str(raw.get("Subject") or ""),
        body=str(raw.get("Description") or ""),
        start=parse_datetime(raw.get("StartDateTime")),
        end=parse_datetime(raw.get("EndDateTime")),
        attendee_ids=event_attendees(raw),
    )


def event_attendees(raw: Record) -> tuple[str, ...]:
    """WhoId and every contact or lead related to or invited to the event (its `EventRelations`, attached
    by the reader), less those who declined: a meeting whose only buyer declined was the rep's alone."""
    relations = children(raw, EVENT_RELATIONS)
    away = {
        str(r.get("RelationId")) for r in relations if str(r.get("Status") or "").lower() in _NOT_ATTENDING
    }
    people = [raw.get("WhoId"), *(r.get("RelationId") for r in relations)]
    return tuple(dict.fromkeys(str(p) for p in people if p and str(p) not in away))


def _task_closed(raw: Record) -> bool:
    return bool(raw.get("IsClosed")) or str(raw.get("Status") or "").lower() == "completed"


def task_kind_status(raw: Record) -> tuple[ActivityKind, ActivityStatus]:
    # TaskSubtype (not updateable) is "Task" on every task created without one, e.g. by dialers and
    # integrations that log calls as Type "Call": a generic subtype defers to Type.
    subtype = str(raw.get("TaskSubtype") or "").lower()
    if subtype in ("", "task"):
        subtype = str(raw.get("Type") or "").lower()
    closed = _task_closed(raw)
    if subtype == "call":
        if not closed:
            return ActivityKind.CALL, ActivityStatus.OPEN
        disposition = str(raw.get("CallDisposition") or "").strip().lower()
        if disposition in _CANCELED_DISPOSITIONS:
            return ActivityKind.CALL, ActivityStatus.CANCELED
        connected = disposition not in _NO_ANSWER
        return ActivityKind.CALL, ActivityStatus.COMPLETED if connected else ActivityStatus.NO_SHOW
    if subtype in ("email", "listemail"):
        kind = ActivityKind.EMAIL
    elif str(raw.get("Type") or "").lower() == "other":
        kind = ActivityKind.NOTE  # orgs without Enhanced Notes log notes as completed "Other" tasks
    else:
        kind = ActivityKind.TASK
    return kind, ActivityStatus.COMPLETED if closed else ActivityStatus.OPEN


def connected_call(raw: Record) -> bool:
    return task_kind_status(raw) == (ActivityKind.CALL, ActivityStatus.COMPLETED)


def activity_from_task(raw: Record) -> Activity:
    kind, status = task_kind_status(raw)
    when = (
        parse_datetime(raw.get("CompletedDateTime"))
        or _date_as_datetime(raw.get("ActivityDate"))
        or parse_datetime(raw.get("CreatedDate"))
    )
    return Activity(
        id=str(raw["Id"]),
        kind=kind,
        status=status,
        subject=str(raw.get("Subject") or ""),
        body=str(raw.get("Description") or ""),
        start=when,
        end=when,
        attendee_ids=task_people(raw),
    )


def task_people(raw: Record) -> tuple[str, ...]:
    """WhoId and every other contact or lead the task relates (its `TaskRelations`, attached by the reader
    to connected calls logged with several contacts)."""
    people = [raw.get("WhoId"), *(r.get("RelationId") for r in children(raw, TASK_RELATIONS))]
    return tuple(dict.fromkeys(str(p) for p in people if p))


def plugin_task(raw: Record, key_field: str) -> PluginTask | None:
    """The plugin's task (key `cmt:{deal_id}:{commitment}`), or None for any other task."""
    key = raw.get(key_field)
    if not key:
        return None
    _, _, commitment = str(key).rpartition(":")
    try:
        parsed = Commitment(commitment)
    except ValueError:
        return None
    return PluginTask(task_id=str(raw["Id"]), key=str(key), commitment=parsed, is_open=not _task_closed(raw))


def stage_history(rows: list[Record]) -> tuple[StageChange, ...]:
    """Stage transitions in time order; history rows that only changed amount or date are folded away."""
    changes: list[StageChange] = []
    dated = sorted(
        (at, str(row["StageName"]))
        for row in rows
        if row.get("StageName") and (at := parse_datetime(row.get("CreatedDate"))) is not None
    )
    for at, stage in dated:
        if not changes or changes[-1].stage != stage:
            changes.append(StageChange(stage=stage, entered_at=at))
    return tuple(changes)


def line_item(raw: Record) -> LineItem:
    return LineItem(
        id=str(raw["Id"]),
        name=raw.get("Name"),
        quantity=_float(raw.get("Quantity")),
        amount=_float(raw.get("TotalPrice")),
        created_at=parse_datetime(raw.get("CreatedDate")),
    )


def quote(raw: Record) -> Quote:
    status = _QUOTE_STATUS.get(str(raw.get("Status") or "").strip().lower(), QuoteStatus.DRAFT)
    return Quote(
        id=str(raw["Id"]),
        status=status,
        name=raw.get("Name"),
        created_at=parse_datetime(raw.get("CreatedDate")),
    )
