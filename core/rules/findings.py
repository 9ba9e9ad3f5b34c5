"""What a rule returns (`Finding`) and the small helpers every rule uses to cite evidence and grade it.

Generic grading follows DESIGN.md "Evidence strength": `observed` or `confirmed` secures; `asserted` plus
`text` secures; anything else found is partial; `scheduled` never secures and never combines. Rules whose
table row says otherwise grade themselves.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import NamedTuple

from core.models import Activity, Commitment, CommitmentStatus, Evidence, EvidenceKind, Quote
from core.rules.context import KIND_NAMES, SNIPPET_MAX, DealContext, TextRecord, clip
from core.trusted import builder

_evidence = builder(Evidence)

SECURED = CommitmentStatus.SECURED
PARTIAL = CommitmentStatus.PARTIAL
NOTHING = CommitmentStatus.MISSING  # a rule's "no evidence that counts"; assess() decides missing/upcoming

OBSERVED = EvidenceKind.OBSERVED
ASSERTED = EvidenceKind.ASSERTED
TEXT = EvidenceKind.TEXT
SCHEDULED = EvidenceKind.SCHEDULED
SETBACK = EvidenceKind.SETBACK


class Finding(NamedTuple):
    """One rule's verdict on one deal before the stage's expectation is applied (a NamedTuple: ten are
    made per deal, and a tuple is made much faster than a frozen dataclass)."""

    grade: CommitmentStatus
    evidence: tuple[Evidence, ...]
    reason: str


def day(at: datetime | None) -> str:
    return at.date().isoformat() if at is not None else "an unrecorded date"


def when(activity: Activity) -> str:
    """The activity's day: its start, or its end when the CRM recorded no start."""
    return day(activity.start or activity.end)


def found_in(record: TextRecord) -> str:
    """Where a text hit was found, as a rep reads it: "a note", "a meeting", "the deal description"."""
    if record.activity is None:
        return "the deal description"
    article = "an" if record.source[:1] in ("a", "e", "i", "o", "u") else "a"  # "an email"
    return f"{article} {record.source}"


def quoted(activity: Activity) -> str:
    return f'"{clip(activity.subject or activity.body or activity.id, 50)}"'


def evidence(
    kind: EvidenceKind,
    source: str,
    rule: Commitment,
    snippet: str,
    record_id: str | None = None,
    at: datetime | None = None,
) -> Evidence:
    flat = " ".join(snippet.split())  # clip(), inlined: this runs about ten times per deal
    if len(flat) > SNIPPET_MAX:
        flat = flat[: SNIPPET_MAX - 1].rstrip() + "…"
    return _evidence(
        {"kind": kind, "source": source, "record_id": record_id, "at": at, "snippet": flat, "rule": rule}
    )


def activity_evidence(kind: EvidenceKind, activity: Activity, rule: Commitment) -> Evidence:
    text = activity.subject or activity.body or f"{activity.kind} {activity.id}"
    return evidence(kind, KIND_NAMES[activity.kind], rule, text, activity.id, activity.start or activity.end)


def quote_evidence(kind: EvidenceKind, quote: Quote, rule: Commitment) -> Evidence:
    return evidence(
        kind, "quote", rule, f"{quote.name or 'quote'} ({quote.status})", quote.id, quote.created_at
    )


def hit_snippet(record: TextRecord, offset: int) -> str:
    """About 80 characters of `record` around a keyword hit at `offset` (in its lower-cased text)."""
    text = record.text
    if len(text.lower()) != len(text):  # lower() changed the length: offsets only fit the lowered text
        text = text.lower()
    start = max(0, offset - 20)
    # Step back to a word start so the snippet does not open mid-word.
    while start > 0 and not text[start - 1].isspace():
        start -= 1
        if offset - start > 40:
            break
    prefix = "…" if start > 0 else ""
    return prefix + " ".join(text[start : start + SNIPPET_MAX + 10].split())


def text_evidence(kind: EvidenceKind, record: TextRecord, offset: int, rule: Commitment) -> Evidence:
    return evidence(kind, record.source, rule, hit_snippet(record, offset), record.record_id, record.at)


def stage_evidence(ctx: DealContext, rule: Commitment) -> Evidence | None:
    """The rep's stage asserts `rule` when the stage map expects it by the deal's current stage."""
    if rule not in ctx.stage_expects:
        return None
    return _evidence(
        {
            "kind": ASSERTED,
            "source": "stage",
            "record_id": ctx.deal.id,
            "at": ctx.stage_entered_at,
            "snippet": ctx.stage_snippet,
            "rule": rule,
        }
    )


def generic_grade(found: Iterable[Evidence | None]) -> CommitmentStatus:
    """The generic grading of the evidence found (None entries, evidence not found, are skipped)."""
    kinds = {e.kind for e in found if e is not None}
    if not kinds:
        return NOTHING
    if EvidenceKind.OBSERVED in kinds or EvidenceKind.CONFIRMED in kinds:
        return SECURED
    if EvidenceKind.ASSERTED in kinds and EvidenceKind.TEXT in kinds:
        return SECURED
    return PARTIAL


def finding(grade: CommitmentStatus, found: Iterable[Evidence | None], reason: str) -> Finding:
    # filter(None, ...) drops the Nones in C; an Evidence is always truthy (pydantic models define no
    # __bool__ or __len__).
    return Finding(grade, tuple(filter(None, found)), reason)


def held_back(ctx: DealContext, rule: Commitment, renewed_by: tuple[str, ...], secured: Finding) -> Finding:
    """`secured`, made partial when a setback was noted after what secured it ("budget freeze" after the
    budget was approved) and nothing matching `renewed_by` since."""
    setback = ctx.setback(renewed_by)
    if setback is None:
        return secured
    return countered(secured, rule, *setback, "says the buyer stepped back")


def countered(
    secured: Finding, rule: Commitment, record: TextRecord, offset: int, phrase: str, says: str
) -> Finding:
    """`secured` made partial by the counter-evidence at `offset` of `record`: it is cited first, as the
    CRM's evidence line shows the first piece, and the reason says what it said."""
    where = found_in(record) if record.activity is None else f"{found_in(record)} on {day(record.at)}"
    return Finding(
        PARTIAL,
        (text_evidence(SETBACK, record, offset, rule), *secured.evidence),
        f'{secured.reason}, but {where} {says} ("{phrase}")',
    )
