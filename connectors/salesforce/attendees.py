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

import logging
from collections.abc import Sequence

from connectors.base import ConfigurationError, ConnectorError, FatalError, chunked
from connectors.salesforce import soql
from connectors.salesforce.mapping import children
from connectors.salesforce.session import Record, SalesforceApi
from connectors.salesforce.soql import OrgSchema

log = logging.getLogger(__name__)

# Key prefixes of Contact and Lead ids: a RelationId can also be a user, a resource or the related record.
BUYER_SIDE = ("003", "00Q")
RELATIONS = "EventRelations"


def attach_event_relations(
    api: SalesforceApi, schema: OrgSchema, opportunities: Sequence[Record], ids_per_query: int
) -> bool:
    """Give every event of `opportunities` its contacts' and leads' EventRelation rows (in place); False
    when Salesforce refused the query (the events keep their WhoId alone)."""
    if not schema.has("EventRelation", "EventId") or not schema.has("EventRelation", "RelationId"):
        return True
    events = {
        str(e["Id"]): e
        for o in opportunities
        for e in children(o, "Events")
        if isinstance(e, dict) and e.get("Id")
    }
    found = _buyer_side_relations(api, schema, list(events), 2 * ids_per_query)  # 400 ids ~ 11 kB of URL
    if found is None:
        return False
    for event_id, event in events.items():
        rows = found.get(event_id, [])
        event[RELATIONS] = {"totalSize": len(rows), "done": True, "records": rows}
    return True


def _buyer_side_relations(
    api: SalesforceApi, schema: OrgSchema, event_ids: list[str], per_query: int
) -> dict[str, list[Record]] | None:
    """Contacts' and leads' EventRelation rows by event id; None when Salesforce refused the query."""
    found: dict[str, list[Record]] = {}
    try:
        for ids in chunked(event_ids, per_query):
            for row in api.records(soql.event_relations(schema, ids), include_deleted=True):
                if str(row.get("RelationId") or "").startswith(BUYER_SIDE):
                    found.setdefault(str(row.get("EventId")), []).append(row)
    except (FatalError, ConfigurationError) as exc:
        attendees_refused(exc)
        return None
    return found


def attendees_refused(exc: ConnectorError) -> None:
    """Attendees sharpen the evidence, but no run depends on them: a query for them that Salesforce refuses
    (an org whose EventRelation answers differently than documented) is logged, and meetings count with
    their WhoId alone, as before attendees were read."""
    log.warning("Salesforce refused the meeting attendees (EventRelation) query, so meetings count their "
                "WhoId alone in this run: %s", exc)
