"""The write plan: what to change in the CRM for one assessed deal, and what the CRM holds afterwards.

`plan` compares the desired values of the plugin's own fields with what the CRM holds now (`Deal.current`)
and lists only the differences, so a second run over unchanged data writes nothing (the assessment time is
written only alongside a real change). It also decides the task actions: at most one open plugin task per
open deal, for the next commitment, completed once that commitment is secured and reopened if it is lost again
(a setback note); closed-lost deals get none.
`applied` returns the deal as the CRM would hold it after the plan, for tests and the in-memory connector.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any

from core.models import (
    Assessment,
    Commitment,
    CommitmentResult,
    Deal,
    OwnedField,
    OwnedFields,
    PluginTask,
    TaskAction,
    TaskActionKind,
    WritePlan,
)
from core.playbook import Playbook
from core.trusted import builder

SATURDAY = 5  # date.weekday(): Monday 0 ... Sunday 6
EVIDENCE_MAX_BYTES = 32_768  # Salesforce long text area; also within HubSpot's 65,536-character limit
_COMPARED = tuple(
    (name, name.value)
    for name in OwnedField
    if name not in (OwnedField.EVIDENCE, OwnedField.ASSESSED_AT)  # compared separately
)
_LISTS = frozenset({OwnedField.SECURED, OwnedField.MISSING})
_owned_fields = builder(OwnedFields)
_task_action = builder(TaskAction)
_write_plan = builder(WritePlan)


def task_key(deal_id: str, commitment: Commitment) -> str:
    """The plugin's stable task key: how a re-run finds a task it created before (even after a crash)."""
    return f"cmt:{deal_id}:{commitment}"


def _evidence_line(result: CommitmentResult, labels: Mapping[Commitment, str]) -> str:
    line = f"{labels[result.commitment]}: {result.status.value} - {result.reason}"
    if result.evidence:
        best = result.evidence[0]
        line += f" [{best.kind.value} {best.source}{' ' + best.record_id if best.record_id else ''}]"
    return line


def evidence_text(assessment: Assessment, playbook: Playbook) -> str:
    """One line per commitment, kept within EVIDENCE_MAX_BYTES of UTF-8."""
    labels = playbook.labels
    lines = [_evidence_line(r, labels) for r in assessment.results]
    text = "\n".join(lines)
    if len(text.encode()) <= EVIDENCE_MAX_BYTES:
        return text
    share = EVIDENCE_MAX_BYTES // len(lines) - 1
    return "\n".join(line.encode()[:share].decode(errors="ignore") for line in lines)


def desired_values(assessment: Assessment, playbook: Playbook, now: datetime) -> dict[str, Any]:
    """The owned fields' desired values by field name, in OwnedFields' order."""
    return {
        "secured": assessment.secured,
        "missing": assessment.missing,
        "next": assessment.next,
        "score": assessment.score,
        "stage_gap": assessment.stage_gap,
        "evidence": evidence_text(assessment, playbook),
        "assessed_at": now,
    }


def desired_fields(assessment: Assessment, playbook: Playbook, now: datetime) -> OwnedFields:
    return _owned_fields(desired_values(assessment, playbook, now))


def changed_fields(desired: OwnedFields, current: OwnedFields) -> frozenset[OwnedField]:
    """Fields whose desired value differs from the CRM's; an empty list equals a blank multi-select."""
    changed: set[OwnedField] = set()
    wanted, held = desired.__dict__, current.__dict__  # the field values, without attribute lookups
    for name, attribute in _COMPARED:
        want, have = wanted[attribute], held[attribute]
        if name in _LISTS:
            want, have = tuple(want or ()), tuple(have or ())
        if want != have:
            changed.add(name)
    if desired.evidence != current.evidence:
        changed.add(OwnedField.EVIDENCE)
    if changed:
        changed.add(OwnedField.ASSESSED_AT)
    return frozenset(changed)


def _complete(deal: Deal, task: PluginTask) -> TaskAction:
    # Fields a completion leaves at their defaults come first: the order (and repr) plans always had.
    return _task_action(
        {
            "task_id": task.task_id,
            "subject": "",
            "body": "",
            "owner_id": None,
            "due_date": None,
            "kind": TaskActionKind.COMPLETE,
            "deal_id": deal.id,
            "commitment": task.commitment,
            "key": task.key,
        }
    )


