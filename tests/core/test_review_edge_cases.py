"""Edge cases real CRM data produces, found in a correctness review: each pins a defect that was fixed."""

from __future__ import annotations

import pytest
from builders import NOW, PLAYBOOK, assessed, at, contact, deal, history, meeting, note, quote, result_of, won

from core.assess import assess
from core.models import Activity, Commitment, CommitmentStatus, Contact, Deal, Quote, QuoteStatus
from core.plan import evidence_text, plan
from core.playbook import parse_playbook

C = Commitment
SECURED, PARTIAL = CommitmentStatus.SECURED, CommitmentStatus.PARTIAL


def test_given_one_contact_listed_twice_when_consensus_assessed_then_counted_once() -> None:
    # Salesforce has one OpportunityContactRole row per (contact, role): a contact with two roles can
    # arrive twice. Two people are not three engaged buyer contacts.
    given = deal(
        "Id. Decision Makers",
        contacts=[
            Contact(id="c1", name="Ann", roles=("Influencer",)),
            Contact(id="c1", name="Ann", roles=("Decision Maker",)),
            Contact(id="c2", name="Bob", roles=("Evaluator",)),
        ],
    )
    result = result_of(given, C.CONSENSUS)
    assert result.status is PARTIAL
    assert "only 2 engaged buyer contacts" in result.reason


def test_given_duplicate_contact_rows_with_roles_when_consensus_assessed_then_roles_merged() -> None:
    given = deal(
        contacts=[
            Contact(id="c1", name="Ann", roles=("Influencer",)),
            Contact(id="c1", name="Ann", roles=("Decision Maker",)),
            contact("c2", "Evaluator"),
            contact("c3", "Other"),
        ],
    )
    result = result_of(given, C.CONSENSUS)
    assert result.status is SECURED
    assert result.reason == "3 engaged buyer contacts incl. Ann (Decision Maker)"


def test_given_decider_with_several_roles_when_consensus_secured_then_reason_names_decision_role() -> None:
    given = deal(
        contacts=[
            Contact(id="c1", name="Ann", roles=("Influencer", "DECISION_MAKER")),
            contact("c2", "Evaluator"),
            contact("c3", "Other"),
        ],
    )
    result = result_of(given, C.CONSENSUS)
    assert result.status is SECURED
    assert result.reason == "3 engaged buyer contacts incl. Ann (DECISION_MAKER)"


@pytest.mark.parametrize(
    ("body", "commitment"),
    [
        ("Legal has not yet signed off", C.RESOLVE),
        ("No budget allocated yet", C.INVEST),
        ("Project is not funded", C.INVEST),
        ("There is no compelling event", C.CHANGE),
        ("They say there's no pain today", C.EXPLORE),
        # a question asks, it does not report
        ("Budget approved? Not yet.", C.INVEST),
        ("Asked whether legal signed off?", C.RESOLVE),
    ],
)
def test_given_negated_keyword_in_a_note_when_assessed_then_it_is_not_evidence(
    body: str, commitment: Commitment
) -> None:
    given = deal(amount=50000, activities=[note(body=body)])
    result = result_of(given, commitment)
    assert result.status is not SECURED
    assert all(e.kind.value != "text" for e in result.evidence), result.reason


@pytest.mark.parametrize(
    ("body", "commitment"),
    [
        ("No issues raised. Legal signed off", C.RESOLVE),
        ("Not sure about timing, but budget approved", C.INVEST),
        ("Budget approved; no open concerns", C.RESOLVE),
        ("Budget approved. Any questions? None.", C.INVEST),
        ("Legal signed off — any other questions?", C.RESOLVE),
        ("Budget\u00a0approved by the CFO", C.INVEST),  # a no-break space, as pasted from a web page
    ],
)
def test_given_negation_in_another_clause_when_assessed_then_keyword_still_counts(
    body: str, commitment: Commitment
) -> None:
    given = deal(amount=50000, activities=[note(body=body)])
    assert result_of(given, commitment).status is SECURED


