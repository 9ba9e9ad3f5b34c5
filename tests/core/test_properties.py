"""Properties over generated deals: assess/plan are deterministic, consistent, round-trip as validated
models, and re-planning the CRM state after a plan yields an empty plan."""

from __future__ import annotations

import re
from datetime import timedelta

from builders import NOW, PLAYBOOK, at
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.assess import assess
from core.keywords import NEGATIONS, TextIndex
from core.models import COMMITMENT_ORDER, Assessment, Deal, OwnedFields, WritePlan
from core.plan import applied, plan

PROPERTY_SETTINGS = settings(
    max_examples=150,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
PHRASES = [
    "Intro",
    "Discovery call",
    "workshop",
    "pilot",
    "budget approved",
    "Proposal walkthrough",
    "security review",
    "concerns addressed",
    "kickoff",
    "business case",
    "pain",
    "weekly sync",
    "notes",
]
STAGES = (
    [("salesforce", s) for s in PLAYBOOK.stage_maps["salesforce"].stages]
    + [("default", s) for s in PLAYBOOK.stage_maps["default"].stages]
    + [("salesforce", "Unknown"), ("x", "y")]
)
CONTACT_IDS = ["c1", "c2", "c3", "c4"]


@st.composite
def activities(draw: st.DrawFn, index: int) -> dict[str, object]:
    return {
        "id": f"a{index}",
        "kind": draw(st.sampled_from(["meeting", "call", "email", "note", "task"])),
        "status": draw(st.sampled_from(["completed", "scheduled", "canceled", "no_show", "open"])),
        "subject": draw(st.sampled_from(PHRASES)),
        "body": draw(st.sampled_from(["", *PHRASES])),
        "start": at("01-05") + timedelta(days=draw(st.integers(0, 120))),
        "attendee_ids": draw(st.lists(st.sampled_from([*CONTACT_IDS, "x9"]), max_size=3, unique=True)),
    }


@st.composite
def deals(draw: st.DrawFn) -> Deal:
    pipeline, stage = draw(st.sampled_from(STAGES))
    closed = "Closed" in stage or stage.startswith("closed")
    won = closed and "won" in stage.lower()
    n_contacts = draw(st.integers(0, 4))
    roles = st.lists(
        st.sampled_from(["Decision Maker", "Economic Buyer", "Evaluator", "END_USER"]), max_size=2
    )
    n_activities = draw(st.integers(0, 8))
    current = draw(st.sampled_from([None, "stale"]))
    commitments = st.sampled_from(COMMITMENT_ORDER)
    return Deal.model_validate(
        {
            "id": "d1",
            "stage": stage,
            "pipeline": pipeline,
            "is_closed": closed,
            "is_won": won,
            "owner_id": "u1",
            "amount": draw(st.sampled_from([None, 0, 1000.0])),
            "close_date": (at("01-01") + timedelta(days=draw(st.integers(0, 100)))).date(),
            "forecast_category": draw(st.sampled_from([None, "Commit", "Best Case", "Pipeline"])),
            "description": draw(st.sampled_from([None, *PHRASES])),
            "contacts": [{"id": CONTACT_IDS[i], "roles": draw(roles)} for i in range(n_contacts)],
            "activities": [draw(activities(i)) for i in range(n_activities)],
            "quotes": draw(
                st.lists(
                    st.builds(
                        lambda s: {"id": "q", "status": s},
                        st.sampled_from(["draft", "presented", "accepted", "rejected"]),
                    ),
                    max_size=1,
                )
            ),
            "confirmed": draw(st.lists(commitments, max_size=2, unique=True)),
            "current": OwnedFields(score=3, secured=(COMMITMENT_ORDER[0],), evidence="old")
            if current
            else {},
            "plugin_tasks": [
                {
                    "task_id": f"t{c.value}",
                    "key": f"cmt:d1:{c.value}",
                    "commitment": c,
                    "is_open": draw(st.booleans()),
                }
                for c in draw(st.lists(commitments, max_size=2, unique=True))
            ],
        }
    )


@PROPERTY_SETTINGS
@given(deals())
def test_given_any_deal_when_assessed_then_summary_is_consistent(deal: Deal) -> None:
    result = assess(deal, PLAYBOOK, NOW)
    assert not set(result.secured) & set(result.missing)
    assert result.score == len(result.secured)
    assert set(result.missing) <= {r.commitment for r in result.results if r.expected}
    assert result.next is None or result.next not in result.secured
    assert result.secured == tuple(c for c in COMMITMENT_ORDER if c in result.secured)
    if deal.is_lost:
        assert result.next is None
        assert result.missing == ()
    assert all(len(e.snippet) <= 80 for r in result.results for e in r.evidence)


@PROPERTY_SETTINGS
@given(deals())
def test_given_any_deal_when_assessed_twice_then_identical_and_valid_models(deal: Deal) -> None:
    first, second = assess(deal, PLAYBOOK, NOW), assess(deal, PLAYBOOK, NOW)
    assert first == second
    assert Assessment.model_validate(first.model_dump()) == first
    write_plan = plan(first, deal, PLAYBOOK, NOW)
    assert write_plan == plan(second, deal, PLAYBOOK, NOW)
    assert WritePlan.model_validate(write_plan.model_dump()) == write_plan


@PROPERTY_SETTINGS
@given(deals())
def test_given_any_deal_when_plan_applied_then_replanning_is_empty(deal: Deal) -> None:
    first = plan(assess(deal, PLAYBOOK, NOW), deal, PLAYBOOK, NOW)
    after = applied(deal, first)
    again = plan(assess(after, PLAYBOOK, NOW), after, PLAYBOOK, NOW)
    assert again.is_empty, (first, again)
    if deal.is_lost:
        assert first.tasks == ()
    if not any(t.is_open for t in deal.plugin_tasks):
        assert sum(t.is_open for t in after.plugin_tasks) <= 1


WORDS = st.sampled_from(
    [
        "pain",
        "pains",
        "a",
        "Pain",
        "go-live",
        "go",
        "live",
        "_pain",
        "pain_",
        "é",
        "ÉPAIN",
        "discovery",
        "needs analysis",
        "İ",
        "kick-off",
        " ",
        "\n",
        ".",
        "-",
        "ß",
        "no",
        "not",
        "Not",
        "never",
        ",",
        "?",
        "\u2014",
        "discoverydiscoverydiscoverydiscoverydiscovery",
        "is on hold",
        "budget freeze",
    ]
)


_WORD = re.compile(r"\S+")


def _negated_reference(text: str, pos: int) -> bool:
    """The spec of a negated match: one of the last three words of its clause (cut at punctuation or a
    line break) that start within the 48 characters before it is a negation."""
    before = text[:pos]
    clause_start = max(before.rfind(mark) for mark in ".,;:!?\n") + 1
    words = [m for m in _WORD.finditer(before, clause_start) if m.start() >= pos - 48]
    return any(m.group().strip("\"'()[]*-") in NEGATIONS for m in words[-3:])


def _questioned_reference(text: str, end: int) -> bool:
    """The spec of a match in a question: the first clause end after it (punctuation, a line break or a
    dash) within 160 characters is a question mark."""
    ahead = re.search(r"[.,;:!?\n\u2014\u2013]", text[end : end + 160])
    return ahead is not None and ahead.group() == "?"


def _first_unnegated(pattern: re.Pattern[str], text: str) -> int | None:
    position = 0
    while (match := pattern.search(text, position)) is not None:
        if not _negated_reference(text, match.start()) and not _questioned_reference(text, match.end()):
            return match.start()
        position = match.start() + 1
    return None


# Words run together ("_pain", "ÉPAIN") or spaced ("no pain"), so boundaries and negations both get tried.
TEXTS = st.tuples(st.lists(WORDS, max_size=8), st.sampled_from(["", " "])).map(lambda t: t[1].join(t[0]))


@settings(max_examples=400, derandomize=True, database=None, deadline=None)
@given(st.lists(TEXTS, max_size=4))
def test_given_any_texts_when_searched_then_same_hits_as_the_playbook_regex(texts: list[str]) -> None:
    lowered = [t.lower() for t in texts]
    index = TextIndex(texts)
    for name, group in PLAYBOOK.keyword_groups.items():
        pattern = PLAYBOOK.keyword_patterns[name]
        found = {i: _first_unnegated(pattern, text) for i, text in enumerate(lowered)}
        expected = {i: start for i, start in found.items() if start is not None}
        assert index.search(group) == expected, (name, texts)


def _last_unnegated(pattern: re.Pattern[str], text: str) -> tuple[int, str] | None:
    """The spec of `TextIndex.last` in one text: the latest start of a match that is neither negated nor
    asked, with what matched there."""
    for start in range(len(text), -1, -1):
        match = pattern.match(text, start)
        if match is None or _negated_reference(text, start) or _questioned_reference(text, match.end()):
            continue
        return start, match.group()
    return None


@settings(max_examples=400, derandomize=True, database=None, deadline=None)
@given(st.lists(TEXTS, max_size=4), st.sets(st.integers(0, 3)))
def test_given_any_texts_when_the_latest_hit_is_asked_then_the_regex_agrees(
    texts: list[str], allowed: set[int]
) -> None:
    lowered = [t.lower() for t in texts]
    index = TextIndex(texts)
    for name, group in PLAYBOOK.keyword_groups.items():
        pattern = PLAYBOOK.keyword_patterns[name]
        hits = [(i, hit) for i, text in enumerate(lowered) if (hit := _last_unnegated(pattern, text))]
        latest = hits[-1] if hits else None
        found = index.last(group)
        assert (found and found[:2]) == (latest and (latest[0], latest[1][0])), (name, texts)
        in_allowed = [h for h in hits if h[0] in allowed]
        found = index.last(group, allowed)
        expected = in_allowed[-1] if in_allowed else None
        assert (found and found[:2]) == (expected and (expected[0], expected[1][0])), (name, texts, allowed)