def _ask(
    assessment: Assessment,
    deal: Deal,
    playbook: Playbook,
    now: datetime,
    target: Commitment,
    task_id: str | None,
) -> TaskAction:
    """The task asking for `target`: a new one (no `task_id`), or the plugin's closed one reopened, worded
    afresh either way so "Where it stands" is today's."""
    guidance = playbook.commitments[target]
    # Where the deal stands on it now, so the rep starts from this deal's facts, not only the playbook's.
    standing = assessment.result(target).reason.rstrip(".")
    return _task_action(
        {
            "kind": TaskActionKind.CREATE if task_id is None else TaskActionKind.REOPEN,
            "deal_id": deal.id,
            "commitment": target,
            "key": task_key(deal.id, target),
            "task_id": task_id,
            "subject": playbook.task.subject.replace("{label}", guidance.label),
            "body": f"{guidance.ask}\n\nWhere it stands ({now.date()}): {standing}.\n\n"
            f"Ask: {guidance.question}\n\nSecured when: {guidance.secure_hint}",
            "owner_id": deal.owner_id,
            "due_date": due_date(playbook, now),
        }
    )


def due_date(playbook: Playbook, now: datetime) -> date:
    """`due_in_days` from today; a rep's week starts on Monday, so a weekend date moves there."""
    due = now.date() + timedelta(days=playbook.task.due_in_days)
    if playbook.task.skip_weekends and due.weekday() >= SATURDAY:
        due += timedelta(days=7 - due.weekday())
    return due


def _lost_again(assessment: Assessment, deal: Deal, target: Commitment, task: PluginTask) -> bool:
    """`target` was secured and is not any more (a setback note reopened it): the plugin completed its task
    for that reason, or the last sync wrote it as secured. A task a rep closed while the commitment was never
    secured is not this. The completion is what lasts: when the commitment is lost while the task for a later
    one is open, the "secured" field no longer has it by the time that task is closed."""
    if deal.is_won and target is not Commitment.EXECUTE:
        return False  # a won deal's pre-decision tasks are completed, never asked for again
    was_secured = task.completed_by_plugin or target in (deal.current.secured or ())
    return was_secured and target not in assessment.secured


def task_actions(
    assessment: Assessment, deal: Deal, playbook: Playbook, now: datetime
) -> tuple[TaskAction, ...]:
    """Complete tasks whose commitment is secured (and, once won, all pre-decision tasks); when no plugin
    task stays open, create one for the next commitment if none was ever created for it, or reopen the
    plugin's closed one if that commitment was secured and is lost again."""
    if deal.is_lost:
        return ()
    secured = set(assessment.secured)
    actions: list[TaskAction] = []
    still_open = False
    for task in deal.plugin_tasks:
        if not task.is_open:
            continue
        if task.commitment in secured or (deal.is_won and task.commitment is not Commitment.EXECUTE):
            actions.append(_complete(deal, task))
        else:
            still_open = True
    target = assessment.next
    if target is None or still_open:
        return tuple(actions)
    key = task_key(deal.id, target)
    before = next((task for task in deal.plugin_tasks if task.key == key), None)
    if before is None:
        actions.append(_ask(assessment, deal, playbook, now, target, None))
    elif _lost_again(assessment, deal, target, before):
        actions.append(_ask(assessment, deal, playbook, now, target, before.task_id))
    # else created before and closed by a rep without the commitment secured: never created twice, nor nagged
    return tuple(actions)


def plan(assessment: Assessment, deal: Deal, playbook: Playbook, now: datetime) -> WritePlan:
    """What to write for `deal` given its assessment: changed owned fields and task actions."""
    if now.tzinfo is None:
        raise ValueError(f"now must be timezone-aware, got {now.isoformat()}")
    desired = desired_fields(assessment, playbook, now)
    return _write_plan(
        {
            "deal_id": deal.id,
            "values": desired,
            "changed": changed_fields(desired, deal.current),
            "tasks": task_actions(assessment, deal, playbook, now),
        }
    )


def applied(deal: Deal, write_plan: WritePlan, created_task_ids: Mapping[str, str] | None = None) -> Deal:
    """`deal` as the CRM holds it after `write_plan`; created tasks get ids from `created_task_ids` (by
    task key), or their key when none is given."""
    ids = created_task_ids or {}
    current = deal.current
    if write_plan.changed:
        updates = {name.value: value for name, value in write_plan.field_updates().items()}
        current = current.model_copy(update=updates)
    # A completed task is closed by the plugin, a reopened one open again; created ones are added below.
    touched = [a for a in write_plan.tasks if a.kind is not TaskActionKind.CREATE]
    is_open = {a.key: a.kind is TaskActionKind.REOPEN for a in touched}
    tasks = [
        t.model_copy(update={"is_open": is_open[t.key], "completed_by_plugin": not is_open[t.key]})
        if t.key in is_open
        else t
        for t in deal.plugin_tasks
    ]
    tasks += [
        PluginTask(task_id=ids.get(a.key, a.key), key=a.key, commitment=a.commitment)
        for a in write_plan.tasks
        if a.kind is TaskActionKind.CREATE
    ]
    return deal.model_copy(update={"current": current, "plugin_tasks": tuple(tasks)})