def test_given_won_early_with_future_close_date_when_kickoff_held_then_execute_secured() -> None:
    # Reps often win a deal before the close date they set and never move it: the close is the won
    # stage's entry, and a kickoff held since then is the commitment to execute.
    given = won(
        close="06-30",
        contacts=[contact("c1")],
        stage_history=history(("Proposal/Price Quote", "03-01"), ("Closed Won", "03-10")),
        activities=[meeting("m1", subject="Kickoff", day="03-20")],
    )
    result = result_of(given, C.EXECUTE)
    assert result.status is SECURED
    assert "after the close" in result.reason


def test_given_won_early_with_future_close_date_when_weeks_pass_then_execute_expected() -> None:
    given = won(close="06-30", stage_history=history(("Closed Won", "03-10")))
    assessment = assessed(given)  # NOW is 2026-04-01: 22 days after the win
    assert C.EXECUTE in assessment.missing


def _ended_only(id: str, subject: str, day: str, status: str = "completed") -> Activity:
    # Some CRM exports carry only an end time (a logged call, a meeting whose start was cleared).
    return Activity(id=id, kind="meeting", status=status, subject=subject, end=at(day), attendee_ids=("c1",))


@pytest.mark.parametrize(
    ("given", "commitment", "reason"),
    [
        (
            deal(contacts=[contact("c1")], activities=[_ended_only("m1", "Discovery", "03-05")]),
            C.EXPLORE,
            'held discovery meeting "Discovery" on 2026-03-05',
        ),
        (
            deal(contacts=[contact("c1")], activities=[_ended_only("m1", "Proposal review", "03-05")]),
            C.REVIEW,
            'held proposal review "Proposal review" on 2026-03-05',
        ),
        (
            won(close="03-01", contacts=[contact("c1")], activities=[_ended_only("m1", "Kickoff", "03-05")]),
            C.EXECUTE,
            'held kickoff "Kickoff" on 2026-03-05',
        ),
        (
            won(
                close="03-01",
                contacts=[contact("c1")],
                activities=[_ended_only("m1", "Kickoff", "04-05", status="scheduled")],
            ),
            C.EXECUTE,
            'kickoff "Kickoff" is scheduled for 2026-04-05',
        ),
    ],
)
def test_given_activity_with_only_an_end_time_when_assessed_then_reason_gives_its_date(
    given: Deal, commitment: Commitment, reason: str
) -> None:
    assert reason in result_of(given, commitment).reason


def test_given_naive_now_when_assessed_or_planned_then_clear_error_not_a_naive_timestamp() -> None:
    # Output models are built without validation (core.trusted), so a naive `now` would otherwise be
    # written to the CRM as an assessment time of unknown zone.
    naive = NOW.replace(tzinfo=None)
    with pytest.raises(ValueError, match="timezone-aware"):
        assessed(deal(), naive)
    given = deal()
    with pytest.raises(ValueError, match="timezone-aware"):
        plan(assessed(given), given, PLAYBOOK, naive)


@pytest.mark.parametrize("second_day", ["03-02", "03-05"], ids=["same-time", "edited-between-reads"])
def test_given_one_meeting_listed_twice_when_assessed_then_it_is_one_meeting(second_day: str) -> None:
    # The same CRM record read twice (an export joined over two associations, or moved between two reads,
    # so that another activity sorts between its copies) is still one meeting.
    copies = [meeting("m1", "Intro"), note("n1", day="03-03"), meeting("m1", "Intro", day=second_day)]
    given = deal(contacts=[contact("c1")], activities=copies)
    result = result_of(given, C.EXPLORE)
    assert result.status is not SECURED, result.reason


@pytest.mark.parametrize("held_first", [False, True], ids=["held-copy-last", "held-copy-first"])
def test_given_a_meeting_read_before_and_after_it_was_moved_and_held_when_assessed_then_it_counts_as_held(
    held_first: bool,
) -> None:
    # One record read twice: scheduled for 03-02, then moved to 03-05 and held (the newer copy).
    copies = [meeting("m1", "Intro", status="scheduled"), meeting("m1", "Intro", day="03-05")]
    given = deal(contacts=[contact("c1")], activities=copies[::-1] if held_first else copies)

    result = result_of(given, C.TIME)

    assert result.status is SECURED, result.reason


