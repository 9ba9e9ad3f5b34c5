"""The generated book: deterministic, spread over every stage, and shaped like real CRM evidence."""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, datetime

import pytest

from sandbox.book import Book, BookDeal
from sandbox.generator import DEFAULT_NOW, generate_book, generate_parties, iter_deals
from sandbox.generator_names import ROLES, TITLES
from sandbox.generator_phrases import FILLER, MILESTONES

WON, LOST, PROPOSAL = 8, 9, 6
DECISION_ROLES = {"Decision Maker", "Economic Buyer", "Executive Sponsor"}


@pytest.fixture(scope="module")
def book() -> Book:
    return generate_book(deals=200, seed=1)


def _subject_pattern(template: str) -> str:
    return re.sub(r"\\\{\w+\\\}", ".+", re.escape(template))


SUBJECTS = re.compile(
    "(Canceled: )?(?:"
    + "|".join(_subject_pattern(t.subject) for ts in (*MILESTONES.values(), FILLER) for t in ts)
    + ")"
)


def _milestone_subjects(stage: int) -> re.Pattern[str]:
    return re.compile("|".join(_subject_pattern(t.subject) for t in MILESTONES[stage]))


def _completed_milestone_stages(deal: BookDeal) -> set[int]:
    done = {a.subject for a in deal.activities if a.status == "completed"}
    return {s for s in range(8) if any(_milestone_subjects(s).fullmatch(x) for x in done)}


# ------------------------------------------------------------------------------------------ determinism
def test_given_same_seed_when_generated_twice_then_books_are_identical(book: Book) -> None:
    assert generate_book(deals=200, seed=1) == book


def test_given_default_now_when_generated_then_equals_explicit_anchor(book: Book) -> None:
    assert generate_book(deals=200, seed=1, now=datetime(2026, 11, 1, tzinfo=UTC)) == book


def test_given_different_seed_when_generated_then_books_differ(book: Book) -> None:
    other = generate_book(deals=200, seed=2)
    assert other.deals != book.deals
    assert [c.name for c in other.companies] != [c.name for c in book.companies]


def test_given_parties_when_deals_iterated_lazily_then_same_as_whole_book(book: Book) -> None:
    parties = generate_parties(200, seed=1)
    assert parties.contacts == book.contacts
    assert list(iter_deals(parties, 200)) == book.deals


# ----------------------------------------------------------------------------------------- distribution
def test_given_200_deals_when_generated_then_every_stage_index_is_present(book: Book) -> None:
    stages = Counter(d.stage_index for d in book.deals)
    assert set(stages) == set(range(10))
    assert sum(stages[s] for s in range(8)) > stages[WON] + stages[LOST]  # open pipeline dominates


def test_given_200_deals_when_generated_then_parties_are_sized_to_the_book(book: Book) -> None:
    assert len(book.owners) == 8  # one per 25 deals
    assert len(generate_book(deals=10).owners) == 3
    assert len({c.domain for c in book.companies}) == len(book.companies)
    assert {c.title for c in book.contacts} <= {t for t, _ in TITLES}


@pytest.mark.parametrize(
    ("case", "predicate"),
    [
        ("thin deal", lambda d: not d.roles and not d.activities),
        ("no amount", lambda d: d.amount is None),
        ("single-threaded late deal", lambda d: 4 <= d.stage_index < WON and len(d.roles) == 1),
        ("no decision role", lambda d: d.roles and not {r.role for r in d.roles} & DECISION_ROLES),
        ("role left empty", lambda d: any(r.role is None for r in d.roles)),
        ("canceled meeting", lambda d: any(a.status == "canceled" for a in d.activities)),
        ("no-show", lambda d: any(a.status == "no_show" for a in d.activities)),
        ("future meeting", lambda d: any(a.status == "scheduled" for a in d.activities)),
        ("open task", lambda d: any(a.kind == "task" and a.status == "open" for a in d.activities)),
        ("meeting without attendees", lambda d: any(a.kind == "meeting" and not a.contact_ids
                                                    for a in d.activities)),
        ("line items", lambda d: d.line_items),
        ("no next step", lambda d: d.next_step is None),
        ("overdue open deal", lambda d: d.stage_index < WON and d.close_date < DEFAULT_NOW.date()),
        ("won with kickoff held", lambda d: d.stage_index == WON and any(
            a.subject.startswith("Customer kickoff") and a.status == "completed" for a in d.activities)),
        ("business case in description", lambda d: "business case" in (d.description or "").lower()),
    ],
)
def test_given_200_deals_when_generated_then_edge_case_is_present(book: Book, case: str, predicate) -> None:
    assert any(predicate(d) for d in book.deals), case


def test_given_200_deals_when_generated_then_some_stages_are_ahead_of_evidence(book: Book) -> None:
    ahead = [
        d for d in book.deals
        if 3 <= d.stage_index < WON and d.activities
        and not _completed_milestone_stages(d) & set(range(d.stage_index - 1, 8))
    ]
    assert len(ahead) >= 5


