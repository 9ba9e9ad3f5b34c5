"""assess(): what the stage expects, statuses, secured/missing/next/stage gap/score, warnings."""

from __future__ import annotations

from datetime import timedelta

import pytest
from builders import NOW, PLAYBOOK, assessed, contact, deal, lost, meeting, won

from core.assess import assess
from core.models import COMMITMENT_ORDER, Commitment, CommitmentStatus

C = Commitment


@pytest.mark.parametrize(
    ("pipeline", "stage", "expected"),
    [
        ("salesforce", "Prospecting", {C.TIME}),
        ("salesforce", "Needs Analysis", {C.TIME, C.EXPLORE, C.CHANGE}),
        ("salesforce", "Negotiation/Review", set(COMMITMENT_ORDER[:8])),
        ("default", "appointmentscheduled", {C.TIME}),
        ("default", "qualifiedtobuy", {C.TIME, C.EXPLORE, C.CHANGE}),
        ("default", "presentationscheduled", {C.TIME, C.EXPLORE, C.CHANGE, C.COLLABORATE, C.CONSENSUS}),
        ("default", "contractsent", set(COMMITMENT_ORDER[:8])),
    ],
)
def test_given_open_stage_when_assessed_then_stage_map_expects_cumulative_commitments(
    pipeline: str, stage: str, expected: set[Commitment]
) -> None:
    result = assessed(deal(stage, pipeline))
    assert {r.commitment for r in result.results if r.expected} == expected
    assert set(result.missing) == expected  # nothing secured on an empty deal
    assert result.stage_gap is True


def test_given_unknown_stage_when_assessed_then_warning_and_nothing_expected() -> None:
    result = assessed(deal("Verbal Commit"))
    assert result.warnings == (
        "stage 'Verbal Commit' is not in the playbook's stage map for pipeline 'salesforce'",
    )
    assert result.missing == ()
    assert result.stage_gap is False
    assert not any(r.expected for r in result.results)


def test_given_unknown_pipeline_when_assessed_then_warning_names_pipeline() -> None:
    result = assessed(deal("1167842", "1167840"))
    assert "pipeline '1167840' has no stage map" in result.warnings[0]


def test_given_closed_lost_when_assessed_then_nothing_expected_and_no_next() -> None:
    result = assessed(lost(contacts=[contact()], activities=[meeting()]))
    assert result.missing == ()
    assert result.next is None
    assert result.stage_gap is False
    assert result.secured == (C.TIME,)


def test_given_won_deal_when_close_is_old_enough_then_execute_expected_and_next() -> None:
    fresh = assessed(won("03-25"))
    assert C.EXECUTE not in fresh.missing
    assert fresh.next is C.EXECUTE
    old = assessed(won("03-01"))
    assert C.EXECUTE in old.missing
    assert old.next is C.EXECUTE
    assert old.stage_gap is False  # closed deals have no stage gap


def test_given_won_deal_when_execute_secured_then_no_next() -> None:
    result = assessed(
        won("03-10", contacts=[contact()], activities=[meeting(subject="Kickoff", day="03-20")])
    )
    assert C.EXECUTE in result.secured
    assert result.next is None


def test_given_confirmed_commitment_when_assessed_then_secured_with_confirmed_evidence() -> None:
    result = assessed(deal("Needs Analysis", confirmed=[C.CHANGE]))
    change = result.result(C.CHANGE)
    assert change.status is CommitmentStatus.SECURED
    assert [e.kind.value for e in change.evidence] == ["confirmed"]
    assert C.CHANGE in result.secured
    assert C.CHANGE not in result.missing


def test_given_open_deal_when_assessed_then_next_is_first_unsecured_even_beyond_stage() -> None:
    result = assessed(deal(contacts=[contact()], activities=[meeting(subject="Discovery")]))
    assert result.secured == (C.TIME, C.EXPLORE)
    assert result.next is C.CHANGE
    assert result.score == 2
    assert result.missing == ()


def test_given_later_commitment_secured_when_earlier_missing_then_credited_out_of_order() -> None:
    result = assessed(deal("Proposal/Price Quote", quotes=[{"id": "q", "status": "presented"}]))
    assert C.REVIEW in result.secured
    assert result.next is C.TIME


def test_given_same_deal_when_assessed_later_then_reasons_and_evidence_identical() -> None:
    d = deal("Qualification", contacts=[contact()], activities=[meeting(status="scheduled", day="05-01")])
    first, later = assess(d, PLAYBOOK, NOW), assess(d, PLAYBOOK, NOW + timedelta(days=90))
    assert first.results == later.results
    assert first.assessed_at != later.assessed_at


def test_given_results_when_assessed_then_one_per_commitment_in_canonical_order() -> None:
    result = assessed(deal())
    assert tuple(r.commitment for r in result.results) == COMMITMENT_ORDER
    assert result.result(C.INVEST).commitment is C.INVEST


def test_given_a_hubspot_stage_with_a_label_when_assessed_then_the_stage_evidence_names_the_label() -> None:
    result = assessed(deal("contractsent", "default", stage_label="Contract Sent"))

    snippets = {e.snippet for r in result.results for e in r.evidence if e.source == "stage"}
    assert snippets == {"stage 'Contract Sent' expects it"}  # not HubSpot's internal id 'contractsent'
