"""What the ten rules share about one deal, computed once: held and scheduled buyer events, engaged
contacts, the deal's evidence texts and their keyword hits, and what the stage expects.

Building this once per deal (instead of each rule re-filtering the activities and re-scanning the texts)
is what keeps an assessment in the tens of microseconds. Everything here is derived from the deal and the
playbook only; `now` never enters, so the same deal always yields the same evidence and reasons.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
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


@lru_cache(maxsize=1024)
def normalise_role(role: str) -> str:
    """'DECISION_MAKER', 'Decision-Maker' and 'decision maker' all read as 'decision maker'."""
    return " ".join(role.lower().replace("_", " ").replace("-", " ").split())


def _sort_key(activity: Activity) -> tuple[bool, datetime | None, str]:
    at = activity.start or activity.end
    return (at is None, at, activity.id)


class TextRecord(NamedTuple):
    """A text the keyword search can hit: an activity (subject and body) or the deal description."""

    source: str
    record_id: str | None
    at: datetime | None
    text: str
    activity: Activity | None
    is_evidence: bool


@dataclass(slots=True)
class DealContext:
    """One deal prepared for the rules (see the module docstring)."""

    deal: Deal
    playbook: Playbook
    stage_expects: frozenset[Commitment]
    stage_entered_at: datetime | None
    contact_by_id: dict[str, Contact]
    held: list[Activity]
    held_buyer: list[Activity]
    held_rep_only: list[Activity]
    scheduled: list[Activity]
    records: list[TextRecord]
    record_index: dict[str, int]
    evidence_positions: frozenset[int]
    index: TextIndex
    _engaged: list[Contact] | None = field(default=None)

    @classmethod
    def build(cls, deal: Deal, playbook: Playbook, stage_expects: frozenset[Commitment]) -> DealContext:
        contact_by_id = {c.id: c for c in deal.contacts}
        held: list[Activity] = []
        held_buyer: list[Activity] = []
        held_rep_only: list[Activity] = []
        scheduled: list[Activity] = []
        records: list[TextRecord] = []
        record_index: dict[str, int] = {}
        evidence_positions: list[int] = []
        for activity in sorted(deal.activities, key=_sort_key):
            status, kind = activity.status, activity.kind
            if status in _NEVER_HAPPENED:
                continue
            completed = status is _COMPLETED
            if kind in _BUYER_EVENT_KINDS:
                if completed:
                    held.append(activity)
                    buyer = not contact_by_id.keys().isdisjoint(activity.attendee_ids)
                    (held_buyer if buyer else held_rep_only).append(activity)
                elif status is _SCHEDULED:
                    scheduled.append(activity)
            position = len(records)
            record_index[activity.id] = position
            is_evidence = completed or kind in _ALWAYS_WRITTEN
            if is_evidence:
                evidence_positions.append(position)
            text = f"{activity.subject}\n{activity.body}" if activity.body else activity.subject
            at = activity.start or activity.end
            records.append(TextRecord(KIND_NAMES[kind], activity.id, at, text, activity, is_evidence))
        if deal.description:
            evidence_positions.append(len(records))
            records.append(TextRecord("description", deal.id, None, deal.description, None, True))
        entered = [s.entered_at for s in deal.stage_history if s.stage == deal.stage]
        return cls(
            deal=deal,
            playbook=playbook,
            stage_expects=stage_expects,
            stage_entered_at=max(entered) if entered else None,
            contact_by_id=contact_by_id,
            held=held,
            held_buyer=held_buyer,
            held_rep_only=held_rep_only,
            scheduled=scheduled,
            records=records,
            record_index=record_index,
            evidence_positions=frozenset(evidence_positions),
            index=TextIndex([r.text for r in records]),
        )

    # ------------------------------------------------------------------------------------ keyword hits

    def first_text_hit(self, group: str) -> tuple[TextRecord, int] | None:
        """The first evidence text (completed activity, note, email, description) matching `group`."""
        found = self.index.first(self.playbook.keyword_groups[group], self.evidence_positions)
        return None if found is None else (self.records[found[0]], found[1])

    def first_record_hit(self, group: str, positions: Collection[int]) -> tuple[TextRecord, int] | None:
        """The first of the records at `positions` matching `group`."""
        found = self.index.first(self.playbook.keyword_groups[group], positions)
        return None if found is None else (self.records[found[0]], found[1])

    def text_hits(self, group: str) -> list[tuple[TextRecord, int]]:
        """Every evidence text matching `group`, in order."""
        records = self.records
        hits = self.index.search(self.playbook.keyword_groups[group])
        return [(records[i], offset) for i, offset in hits.items() if records[i].is_evidence]

    def first_activity_hit(self, group: str, activities: list[Activity]) -> tuple[Activity, int] | None:
        """The first of `activities` (given in chronological order) whose subject or body matches `group`."""
        if not activities:
            return None
        positions = {self.record_index[a.id] for a in activities if a.id in self.record_index}
        found = self.index.first(self.playbook.keyword_groups[group], positions)
        if found is None:
            return None
        activity = self.records[found[0]].activity
        return None if activity is None else (activity, found[1])

    def matches(self, group: str, activity: Activity) -> bool:
        position = self.record_index.get(activity.id)
        group_ = self.playbook.keyword_groups[group]
        return position is not None and self.index.within(group_, position) is not None

    def activity_text(self, activity: Activity) -> str:
        return self.records[self.record_index[activity.id]].text

    # ------------------------------------------------------------------------------------------ contacts

    def roles_of(self, contact: Contact) -> set[str]:
        return {normalise_role(r) for r in contact.roles}

    def engaged_contacts(self) -> list[Contact]:
        """Buyer contacts with a role on the deal or who attended a held meeting or connected call."""
        if self._engaged is None:
            attended = {a for activity in self.held for a in activity.attendee_ids}
            self._engaged = [c for c in self.deal.contacts if c.roles or c.id in attended]
        return self._engaged

    def contacts_with_role(self, roles: tuple[str, ...]) -> list[Contact]:
        wanted = {normalise_role(r) for r in roles}
        return [c for c in self.deal.contacts if not wanted.isdisjoint(self.roles_of(c))]
