"""The playbook: the rules' parameters, which admins may edit (stage maps, thresholds, keywords, labels,
the guidance a rep reads).

The rules themselves are Python (core/rules/); the playbook only tunes them. It is validated here from an
already-parsed mapping, so core stays free of file I/O: the worker reads the YAML file and calls
`parse_playbook`, which turns any validation problem into a `PlaybookError` naming the source, the key
path and what was expected.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cached_property
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from core.keywords import KeywordGroup, build_groups
from core.models import COMMITMENT_ORDER, Commitment

PLAYBOOK_VERSION = 1  # the layout of the playbook file this code reads


class PlaybookError(ValueError):
    """The playbook is not valid; the message names the file, the key path and what was expected."""


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Guidance(_Strict):
    """What a rep reads about one commitment: in the CRM picklists, in explanations and in the task."""

    label: str = Field(min_length=1, max_length=40)
    ask: str = Field(min_length=1, description="What to ask the buyer for.")
    question: str = Field(min_length=1, description="A question the rep can use as is.")
    secure_hint: str = Field(min_length=1, description="What evidence in the CRM would secure it.")


class StageMap(_Strict):
    """Which commitments a pipeline's stages expect.

    `stages` lists every stage in pipeline order with the commitments it adds; a stage expects what it adds
    plus everything earlier stages added. Closed-lost stages are listed (so they are known) but expect
    nothing. `execute` is expected `execute_after_close_days` after a deal is won.
    """

    stages: dict[str, tuple[Commitment, ...]]
    execute_after_close_days: int = Field(default=14, ge=0)

    @cached_property
    def expected_by_stage(self) -> dict[str, frozenset[Commitment]]:
        cumulative: set[Commitment] = set()
        expected: dict[str, frozenset[Commitment]] = {}
        for stage, adds in self.stages.items():
            cumulative.update(adds)
            expected[stage] = frozenset(cumulative)
        return expected


class Thresholds(_Strict):
    explore_min_meetings: int = Field(default=2, ge=1)
    collaborate_min_meetings: int = Field(default=2, ge=1)
    consensus_min_contacts: int = Field(default=3, ge=1)
    consensus_partial_contacts: int = Field(default=2, ge=1)

    @model_validator(mode="after")
    def _partial_below_secured(self) -> Thresholds:
        if self.consensus_partial_contacts > self.consensus_min_contacts:
            raise ValueError("consensus_partial_contacts must not exceed consensus_min_contacts")
        return self


# Texts saying the buyer stepped back from changing or investing. Conservative on purpose: each phrase
# states the step back outright: "next year" or "paused" alone say too little, "no budget" alone would also
# match "no budget freeze", "put on hold" a call's hold music, "not a priority" any detail the buyer does not
# care about, "shelved" the tool they replace. Like every keyword, a setback does not count when negated
# ("there are no budget cuts") or asked ("is the project on hold?").
DEFAULT_SETBACKS: tuple[str, ...] = (
    "is on hold",
    "are on hold",
    "project on hold",
    "deal on hold",
    "put the project on hold",
    "deprioritized",
    "deprioritised",
    "no longer a priority",
    "not a priority this year",
    "not a priority right now",
    "budget freeze",
    "budget frozen",
    "budget cut",
    "budget cuts",
    "budget was cut",
    "spending freeze",
    "no budget for",
    "no budget this year",
    "no budget left",
    "no budget available",
    "lost funding",
    "funding pulled",
    "funding was pulled",
    "project cancelled",
    "project canceled",
    "project shelved",
)

# Texts noting a concern raised anew: after the concerns were noted as resolved (or a security or legal
# review was completed), one of these leaves Resolve Concerns partial until they are noted as resolved again.
# Each names the act of raising one, as setbacks are stated outright: "new concerns" or "remaining concerns"
# alone also read in "addressed the remaining concerns", "follow up on any new concerns", "none of the new
# concerns are blockers". A negated one ("no one raised a concern") does not count, nor an asked one.
DEFAULT_NEW_CONCERNS: tuple[str, ...] = (
    "raised a concern",
    "raised a new concern",
    "raised new concerns",
    "flagged a concern",
    "flagged a new concern",
    "still has concerns",
    "still have concerns",
    "raised an objection",
    "raised a new objection",
)
OPTIONAL_GROUPS = frozenset({"setback", "new_concern"})


class Keywords(_Strict):
    """Phrases matched case-insensitively on whole words in subjects, bodies and the deal description."""

    discovery: tuple[str, ...]
    pain: tuple[str, ...]
    change: tuple[str, ...]
    workshop: tuple[str, ...]
    pilot: tuple[str, ...]
    budget: tuple[str, ...]
    proposal_review: tuple[str, ...]
    concern_resolved: tuple[str, ...]
    security_legal_review: tuple[str, ...]
    kickoff: tuple[str, ...]
    # Counter-evidence for Change and Invest (see core.rules.context.DealContext.setback). Optional, so a
    # playbook copied before it existed still loads and gets these; an empty list turns setbacks off.
    setback: tuple[str, ...] = DEFAULT_SETBACKS
    # Counter-evidence for Resolve Concerns; optional in the same way.
    new_concern: tuple[str, ...] = DEFAULT_NEW_CONCERNS

    @field_validator("*")
    @classmethod
    def _not_empty(cls, phrases: tuple[str, ...], info: ValidationInfo) -> tuple[str, ...]:
        if any(not p.strip() for p in phrases):
            raise ValueError("phrases must not be blank")
        if not phrases and info.field_name not in OPTIONAL_GROUPS:
            raise ValueError("needs at least one non-blank phrase")
        return phrases


class Roles(_Strict):
    """Contact role names (case-insensitive) that carry meaning for the rules."""

    decision: tuple[str, ...] = (
        "decision maker",
        "economic buyer",
        "economic decision maker",
        "executive sponsor",
        "budget holder",
    )
    economic: tuple[str, ...] = ("economic buyer", "economic decision maker", "budget holder")


class Forecast(_Strict):
    """Forecast categories, compared after lower-casing and dropping non-letters ("Best Case" = BEST_CASE)."""

    invested: tuple[str, ...] = ("bestcase", "commit")
    commit: tuple[str, ...] = ("commit",)


class TaskWording(_Strict):
    subject: str = Field(default="Secure the {label}", description="{label} is the commitment's label.")
    due_in_days: int = Field(default=3, ge=0)
    skip_weekends: bool = Field(
        default=True, description="A due date on a Saturday or Sunday moves to the Monday after."
    )

    @field_validator("subject")
    @classmethod
    def _only_known_placeholders(cls, value: str) -> str:
        # a typo ("{lable}") would otherwise reach every rep's task title as written
        unknown = [p for p in re.findall(r"\{([^{}]*)\}", value) if p != "label"]
        if unknown:
            raise ValueError(f"unknown placeholder {{{unknown[0]}}}; the only one is {{label}}")
        return value


class Playbook(_Strict):
    version: int
    commitments: dict[Commitment, Guidance]
    stage_maps: dict[str, StageMap] = Field(
        description="Keyed by pipeline: 'salesforce', HubSpot pipeline ids."
    )
    thresholds: Thresholds = Field(default_factory=Thresholds)
    keywords: Keywords
    roles: Roles = Field(default_factory=Roles)
    forecast: Forecast = Field(default_factory=Forecast)
    task: TaskWording = Field(default_factory=TaskWording)

    @field_validator("version")
    @classmethod
    def _known_version(cls, value: int) -> int:
        if value != PLAYBOOK_VERSION:
            raise ValueError(f"expected {PLAYBOOK_VERSION}, the only playbook version there is; got {value}")
        return value

    @field_validator("commitments")
    @classmethod
    def _all_ten(cls, value: dict[Commitment, Guidance]) -> dict[Commitment, Guidance]:
        absent = [c.value for c in COMMITMENT_ORDER if c not in value]
        if absent:
            raise ValueError(f"guidance missing for: {', '.join(absent)}")
        # Labels are what reps and managers pick from in CRM picklists, filters and list views, and what a
        # label read back from the CRM is mapped to: two commitments with one label cannot be told apart.
        by_label: dict[str, list[str]] = {}
        for commitment in COMMITMENT_ORDER:
            by_label.setdefault(value[commitment].label.strip().casefold(), []).append(commitment.value)
        shared = ["/".join(ids) for ids in by_label.values() if len(ids) > 1]
        if shared:
            raise ValueError(f"each commitment needs its own label; these share one: {', '.join(shared)}")
        return value

    def label(self, commitment: Commitment) -> str:
        return self.commitments[commitment].label

    @cached_property
    def labels(self) -> dict[Commitment, str]:
        """Every commitment's label (read ten times per deal by the write plan)."""
        return {c: g.label for c, g in self.commitments.items()}

    @cached_property
    def commitment_by_label(self) -> dict[str, Commitment]:
        """Labels and ids back to commitments, for reading CRM picklist values."""
        lookup = {c.value: c for c in COMMITMENT_ORDER}
        lookup.update({g.label: c for c, g in self.commitments.items()})
        return lookup

    @cached_property
    def keyword_patterns(self) -> dict[str, re.Pattern[str]]:
        """One compiled whole-word pattern per keyword group."""
        return {
            group: re.compile(r"\b(?:" + "|".join(re.escape(p.lower()) for p in phrases) + r")\b")
            if phrases
            else re.compile(r"(?!)")  # an empty optional group (turned off) matches nothing
            for group, phrases in self.keywords.model_dump().items()
        }

    @cached_property
    def keyword_groups(self) -> dict[str, KeywordGroup]:
        """The same groups as `keyword_patterns`, prepared for core.keywords.TextIndex (much faster)."""
        return build_groups(self.keywords.model_dump())


