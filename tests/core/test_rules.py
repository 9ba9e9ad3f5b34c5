"""The ten rules, one table per commitment: given a deal, when assessed, then the commitment's status,
the reason a rep reads and the kinds of evidence cited."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from builders import (
    activity,
    contact,
    deal,
    history,
    lost,
    meeting,
    note,
    on,
    quote,
    result_of,
    won,
)

from core.models import Commitment, CommitmentStatus, Contact, Deal, LineItem

C = Commitment
SECURED, PARTIAL = CommitmentStatus.SECURED, CommitmentStatus.PARTIAL
MISSING, UPCOMING = CommitmentStatus.MISSING, CommitmentStatus.UPCOMING


@dataclass(frozen=True)
class Case:
    id: str
    given: Deal
    status: CommitmentStatus
    reason: str = ""
    kinds: tuple[str, ...] | None = None


def cases(*items: Case) -> list[object]:
    return [pytest.param(case, id=case.id) for case in items]


def check(case: Case, commitment: Commitment) -> None:
    result = result_of(case.given, commitment)
    assert result.status is case.status, result.reason
    assert case.reason in result.reason
    if case.kinds is not None:
        assert tuple(e.kind.value for e in result.evidence) == case.kinds
    assert all(e.rule is commitment and len(e.snippet) <= 80 for e in result.evidence)


BUYER = (contact("c1"),)

TIME = cases(
    Case(
        "held-meeting-with-buyer-secures",
        deal(contacts=BUYER, activities=[meeting(subject="Intro")]),
        SECURED,
        'held meeting "Intro" on 2026-03-02 with Contact c1',
        ("observed",),
    ),
    Case(
        "the-reason-names-who-of-the-deal-attended",
        deal(
            contacts=(contact("c1"), contact("c2"), contact("c3")),
            activities=[meeting(subject="Intro", attendees=("rep", "c2", "c3", "c2"))],
        ),
        SECURED,
        'held meeting "Intro" on 2026-03-02 with Contact c2 and 1 other buyer',
    ),
    Case(
        "a-buyer-the-crm-gave-no-name-is-a-buyer",
        deal(contacts=(Contact(id="c9"),), activities=[meeting(subject="Intro", attendees=("c9",))]),
        SECURED,
        'held meeting "Intro" on 2026-03-02 with a buyer',
    ),
    Case(
        "connected-call-with-buyer-secures",
        deal(contacts=BUYER, activities=[activity("k1", "call")]),
        SECURED,
        "held call",
    ),
    Case(
        "canceled-meeting-does-not-secure",
        deal(contacts=BUYER, activities=[meeting(status="canceled")]),
        MISSING,
        "the stage expects a first meeting",
        ("asserted",),
    ),
    Case(
        "no-show-meeting-does-not-secure",
        deal(contacts=BUYER, activities=[meeting(status="no_show")]),
        MISSING,
    ),
    Case(
        "future-meeting-is-partial",
        deal(contacts=BUYER, activities=[meeting(status="scheduled", day="04-08")]),
        PARTIAL,
        "is scheduled for 2026-04-08",
        ("scheduled", "asserted"),
    ),
    Case(
        "meeting-without-deal-contact-is-only-asserted",
        deal(contacts=BUYER, activities=[meeting(attendees=("someone-else",))]),
        PARTIAL,
        "no contact on the deal attended",
        ("asserted", "asserted"),
    ),
    Case(
        "unreached-call-does-not-count",
        deal(contacts=BUYER, activities=[activity("k1", "call", "open")]),
        MISSING,
    ),
    Case("lost-deal-with-nothing-is-upcoming", lost(), UPCOMING, "no meeting or connected call"),
)


@pytest.mark.parametrize("case", TIME)
def test_given_time_signals_when_assessed_then_status_and_reason(case: Case) -> None:
    check(case, C.TIME)


EXPLORE = cases(
    Case(
        "held-discovery-meeting-secures",
        deal(contacts=BUYER, activities=[meeting(subject="Discovery session")]),
        SECURED,
        "held discovery meeting",
        ("observed",),
    ),
    Case(
        "second-held-meeting-secures",
        deal(contacts=BUYER, activities=[meeting("m1", day="03-01"), meeting("m2", day="03-08")]),
        SECURED,
        "2 meetings held with buyer contacts",
    ),
    Case("one-plain-meeting-is-nothing-yet", deal(contacts=BUYER, activities=[meeting()]), UPCOMING),
    Case(
        "a-meeting-and-a-plain-call-are-not-discovery-yet",
        deal(contacts=BUYER, activities=[meeting("m1", day="03-01"), activity("k1", "call", day="03-08")]),
        UPCOMING,
    ),
    Case(
        "a-connected-discovery-call-secures",
        deal(contacts=BUYER, activities=[activity("k1", "call", subject="Discovery call")]),
        SECURED,
        'held discovery call "Discovery call"',
    ),
    Case(
        "pain-note-alone-is-partial",
        deal(activities=[note(body="They are struggling with churn")]),
        PARTIAL,
        "pain is noted in a note",
        ("text",),
    ),
    Case(
        "pain-email-alone-is-partial",
        deal(activities=[activity("e1", "email", subject="Re: churn", body="Churn is our main challenge")]),
        PARTIAL,
        "pain is noted in an email",
        ("text",),
    ),
    Case(
        "pain-note-and-stage-secure",
        deal("Qualification", activities=[note(body="Top challenge: backlog")]),
        SECURED,
        "stage expects discovery",
        ("text", "asserted"),
    ),
    Case(
        "canceled-discovery-does-not-count",
        deal(contacts=BUYER, activities=[meeting(subject="Discovery", status="canceled")]),
        UPCOMING,
    ),
    Case(
        "keyword-in-next-step-is-not-evidence",
        deal(next_step="Book the discovery call; ask about pain"),
        UPCOMING,
    ),
    Case(
        "keyword-inside-a-word-does-not-match",
        deal(contacts=BUYER, activities=[meeting(subject="Painting rediscoverys")]),
        UPCOMING,
    ),
    Case("stage-alone-is-missing", deal("Qualification"), MISSING, "the stage expects discovery"),
)


@pytest.mark.parametrize("case", EXPLORE)
def test_given_explore_signals_when_assessed_then_status_and_reason(case: Case) -> None:
    check(case, C.EXPLORE)


CHANGE = cases(
    Case(
        "compelling-event-past-discovery-secures",
        deal("Needs Analysis", activities=[note(body="The compelling event is the audit in June")]),
        SECURED,
        "past discovery",
        ("text", "asserted"),
    ),
    Case(
        "business-case-in-description-secures",
        deal("Value Proposition", description="CFO asked for a business case by May."),
        SECURED,
    ),
    Case(
        "keyword-before-the-stage-is-partial",
        deal(activities=[note(body="This is a top priority")]),
        PARTIAL,
        "has not moved past discovery",
        ("text",),
    ),
    Case("stage-alone-is-missing", deal("Needs Analysis"), MISSING, "no compelling event or business case"),
    Case("next-step-is-not-evidence", deal("Needs Analysis", next_step="Build the business case"), MISSING),
    Case(
        "a-setback-noted-after-the-reason-keeps-it-partial",
        deal(
            "Needs Analysis",
            activities=[
                note("n1", body="The compelling event is the audit in June", day="03-02"),
                note("n2", body="Project is on hold until Q3.", day="03-20"),
            ],
        ),
        PARTIAL,
        'past discovery, but a note on 2026-03-20 says the buyer stepped back ("is on hold")',
        ("setback", "text", "asserted"),  # the setback first: the CRM's evidence line cites it
    ),
    Case(
        "a-setback-in-the-description-keeps-it-partial",
        deal("Needs Analysis", description="Business case approved. Since the reorg: deprioritized."),
        PARTIAL,
        'but the deal description says the buyer stepped back ("deprioritized")',
    ),
    Case(
        "a-reason-noted-after-the-setback-secures-again",
        deal(
            "Needs Analysis",
            activities=[
                note("n1", body="Project on hold for the reorg", day="03-02"),
                note("n2", body="Back on: the board mandate is to switch by June", day="03-20"),
            ],
        ),
        SECURED,
        "past discovery",
        ("text", "asserted"),
    ),
    Case(
        "a-setback-before-the-reason-does-not-count",
        deal(
            "Needs Analysis",
            activities=[
                note("n1", body="Budget freeze last year", day="03-01"),
                note("n2", body="The compelling event is the audit in June", day="03-02"),
            ],
        ),
        SECURED,
    ),
    Case(
        "a-negated-or-asked-setback-does-not-count",
        deal(
            "Needs Analysis",
            activities=[
                note("n1", body="The compelling event is the audit in June", day="03-02"),
                note("n2", body="There are no budget cuts. Is the project on hold? No.", day="03-20"),
            ],
        ),
        SECURED,
    ),
    Case(
        "a-call-on-hold-or-a-tool-shelved-is-no-setback",
        deal(
            "Needs Analysis",
            activities=[
                note("n1", body="The compelling event is the audit in June", day="03-02"),
                note("n2", body="Put on hold by the switchboard; they shelved the old tool", day="03-20"),
            ],
        ),
        SECURED,
    ),
    Case(
        "a-scheduled-meeting-saying-on-hold-is-not-evidence",
        deal(
            "Needs Analysis",
            activities=[
                note("n1", body="The compelling event is the audit in June", day="03-02"),
                meeting("m1", subject="Why the project is on hold", status="scheduled", day="03-20"),
            ],
        ),
        SECURED,
    ),
)


@pytest.mark.parametrize("case", CHANGE)
def test_given_change_signals_when_assessed_then_status_and_reason(case: Case) -> None:
    check(case, C.CHANGE)


COLLABORATE = cases(
    Case(
        "held-workshop-secures",
        deal(contacts=BUYER, activities=[meeting(subject="Solution design workshop")]),
        SECURED,
        'held working session "Solution design workshop" on 2026-03-02 with Contact c1',
        ("observed",),
    ),
    Case(
        "two-working-meetings-secure",
        deal(
            contacts=BUYER,
            activities=[meeting("m1", day="03-01"), meeting("m2", day="03-05"), meeting("m3", day="03-09")],
        ),
        SECURED,
        "2 working meetings",
    ),
    Case(
        "one-working-meeting-is-partial",
        deal(contacts=BUYER, activities=[meeting("m1", day="03-01"), meeting("m2", day="03-05")]),
        PARTIAL,
        "only 1 working meeting",
    ),
    Case(
        "calls-are-not-working-meetings",
        deal(
            contacts=BUYER,
            activities=[
                meeting("m1", day="03-01"),
                activity("k1", "call", day="03-05"),
                activity("k2", "call"),
            ],
        ),
        UPCOMING,
    ),
    Case(
        "the-intro-meeting-is-not-working-even-after-a-first-call",
        deal(
            contacts=BUYER,
            activities=[
                activity("k1", "call", day="02-20"),
                meeting("m1", subject="Intro call", day="03-01"),
                meeting("m2", day="03-05"),
            ],
        ),
        PARTIAL,
        "only 1 working meeting",
    ),
    Case("line-items-secure", deal(line_items=[LineItem(id="li1", name="Licences")]), SECURED, "1 line item"),
    Case(
        "scheduled-workshop-is-partial",
        deal(
            contacts=BUYER, activities=[meeting(subject="Scoping workshop", status="scheduled", day="04-09")]
        ),
        PARTIAL,
        "is scheduled for 2026-04-09",
        ("scheduled",),
    ),
    Case("stage-alone-is-missing", deal("Value Proposition"), MISSING, "the stage expects collaboration"),
)


@pytest.mark.parametrize("case", COLLABORATE)
def test_given_collaborate_signals_when_assessed_then_status_and_reason(case: Case) -> None:
    check(case, C.COLLABORATE)


def _people(*roles: str) -> list[object]:
    return [contact(f"c{i}", *([role] if role else []), name=f"P{i}") for i, role in enumerate(roles, 1)]


CONSENSUS = cases(
    Case(
        "three-engaged-incl-decision-maker-secure",
        deal(contacts=_people("Economic Buyer", "Evaluator", "Business User")),
        SECURED,
        "3 engaged buyer contacts incl. P1 (Economic Buyer)",
        ("observed",),
    ),
    Case(
        "hubspot-buying-role-counts",
        deal(contacts=_people("DECISION_MAKER", "END_USER", "INFLUENCER")),
        SECURED,
    ),
    Case(
        "attendees-count-as-engaged",
        deal(contacts=_people("Executive Sponsor", "", ""), activities=[meeting(attendees=("c2", "c3"))]),
        SECURED,
        "3 engaged",
    ),
    Case(
        "three-without-decision-role-is-partial",
        deal(contacts=_people("Evaluator", "Influencer", "Other")),
        PARTIAL,
        "none is a decision maker",
    ),
    Case(
        "two-contacts-are-partial",
        deal(contacts=_people("Decision Maker", "Evaluator")),
        PARTIAL,
        "only 2 engaged buyer contacts; need 3",
    ),
    Case(
        "one-contact-is-nothing",
        deal(contacts=_people("Decision Maker")),
        UPCOMING,
        "only 1 engaged buyer contact on the deal; need 3 incl. a decision maker",
        (),
    ),
    Case(
        "one-contact-at-consensus-stage-is-missing",
        deal("Id. Decision Makers", contacts=_people("Evaluator")),
        MISSING,
        "only 1 engaged buyer contact",
        ("asserted",),
    ),
    Case(
        "contacts-never-engaged-do-not-count",
        deal(contacts=_people("", "", "")),
        UPCOMING,
        "no engaged buyer contacts",
    ),
    Case(
        "canceled-meeting-does-not-engage",
        deal(
            contacts=_people("Decision Maker", "", ""),
            activities=[meeting(attendees=("c2", "c3"), status="canceled")],
        ),
        UPCOMING,
        "only 1 engaged",
    ),
)


@pytest.mark.parametrize("case", CONSENSUS)
def test_given_consensus_signals_when_assessed_then_status_and_reason(case: Case) -> None:
    check(case, C.CONSENSUS)


INVEST = cases(
    Case(
        "amount-and-economic-buyer-secure",
        deal(amount=50000, contacts=_people("Economic Buyer")),
        SECURED,
        "amount set and P1 is on the deal as economic buyer",
        ("observed", "asserted"),  # what secured it comes first: the economic buyer, then the amount
    ),
    Case(
        "amount-and-budget-note-secure",
        deal(amount=50000, activities=[note(body="Budget approved for Q3")]),
        SECURED,
        "budget is noted",
        ("text", "asserted"),
    ),
    Case(
        "amount-and-held-pilot-secure",
        deal(amount=50000, contacts=BUYER, activities=[meeting(subject="Pilot results review")]),
        SECURED,
        "pilot",
        ("observed", "asserted"),
    ),
    Case("amount-alone-is-partial", deal(amount=50000), PARTIAL, "the amount is set, but"),
    Case(
        "economic-buyer-without-amount-is-partial",
        deal(contacts=_people("Economic Buyer")),
        PARTIAL,
        "but the deal has no amount",
    ),
    Case("null-amount-and-nothing-else-is-nothing", deal(amount=None), UPCOMING),
    Case(
        "forecast-best-case-alone-is-partial", deal(forecast_category="Best Case"), PARTIAL, "forecast moved"
    ),
    Case(
        "a-budget-freeze-keeps-an-economic-buyer-partial",
        deal(
            amount=50000,
            contacts=_people("Economic Buyer"),
            activities=[note(body="Budget freeze across the company", day="03-20")],
        ),
        PARTIAL,
        'as economic buyer, but a note on 2026-03-20 says the buyer stepped back ("budget freeze")',
        ("setback", "observed", "asserted"),
    ),
    Case(
        "a-budget-approved-after-the-freeze-secures-again",
        deal(
            amount=50000,
            activities=[
                note("n1", body="Budget approved for Q3", day="03-02"),
                note("n2", body="Spending freeze until the audit", day="03-10"),
                note("n3", body="Freeze lifted, budget confirmed", day="03-20"),
            ],
        ),
        SECURED,
        "budget is noted",
    ),
    Case(
        "a-held-pilot-after-the-freeze-secures-again",
        deal(
            amount=50000,
            contacts=BUYER,
            activities=[
                note("n1", body="Budget frozen for now", day="03-02"),
                meeting("m1", subject="Pilot kickoff", day="03-20"),
            ],
        ),
        SECURED,
        'pilot "Pilot kickoff" held on 2026-03-20',
    ),
)


@pytest.mark.parametrize("case", INVEST)
def test_given_invest_signals_when_assessed_then_status_and_reason(case: Case) -> None:
    check(case, C.INVEST)


REVIEW = cases(
    Case(
        "presented-quote-secures",
        deal(quotes=[quote()]),
        SECURED,
        "was presented to the buyer",
        ("observed",),
    ),
    Case("accepted-quote-secures", deal(quotes=[quote(status="accepted")]), SECURED, "and accepted"),
    Case("draft-quote-is-partial", deal(quotes=[quote(status="draft")]), PARTIAL, "a quote is drafted"),
    Case(
        "held-proposal-walkthrough-secures",
        deal(contacts=BUYER, activities=[meeting(subject="Proposal walkthrough")]),
        SECURED,
        "held proposal review",
    ),
    Case("rejected-quote-is-nothing", deal(quotes=[quote(status="rejected")]), UPCOMING),
    Case(
        "proposal-stage-alone-is-missing", deal("Proposal/Price Quote"), MISSING, "expects a proposal review"
    ),
)


@pytest.mark.parametrize("case", REVIEW)
def test_given_review_signals_when_assessed_then_status_and_reason(case: Case) -> None:
    check(case, C.REVIEW)


SECURITY_TASK = activity("t1", "task", subject="Security review completed", day="03-20", attendees=())
RESOLVE = cases(
    Case(
        "concerns-noted-resolved-secure",
        deal(activities=[note(body="All concerns addressed with IT.")]),
        SECURED,
        "noted as resolved",
        ("text",),
    ),
    Case(
        "security-review-after-proposal-secures",
        deal(quotes=[quote(day="03-10")], activities=[SECURITY_TASK]),
        SECURED,
        "after the proposal",
        ("observed",),
    ),
    Case(
        "security-review-before-proposal-is-partial",
        deal(quotes=[quote(day="03-25")], activities=[SECURITY_TASK]),
        PARTIAL,
        "before the proposal",
    ),
    Case(
        "undated-security-review-is-partial-and-says-it-is-undated",
        deal(quotes=[quote(day="03-10")], activities=[SECURITY_TASK.model_copy(update={"start": None})]),
        PARTIAL,
        "a security or legal review is logged, but its date is not recorded",
    ),
    Case(
        "proposal-stage-entry-dates-the-proposal",
        deal(
            "Negotiation/Review",
            stage_history=history(("Proposal/Price Quote", "03-12")),
            activities=[SECURITY_TASK],
        ),
        SECURED,
    ),
    Case(
        "scheduled-legal-review-is-not-evidence",
        deal(contacts=BUYER, activities=[meeting(subject="Legal review", status="scheduled")]),
        UPCOMING,
    ),
    Case("negotiation-stage-alone-is-missing", deal("Negotiation/Review"), MISSING, "no concern is noted"),
    Case(
        "note-mentioning-a-pending-review-after-proposal-is-only-text",
        deal(
            quotes=[quote(day="03-10")],
            activities=[note(body="Security review still pending, starts next month", day="03-20")],
        ),
        PARTIAL,
        "mentioned in a note, but no completed security or legal review is logged after the proposal",
        ("text",),
    ),
    Case(
        "email-sending-a-questionnaire-after-proposal-is-only-text",
        deal(
            quotes=[quote(day="03-10")],
            activities=[activity("e1", "email", subject="Security questionnaire attached", day="03-20")],
        ),
        PARTIAL,
        "is mentioned in",
        ("text",),
    ),
    Case(
        "rep-only-legal-review-meeting-after-proposal-is-only-text",
        deal(
            contacts=BUYER,
            quotes=[quote(day="03-10")],
            activities=[meeting(subject="Internal legal review prep", day="03-20", attendees=("u7",))],
        ),
        PARTIAL,
        "is mentioned in a meeting",
        ("text",),
    ),
    Case(
        "legal-review-held-with-buyer-after-proposal-secures",
        deal(
            contacts=BUYER,
            quotes=[quote(day="03-10")],
            activities=[meeting(subject="Legal review with their counsel", day="03-20")],
        ),
        SECURED,
        "after the proposal",
        ("observed",),
    ),
    Case(
        "a-new-concern-noted-after-they-were-resolved-keeps-it-partial",
        deal(activities=[
            note("n1", body="All concerns addressed with IT.", day="03-10"),
            note("n2", body="Legal raised a new concern about data residency.", day="03-20"),
        ]),
        PARTIAL,
        "concerns are noted as resolved in a note on 2026-03-10, but a note on 2026-03-20 notes a new "
        'concern ("raised a new concern")',
        ("setback", "text"),  # the new concern first: the CRM's evidence line cites it
    ),
    Case(
        "concerns-resolved-again-after-the-new-one-secure",
        deal(activities=[
            note("n1", body="All concerns addressed with IT.", day="03-10"),
            note("n2", body="Legal raised a new concern about data residency.", day="03-20"),
            note("n3", body="Data residency: concern resolved with an EU region.", day="03-25"),
        ]),
        SECURED,
        "concerns are noted as resolved in a note on 2026-03-25",  # what resolved the new one, not 03-10
        ("text",),
    ),
    Case(
        "a-concern-before-the-resolution-negated-or-only-named-does-not-count",
        deal(activities=[
            note("n1", body="Procurement raised a concern about the price.", day="03-05"),
            note("n2", body="All concerns addressed with IT.", day="03-10"),
            note("n3", body="Checked with legal: no one raised a new concern.", day="03-20"),
            note("n4", body="Addressed the remaining concerns; follow up on any new concerns.", day="03-22"),
        ]),
        SECURED,
        "noted as resolved",
        ("text",),
    ),
    Case(
        "a-concern-the-undated-description-recounts-does-not-count",
        deal(
            description="CFO raised a concern about pricing at the first call.",
            activities=[note("n1", body="All concerns addressed with IT.", day="03-10")],
        ),
        SECURED,
        "noted as resolved",
        ("text",),
    ),
    Case(
        "a-new-concern-after-the-security-review-keeps-it-partial",
        deal(
            quotes=[quote(day="03-10")],
            activities=[SECURITY_TASK, note("n2", body="IT flagged a concern on SSO.", day="03-25")],
        ),
        PARTIAL,
        'after the proposal, but a note on 2026-03-25 notes a new concern ("flagged a concern")',
        ("setback", "observed"),
    ),
    Case(
        "a-review-after-the-new-concern-secures-as-if-it-were-the-only-review",
        deal(
            quotes=[quote(day="03-10")],
            activities=[
                activity("t0", "task", subject="Security review completed", day="03-12", attendees=()),
                note("n2", body="IT flagged a concern on SSO.", day="03-15"),
                activity("t2", "task", subject="Legal review completed", day="03-20", attendees=()),
            ],
        ),
        SECURED,
        "security or legal review completed on 2026-03-20, after the proposal",
        ("observed",),
    ),
    Case(
        "a-review-after-the-new-concern-secures-though-an-earlier-note-resolved-the-concerns",
        deal(
            quotes=[quote(day="03-10")],
            activities=[
                note("n1", body="All concerns addressed with IT.", day="03-11"),
                note("n2", body="IT flagged a concern on SSO.", day="03-15"),
                SECURITY_TASK,
            ],
        ),
        SECURED,
        "security or legal review completed on 2026-03-20, after the proposal",
        ("observed",),
    ),
    Case(
        "a-concern-raised-before-the-security-review-is-what-it-reviewed",
        deal(
            quotes=[quote(day="03-10")],
            activities=[note("n2", body="IT flagged a concern on SSO.", day="03-15"), SECURITY_TASK],
        ),
        SECURED,
        "after the proposal",
        ("observed",),
    ),
)


@pytest.mark.parametrize("case", RESOLVE)
def test_given_resolve_signals_when_assessed_then_status_and_reason(case: Case) -> None:
    check(case, C.RESOLVE)


DECIDE = cases(
    Case("closed-won-secures", won(), SECURED, "the deal is closed won on 2026-03-15", ("observed",)),
    Case(
        "won-before-the-close-date-cites-the-day-it-was-won",
        won("06-30", stage_history=history(("Closed Won", "03-15"))),
        SECURED,
        "the deal is closed won on 2026-03-15",
        ("observed",),
    ),
    Case("forecast-commit-is-partial", deal(forecast_category="COMMIT"), PARTIAL, "a verbal yes"),
    Case(
        "accepted-quote-on-open-deal-is-partial",
        deal(quotes=[quote(status="accepted")]),
        PARTIAL,
        "accepted a quote",
    ),
    Case("closed-lost-is-nothing", lost(), UPCOMING, "not closed won"),
)


@pytest.mark.parametrize("case", DECIDE)
def test_given_decide_signals_when_assessed_then_status_and_reason(case: Case) -> None:
    check(case, C.DECIDE)


def _won_with(*activities: object, close: str = "03-15") -> Deal:
    return won(close, contacts=BUYER, activities=list(activities))


EXECUTE = cases(
    Case(
        "kickoff-held-after-close-secures",
        _won_with(meeting(subject="Kickoff", day="03-20")),
        SECURED,
        "held kickoff",
        ("observed",),
    ),
    Case(
        "scheduled-onboarding-is-partial",
        _won_with(meeting(subject="Onboarding", status="scheduled", day="04-10")),
        PARTIAL,
        "is scheduled",
        ("scheduled",),
    ),
    Case("kickoff-before-close-does-not-count", _won_with(meeting(subject="Kickoff", day="03-01")), MISSING),
    Case(
        "kickoff-without-deal-contact-is-asserted",
        _won_with(meeting(subject="Kickoff", day="03-20", attendees=())),
        PARTIAL,
        "no contact on the deal",
    ),
    Case(
        "open-deal-cannot-execute",
        deal(contacts=BUYER, activities=[meeting(subject="Kickoff")]),
        UPCOMING,
        "once the deal is won",
    ),
)


@pytest.mark.parametrize("case", EXECUTE)
def test_given_execute_signals_when_assessed_then_status_and_reason(case: Case) -> None:
    check(case, C.EXECUTE)


def test_given_won_deal_close_date_when_execute_not_yet_due_then_it_is_upcoming_not_missing() -> None:
    assert result_of(won("03-25"), C.EXECUTE).status is UPCOMING  # 7 days after close; due after 14
    assert on("03-25") < on("04-01")
