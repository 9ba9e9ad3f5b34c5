"""Who a Salesforce meeting was with: its EventRelation rows, read per chunk of opportunities.

An Event names one person in WhoId. With Shared Activities (on in most orgs) a meeting relates up to 50
contacts or one lead, and a calendar invitation adds a row per invitee with their answer (Status: New,
Accepted, Declined, ...); all of them are EventRelation rows. They are read apart from the opportunity
query: one query per 400 events of a chunk (twice `ids_per_query`, as its select is short), filtered on
EventId as Salesforce documents it (a few calls a chunk, against one per meeting). Each event gets them as
an `EventRelations` child list in the shape a subquery returns, so `mapping.py` stays one pure function of
the record. The rows kept are contacts' and leads' (the buyer side): the users invited, rooms and the What
row say nothing about the buyer. An org where the integration user cannot read EventRelation reads WhoId
alone, as before.
"""

from __future__ import annotations

from collections.abc import Sequence

from connectors.base import chunked
from connectors.salesforce import soql
from connectors.salesforce.mapping import children
from connectors.salesforce.session import Record, SalesforceApi
from connectors.salesforce.soql import OrgSchema

# Key prefixes of Contact and Lead ids: a RelationId can also be a user, a resource or the related record.
BUYER_SIDE = ("003", "00Q")
RELATIONS = "EventRelations"


def attach_event_relations(
    api: SalesforceApi, schema: OrgSchema, opportunities: Sequence[Record], ids_per_query: int
) -> None:
    """Give every event of `opportunities` its contacts' and leads' EventRelation rows (in place)."""
    if not schema.has("EventRelation", "EventId") or not schema.has("EventRelation", "RelationId"):
        return
    events = {
        str(e["Id"]): e
        for o in opportunities
        for e in children(o, "Events")
        if isinstance(e, dict) and e.get("Id")
    }
    found: dict[str, list[Record]] = {}
    for ids in chunked(list(events), 2 * ids_per_query):  # the select is short: 400 ids ~ 11 kB of URL
        for row in api.records(soql.event_relations(schema, ids), include_deleted=True):
            if str(row.get("RelationId") or "").startswith(BUYER_SIDE):
                found.setdefault(str(row.get("EventId")), []).append(row)
    for event_id, event in events.items():
        rows = found.get(event_id, [])
        event[RELATIONS] = {"totalSize": len(rows), "done": True, "records": rows}
