"""What the ten rules share about one deal, computed once: held and scheduled buyer events, engaged
contacts, the deal's evidence texts and their keyword hits, and what the stage expects.

Building this once per deal (instead of each rule re-filtering the activities and re-scanning the texts)
is what keeps an assessment in the tens of microseconds. Everything here is derived from the deal and the
playbook only; `now` never enters, so the same deal always yields the same evidence and reasons.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache

from core.keywords import TextIndex
from core.models import Activity, ActivityKind, ActivityStatus, Commitment, Contact, Deal
from core.playbook import Playbook

_BUYER_EVENT_KINDS = frozenset({ActivityKind.MEETING, ActivityKind.CALL})
_NEVER_HAPPENED = frozenset({ActivityStatus.CANCELED, ActivityStatus.NO_SHOW})
# Notes and emails are written records whatever their status; other kinds only count once completed.
_ALWAYS_WRITTEN = frozenset({ActivityKind.NOTE, ActivityKind.EMAIL})


@lru_cache(maxsize=1024)
def normalise_role(role: str) -> str:
    """'DECISION_MAKER', 'Decision-Maker' and 'decision maker' all read as 'decision maker'."""
    return " ".join(role.lower().replace("_", " ").replace("-", " ").split())


def _sort_key(activity: Activity) -> tuple[bool, datetime | None, str]:
    at = activity.start or activity.end
    return (at is None, at, activity.id)


@dataclass(frozen=True, slots=True)
class TextRecord:
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
        for activity in sorted(deal.activities, key=_sort_key):
            status = activity.status
            if status in _NEVER_HAPPENED:
                continue
            is_event = activity.kind in _BUYER_EVENT_KINDS
            if is_event and status is ActivityStatus.COMPLETED:
                held.append(activity)
                buyer = any(a in contact_by_id for a in activity.attendee_ids)
                (held_buyer if buyer else held_rep_only).append(activity)
            elif is_event and status is ActivityStatus.SCHEDULED:
                scheduled.append(activity)
            is_evidence = status is ActivityStatus.COMPLETED or activity.kind in _ALWAYS_WRITTEN
            text = f"{activity.subject}\n{activity.body}" if activity.body else activity.subject
            records.append(
                TextRecord(
                    activity.kind.value,
                    activity.id,
                    activity.start or activity.end,
                    text,
                    activity,
                    is_evidence,
                )
            )
        if deal.description:
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
            record_index={
                r.record_id: i for i, r in enumerate(records) if r.activity is not None and r.record_id
            },
            index=TextIndex([r.text.lower() for r in records]),
        )

    # ------------------------------------------------------------------------------------ keyword hits

    def hits(self, group: str) -> dict[int, int]:
        """{record index: match offset} for the playbook keyword group `group`."""
        return self.index.search(self.playbook.keyword_groups[group])

    def text_hits(self, group: str) -> list[tuple[TextRecord, int]]:
        """Every evidence text (completed activity, note, email, description) matching `group`, in order."""
        records = self.records
        return [(records[i], offset) for i, offset in self.hits(group).items() if records[i].is_evidence]

    def first_text_hit(self, group: str) -> tuple[TextRecord, int] | None:
        for position, offset in self.hits(group).items():
            record = self.records[position]
            if record.is_evidence:
                return record, offset
        return None

    def first_activity_hit(self, group: str, activities: list[Activity]) -> tuple[Activity, int] | None:
        """The first of `activities` (in the given order) whose subject or body matches `group`."""
        hits = self.hits(group)
        if not hits:
            return None
        for activity in activities:
            offset = hits.get(self.record_index.get(activity.id, -1))
            if offset is not None:
                return activity, offset
        return None

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