def test_given_playbook_without_roles_when_hubspot_budget_holder_on_deal_then_economic_buyer() -> None:
    # The built-in role defaults must match the shipped playbook: HubSpot's buying role BUDGET_HOLDER is
    # its economic buyer, also when an admin's playbook leaves the roles section out.
    document = PLAYBOOK.model_dump(mode="json")
    del document["roles"]
    playbook = parse_playbook(document, "custom.yaml")
    given = deal(amount=50000, contacts=[contact("c1", "BUDGET_HOLDER")])
    assert assess(given, playbook, NOW).result(C.INVEST).status is SECURED


def test_given_contact_name_with_line_break_when_reasons_written_then_one_line_per_commitment() -> None:
    given = deal(
        amount=50000,
        contacts=[
            Contact(id="c1", name="Ann\nSmith", roles=("Economic Buyer",)),
            contact("c2", "Evaluator"),
            contact("c3", "Other"),
        ],
    )
    text = evidence_text(assessed(given), PLAYBOOK)
    assert len(text.splitlines()) == 10
    assert "Ann Smith" in text


@pytest.mark.parametrize(
    ("description", "commitment", "reason"),
    [
        (
            "Open concerns resolved with IT",
            C.RESOLVE,
            "concerns are noted as resolved in the deal description",
        ),
        ("Struggling with a manual process", C.EXPLORE, "pain is noted in the deal description, but"),
    ],
)
def test_given_keyword_in_deal_description_when_assessed_then_reason_names_the_description(
    description: str, commitment: Commitment, reason: str
) -> None:
    result = result_of(deal(description=description), commitment)
    assert reason in result.reason
    assert "unrecorded date" not in result.reason


def test_given_accepted_quote_and_commit_forecast_when_decide_assessed_then_quote_is_cited_first() -> None:
    # The evidence field cites a result's first evidence next to its reason; the reason names the quote.
    given = deal(forecast_category="Commit", quotes=[quote(status="accepted")])
    result = result_of(given, C.DECIDE)
    assert result.reason.startswith("the buyer accepted a quote")
    assert result.evidence[0].source == "quote"


def test_given_raw_multi_select_buying_role_when_assessed_then_each_role_counts() -> None:
    # A HubSpot export carries hs_buying_role as one ';'-joined value.
    given = deal(amount=50000, contacts=[contact("c1", "CHAMPION;BUDGET_HOLDER")])
    assert result_of(given, C.INVEST).status is SECURED


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("Proposal\nv2", "quote Proposal v2 was presented to the buyer"),
        ("Q-" + "9" * 300, "quote Q-" + "9" * 47 + "… was presented to the buyer"),
    ],
    ids=["line-break", "very-long"],
)
def test_given_quote_name_with_line_break_or_very_long_when_review_secured_then_reason_is_one_short_line(
    name: str, reason: str
) -> None:
    given = deal(quotes=[Quote(id="q1", status=QuoteStatus.PRESENTED, name=name)])
    assert result_of(given, C.REVIEW).reason == reason
    assert len(evidence_text(assessed(given), PLAYBOOK).splitlines()) == 10


@pytest.mark.parametrize(
    ("needed", "held", "reason"),
    [
        (2, 2, "only 1 working meeting held with buyer contacts; need 2"),
        (3, 3, "only 2 working meetings held with buyer contacts; need 3"),
        (4, 4, "only 3 working meetings held with buyer contacts; need 4"),
    ],
)
def test_given_collaborate_threshold_when_too_few_working_meetings_then_reason_counts_them(
    needed: int, held: int, reason: str
) -> None:
    # The first held meeting won Commitment for Time; the ones after it are the working meetings.
    document = PLAYBOOK.model_dump(mode="json")
    document["thresholds"]["collaborate_min_meetings"] = needed
    playbook = parse_playbook(document, "custom.yaml")
    meetings = [meeting(f"m{i}", subject="Sync", day=f"03-0{i + 1}") for i in range(held)]
    result = assess(deal(contacts=[contact("c1")], activities=meetings), playbook, NOW).result(C.COLLABORATE)
    assert result.status is PARTIAL
    assert result.reason.startswith(reason)
