"""What the ten rules share about one deal, computed once: held and scheduled buyer events, engaged
contacts, the deal's evidence texts and their keyword hits (and setbacks), and what the stage expects.

Building this once per deal (instead of each rule re-filtering the activities and re-scanning the texts)
is what keeps an assessment in the tens of microseconds. One pass over the chronologically sorted
activities sorts them into the few lists every rule uses; anything only some rules need (keyword hits,
text records, contact roles) is computed on first use. Everything here is derived from the deal and the
playbook only; `now` never enters, so the same deal always yields the same evidence and reasons.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import date, datetime
from functools import lru_cache
from operator import attrgetter
from typing import NamedTuple

from core.keywords import TextIndex
from core.models import Activity, ActivityKind, ActivityStatus, Commitment, Contact, Deal
from core.playbook import Playbook

_BUYER_EVENT_KINDS = frozenset({ActivityKind.MEETING, ActivityKind.CALL})
_NEVER_HAPPENED = frozenset({ActivityStatus.CANCELED, ActivityStatus.NO_SHOW})
# Notes and emails are written records whatever their status; other kinds only count once completed.
_ALWAYS_WRITTEN = frozenset({ActivityKind.NOTE, ActivityKind.EMAIL})
_COMPLETED, _SCHEDULED = ActivityStatus.COMPLETED, ActivityStatus.SCHEDULED
KIND_NAMES = {kind: kind.value for kind in ActivityKind}  # plain str; Enum.value is a slow descriptor
_START = attrgetter("start")
_START_AND_ID = attrgetter("start", "id")
_ID = attrgetter("id")


@lru_cache(maxsize=1024)
def normalise_role(role: str) -> str:
    """'DECISION_MAKER', 'Decision-Maker' and 'decision maker' all read as 'decision maker'."""
    return " ".join(role.lower().replace("_", " ").replace("-", " ").split())


@lru_cache(maxsize=64)
def normalised_roles(roles: tuple[str, ...]) -> frozenset[str]:
    """A contact's (or the playbook's) role names, normalised (few distinct tuples: cached). A raw
    multi-select value ("CHAMPION;BUDGET_HOLDER", as a HubSpot export gives it) is each of its roles."""
    return frozenset(normalise_role(part) for r in roles for part in r.split(";"))


def distinct_contacts(contacts: tuple[Contact, ...]) -> Sequence[Contact]:
    """One contact per id, roles merged: Salesforce has one contact role row per (contact, role), so one
    person with two roles can arrive twice, and must not count as two buyer contacts."""
    if len(contacts) < 2 or len(set(map(_ID, contacts))) == len(contacts):
        return contacts
    merged: dict[str, Contact] = {}
    for contact in contacts:
        seen = merged.get(contact.id)
        if seen is None:
            merged[contact.id] = contact
        else:
            roles = seen.roles + tuple(r for r in contact.roles if r not in seen.roles)
            name, title = seen.name or contact.name, seen.title or contact.title
            merged[contact.id] = Contact(id=contact.id, name=name, title=title, roles=roles)
    return list(merged.values())


def entered_current_stage(deal: Deal) -> datetime | None:
    """When the deal last entered its current stage (None when its stage history does not say)."""
    stage = deal.stage
    entries = [s.entered_at for s in deal.stage_history if s.stage == stage]
    return max(entries) if entries else None


def close_day(deal: Deal) -> date | None:
    """The day a won deal closed: its close date, or the day it entered its current (won) stage when that
    is earlier, because reps often win before the close date they set and never move it."""
    close = deal.close_date
    entered_at = entered_current_stage(deal)
    if entered_at is not None:
        entered = entered_at.date()
        if close is None or entered < close:
            return entered
    return close


SNIPPET_MAX = 80


def clip(text: str, limit: int = SNIPPET_MAX) -> str:
    """Whitespace collapsed and cut to `limit` characters (an ellipsis marks a cut)."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def _sort_key(activity: Activity) -> tuple[bool, datetime | None, str]:
    at = activity.start or activity.end
    return (at is None, at, activity.id)


