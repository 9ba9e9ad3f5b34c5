"""Assessing one deal: which commitments its stage expects, what each rule finds, and the summary a rep
and a manager read (secured, missing, next, stage gap, score).

Statuses: `secured` when the evidence secures it (or the rep confirmed it in the CRM); `partial` when there
is evidence beyond the stage's own assertion that does not yet secure it; `missing` when the stage expects
it and nothing but the stage speaks for it; `upcoming` when it is not expected yet and nothing was found.
`Assessment.missing` lists every expected commitment that is not secured (partial ones included).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from core.models import (
    COMMITMENT_ORDER,
    Assessment,
    Commitment,
    CommitmentResult,
    CommitmentStatus,
    Deal,
    Evidence,
    EvidenceKind,
)
from core.playbook import Playbook
from core.rules import RULES, DealContext
from core.rules.context import close_day
from core.trusted import builder

_NOTHING: frozenset[Commitment] = frozenset()
_STAGE = "stage"
_SECURED = CommitmentStatus.SECURED
_evidence = builder(Evidence)
_result = builder(CommitmentResult)
_assessment = builder(Assessment)


def expectations(
    deal: Deal, playbook: Playbook, now: datetime
) -> tuple[frozenset[Commitment], frozenset[Commitment], str | None]:
    """(what the stage map expects, all expected incl. execute after the close, a warning or None)."""
    stage_map = playbook.stage_maps.get(deal.pipeline)
    if stage_map is None:
        known = ", ".join(sorted(playbook.stage_maps)) or "none"
        return (
            _NOTHING,
            _NOTHING,
            f"pipeline {deal.pipeline!r} has no stage map in the playbook (known: {known})",
        )
    by_stage = stage_map.expected_by_stage.get(deal.stage)
    if by_stage is None:
        return (
            _NOTHING,
            _NOTHING,
            f"stage {deal.stage!r} is not in the playbook's stage map for pipeline {deal.pipeline!r}",
        )
    if deal.is_lost:
        return _NOTHING, _NOTHING, None
    expected = by_stage
    closed = close_day(deal) if deal.is_won else None
    if closed is not None:
        due = closed + timedelta(days=stage_map.execute_after_close_days)
        if now.date() >= due:
            expected = by_stage | {Commitment.EXECUTE}
    return by_stage, expected, None


def _confirmed(deal: Deal, commitment: Commitment, expected: bool) -> CommitmentResult:
    proof = _evidence(
        {
            "kind": EvidenceKind.CONFIRMED,
            "source": "confirmation",
            "record_id": deal.id,
            "at": None,
            "snippet": "confirmed by the rep in the CRM",
            "rule": commitment,
        }
    )
    return _result(
        {
            "commitment": commitment,
            "status": CommitmentStatus.SECURED,
            "expected": expected,
            "evidence": (proof,),
            "reason": "the rep confirmed it in the CRM",
        }
    )


def _status(grade: CommitmentStatus, evidence: tuple[Evidence, ...], expected: bool) -> CommitmentStatus:
    if grade is _SECURED:
        return grade
    for found in evidence:
        if found.source != _STAGE:
            return CommitmentStatus.PARTIAL
    return CommitmentStatus.MISSING if expected else CommitmentStatus.UPCOMING


def _next(deal: Deal, secured: list[Commitment]) -> Commitment | None:
    if deal.is_lost:
        return None
    if deal.is_won:
        return None if Commitment.EXECUTE in secured else Commitment.EXECUTE
    return next((c for c in COMMITMENT_ORDER if c not in secured), None)


_RULES_IN_ORDER = tuple((commitment, RULES[commitment]) for commitment in COMMITMENT_ORDER)


def assess(deal: Deal, playbook: Playbook, now: datetime) -> Assessment:
    """Assess `deal` against `playbook` as of `now` (only the expectation of `execute` depends on `now`)."""
    if now.tzinfo is None:
        raise ValueError(f"now must be timezone-aware, got {now.isoformat()}")
    stage_expects, expected, warning = expectations(deal, playbook, now)
    context = DealContext(deal, playbook, stage_expects)
    confirmed = deal.confirmed
    results: list[CommitmentResult] = []
    secured: list[Commitment] = []  # in canonical order, as the loop goes
    for commitment, rule in _RULES_IN_ORDER:
        is_expected = commitment in expected
        if confirmed and commitment in confirmed:
            result = _confirmed(deal, commitment, is_expected)
            status = _SECURED
        else:
            grade, evidence, reason = rule(context)
            status = _status(grade, evidence, is_expected)
            result = _result(
                {
                    "commitment": commitment,
                    "status": status,
                    "expected": is_expected,
                    "evidence": evidence,
                    "reason": reason,
                }
            )
        if status is _SECURED:
            secured.append(commitment)
        results.append(result)
    missing = tuple(c for c in COMMITMENT_ORDER if c in expected and c not in secured) if expected else ()
    return _assessment(
        {
            "deal_id": deal.id,
            "stage": deal.stage,
            "results": tuple(results),
            "secured": tuple(secured),
            "missing": missing,
            "next": _next(deal, secured),
            "stage_gap": bool(missing) and not deal.is_closed,
            "score": len(secured),
            "warnings": (warning,) if warning else (),
            "assessed_at": now,
        }
    )