def test_given_200_deals_when_generated_then_all_quote_statuses_occur(book: Book) -> None:
    statuses = {q.status for d in book.deals for q in d.quotes}
    assert statuses == {"draft", "presented", "accepted", "rejected"}


# ---------------------------------------------------------------------------------------------- realism
def test_given_book_when_activities_read_then_subjects_come_from_known_families(book: Book) -> None:
    subjects = [a.subject for d in book.deals for a in d.activities]
    assert subjects
    assert [s for s in subjects if not SUBJECTS.fullmatch(s)] == []


def test_given_book_when_activities_read_then_attendees_are_deal_contacts(book: Book) -> None:
    for deal in book.deals:
        on_deal = {r.contact_id for r in deal.roles}
        for activity in deal.activities:
            assert set(activity.contact_ids) <= on_deal, (deal.id, activity.subject)


def test_given_book_when_deal_contacts_read_then_they_work_at_the_deals_company(book: Book) -> None:
    company_of = {c.id: c.company_id for c in book.contacts}
    for deal in book.deals:
        assert 0 <= len(deal.roles) <= 8
        assert {company_of[r.contact_id] for r in deal.roles} <= {deal.company_id}
        assert {r.role for r in deal.roles} <= set(ROLES)
        assert sum(r.is_primary for r in deal.roles) == (1 if deal.roles else 0)


def test_given_book_when_stage_history_read_then_it_climbs_from_zero_in_time_order(book: Book) -> None:
    for deal in book.deals:
        steps = [c.stage_index for c in deal.stage_history]
        times = [c.entered_at for c in deal.stage_history]
        assert steps[0] == 0
        assert steps[-1] == deal.stage_index
        assert steps == sorted(steps)
        assert len(set(steps)) == len(steps)
        assert times == sorted(times)
        assert len(set(times)) == len(times)
        assert deal.created_at == times[0] <= deal.modified_at <= DEFAULT_NOW
        if deal.stage_index == WON:
            assert steps == [*range(8), WON]


def test_given_book_when_quotes_read_then_only_deals_that_reached_proposal_have_them(book: Book) -> None:
    for deal in book.deals:
        if deal.quotes:
            assert max(c.stage_index for c in deal.stage_history if c.stage_index < WON) >= PROPOSAL
            assert deal.stage_index >= PROPOSAL


def test_given_book_when_activities_read_then_times_statuses_and_counts_are_consistent(book: Book) -> None:
    for deal in book.deals:
        assert len(deal.activities) <= 40
        if deal.roles and deal.activities:
            assert len(deal.activities) >= 5
        for a in deal.activities:
            if a.status in ("completed", "canceled", "no_show"):
                assert a.start < DEFAULT_NOW, a.subject
            if a.status == "scheduled":
                assert a.start > DEFAULT_NOW, a.subject
            assert a.status != "open" or a.kind == "task"
            assert (a.end is not None) == (a.kind in ("meeting", "call"))
        assert [a.start for a in deal.activities] == sorted(a.start for a in deal.activities)


def test_given_book_when_ids_read_then_unique_per_object_type(book: Book) -> None:
    for objects in (
        book.owners, book.companies, book.contacts, book.deals,
        [a for d in book.deals for a in d.activities],
        [li for d in book.deals for li in d.line_items],
        [q for d in book.deals for q in d.quotes],
    ):
        ids = [o.id for o in objects]  # type: ignore[attr-defined]
        assert len(ids) == len(set(ids))
        assert all(isinstance(i, int) and i > 0 for i in ids)


@pytest.mark.parametrize(
    ("stage", "allowed"),
    [(0, {"Pipeline"}), (4, {"Pipeline"}), (6, {"Pipeline", "Best Case"}), (7, {"Best Case", "Commit"}),
     (WON, {"Closed"}), (LOST, {"Omitted"})],
)
def test_given_stage_when_forecast_read_then_category_fits_the_stage(book: Book, stage: int, allowed) -> None:
    categories = {d.forecast_category for d in book.deals if d.stage_index == stage}
    assert categories
    assert categories <= allowed


def test_given_line_items_when_amount_read_then_it_is_their_total(book: Book) -> None:
    for deal in book.deals:
        if deal.line_items:
            total = sum(li.quantity * li.unit_price for li in deal.line_items)
            assert deal.amount == pytest.approx(total)


def test_given_won_deal_when_read_then_kickoff_is_after_close(book: Book) -> None:
    for deal in book.deals:
        closed_at = deal.stage_history[-1].entered_at
        for a in deal.activities:
            if a.subject.startswith(("Customer kickoff", "Onboarding session")):
                assert deal.stage_index == WON
                assert a.start > closed_at