def chronological(activities: Sequence[Activity]) -> list[Activity]:
    """Activities by start (or end when there is no start; undated last), then id; stable."""
    if None not in map(_START, activities):
        # Every activity has a start: the same order from a C-level key instead of a Python function.
        return sorted(activities, key=_START_AND_ID)
    return sorted(activities, key=_sort_key)


_PENDING = frozenset({ActivityStatus.SCHEDULED, ActivityStatus.OPEN})


def distinct_activities(ordered: list[Activity]) -> list[Activity]:
    """One activity per id, in the given (chronological) order. One CRM record read twice (joined over two
    associations, or edited between two reads so its copies differ in time) counts once: as a copy whose
    outcome is known (held, canceled, missed) rather than one still scheduled or open, since a record only
    moves from pending to an outcome (a meeting moved to a later day and then held is held, not scheduled);
    otherwise as its earliest copy."""
    if len(set(map(_ID, ordered))) == len(ordered):
        return ordered
    kept: dict[str, Activity] = {}
    for activity in ordered:
        seen = kept.get(activity.id)
        if seen is None or (seen.status in _PENDING and activity.status not in _PENDING):
            kept[activity.id] = activity
    return [activity for activity in ordered if kept[activity.id] is activity]


class TextRecord(NamedTuple):
    """A text the keyword search can hit: an activity (subject and body) or the deal description."""

    source: str
    record_id: str | None
    at: datetime | None
    text: str
    activity: Activity | None
    position: int  # in the deal's texts, which are in chronological order (the description last)


