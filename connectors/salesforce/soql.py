"""SOQL text: what the org has (`OrgSchema`, from describe) and every query the reader sends.

One opportunity query carries a subquery per child relationship the org has (contact roles with the
contact's name and title, tasks, events, stage history, line items, quotes), so one REST call reads a page
of deals with everything core needs. Fields are filtered against describe, so an org without quotes,
without call fields or before `commitments setup` still reads. Literals go through simple-salesforce's
`format_soql`; `Id IN (...)` lists are chunked by the caller to stay under URL length limits. The reader
sends the deal queries through queryAll, because query() leaves out archived activities (Salesforce
archives events and closed tasks about a year old); so every level says `IsDeleted = false` itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from simple_salesforce.format import format_soql

from connectors.salesforce.config import FieldNames

OPPORTUNITY_FIELDS = (
    "Id", "Name", "StageName", "IsClosed", "IsWon", "Amount", "CurrencyIsoCode", "CloseDate",
    "ForecastCategoryName", "OwnerId", "CreatedDate", "SystemModstamp", "NextStep", "Description",
)
# WhoCount (Shared Activities) is how many contacts the task relates: more than one sends a call to its
# TaskRelation rows for the others (attendees.py).
TASK_FIELDS = (
    "Id", "Subject", "Description", "Status", "IsClosed", "ActivityDate", "CompletedDateTime", "TaskSubtype",
    "Type", "CallDisposition", "WhoId", "Who.Name", "WhoCount", "OwnerId", "CreatedDate",
)
EVENT_FIELDS = (
    "Id", "Subject", "Description", "StartDateTime", "EndDateTime", "IsAllDayEvent", "DurationInMinutes",
    "WhoId", "Who.Name", "OwnerId", "CreatedDate",
)
LINE_ITEM_FIELDS = ("Id", "Name", "Quantity", "TotalPrice", "CreatedDate")
# Who an event is with: its related contacts or lead (IsParent, Shared Activities) and its invitees
# (IsInvitee) with their answer (Status: New, Accepted, Declined, ...). Read per chunk of deals by queries
# of their own (attendees.py), ~400 event ids each.
EVENT_RELATION_FIELDS = ("EventId", "RelationId", "Relation.Name", "Status", "IsInvitee", "IsParent")
# Who else was on a call logged with several contacts (Shared Activities: up to 50), read the same way.
TASK_RELATION_FIELDS = ("TaskId", "RelationId", "Relation.Name")
# (relationship, child object, fields, ORDER BY)
CHILDREN: tuple[tuple[str, str, tuple[str, ...], str], ...] = (
    ("OpportunityContactRoles", "OpportunityContactRole",
     ("Id", "ContactId", "Role", "IsPrimary", "Contact.Name", "Contact.Title"), ""),
    ("Tasks", "Task", TASK_FIELDS, ""),
    ("Events", "Event", EVENT_FIELDS, ""),
    ("OpportunityHistories", "OpportunityHistory", ("Id", "StageName", "CreatedDate"), "CreatedDate"),
    ("OpportunityLineItems", "OpportunityLineItem", LINE_ITEM_FIELDS, ""),
    ("Quotes", "Quote", ("Id", "Name", "Status", "CreatedDate"), ""),
)
# Objects whose changes bring their opportunity back into an incremental run: (object, path to the
# opportunity id). An invitee's answer changes only its EventRelation row, not the event.
CHANGE_SOURCES: tuple[tuple[str, str], ...] = (
    ("Task", "WhatId"), ("Event", "WhatId"), ("OpportunityContactRole", "OpportunityId"),
    ("OpportunityLineItem", "OpportunityId"), ("Quote", "OpportunityId"), ("EventRelation", "Event.WhatId"),
)
# Hydrating queries go through queryAll (archived activities); this keeps the recycle bin out of them.
NOT_DELETED = "WHERE IsDeleted = false"
# With Shared Activities, inviting a Salesforce user to a meeting adds a child event (IsChild = true, the
# same What) for that user: one meeting, which must not count as two held meetings.
NOT_CHILD_EVENT = "AND IsChild = false"
# A recurring series created in Salesforce Classic is a master event (IsRecurrence = true) with the first
# occurrence's time, subject and What, beside one event per occurrence: it is no meeting of its own.
NOT_SERIES_MASTER = "AND IsRecurrence = false"
EVENT_FILTERS = (("IsChild", NOT_CHILD_EVENT), ("IsRecurrence", NOT_SERIES_MASTER))
RELATIONSHIP_OF = {child: relationship for relationship, child, _, _ in CHILDREN}
ACTIVITY_OBJECTS = frozenset({"Task", "Event"})  # polymorphic WhatId: filter on What.Type


@dataclass(frozen=True)
class StageMeaning:
    is_closed: bool
    is_won: bool
    sort_order: int


@dataclass(frozen=True)
class OrgSchema:
    """What describe said: fields per object, Opportunity's child relationships, the stages' meaning."""

    fields: dict[str, frozenset[str]]  # object -> field names visible to the integration user
    relationships: frozenset[str]  # Opportunity's child relationship names
    stages: dict[str, StageMeaning] = field(default_factory=dict)

    def has(self, sobject: str, name: str) -> bool:
        return name in self.fields.get(sobject, frozenset())

    def available(self, sobject: str, names: Sequence[str]) -> list[str]:
        """`names` the object has (all of them for an object not described). A relationship path
        ("Contact.Title") needs its id field (ContactId) and is checked against the object its relationship
        is named after, when that object was described (Contact is; Who and Relation name several objects
        and are not). Field-level security hides a field from describe and makes SOQL answer INVALID_FIELD,
        so a hidden field is left out instead of failing the whole read."""
        known = self.fields.get(sobject)
        return [
            n for n in names
            if known is None or (self._path_visible(n, known) if "." in n else n in known)
        ]

    def _path_visible(self, path: str, known: frozenset[str]) -> bool:
        """A standard relationship ("Who") is read through its id field (WhoId), which must be visible."""
        relationship, _, name = path.partition(".")
        target = self.fields.get(relationship)
        return f"{relationship}Id" in known and (target is None or name in target)


def opportunity_select(schema: OrgSchema, names: FieldNames) -> str:
    """`SELECT ... FROM Opportunity` with the plugin fields and one subquery per known child relationship."""
    plugin = [*names.owned().values(), names.confirmed]
    columns = schema.available("Opportunity", [*OPPORTUNITY_FIELDS, *plugin])
    for relationship, child, child_fields, order in CHILDREN:
        if relationship not in schema.relationships:
            continue
        wanted = [*child_fields, names.task_key] if child == "Task" else list(child_fields)
        sub = f"SELECT {', '.join(schema.available(child, wanted))} FROM {relationship} {NOT_DELETED}"
        if child == "Event":
            sub += "".join(f" {where}" for name, where in EVENT_FILTERS if schema.available("Event", [name]))
        columns.append(f"({sub}{f' ORDER BY {order}' if order else ''})")
    return f"SELECT {', '.join(columns)} FROM Opportunity"


def full_read(schema: OrgSchema, names: FieldNames, after: str | None = None) -> str:
    return f"{opportunity_select(schema, names)} {NOT_DELETED}{_after(after)} ORDER BY Id"


def opportunity_ids(after: str | None = None) -> str:
    """The ids `full_read` reads, in its order, without any of its fields (light enough not to time out)."""
    return f"SELECT Id FROM Opportunity {NOT_DELETED}{_after(after)} ORDER BY Id"


def by_ids(schema: OrgSchema, names: FieldNames, ids: Sequence[str], after: str | None = None) -> str:
    listed = format_soql(f"{opportunity_select(schema, names)} {NOT_DELETED} AND Id IN {{}}", list(ids))
    return f"{listed}{_after(after)} ORDER BY Id"


def _after(after: str | None) -> str:
    """The rest of a query ordered by Id, after the last Id read (how a read carries on after an error)."""
    return format_soql(" AND Id > {}", after) if after else ""


def changed_opportunities(start: datetime, end: datetime) -> str:
    return format_soql(
        "SELECT Id FROM Opportunity WHERE SystemModstamp >= {} AND SystemModstamp <= {} "
        "ORDER BY SystemModstamp, Id",
        start, end,
    )


def changed_children(sobject: str, parent_field: str, start: datetime, end: datetime) -> str:
    """Parent ids of `sobject` rows changed in [start, end]; activities only those on opportunities."""
    on_opportunity = " AND What.Type = 'Opportunity'" if sobject in ACTIVITY_OBJECTS else ""
    return format_soql(
        f"SELECT {parent_field} FROM {sobject} WHERE SystemModstamp >= {{}} AND SystemModstamp <= {{}}"
        f"{on_opportunity} ORDER BY SystemModstamp, Id",
        start, end,
    )


def activity_relations(
    schema: OrgSchema, sobject: str, columns: Sequence[str], activity_ids: Sequence[str]
) -> str:
    """The people related to (or invited to) activities: `sobject` is EventRelation or TaskRelation, and
    the first column its activity id field. Not the What row, where the org says which row that is; filtered
    on the activity id, the form Salesforce documents for both, not on a field of the activity."""
    parent = columns[0]
    not_what = " AND IsWhat = false" if schema.has(sobject, "IsWhat") else ""
    return format_soql(
        f"SELECT {', '.join(schema.available(sobject, columns))} FROM {sobject} {NOT_DELETED} "
        f"AND {parent} IN {{}}{not_what} ORDER BY {parent}, Id",
        list(activity_ids),
    )


def stages() -> str:
    return "SELECT ApiName, MasterLabel, IsClosed, IsWon, SortOrder, IsActive FROM OpportunityStage"


def task_statuses() -> str:
    """The org's Task Status values: which one a new task gets and which one closes it."""
    return "SELECT ApiName, MasterLabel, IsClosed, IsDefault, SortOrder FROM TaskStatus"


def open_tasks_by_key(key_field: str, keys: Sequence[str]) -> str:
    return format_soql(
        f"SELECT Id, WhatId, {key_field} FROM Task WHERE {key_field} IN {{}} AND IsClosed = false",
        list(keys),
    )
