"""Reading opportunities as core `Deal`s: discovery, full reads and incremental reads, in chunks.

Discovery (once per connector) describes Opportunity, Task and Event, the other objects the query reads
fields of (contact roles and their contacts, stage history, line items, quotes, events' attendees) and reads
OpportunityStage, so the query asks only for what the org has and the integration user may see (a field
hidden by field-level security is an INVALID_FIELD in SOQL), and stage meaning comes from
IsClosed/IsWon/SortOrder, not names: all of it in one Composite call (nine describes and the stage query).
A full read pages one subquery SOQL over every opportunity. An incremental read collects the ids of
opportunities changed in [since - lookback, until] (SystemModstamp, ordered with an Id tie-break), of
opportunities whose tasks, events, event attendees, contact roles, line items or quotes changed in that
window (queryAll, so archived and deleted rows count too), and `include_ids`, then hydrates them ~200 ids
per query (as it hydrates the ids a `sync --deal` names: `read_by_id`). The change queries' first pages
come by Composite calls of five queries each (two calls). Each chunk's events get their attendees
(EventRelation) by one more query per ~400 events, and its calls logged with several contacts theirs
(TaskRelation) the same way, five such queries a Composite call (attendees.py).
Deals are read through queryAll too (the
SOQL says `IsDeleted = false`): query() hides archived activities, which would drop a long deal's old
meetings (and the commitments they secured) and the plugin's old completed tasks (and with them their keys).
Either way deals are yielded in chunks of `chunk_size`; only ids are held for the whole run. The daily
budget is checked before every page, so a run stops at a chunk boundary when the reserve is reached.

Wide subqueries over a large org can run past Salesforce's query time limit (QUERY_TIMEOUT). A full read
that times out reads the ids it has not read yet by a query of Id alone, and hydrates them; a query by ids
that times out is sent again in two halves of the ids not read yet, down to one id, which alone stops the
run. A cursor Salesforce drops while a deal query is paged (INVALID_QUERY_LOCATOR) is replaced, once, by the
same query for the Ids after the last one read: every deal query is ordered by Id.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from connectors.base import ConfigurationError, DealChunk, FatalError, chunked
from connectors.salesforce import soql
from connectors.salesforce.attendees import attach_relations, attendees_refused
from connectors.salesforce.config import SalesforceConfig
from connectors.salesforce.errors import QueryTimeoutError
from connectors.salesforce.mapping import MappingContext, deal_from_salesforce
from connectors.salesforce.session import Query, Record, SalesforceApi, from_the_start
from connectors.salesforce.soql import OrgSchema, StageMeaning
from core.models import Commitment, Deal

log = logging.getLogger(__name__)

DESCRIBED = ("Opportunity", "Task", "Event")
# The other objects the opportunity query reads fields of: described when their relationship is there, so a
# field the integration user cannot see (field-level security: absent from describe, INVALID_FIELD in
# SOQL) is left out of the query, as it is for Opportunity, Task and Event; one object the user cannot
# read at all (describe answers NOT_FOUND) leaves its subquery out.
DESCRIBED_CHILDREN = ("OpportunityContactRole", "OpportunityHistory", "OpportunityLineItem", "Quote")
RELATED = {"Contact": "OpportunityContactRoles"}  # object read through a path -> the subquery reading it
# Read by a query of its own when the Events relationship is there (who a meeting was with: attendees.py).
ATTENDEES = "EventRelation"
# Everything discovery may describe, asked in one call: the objects whose relationship Opportunity turns out
# not to have are described for nothing, which costs no call of its own.
DISCOVERED = (*DESCRIBED, *DESCRIBED_CHILDREN, *RELATED, ATTENDEES)


OPPORTUNITY_ID_FORM = "a Salesforce opportunity id (15 or 18 letters and digits, starting with 006)"
_OPPORTUNITY_ID = re.compile(r"006[A-Za-z0-9]{12}(?:[A-Za-z0-9]{3})?")
_CASE_SUFFIX = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"  # the 18-character id's last three: which letters are upper


def opportunity_id(text: str) -> str | None:
    """`text` as Salesforce returns an opportunity's Id, or None when it cannot be one: a 15-character id
    gets its case-safe suffix, and an 18-character one (case-insensitive) the letter case its suffix says,
    so the ids asked for match the Ids a read returns."""
    if not _OPPORTUNITY_ID.fullmatch(text):
        return None
    if len(text) == 18:
        flags = [_CASE_SUFFIX.find(c) for c in text[15:].upper()]
        if -1 in flags:
            return None
        upper = [flags[i // 5] >> i % 5 & 1 for i in range(15)]
        text = "".join(c.upper() if up else c.lower() for c, up in zip(text[:15], upper, strict=True))
    return text[:15] + "".join(_case_suffix(text[start : start + 5]) for start in (0, 5, 10))


def _case_suffix(block: str) -> str:
    return _CASE_SUFFIX[sum(1 << bit for bit, c in enumerate(block) if c.isupper())]


def _field_names(described: Record) -> frozenset[str]:
    return frozenset(str(f["name"]) for f in described.get("fields") or [])


def discover(api: SalesforceApi) -> OrgSchema:
    """Describe the objects the read touches and read the stages' meaning, in one Composite call."""
    *described, first_stages = api.composite("composite_describe", [
        *(api.describe_request(sobject) for sobject in DISCOVERED), api.query_request(soql.stages())
    ])
    answers = dict(zip(DISCOVERED, described, strict=True))
    fields: dict[str, frozenset[str]] = {}
    relationships: frozenset[str] = frozenset()
    for sobject in DESCRIBED:
        opened = api.answer(answers[sobject])
        fields[sobject] = _field_names(opened)
        if sobject == "Opportunity":
            relationships = frozenset(
                str(r["relationshipName"]) for r in opened.get("childRelationships") or []
                if r.get("relationshipName")
            )
    unreadable: set[str] = set()
    wanted = [c for c in DESCRIBED_CHILDREN if soql.RELATIONSHIP_OF[c] in relationships]
    wanted += [o for o, relationship in RELATED.items() if relationship in relationships]
    for sobject in wanted:
        child = api.readable(answers[sobject])
        if child is None:
            unreadable.add(soql.RELATIONSHIP_OF.get(sobject) or RELATED[sobject])
        else:
            fields[sobject] = _field_names(child)
    relationships -= unreadable
    if "Events" in relationships and (relations := api.readable(answers[ATTENDEES])) is not None:
        fields[ATTENDEES] = _field_names(relations)
    stages = {
        str(row.get("ApiName") or row.get("MasterLabel")): StageMeaning(
            bool(row.get("IsClosed")), bool(row.get("IsWon")), int(row.get("SortOrder") or 0)
        )
        for page in api.pages_from(api.answer(first_stages), include_deleted=False)
        for row in page
    }
    if "Opportunity" not in fields or not fields["Opportunity"]:
        raise FatalError("Salesforce describe returned no Opportunity fields; check the user's object access")
    return OrgSchema(fields=fields, relationships=relationships, stages=stages)


