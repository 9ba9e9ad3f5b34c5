"""The catch-up decision at worker start: which connections missed a run while the worker was down.

APScheduler 3 can lose a due run (its shutdown race advances `next_run_time` without running, and an
in-memory job store forgets everything), so the worker does not trust it for that: at start, a
connection whose last successful run is older than one period of its schedule (the next fire time after
that run is already past; one due exactly now is left to the scheduler) runs at once with
trigger=catchup. A full run also counts as a successful incremental one; a connection due for both gets
one full run. Pure: `now` and the run history are arguments.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from worker.scheduling.model import Mode, ScheduleSpec, fire_times


@dataclass(frozen=True)
class CatchUp:
    connection_id: int
    mode: Mode
    due_since: datetime | None  # the missed fire time; None when the connection never succeeded
    reason: str


def last_covering_success(
    last_success: Mapping[tuple[int, Mode], datetime], connection_id: int, mode: Mode
) -> datetime | None:
    """When the connection last ran successfully in `mode`, counting a full run for incremental too."""
    candidates = [last_success.get((connection_id, "full"))]
    if mode == "incremental":
        candidates.append(last_success.get((connection_id, "incremental")))
    present = [c for c in candidates if c is not None]
    return max(present) if present else None


def missed_fire(spec: ScheduleSpec, last: datetime | None, now: datetime) -> tuple[bool, datetime | None]:
    """Whether a fire time passed since `last` (None: never ran, so due), and which one."""
    if last is None:
        return True, None
    fire = next(fire_times(spec, last), None)
    return (fire is not None and fire < now), fire


def catch_up_runs(
    schedules: Iterable[tuple[int, ScheduleSpec]],
    last_success: Mapping[tuple[int, Mode], datetime],
    now: datetime,
) -> list[CatchUp]:
    """One catch-up per connection that missed a run (full wins over incremental), ordered by connection."""
    due: dict[int, CatchUp] = {}
    for connection_id, spec in schedules:
        last = last_covering_success(last_success, connection_id, spec.mode)
        missed, fire = missed_fire(spec, last, now)
        if not missed:
            continue
        reason = (
            f"no successful {spec.mode} run yet"
            if last is None
            else f"last successful {spec.mode} run {last:%Y-%m-%d %H:%M}; due since {fire:%Y-%m-%d %H:%M} UTC"
        )
        current = due.get(connection_id)
        if current is None or (current.mode == "incremental" and spec.mode == "full"):
            due[connection_id] = CatchUp(connection_id, spec.mode, fire, reason)
    return [due[c] for c in sorted(due)]
