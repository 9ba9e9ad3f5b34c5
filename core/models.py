"""The core data model: a deal as read from a CRM, and what core concludes about it.

Everything here is a frozen pydantic v2 model, so a value handed from a connector to core and on to the
worker cannot change under anyone's feet. A `Deal` is CRM-neutral: the Salesforce and HubSpot connectors
both map their records into it, and its JSON form (``Deal.model_dump(mode="json")``) is what
``commitments assess FILE`` reads. `Assessment` is core's verdict; `WritePlan` is the part of it that
differs from what the CRM holds now.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, FiniteFloat


class Commitment(StrEnum):
    """The ten buyer commitments of *The Lost Art of Closing*, in the book's order."""

    TIME = "time"
    EXPLORE = "explore"
    CHANGE = "change"
    COLLABORATE = "collaborate"
    CONSENSUS = "consensus"
    INVEST = "invest"
    REVIEW = "review"
    RESOLVE = "resolve"
    DECIDE = "decide"
    EXECUTE = "execute"


COMMITMENT_ORDER: tuple[Commitment, ...] = tuple(Commitment)


class ActivityKind(StrEnum):
    MEETING = "meeting"
    CALL = "call"
    EMAIL = "email"
    NOTE = "note"
    TASK = "task"


class ActivityStatus(StrEnum):
    """What happened to an activity. For calls, `completed` means the call connected."""

    COMPLETED = "completed"
    SCHEDULED = "scheduled"
    CANCELED = "canceled"
    NO_SHOW = "no_show"
    OPEN = "open"


class QuoteStatus(StrEnum):
    """Quote state, normalised from Salesforce Quote.Status and HubSpot hs_status."""

    DRAFT = "draft"
    PRESENTED = "presented"
    ACCEPTED = "accepted"
    REJECTED = "rejected"


class EvidenceKind(StrEnum):
    """How strong a piece of evidence is (DESIGN.md, "Evidence strength").

    `scheduled` extends the design's four kinds: a buyer event on the calendar but not yet held. It never
    secures a commitment on its own, and unlike `asserted` it does not combine with `text`. `setback` is
    counter-evidence: a text saying the buyer stepped back ("project on hold", "budget freeze") written after
    what secured Change or Invest, which keeps them partial until newer evidence (or the rep) says otherwise.
    """

    OBSERVED = "observed"
    CONFIRMED = "confirmed"
    ASSERTED = "asserted"
    TEXT = "text"
    SCHEDULED = "scheduled"
    SETBACK = "setback"


class CommitmentStatus(StrEnum):
    SECURED = "secured"
    PARTIAL = "partial"
    MISSING = "missing"
    UPCOMING = "upcoming"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


# ---------------------------------------------------------------------------------------------- the deal


class Contact(_Frozen):
    """A buyer-side person on the deal (Salesforce contact role, HubSpot associated contact)."""

    id: str
    name: str | None = None
    title: str | None = None
    roles: tuple[str, ...] = ()


class Activity(_Frozen):
    """A meeting, call, email, note or task logged on the deal."""

    id: str
    kind: ActivityKind
    status: ActivityStatus
    subject: str = ""
    body: str = ""
    start: AwareDatetime | None = None
    end: AwareDatetime | None = None
    attendee_ids: tuple[str, ...] = ()


class StageChange(_Frozen):
    stage: str
    entered_at: AwareDatetime


class LineItem(_Frozen):
    id: str
    name: str | None = None
    quantity: FiniteFloat | None = None
    amount: FiniteFloat | None = None
    created_at: AwareDatetime | None = None


class Quote(_Frozen):
    id: str
    status: QuoteStatus
    name: str | None = None
    created_at: AwareDatetime | None = None


class OwnedFields(_Frozen):
    """The values of the fields the plugin owns on a deal, CRM-neutral.

    As read from the CRM (`Deal.current`), a field never written yet is None. Commitment lists are kept in
    canonical order so that equal sets compare equal.
    """

    secured: tuple[Commitment, ...] | None = None
    missing: tuple[Commitment, ...] | None = None
    next: Commitment | None = None
    score: int | None = None
    stage_gap: bool | None = None
    evidence: str | None = None
    assessed_at: AwareDatetime | None = None


class PluginTask(_Frozen):
    """A task the plugin created on the deal, found in the CRM by its stable key."""

    task_id: str
    key: str
    commitment: Commitment
    is_open: bool = True
    # Closed by the plugin because its commitment was secured (the worker knows it from its state store):
    # if that commitment is lost again, the task is reopened; a task a rep closed is not.
    completed_by_plugin: bool = False


