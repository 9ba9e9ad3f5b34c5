"""plan() and applied(): only differences are written, tasks follow the next commitment, lost deals get
no tasks, and the CRM state after a plan re-plans to nothing."""

from __future__ import annotations

from datetime import timedelta

from builders import NOW, PLAYBOOK, assessed, contact, deal, lost, meeting, task, won

from core.models import Commitment, Deal, OwnedField, TaskActionKind, WritePlan
from core.plan import EVIDENCE_MAX_BYTES, applied, evidence_text, plan

C = Commitment
CREATE, COMPLETE = TaskActionKind.CREATE, TaskActionKind.COMPLETE


def planned(d: Deal, now=NOW) -> WritePlan:  # type: ignore[no-untyped-def]
    return plan(assessed(d, now), d, PLAYBOOK, now)


def test_given_never_assessed_deal_when_planned_then_fields_written_and_task_created() -> None:
    d = deal(contacts=[contact()], activities=[meeting(subject="Intro")])
    result = planned(d)
    assert result.changed == {
        OwnedField.SECURED,
        OwnedField.NEXT,
        OwnedField.SCORE,
        OwnedField.STAGE_GAP,
        OwnedField.EVIDENCE,
        OwnedField.ASSESSED_AT,
    }  # missing is empty and the CRM field is blank: nothing to write
    assert result.field_updates()[OwnedField.SECURED] == (C.TIME,)
    [create] = result.tasks
    assert (create.kind, create.commitment, create.key) == (CREATE, C.EXPLORE, "cmt:d1:explore")
    assert create.subject == "Secure the Commitment to Explore"
    assert create.owner_id == "u1"
    assert create.due_date == NOW.date() + timedelta(days=3)
    assert PLAYBOOK.commitments[C.EXPLORE].question in create.body
    standing = f"Where it stands ({NOW.date()}): no discovery meeting or call with a buyer yet, and fewer"
    assert standing in create.body


def test_given_applied_plan_when_replanned_later_then_plan_is_empty() -> None:
    d = deal("Needs Analysis", contacts=[contact()], activities=[meeting()])
    after = applied(d, planned(d), {"cmt:d1:explore": "T9"})
    again = planned(after, NOW + timedelta(hours=6))
    assert again.is_empty, again
    assert after.plugin_tasks[0].task_id == "T9"


def test_given_open_task_for_secured_commitment_when_planned_then_completed_and_next_created() -> None:
    d = deal(contacts=[contact()], activities=[meeting(subject="Discovery")], plugin_tasks=[task(C.EXPLORE)])
    kinds = [(t.kind, t.commitment) for t in planned(d).tasks]
    assert kinds == [(COMPLETE, C.EXPLORE), (CREATE, C.CHANGE)]


def test_given_open_task_not_yet_secured_when_planned_then_no_second_task() -> None:
    d = deal(plugin_tasks=[task(C.EXPLORE)])  # next is time, an explore task is still open
    assert planned(d).tasks == ()


def test_given_next_moved_back_while_a_later_task_is_open_when_planned_then_left_open_until_closed() -> None:
    # given: next is time again (its evidence is gone) while the plugin's explore task is still open
    open_later = deal(plugin_tasks=[task(C.EXPLORE)])
    closed_later = deal(plugin_tasks=[task(C.EXPLORE, is_open=False)])  # then the rep completes it

    # then: the open task is neither completed nor joined by a second one; once closed, time gets a task
    assert planned(open_later).tasks == ()
    assert [(t.kind, t.commitment) for t in planned(closed_later).tasks] == [(CREATE, C.TIME)]


def test_given_task_created_before_and_completed_when_planned_then_not_created_twice() -> None:
    d = deal(plugin_tasks=[task(C.TIME, is_open=False)])
    assert planned(d).tasks == ()


def test_given_closed_lost_deal_when_planned_then_no_task_actions_but_fields_written() -> None:
    d = lost(plugin_tasks=[task(C.EXPLORE)])
    result = planned(d)
    assert result.tasks == ()
    assert OwnedField.SCORE in result.changed


def test_given_won_deal_when_planned_then_pre_decision_tasks_completed_and_execute_task_created() -> None:
    d = won(plugin_tasks=[task(C.CONSENSUS), task(C.REVIEW)])
    kinds = [(t.kind, t.commitment) for t in planned(d).tasks]
    assert kinds == [(COMPLETE, C.CONSENSUS), (COMPLETE, C.REVIEW), (CREATE, C.EXECUTE)]


def test_given_unchanged_fields_when_only_time_passes_then_assessed_at_not_rewritten() -> None:
    d = deal()
    after = applied(d, planned(d))
    result = planned(after, NOW + timedelta(days=1))
    assert result.changed == frozenset()
    assert result.values.assessed_at == NOW + timedelta(days=1)


def test_given_score_changed_when_planned_then_assessed_at_written_with_it() -> None:
    d = deal()
    after = applied(d, planned(d))
    grown = after.model_copy(update={"contacts": (contact(),), "activities": (meeting(),)})
    assert {OwnedField.SCORE, OwnedField.ASSESSED_AT} <= planned(grown).changed


def test_given_huge_reasons_when_evidence_text_built_then_within_byte_limit() -> None:
    long_name = "Ünïcødé " * 3000
    d = deal(
        "Id. Decision Makers", contacts=[contact(f"c{i}", "Decision Maker", name=long_name) for i in range(4)]
    )
    text = evidence_text(assessed(d), PLAYBOOK)
    assert len(text.encode()) <= EVIDENCE_MAX_BYTES
    assert text.count("\n") == 9


def test_given_assessment_when_evidence_text_built_then_one_line_per_commitment_with_label() -> None:
    lines = evidence_text(
        assessed(deal(contacts=[contact()], activities=[meeting(id="m7")])), PLAYBOOK
    ).split("\n")
    assert len(lines) == 10
    assert lines[0].startswith("Commitment for Time: secured - held meeting")
    assert lines[0].endswith("[observed meeting m7]")


def test_given_invest_secured_by_economic_buyer_when_evidence_text_built_then_line_cites_the_buyer() -> None:
    d = deal(amount=50000, contacts=[contact("c7", "Economic Buyer", name="Dana Lee")])
    invest = evidence_text(assessed(d), PLAYBOOK).split("\n")[5]
    assert invest.startswith("Commitment to Invest: secured - amount set and Dana Lee")
    assert invest.endswith("[observed contact_role c7]")  # what secured it, not the amount alone
