"""Builders for core tests: a valid deal in one line, with only what a test is about spelled out.

Times are given as "MM-DD" in 2026 (UTC, 10:00 unless `hour` says otherwise); `NOW` is 2026-04-01 12:00 UTC.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from core.assess import assess
from core.models import (
    Activity,
    Assessment,
    Commitment,
    CommitmentResult,
    Contact,
    Deal,
    PluginTask,
    Quote,
    StageChange,
)
from core.playbook import Playbook
from worker.playbook_files import load_playbook

NOW = datetime(2026, 4, 1, 12, tzinfo=UTC)
PLAYBOOK: Playbook = load_playbook()


def at(day: str, hour: int = 10) -> datetime:
    month, dom = (int(part) for part in day.split("-"))
    return datetime(2026, month, dom, hour, tzinfo=UTC)


def on(day: str) -> date:
    return at(day).date()


def contact(id: str = "c1", *roles: str, name: str | None = None) -> Contact:
    return Contact(id=id, name=name or f"Contact {id}", roles=roles)


def activity(
    id: str,
    kind: str = "meeting",
    status: str = "completed",
    subject: str = "Meeting",
    body: str = "",
    day: str = "03-02",
    attendees: tuple[str, ...] = ("c1",),
) -> Activity:
    return Activity.model_validate(
        {
            "id": id,
            "kind": kind,
            "status": status,
            "subject": subject,
            "body": body,
            "start": at(day),
            "attendee_ids": attendees,
        }
    )


def meeting(id: str = "m1", subject: str = "Meeting", **kw: Any) -> Activity:
    return activity(id, "meeting", subject=subject, **kw)


def note(id: str = "n1", body: str = "", subject: str = "Note", day: str = "03-02") -> Activity:
    return activity(id, "note", subject=subject, body=body, day=day, attendees=())


def quote(id: str = "q1", status: str = "presented", day: str = "03-10") -> Quote:
    return Quote.model_validate({"id": id, "status": status, "name": f"Quote {id}", "created_at": at(day)})


def task(
    commitment: Commitment, deal_id: str = "d1", is_open: bool = True, task_id: str | None = None
) -> PluginTask:
    key = f"cmt:{deal_id}:{commitment.value}"
    return PluginTask(
        task_id=task_id or f"T-{commitment.value}", key=key, commitment=commitment, is_open=is_open
    )


def deal(stage: str = "Prospecting", pipeline: str = "salesforce", **fields: Any) -> Deal:
    """A deal on the Salesforce stage map unless told otherwise; `fields` are Deal fields."""
    values: dict[str, Any] = {
        "id": "d1",
        "name": "Test deal",
        "stage": stage,
        "pipeline": pipeline,
        "owner_id": "u1",
    }
    values.update(fields)
    return Deal.model_validate(values)


def won(close: str = "03-15", **fields: Any) -> Deal:
    fields.setdefault("stage", "Closed Won")
    return deal(is_closed=True, is_won=True, close_date=on(close), **fields)


def lost(**fields: Any) -> Deal:
    fields.setdefault("stage", "Closed Lost")
    return deal(is_closed=True, is_won=False, **fields)


def history(*stages: tuple[str, str]) -> tuple[StageChange, ...]:
    return tuple(StageChange(stage=stage, entered_at=at(day)) for stage, day in stages)


def assessed(d: Deal, now: datetime = NOW, playbook: Playbook = PLAYBOOK) -> Assessment:
    return assess(d, playbook, now)


def result_of(d: Deal, commitment: Commitment, now: datetime = NOW) -> CommitmentResult:
    return assessed(d, now).result(commitment)
