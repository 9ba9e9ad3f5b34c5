"""Reading deals with everything core needs, in few calls and bounded memory.

Full read: the deals list API, 100 deals with their properties per call. Incremental: ids from the search
window (search.py) for deals and for meetings, calls, emails, notes and tasks (whose changes do not touch
the deal's own `hs_lastmodifieddate`, so their deals are found through their associations:
`CHANGE_SOURCES`), and quotes and contacts holding a buying role where the connection watches them, plus
`include_ids`; then deals batch-read 100 per call (as are the deals a `sync --deal` names: `read_by_id`).
Either way deals are processed in windows of up to 1,000: one v4 association read per related type per
window, associated objects batch-read 100 per call, meeting attendees and the contacts called through
meetings->contacts and calls->contacts (those met at a held meeting or a connected call whom no deal of the
window is associated with read too, 100 per call). Each window is mapped by the pure `deal_from_hubspot` and
yielded in chunks; the whole book is never held. Pipelines are read once per `read`, and only when there is
a deal to map, so an idle incremental run costs exactly its six searches (one more per watched type). The
portal's daily reserve is checked before every search page, deal page and window, so a run stops between
batches when it is reached.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any

from connectors.base import COMMITMENT_IDS, DealChunk, chunked
from connectors.hubspot.associations import associated_ids, read_associations
from connectors.hubspot.client import HubSpotClient, Json
from connectors.hubspot.mapping import (
    ATTENDED,
    DEAL_PROPERTIES,
    ENGAGEMENT_TYPES,
    OBJECT_PROPERTIES,
    MappingContext,
    Stage,
    deal_from_hubspot,
    plugin_task,
    took_place,
)
from connectors.hubspot.pipelines import load_stages
from connectors.hubspot.search import ChangeSource, changed_ids, search_request
from core.models import Deal

DEAL_RELATED: tuple[str, ...] = ("contacts", *ENGAGEMENT_TYPES, "line_items", "quotes")
# Records whose own edits matter to their deals but leave the deal untouched: HubSpot moves a deal's
# hs_lastmodifieddate when a record is associated with it (its association counts change), not when an
# associated record is edited. Engagements (a meeting's outcome) are always searched. Quotes (published or
# accepted: Review) and contacts holding a buying role (a role set or changed: Consensus, Invest) are
# searched when the connection's `also_watch` names them: each costs one more search every run (an idle run
# makes six calls without them), and otherwise the nightly full run brings those changes. Only contacts with
# a role are searched, as marketing tools edit the others all day; a role cleared waits for the full run.
CHANGE_SOURCES: tuple[ChangeSource, ...] = tuple(ChangeSource(kind) for kind in ENGAGEMENT_TYPES)
WATCHABLE: dict[str, ChangeSource] = {
    "quotes": ChangeSource("quotes"),
    "buying_roles": ChangeSource("contacts", modified="lastmodifieddate", having="hs_buying_role"),
}
_MAX_LIST_QUERY_CHARS = 4_000  # beyond this the list URL gets long: list ids, then batch read


def epoch_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


class DealReader:
    """One connector's deal reading; remembers which task ids are not the plugin's (for apply's re-check)."""

    def __init__(self, client: HubSpotClient, connected_dispositions: frozenset[str]) -> None:
        self.client = client
        self.config = client.config
        self.connected_dispositions = connected_dispositions
        self.rep_task_ids: set[str] = set()
        self._stages: dict[str, list[Stage]] | None = None

    def stages(self) -> dict[str, list[Stage]]:
        if self._stages is None:
            self._stages = load_stages(self.client)
        return self._stages

    def deal_properties(self) -> list[str]:
        names = self.config.names
        stage_props = [
            f"{prefix}{stage.id}"
            for stages in self.stages().values()
            for stage in stages
            for prefix in ("hs_v2_date_entered_", "hs_date_entered_")
        ]
        return [*DEAL_PROPERTIES, *names.all_owned, names.confirmed, *stage_props]

    # ---------------------------------------------------------------------------------------- entry

    def read(
        self, since: datetime | None, until: datetime, include_ids: Collection[str] = ()
    ) -> Iterator[list[Deal]]:
        self._stages = None  # pipelines once per run
        if since is None:
            deals = self._list_all()
        else:
            ids = self.changed_deal_ids(since, until)
            ids.update(str(i) for i in include_ids)
            deals = self._batch_read_deals(sorted(ids, key=_id_order))
        yield from self._windows(deals, until)

    def read_by_id(self, ids: Sequence[str], until: datetime) -> Iterator[list[Deal]]:
        """The deals `ids`, batch-read and mapped as an incremental read's; ids HubSpot does not have (and
        deals of the pipelines the connection leaves out) are not yielded."""
        self._stages = None
        yield from self._windows(self._batch_read_deals(ids), until)

    def _windows(self, deals: Iterator[Json], until: datetime) -> Iterator[list[Deal]]:
        """The deal records in windows of `association_batch_size`, each mapped and yielded in chunks."""
        window: list[Json] = []
        for deal in deals:
            window.append(deal)
            if len(window) >= self.config.association_batch_size:
                yield from self._chunks(self._map_window(window, until))
                window = []
        if window:
            yield from self._chunks(self._map_window(window, until))

    def _chunks(self, window: DealChunk) -> Iterator[list[Deal]]:
        """The window's deals in chunks; the records it could not read ride with the first one."""
        chunks = [DealChunk(chunk) for chunk in chunked(window, self.config.chunk_size)] or [DealChunk()]
        chunks[0].unreadable = window.unreadable
        yield from (chunk for chunk in chunks if chunk or chunk.unreadable)

    # ---------------------------------------------------------------------------------------- which deals

    def changed_deal_ids(self, since: datetime, until: datetime) -> set[str]:
        """Deals modified in the window, and deals of the change sources' records modified in it."""
        since_ms = epoch_ms(since - timedelta(seconds=self.config.lookback_seconds))
        until_ms = epoch_ms(until)
        ids = set(self.search_ids(ChangeSource("deals"), since_ms, until_ms))
        for source in (*CHANGE_SOURCES, *(WATCHABLE[name] for name in self.config.also_watch)):
            changed = list(self.search_ids(source, since_ms, until_ms))
            if changed:
                rows = read_associations(self.client, source.object_type, "deals", changed)
                ids.update(associated_ids(rows))
        return ids

    def search_ids(self, source: ChangeSource, since_ms: int, until_ms: int) -> Iterator[str]:
        page_size = self.config.search_page_size

        def fetch(filters: list[dict[str, str]]) -> tuple[list[str], bool]:
            self.client.check_budget()
            body = search_request(filters, page_size)
            data = self.client.call("search", "objects.search", "do_search", source.object_type, body)
            ids = [str(r["id"]) for r in data.get("results", [])]
            return ids, bool((data.get("paging") or {}).get("next", {}).get("after"))

        return changed_ids(fetch, since_ms, until_ms, source)

    # ---------------------------------------------------------------------------------------- deal records

    def _list_all(self) -> Iterator[Json]:
        properties = self.deal_properties()
        inline = len(",".join(properties)) <= _MAX_LIST_QUERY_CHARS
        after: str | None = None
        seen_after: set[str] = set()
        while True:
            self.client.check_budget()
            kwargs: dict[str, Any] = {"limit": 100, "properties": properties if inline else ["hs_object_id"]}
            if after is not None:
                kwargs["after"] = after
            data = self.client.call("list", "objects.basic", "get_page", "deals", **kwargs)
            page = data.get("results", [])
            if inline:
                yield from page
            else:
                yield from self._batch_read_deals([str(d["id"]) for d in page])
            after = (data.get("paging") or {}).get("next", {}).get("after")
            if not after or after in seen_after:  # loop guard against a repeating cursor
                return
            seen_after.add(after)

    def _batch_read_deals(self, ids: Sequence[str]) -> Iterator[Json]:
        properties = self.deal_properties() if ids else []
        for chunk in chunked(ids, self.config.batch_size):
            self.client.check_budget()
            yield from self.batch_read("deals", chunk, properties)

    def batch_read(self, object_type: str, ids: Sequence[str], properties: Sequence[str]) -> list[Json]:
        found: list[Json] = []
        for chunk in chunked(list(dict.fromkeys(ids)), self.config.batch_size):
            body = {"inputs": [{"id": i} for i in chunk], "properties": list(properties)}
            data = self.client.call("batch_read", "objects.batch", "read", object_type, body)
            found.extend(data.get("results", []))
        return found

    # ---------------------------------------------------------------------------------------- one window

    def _map_window(self, deals: list[Json], now: datetime) -> DealChunk:
        wanted = self.config.pipelines
        deals = [d for d in deals if not wanted or (d.get("properties") or {}).get("pipeline") in wanted]
        if not deals:
            return DealChunk()
        self.client.check_budget()
        deal_ids = [str(d["id"]) for d in deals]
        links = {t: read_associations(self.client, "deals", t, deal_ids) for t in DEAL_RELATED}
        objects = {
            t: {str(o["id"]): o for o in self.batch_read(t, associated_ids(rows), OBJECT_PROPERTIES[t])}
            for t, rows in links.items()
        }
        self._remember_rep_tasks(objects["tasks"].values())
        context = MappingContext(
            now=now, names=self.config.names, stages=self.stages(),
            connected_dispositions=self.connected_dispositions,
        )
        attendees = {t: self._attendees(t, list(objects[t])) for t in ATTENDED}
        met = [
            who for t, by_id in attendees.items() for engagement, who in by_id.items()
            if took_place(t, objects[t][engagement], context)
        ]
        self._add_attendee_contacts(objects["contacts"], met)
        chunk = DealChunk()
        for deal in deals:
            bundle = {
                "deal": deal, "associations": {t: links[t].get(str(deal["id"]), []) for t in DEAL_RELATED},
                "objects": objects, "attendees": attendees,
            }
            chunk.add(str(deal["id"]), deal_from_hubspot, bundle, context)
        return chunk

    def _attendees(self, object_type: str, engagement_ids: list[str]) -> dict[str, list[str]]:
        """Each meeting's or call's associated contacts: who attended, or was called."""
        if not engagement_ids:
            return {}
        rows = read_associations(self.client, object_type, "contacts", engagement_ids)
        return {engagement: [str(row["toObjectId"]) for row in found] for engagement, found in rows.items()}

    def _add_attendee_contacts(self, contacts: dict[str, Json], met: Sequence[list[str]]) -> None:
        """Read the contacts met at held meetings or connected calls that no deal of the window is associated
        with (one batch read per 100): they are on their deal without a role, and their names make the
        evidence readable. Those only invited to a meeting still to come (or canceled) are not on the deal,
        so not read."""
        missing = [c for who in met for c in who if c not in contacts]
        if missing:  # batch_read reads each id once
            found = self.batch_read("contacts", missing, OBJECT_PROPERTIES["contacts"])
            contacts.update((str(o["id"]), o) for o in found)

    def _remember_rep_tasks(self, tasks: Any) -> None:
        self.rep_task_ids.update(str(t["id"]) for t in tasks if plugin_task(t, COMMITMENT_IDS) is None)


DEAL_ID_FORM = "a HubSpot deal id (digits)"


def deal_id(text: str) -> str | None:
    """`text` as HubSpot returns a deal's id (digits, no leading zero), or None when it cannot be one."""
    return str(int(text)) if text.isascii() and text.isdigit() else None


def _id_order(object_id: str) -> tuple[int, str]:
    return (int(object_id), object_id) if object_id.isdigit() else (0, object_id)