class DealContext:
    """One deal prepared for the rules (see the module docstring).

    Texts are numbered (positions): every activity not canceled or missed, in chronological order, then
    the deal description when there is one.
    """

    __slots__ = (
        "_index",
        "_record_index",
        "_texts",
        "deal",
        "evidence_positions",
        "held",
        "held_buyer",
        "held_rep_only",
        "playbook",
        "scheduled",
        "stage_entered_at",
        "stage_expects",
        "stage_snippet",
        "texted",
    )

    def __init__(self, deal: Deal, playbook: Playbook, stage_expects: frozenset[Commitment]) -> None:
        self.deal, self.playbook, self.stage_expects = deal, playbook, stage_expects
        contact_ids = {c.id for c in deal.contacts}
        held: list[Activity] = []
        held_buyer: list[Activity] = []
        held_rep_only: list[Activity] = []
        scheduled: list[Activity] = []
        texted: list[Activity] = []  # every activity with a text position, in position order
        texts: list[str] = []
        evidence: list[int] = []
        for activity in distinct_activities(chronological(deal.activities)) if deal.activities else ():
            status = activity.status
            if status in _NEVER_HAPPENED:
                continue
            kind = activity.kind
            if status is _COMPLETED:
                evidence.append(len(texted))
                if kind in _BUYER_EVENT_KINDS:
                    held.append(activity)
                    if contact_ids.isdisjoint(activity.attendee_ids):
                        held_rep_only.append(activity)
                    else:
                        held_buyer.append(activity)
            elif kind in _ALWAYS_WRITTEN:
                evidence.append(len(texted))
            elif status is _SCHEDULED and kind in _BUYER_EVENT_KINDS:
                scheduled.append(activity)
            texted.append(activity)
            body = activity.body
            texts.append(f"{activity.subject}\n{body}" if body else activity.subject)
        if deal.description:
            evidence.append(len(texts))
            texts.append(deal.description)
        self.held, self.held_buyer, self.held_rep_only = held, held_buyer, held_rep_only
        self.scheduled = scheduled
        self.texted, self._texts = texted, texts
        self.evidence_positions = frozenset(evidence)
        self.stage_entered_at = entered_current_stage(deal)
        # The stage's evidence, for every rule, named as the rep sees it (HubSpot's ids read badly).
        self.stage_snippet = clip(f"stage {deal.stage_label or deal.stage!r} expects it")
        self._index: TextIndex | None = None
        self._record_index: dict[str, int] | None = None

    # ------------------------------------------------------------------------------------ text records

    @property
    def index(self) -> TextIndex:
        if self._index is None:
            self._index = TextIndex(self._texts)
        return self._index

    @property
    def record_index(self) -> dict[str, int]:
        """Activity id to text position (ids are unique here: repeated copies were dropped above)."""
        if self._record_index is None:
            ids = map(_ID, self.texted)
            self._record_index = dict(zip(ids, range(len(self.texted)), strict=True))
        return self._record_index

    def record(self, position: int) -> TextRecord:
        """The text at `position` with what evidence needs to cite it."""
        text = self._texts[position]
        if position < len(self.texted):
            activity = self.texted[position]
            at = activity.start or activity.end
            return TextRecord(KIND_NAMES[activity.kind], activity.id, at, text, activity, position)
        return TextRecord("description", self.deal.id, None, text, None, position)

    # ------------------------------------------------------------------------------------ keyword hits

    def first_text_hit(self, group: str) -> tuple[TextRecord, int] | None:
        """The first evidence text (completed activity, note, email, description) matching `group`."""
        return self.first_record_hit(group, self.evidence_positions)

    def first_record_hit(self, group: str, positions: Collection[int]) -> tuple[TextRecord, int] | None:
        """The first of the records at `positions` matching `group`."""
        found = self.index.first(self.playbook.keyword_groups[group], positions)
        return None if found is None else (self.record(found[0]), found[1])

    def first_activity_hit(self, group: str, activities: list[Activity]) -> tuple[Activity, int] | None:
        """The first of `activities` (given in chronological order) whose subject or body matches `group`."""
        if not activities:
            return None
        record_index = self.record_index
        positions = {record_index[a.id] for a in activities if a.id in record_index}
        found = self.index.first(self.playbook.keyword_groups[group], positions)
        # Only activities' own positions were searched, so a hit is never the description.
        return None if found is None else (self.texted[found[0]], found[1])

    def setback(self, renewed_by: tuple[str, ...]) -> tuple[TextRecord, int, str] | None:
        """The latest setback noted in the deal's evidence texts ("project on hold", "budget freeze"), with
        its offset and phrase, unless a text matching one of the `renewed_by` groups came after it (the
        buyer came back); None when there is none. Texts are in chronological order, the deal description
        (the deal as it stands) last; within one text, a later offset is later."""
        groups = self.playbook.keyword_groups
        found = self.index.last(groups["setback"], self.evidence_positions)
        if found is None:
            return None
        for group in renewed_by:
            again = self.index.last(groups[group], self.evidence_positions)
            if again is not None and again[:2] > found[:2]:
                return None
        return self.record(found[0]), found[1], found[2]

    def matches(self, group: str, activity: Activity) -> bool:
        position = self.record_index.get(activity.id)
        group_ = self.playbook.keyword_groups[group]
        return position is not None and self.index.within(group_, position) is not None

    # ------------------------------------------------------------------------------------------ contacts

    def engaged_contacts(self) -> list[Contact]:
        """Buyer contacts with a role on the deal or who attended a held meeting or connected call."""
        attended = {a for activity in self.held for a in activity.attendee_ids}
        return [c for c in distinct_contacts(self.deal.contacts) if c.roles or c.id in attended]

    def buyers_at(self, activity: Activity) -> str:
        """Who of the deal's contacts attended `activity`, as a rep reads it: "Dana Reyes", "Dana Reyes and
        2 other buyers", or "a buyer" when the CRM gave no name."""
        on_deal = {c.id: c for c in self.deal.contacts}
        there = [on_deal[a] for a in dict.fromkeys(activity.attendee_ids) if a in on_deal]
        named = next((c.name for c in there if c.name), None)
        if named is None:
            return "a buyer" if len(there) < 2 else f"{len(there)} buyers"
        others = len(there) - 1
        more = f" and {others} other buyer{'s' if others > 1 else ''}" if others else ""
        return f"{clip(named, 50)}{more}"

    def contacts_with_role(self, roles: tuple[str, ...]) -> list[Contact]:
        wanted = normalised_roles(roles)
        return [c for c in self.deal.contacts if not wanted.isdisjoint(normalised_roles(c.roles))]
