"""parse_deals(): good deals parse, each bad deal is one error naming index, id, field and problem."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from core.deal_parsing import parse_deals
from core.models import ActivityKind, ActivityStatus

EXAMPLES = Path(__file__).resolve().parents[2] / "config" / "examples" / "deals.json"


def test_given_example_file_when_parsed_then_every_deal_is_valid_and_covers_all_default_stages() -> None:
    deals, errors = parse_deals(json.loads(EXAMPLES.read_text()))
    assert errors == []
    assert len(deals) >= 12
    stages = {(d.pipeline, d.stage) for d in deals}
    from builders import PLAYBOOK

    for pipeline in ("salesforce", "default"):
        assert {(pipeline, s) for s in PLAYBOOK.stage_maps[pipeline].stages} <= stages


# Salesforce's standard OpportunityStage values and HubSpot's default deal pipeline, as the vendors ship them.
SALESFORCE_STAGES = (
    "Prospecting", "Qualification", "Needs Analysis", "Value Proposition", "Id. Decision Makers",
    "Perception Analysis", "Proposal/Price Quote", "Negotiation/Review", "Closed Won", "Closed Lost",
)
HUBSPOT_STAGES = (
    "appointmentscheduled", "qualifiedtobuy", "presentationscheduled", "decisionmakerboughtin",
    "contractsent", "closedwon", "closedlost",
)
DOCS_NOW = datetime(2026, 4, 1, 12, tzinfo=UTC)  # the --now docs/deal-json.md runs the examples with


def test_given_example_file_when_read_then_it_holds_every_stage_and_edge_case_issue_2_lists() -> None:
    deals, _ = parse_deals(json.loads(EXAMPLES.read_text()))
    from builders import PLAYBOOK

    stages = {(d.pipeline, d.stage) for d in deals}
    assert {("salesforce", s) for s in SALESFORCE_STAGES} <= stages
    assert {("default", s) for s in HUBSPOT_STAGES} <= stages
    for pipeline in ("salesforce", "default"):
        assert any(d.is_won for d in deals if d.pipeline == pipeline)
        assert any(d.is_lost for d in deals if d.pipeline == pipeline)
    meetings = [a for d in deals for a in d.activities if a.kind is ActivityKind.MEETING]
    assert any(not d.contacts for d in deals)
    assert any(not d.activities for d in deals)
    assert any(m.status is ActivityStatus.CANCELED for m in meetings)
    assert any(m.status is ActivityStatus.NO_SHOW for m in meetings)
    assert any(m.status is ActivityStatus.SCHEDULED and m.start and m.start > DOCS_NOW for m in meetings)
    assert any(d.amount is None for d in deals)
    maps = PLAYBOOK.stage_maps
    assert any(d.pipeline in maps and d.stage not in maps[d.pipeline].stages for d in deals)
    assert any(d.pipeline not in maps for d in deals)


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ({"id": "b"}, "deal #1 (id 'b'): stage: required field is missing"),
        ({"id": "b", "stage": "s", "ammount": 5}, "deal #1 (id 'b'): ammount: unknown field"),
        (
            {"id": "b", "stage": "s", "activities": [{"id": "a", "kind": "meet", "status": "completed"}]},
            "deal #1 (id 'b'): activities[0].kind: Input should be 'meeting', 'call', 'email'",
        ),
        (
            {"id": "b", "stage": "s", "created_at": "2026-01-01T10:00:00"},
            "deal #1 (id 'b'): created_at: Input should have timezone info",
        ),
        (
            {"id": "b", "stage": "s", "is_won": True},
            "deal #1 (id 'b'): is_won: a won deal must also have is_closed",
        ),
        ({"stage": "s"}, "deal #1: id: required field is missing"),
        (
            {"id": "b", "stage": "s", "amount": float("nan")},
            "deal #1 (id 'b'): amount: Input should be a finite number (got nan)",
        ),
        (
            {"id": "b", "stage": "s", "line_items": [{"id": "l", "amount": float("inf")}]},
            "deal #1 (id 'b'): line_items[0].amount: Input should be a finite number",
        ),
        ([1, 2], "deal #1: (the deal): expected a JSON object, got list"),
        ({"id": "a", "stage": "s"}, "deal #1 (id 'a'): id: duplicate deal id; deal #0 has it too"),
    ],
)
def test_given_one_bad_deal_when_parsed_then_error_names_it_and_others_still_parse(
    item: object, message: str
) -> None:
    deals, errors = parse_deals([{"id": "a", "stage": "s"}, item, {"id": "c", "stage": "s"}])
    assert [d.id for d in deals] == ["a", "c"]
    assert len(errors) == 1
    assert str(errors[0]).startswith(message), str(errors[0])


def test_given_deals_object_when_parsed_then_deals_array_is_read() -> None:
    deals, _ = parse_deals({"_comment": "x", "deals": [{"id": "a", "stage": "s"}]})
    assert [d.id for d in deals] == ["a"]


@pytest.mark.parametrize("document", [{"id": "a"}, "deals", 3, None])
def test_given_document_without_deal_list_when_parsed_then_value_error(document: object) -> None:
    with pytest.raises(ValueError, match="expected a JSON array of deals"):
        parse_deals(document)


def test_given_deal_when_dumped_to_json_then_parses_back_equal() -> None:
    deals, _ = parse_deals(json.loads(EXAMPLES.read_text()))
    again, errors = parse_deals([d.model_dump(mode="json") for d in deals])
    assert errors == []
    assert again == deals