class Deal(_Frozen):
    """One opportunity (Salesforce) or deal (HubSpot) with everything core needs to assess it."""

    id: str
    name: str = ""
    stage: str
    stage_label: str | None = Field(
        default=None, description="The stage as the CRM shows it, where that differs from `stage` (HubSpot)."
    )
    pipeline: str = "default"
    is_closed: bool = False
    is_won: bool = False
    # Finite: Python's JSON reader takes NaN and Infinity, and an amount of nan would count as "set".
    amount: FiniteFloat | None = None
    currency: str | None = None
    close_date: date | None = None
    forecast_category: str | None = None
    owner_id: str | None = None
    created_at: AwareDatetime | None = None
    modified_at: AwareDatetime | None = None
    next_step: str | None = None
    description: str | None = None
    contacts: tuple[Contact, ...] = ()
    activities: tuple[Activity, ...] = ()
    stage_history: tuple[StageChange, ...] = ()
    line_items: tuple[LineItem, ...] = ()
    quotes: tuple[Quote, ...] = ()
    confirmed: tuple[Commitment, ...] = Field(
        default=(), description="Commitments the rep explicitly confirmed in the CRM (read, never written)."
    )
    current: OwnedFields = Field(
        default_factory=OwnedFields, description="The plugin's fields as the CRM holds them."
    )
    plugin_tasks: tuple[PluginTask, ...] = Field(
        default=(), description="Tasks the plugin created on this deal."
    )

    @property
    def is_lost(self) -> bool:
        return self.is_closed and not self.is_won


# ------------------------------------------------------------------------------------- what core says


class Evidence(_Frozen):
    """One checkable fact behind a commitment's status."""

    kind: EvidenceKind
    source: str = Field(
        description="What the fact came from: meeting, call, note, stage, contact_role, quote..."
    )
    record_id: str | None = None
    at: AwareDatetime | None = None
    snippet: str = ""
    rule: Commitment


class CommitmentResult(_Frozen):
    commitment: Commitment
    status: CommitmentStatus
    expected: bool = Field(description="The deal's stage expects this commitment to be secured by now.")
    evidence: tuple[Evidence, ...] = ()
    reason: str = Field(description="One sentence a rep understands.")


class Assessment(_Frozen):
    deal_id: str
    stage: str
    results: tuple[CommitmentResult, ...] = Field(description="One per commitment, in canonical order.")
    secured: tuple[Commitment, ...]
    missing: tuple[Commitment, ...] = Field(description="Expected by the current stage but not secured.")
    next: Commitment | None
    stage_gap: bool = Field(description="The stage is ahead of the commitments actually secured.")
    score: int
    warnings: tuple[str, ...] = ()
    assessed_at: AwareDatetime

    def result(self, commitment: Commitment) -> CommitmentResult:
        return self.results[COMMITMENT_ORDER.index(commitment)]


class OwnedField(StrEnum):
    """Names of the plugin's fields; each connector maps them to its CRM's field names."""

    SECURED = "secured"
    MISSING = "missing"
    NEXT = "next"
    SCORE = "score"
    STAGE_GAP = "stage_gap"
    EVIDENCE = "evidence"
    ASSESSED_AT = "assessed_at"


class TaskActionKind(StrEnum):
    CREATE = "create"
    COMPLETE = "complete"
    REOPEN = "reopen"  # the plugin's own task, closed once its commitment was secured, which is now lost


class TaskAction(_Frozen):
    """Create, complete or reopen the plugin's task for one (deal, commitment)."""

    kind: TaskActionKind
    deal_id: str
    commitment: Commitment
    key: str = Field(description="Stable per deal and commitment; how a crash-then-rerun finds the task.")
    task_id: str | None = Field(
        default=None, description="The CRM task to complete or reopen; None for a create."
    )
    subject: str = ""
    body: str = ""
    owner_id: str | None = None
    due_date: date | None = None


class WritePlan(_Frozen):
    """What to write for one deal: the owned fields that differ from the CRM, and task actions."""

    deal_id: str
    values: OwnedFields = Field(description="The desired value of every owned field.")
    changed: frozenset[OwnedField] = Field(default=frozenset(), description="The fields to write.")
    tasks: tuple[TaskAction, ...] = ()

    @property
    def is_empty(self) -> bool:
        return not self.changed and not self.tasks

    def field_updates(self) -> dict[OwnedField, object]:
        """The changed fields with their desired values."""
        return {name: getattr(self.values, name.value) for name in self.changed}
