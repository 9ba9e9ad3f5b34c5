"""Who a Salesforce meeting or call was with: its EventRelation or TaskRelation rows, read per chunk.

An Event or a Task names one person in WhoId. With Shared Activities (on in most orgs) a meeting relates up
to 50 contacts or one lead, and a calendar invitation adds a row per invitee with their answer (Status:
New, Accepted, Declined, ...); all of them are EventRelation rows. A call logged with several contacts
relates them the same way, as TaskRelation rows. They are read apart from the opportunity query: one query
per 400 activities of a chunk (twice `ids_per_query`, as the select is short: ~11 kB, under the 16,384
bytes a query's URL may take, in a composite subrequest too), filtered on the activity id as Salesforce
documents it, the chunk's queries of both kinds sent five to a Composite call (one call a chunk, most
often, against one per activity). Every meeting is read, since an
invitee's answer is not on the event; only the connected calls whose WhoCount says they relate more than
one contact are, since WhoId names the only one otherwise (most calls: no query at all). Each activity gets
its rows as a child list (`EventRelations`, `TaskRelations`) in the shape a subquery returns, so
`mapping.py` stays one pure function of the record. The rows kept are contacts' and leads' (the buyer
side): the users invited, rooms and the What row say nothing about the buyer. An org where the integration
user cannot read EventRelation, or without Shared Activities (no WhoCount, no TaskRelation), reads WhoId
alone.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass

from connectors.base import ConfigurationError, ConnectorError, FatalError, chunked
from connectors.salesforce import soql
from connectors.salesforce.mapping import EVENT_RELATIONS, TASK_RELATIONS, children, connected_call
from connectors.salesforce.session import Query, Record, SalesforceApi, from_the_start
from connectors.salesforce.soql import OrgSchema

log = logging.getLogger(__name__)

# Key prefixes of Contact and Lead ids: a RelationId can also be a user, a resource or the related record.
BUYER_SIDE = ("003", "00Q")


@dataclass(frozen=True)
class Relations:
    """One kind of activity's people: where the activities sit on an opportunity, which of them to ask
    about, and the rows' object, columns (the activity id first) and child list name."""

    activities: str  # the opportunity's child list: Events, Tasks
    sobject: str
    columns: tuple[str, ...]
    attached_as: str
    readable: Callable[[OrgSchema], bool]
    wanted: Callable[[Record], bool]


def _event_relations_readable(schema: OrgSchema) -> bool:
    """EventRelation is described: the integration user may not be allowed to read it."""
    return schema.has("EventRelation", "EventId") and schema.has("EventRelation", "RelationId")


def _shared_activities(schema: OrgSchema) -> bool:
    """TaskRelation and Task.WhoCount come with Shared Activities: no describe needed."""
    return schema.has("Task", "WhoCount")


def _several_on_a_connected_call(task: Record) -> bool:
    count = task.get("WhoCount")
    return isinstance(count, int | float) and count > 1 and connected_call(task)


MEETINGS = Relations(
    "Events", "EventRelation", soql.EVENT_RELATION_FIELDS, EVENT_RELATIONS,
    _event_relations_readable, lambda event: True,
)
CALLS = Relations(
    "Tasks", "TaskRelation", soql.TASK_RELATION_FIELDS, TASK_RELATIONS,
    _shared_activities, _several_on_a_connected_call,
)
ALL = (MEETINGS, CALLS)


def attach_relations(
    api: SalesforceApi,
    schema: OrgSchema,
    opportunities: Sequence[Record],
    ids_per_query: int,
    skip: Collection[str] = (),
) -> set[str]:
    """Give the activities of `opportunities` their contacts' and leads' relation rows (in place), for each
    kind not in `skip` (by object name); returns the objects Salesforce refused to be queried (those
    activities keep their WhoId alone)."""
    asked: list[tuple[Relations, dict[str, Record], list[str]]] = []  # kind, its activities, its queries
    for kind in ALL:
        if kind.sobject in skip or not kind.readable(schema):
            continue
        activities = {
            str(a["Id"]): a
            for o in opportunities
            for a in children(o, kind.activities)
            if isinstance(a, dict) and a.get("Id") and kind.wanted(a)
        }
        if activities:
            queries = [soql.activity_relations(schema, kind.sobject, kind.columns, ids)
                       for ids in chunked(list(activities), 2 * ids_per_query)]  # 400 ids ~ 11 kB URL
            asked.append((kind, activities, queries))
    every = [Query(q, include_deleted=True, resume=from_the_start(q)) for *_, kind_queries in asked
             for q in kind_queries]
    pages = iter(api.queries("composite_query", every) if every else [])
    refused: set[str] = set()
    for kind, activities, queries in asked:
        found = _buyer_side(kind, [next(pages) for _ in queries])
        if found is None:
            refused.add(kind.sobject)
            continue
        for activity_id, activity in activities.items():
            rows = found.get(activity_id, [])
            activity[kind.attached_as] = {"totalSize": len(rows), "done": True, "records": rows}
    return refused


def _buyer_side(kind: Relations, queries: list[Iterator[list[Record]]]) -> dict[str, list[Record]] | None:
    """Contacts' and leads' relation rows by activity id, from the pages of the kind's queries; None when
    Salesforce refused them. Rows are kept by person, one per activity and person as in Salesforce, so a
    query sent again from the start after a dropped cursor (the rows have no key to resume after) reads
    none twice."""
    found: dict[str, dict[str, Record]] = {}
    parent = kind.columns[0]
    try:
        for pages in queries:
            for page in pages:
                for row in page:
                    relation = str(row.get("RelationId") or "")
                    if relation.startswith(BUYER_SIDE):
                        found.setdefault(str(row.get(parent)), {})[relation] = row
    except (FatalError, ConfigurationError) as exc:
        attendees_refused(kind.sobject, exc)
        return None
    return {activity: list(rows.values()) for activity, rows in found.items()}


def attendees_refused(sobject: str, exc: ConnectorError) -> None:
    """Attendees sharpen the evidence, but no run depends on them: a query for them that Salesforce refuses
    (an org whose relation objects answer differently than documented) is logged, and those activities
    count with their WhoId alone, as before attendees were read."""
    log.warning("Salesforce refused the attendees (%s) query, so those activities count their WhoId alone "
                "in this run: %s", sobject, exc)