def _key_path(location: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in location) or "(top level)"


def parse_playbook(data: Mapping[str, Any] | Any, source: str) -> Playbook:
    """Validate a parsed playbook document; `source` (a file name) is quoted in every error."""
    if not isinstance(data, Mapping):
        raise PlaybookError(f"{source}: expected a mapping at the top level, got {type(data).__name__}")
    try:
        return Playbook.model_validate(data)
    except ValidationError as exc:
        problems = [f"{source}: {_key_path(error_location(e))}: {problem_text(e)}" for e in exc.errors()]
        raise PlaybookError("invalid playbook\n  " + "\n  ".join(problems)) from None


def problem_text(error: Any) -> str:
    """A pydantic error in an admin's words: a misspelt or a missing key said plainly (playbook and
    connections files alike), anything else as pydantic says it."""
    if error["type"] == "extra_forbidden":
        return "unknown key (check the spelling)"
    if error["type"] in ("missing", "union_tag_not_found"):  # the latter: a kind's tag (auth `mode:`) unset
        return "required, missing"
    if error["type"] == "union_tag_invalid":  # pydantic says "Input tag 'x' found using 'mode' does not ..."
        expected = str(error["ctx"]["expected_tags"]).replace("'", "")
        return f"expected one of {expected}, got {error['ctx']['tag']!r}"
    return str(error["msg"])


def error_location(error: Any) -> tuple[int | str, ...]:
    """Where a pydantic error is, as a key path: a discriminated union's missing or unknown tag is an error
    of the tag's key (auth.mode), not of the whole mapping holding it."""
    location = tuple(error["loc"])
    if error["type"] in ("union_tag_not_found", "union_tag_invalid"):
        return (*location, str(error["ctx"]["discriminator"]).strip("'"))
    return location
