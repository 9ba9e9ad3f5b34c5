"""plan() and applied(): only differences are written, tasks follow the next commitment, lost deals get
no tasks, and the CRM state after a plan re-plans to nothing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from builders import NOW, PLAYBOOK, assessed, contact, deal, lost, meeting, note, task, won

from core.models import Commitment, Deal, OwnedField, TaskActionKind, WritePlan
from core.plan import EVIDENCE_MAX_BYTES, applied, evidence_text, plan

C = Commitment
CREATE, COMPLETE, REOPEN = TaskActionKind.CREATE, TaskActionKind.COMPLETE, TaskActionKind.REOPEN


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
    assert create.due_date == NOW.date() + timedelta(days=5)  # Wednesday + 3 is a Saturday: the Monday after
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


SECURED_BEFORE = (C.TIME, C.EXPLORE, C.CHANGE)


def _setback(
    secured: tuple[Commitment, ...] = SECURED_BEFORE,
    open_: Commitment | None = None,
    by_plugin: Commitment | None = None,
    **kw: Any,
) -> dict[str, Any]:
    """A deal whose Change evidence (03-02) a setback note (03-20) took back; the CRM holds `secured` as the
    last sync wrote it, and the plugin's explore, change and collaborate tasks (only `open_` open; the one
    of `by_plugin` completed by the plugin, as the worker's store knows)."""
    activities = [
        meeting(subject="Discovery"),
        note("n1", body="The compelling event is the audit in June", day="03-02"),
        note("n2", body="Project is on hold until Q3.", day="03-20"),
    ]
    tasks = [
        task(c, is_open=c is open_).model_copy(update={"completed_by_plugin": c is by_plugin})
        for c in (C.EXPLORE, C.CHANGE, C.COLLABORATE)
    ]
    fields = {"contacts": [contact()], "activities": activities, "plugin_tasks": tasks}
    return {"stage": "Needs Analysis", "current": {"secured": secured}, **fields, **kw}


@pytest.mark.parametrize(
    ("given", "then"),
    [
        pytest.param(deal(**_setback()), [(REOPEN, C.CHANGE, "T-change")], id="secured-then-lost-reopened"),
        pytest.param(deal(**_setback((C.TIME, C.EXPLORE))), [], id="closed-by-the-rep-never-secured-is-not"),
        pytest.param(lost(**_setback()), [], id="closed-lost-is-not"),
        pytest.param(deal(**_setback(open_=C.COLLABORATE)), [], id="another-plugin-task-open-is-not"),
        # lost while the Collaborate task was open, so the field no longer says it; then that task closed
        pytest.param(
            deal(**_setback((C.TIME, C.EXPLORE), by_plugin=C.CHANGE)),
            [(REOPEN, C.CHANGE, "T-change")],
            id="completed-by-the-plugin-then-lost-reopened-later",
        ),
    ],
)
def test_given_a_closed_task_for_the_next_commitment_when_planned_then_reopened_only_if_secured_then_lost(
    given: Deal, then: list[tuple[TaskActionKind, Commitment, str | None]]
) -> None:
    assert [(t.kind, t.commitment, t.task_id) for t in planned(given).tasks] == then


def test_given_a_reopened_task_when_planned_then_worded_afresh_and_a_replan_after_applied_is_empty() -> None:
    d = deal(**_setback())
    result = planned(d)

    [reopen] = result.tasks
    assert (reopen.key, reopen.owner_id) == ("cmt:d1:change", "u1")
    assert reopen.subject == "Secure the Commitment to Change"
    assert reopen.due_date == NOW.date() + timedelta(days=5)  # a Saturday: the Monday after
    assert f"Where it stands ({NOW.date()}): " in reopen.body
    assert "stepped back" in reopen.body
    assert result.field_updates()[OwnedField.SECURED] == (C.TIME, C.EXPLORE)
    after = applied(d, result)
    assert [(t.key, t.is_open) for t in after.plugin_tasks if t.is_open] == [("cmt:d1:change", True)]
    assert planned(after, NOW + timedelta(hours=6)).is_empty


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


@pytest.mark.parametrize(
    ("today", "skip_weekends", "due"),
    [
        ("2026-12-01", True, "2026-12-04"),  # Tuesday + 3 = Friday
        ("2026-12-02", True, "2026-12-07"),  # Wednesday + 3 = Saturday -> Monday
        ("2026-12-03", True, "2026-12-07"),  # Thursday + 3 = Sunday -> Monday
        ("2026-12-02", False, "2026-12-05"),  # weekends allowed: Saturday it is
    ],
)
def test_given_a_due_date_on_a_weekend_when_a_task_is_planned_then_it_moves_to_monday_unless_allowed(
    today: str, skip_weekends: bool, due: str
) -> None:
    now = NOW.replace(year=int(today[:4]), month=int(today[5:7]), day=int(today[8:]))
    playbook = PLAYBOOK.model_copy(
        update={"task": PLAYBOOK.task.model_copy(update={"skip_weekends": skip_weekends})}
    )
    d = deal(contacts=[contact()], activities=[meeting(subject="Intro")])

    [create] = plan(assessed(d, now), d, playbook, now).tasks

    assert create.due_date.isoformat() == due