def _follow(row: Record, path: str) -> object:
    """The value at a dotted field path of a query row ("Event.WhatId"); None where a parent is null."""
    value: object = row
    for name in path.split("."):
        value = value.get(name) if isinstance(value, Mapping) else None
    return value


class Reader:
    def __init__(
        self,
        api: SalesforceApi,
        config: SalesforceConfig,
        schema: Callable[[], OrgSchema],
        commitment_lookup: Mapping[str, Commitment] | None = None,
    ) -> None:
        self._api = api
        self._config = config
        self._schema = schema
        self._names = config.field_names()
        self._lookup = commitment_lookup
        self._attendees_refused: set[str] = set()

    def read(
        self, since: datetime | None, until: datetime, include_ids: Collection[str]
    ) -> Iterator[list[Deal]]:
        schema = self._schema()
        if since is None:
            pages = self._full_read(schema)
        else:
            start = since - timedelta(seconds=self._config.lookback_seconds)
            ids = self.changed_ids(start, until, include_ids)
            pages = self._hydrate(schema, ids)
        yield from self._chunks(schema, pages, until)

    def read_by_id(self, ids: Sequence[str], until: datetime) -> Iterator[list[Deal]]:
        """The opportunities `ids` (18-character), hydrated as an incremental read hydrates its ids."""
        schema = self._schema()
        yield from self._chunks(schema, self._hydrate(schema, list(ids)), until)

    def _context(self, schema: OrgSchema, now: datetime) -> MappingContext:
        context = MappingContext(names=self._names, now=now, stages=schema.stages)
        if self._lookup is None:
            return context
        return replace(context, commitment_lookup=self._lookup)

    def changed_ids(self, start: datetime, end: datetime, include_ids: Collection[str]) -> list[str]:
        """Ids of opportunities to read, in order of first sight, each once."""
        # These queries read one id column on the indexed SystemModstamp, so a QUERY_TIMEOUT is not expected
        # of them; should one come, it stops the run and the next run reads the same window again (the
        # watermark does not move). A dropped cursor sends the query again from the start: `found` already
        # ignores the ids it has, and an order by SystemModstamp gives no key to resume after.
        # The queries' first pages come by Composite calls of five; each query's errors are its own, as
        # if it had been sent alone (an org refusing the attendees' changes still reads the rest).
        found: dict[str, None] = {}
        self._api.caller.check_budget(self._config.api_reserve_fraction)
        sources = [(s, parent) for s, parent in soql.CHANGE_SOURCES if self._has_object(s)]
        opportunities = soql.changed_opportunities(start, end)
        # queryAll for the others: archived activities and deleted rows (a removed contact role) count too
        children = [soql.changed_children(s, parent, start, end) for s, parent in sources]
        pages = self._api.queries("composite_query", [
            Query(opportunities, resume=from_the_start(opportunities)),
            *(Query(q, include_deleted=True, resume=from_the_start(q)) for q in children),
        ])
        for page in pages[0]:
            for row in page:
                found.setdefault(str(row["Id"]), None)
        for (sobject, parent), child_pages in zip(sources, pages[1:], strict=True):
            try:
                for page in child_pages:
                    for row in page:
                        parent_id = _follow(row, parent)
                        if parent_id and str(parent_id).startswith("006"):
                            found.setdefault(str(parent_id), None)
            except (FatalError, ConfigurationError) as exc:
                if sobject != ATTENDEES:
                    raise
                attendees_refused(sobject, exc)
        for deal_id in include_ids:
            found.setdefault(deal_id, None)
        return list(found)

    def _has_object(self, sobject: str) -> bool:
        schema = self._schema()
        if sobject in soql.RELATIONSHIP_OF:
            return soql.RELATIONSHIP_OF[sobject] in schema.relationships
        return schema.has(sobject, "Id")

    def _full_read(self, schema: OrgSchema) -> Iterator[list[Record]]:
        """Every opportunity, by one query; should it time out, the ids not read yet, then those deals."""
        last: str | None = None
        try:
            for page in self._ordered_by_id(lambda after: soql.full_read(schema, self._names, after)):
                last = str(page[-1]["Id"]) if page else last
                yield page
        except QueryTimeoutError:
            log.warning("Salesforce timed out on the full read's query; reading the ids of the opportunities "
                        "not read yet, then the opportunities %d at a time", self._config.ids_per_query)
            pages = self._ordered_by_id(lambda after: soql.opportunity_ids(after or last))
            yield from self._hydrate(schema, [str(row["Id"]) for page in pages for row in page])

    def _hydrate(self, schema: OrgSchema, ids: list[str]) -> Iterator[list[Record]]:
        for chunk in chunked(ids, self._config.ids_per_query):
            yield from self._by_ids(schema, list(chunk))

    def _by_ids(self, schema: OrgSchema, ids: list[str]) -> Iterator[list[Record]]:
        """The opportunities `ids`, by one query; should it time out, the ids not read yet in two halves."""
        read: set[str] = set()
        try:
            for page in self._ordered_by_id(lambda after: soql.by_ids(schema, self._names, ids, after)):
                read.update(str(row["Id"]) for row in page)
                yield page
        except QueryTimeoutError as exc:
            if len(ids) == 1:
                raise QueryTimeoutError(
                    f"Salesforce timed out reading opportunity {ids[0]} alone (QUERY_TIMEOUT), with its "
                    "activities, contact roles, stage history, line items and quotes; hiding fields the sync "
                    "can do without from the integration user (field-level security) makes the query "
                    "lighter, or ask Salesforce support about the query's performance"
                ) from exc
            rest = [i for i in ids if i not in read]
            half = (len(rest) + 1) // 2
            log.warning("Salesforce timed out reading %d opportunities in one query; reading the %d not "
                        "read yet by queries of %d and %d", len(ids), len(rest), half, len(rest) - half)
            for part in (rest[:half], rest[half:]):
                if part:
                    yield from self._by_ids(schema, part)

    def _ordered_by_id(self, query: Callable[[str | None], str]) -> Iterator[list[Record]]:
        """The pages of `query(None)`, ordered by Id; a dropped cursor carries on with `query(last Id)`."""

        def rest(last: Record | None) -> str:
            return query(str(last["Id"]) if last else None)

        return self._budgeted(self._api.pages(query(None), include_deleted=True, resume=rest))

    def _budgeted(self, pages: Iterator[list[Record]]) -> Iterator[list[Record]]:
        """Check the reserve before each page is fetched (the pages are lazy)."""
        while True:
            self._api.caller.check_budget(self._config.api_reserve_fraction)
            page = next(pages, None)
            if page is None:
                return
            yield page

    def _chunks(
        self, schema: OrgSchema, pages: Iterator[list[Record]], until: datetime
    ) -> Iterator[list[Deal]]:
        context = self._context(schema, until)
        self._attendees_refused = set()
        seen: set[str] = set()
        batch: list[Record] = []
        for page in pages:
            for raw in page:
                if raw["Id"] in seen:
                    continue
                seen.add(raw["Id"])
                batch.append(self._api.drain_children(raw))
                if len(batch) >= self._config.chunk_size:
                    yield self._mapped(schema, batch, context)
                    batch = []
        if batch:
            yield self._mapped(schema, batch, context)

    def _mapped(self, schema: OrgSchema, records: list[Record], context: MappingContext) -> DealChunk:
        """A chunk's records as deals, their meetings' and calls' attendees read first (within the API
        budget). A kind of attendee Salesforce refused once is not asked for again in this read."""
        self._api.caller.check_budget(self._config.api_reserve_fraction)
        self._attendees_refused |= attach_relations(
            self._api, schema, records, self._config.ids_per_query, skip=self._attendees_refused
        )
        chunk = DealChunk()
        for raw in records:
            chunk.add(str(raw["Id"]), deal_from_salesforce, raw, context)
        return chunk
