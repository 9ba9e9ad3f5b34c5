"""Schedule definitions as the worker and the CLI see them, and the pure time arithmetic on them.

A schedule is either a cron expression in an IANA time zone or a fixed interval, per connection and sync
mode. This module turns one into an APScheduler trigger, lists its next fire times from a given `now`,
describes it in words and parses `--every 15m`. All times it returns are timezone-aware; APScheduler runs
in UTC. Wall-clock schedules survive DST: a fixed-time cron whose local time happens twice on the fall-back
day fires once (the first occurrence), and one whose local time does not exist on the spring-forward day
fires once, right after the gap.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import islice
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from worker.scheduling.cron import CronError, CronSpec, describe_cron, parse_cron

Mode = Literal["incremental", "full"]
Kind = Literal["cron", "interval"]
MODES: tuple[Mode, ...] = ("incremental", "full")
MIN_INTERVAL_SECONDS = 60
MAX_INTERVAL_SECONDS = 365 * 86400  # longer ones overflow the fire-time arithmetic (and mean nothing)
# A new connection gets these (mode, kind, cron or interval seconds).
DEFAULT_INCREMENTAL_SECONDS = 15 * 60
DEFAULT_FULL_CRON = "0 2 * * *"

_EPOCH = datetime(2020, 1, 1, tzinfo=UTC)


class ScheduleError(ValueError):
    """A schedule definition is invalid (bad cron, unknown time zone, interval too short)."""


@dataclass(frozen=True)
class ScheduleSpec:
    """What to run when: the part of a `schedules` row that decides fire times."""

    mode: Mode
    kind: Kind
    cron: str | None = None
    timezone: str = "UTC"
    interval_seconds: int | None = None
    anchor: datetime = _EPOCH  # interval schedules fire at anchor + k * interval (stable across restarts)

    def __post_init__(self) -> None:
        if self.kind == "cron":
            if not self.cron:
                raise ScheduleError("a cron schedule needs a cron expression")
            parse_cron(self.cron)
            zone(self.timezone)
        elif not self.interval_seconds or self.interval_seconds < MIN_INTERVAL_SECONDS:
            raise ScheduleError(f"an interval schedule needs at least {MIN_INTERVAL_SECONDS} seconds")
        elif self.interval_seconds > MAX_INTERVAL_SECONDS:
            raise ScheduleError(f"an interval schedule may last at most {MAX_INTERVAL_SECONDS} seconds")

    @property
    def cron_spec(self) -> CronSpec:
        assert self.cron is not None
        return parse_cron(self.cron)


def zone(name: str) -> ZoneInfo:
    """The IANA time zone `name`, or a ScheduleError saying how to name one."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ScheduleError(
            f"unknown time zone {name!r}; use an IANA name such as Europe/Berlin or UTC"
        ) from None


class WallClockCronTrigger(CronTrigger):  # type: ignore[misc]  # APScheduler 3 ships no types
    """CronTrigger made safe for DST fall-back days.

    - A fixed local time that happens twice fires once, at its first occurrence (APScheduler fires twice).
      Crons with a wildcard hour keep firing through the repeated hour, as cron itself does.
    - APScheduler 3.11.3 loses the fold when it steps minutes inside the repeated hour and answers a time
      earlier than asked for (with `now` just after 02:30 CET it answers 02:30 CET again, which makes its
      scheduler loop forever). An answer before the start of the search is therefore never returned: the
      search moves on a minute at a time until it leaves the repeated hour.
    """

    _MAX_PROBES = 120  # minutes; the repeated hour is at most 60 of them

    def __init__(self, spec: CronSpec, timezone: ZoneInfo) -> None:
        super().__init__(timezone=timezone, **spec.apscheduler_fields())
        self._fixed_hours = spec.raw_fields[1] != "*"

    def get_next_fire_time(self, previous_fire_time: datetime | None, now: datetime) -> datetime | None:
        # arithmetic in UTC: adding to a local time in the repeated hour would drop its fold
        floor = now.astimezone(UTC)
        if previous_fire_time is not None:
            floor = min(floor, previous_fire_time.astimezone(UTC) + timedelta(microseconds=1))
        fire: datetime | None = super().get_next_fire_time(previous_fire_time, now)
        probe = floor
        for _ in range(self._MAX_PROBES):
            if fire is None:
                return None
            if fire < floor:
                probe += timedelta(minutes=1)
            elif self._fixed_hours and _second_occurrence(fire):
                probe = fire.astimezone(UTC) + timedelta(minutes=1)
            else:
                return fire
            fire = super().get_next_fire_time(None, probe.astimezone(self.timezone))
        raise RuntimeError(f"no fire time found for {self} after {floor.isoformat()}")


def _second_occurrence(moment: datetime) -> bool:
    """True when this local wall time happened already an hour (the DST shift) earlier."""
    return moment.fold == 1 and moment.replace(fold=0).utcoffset() != moment.utcoffset()


def build_trigger(spec: ScheduleSpec) -> BaseTrigger:
    if spec.kind == "cron":
        return WallClockCronTrigger(spec.cron_spec, zone(spec.timezone))
    return IntervalTrigger(seconds=spec.interval_seconds, start_date=spec.anchor, timezone=UTC)


def fire_times(spec: ScheduleSpec, after: datetime) -> Iterator[datetime]:
    """Fire times strictly after `after`, in order, as aware datetimes in UTC."""
    trigger = build_trigger(spec)
    previous: datetime | None = None
    cursor = after + timedelta(microseconds=1)
    while True:
        fire = trigger.get_next_fire_time(previous, cursor)
        if fire is None:
            return
        fire_utc = fire.astimezone(UTC)
        yield fire_utc
        previous, cursor = fire, fire_utc + timedelta(microseconds=1)


def next_fire_times(spec: ScheduleSpec, now: datetime, count: int = 3) -> list[datetime]:
    """Up to `count` fire times from `now` on; none for a cron whose date never comes ("30 2 31 2 *")."""
    return list(islice(fire_times(spec, now - timedelta(microseconds=1)), count))


def describe(spec: ScheduleSpec) -> str:
    if spec.kind == "cron":
        return describe_cron(spec.cron_spec, spec.timezone)
    return "every " + format_interval(spec.interval_seconds or 0)


# ------------------------------------------------------------------------------------------- intervals

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_INTERVAL = re.compile(r"(\d+)\s*([smhd])")


def parse_interval(text: str) -> int:
    """'15m', '1h30m', '2h', '1d', '90s' -> seconds; at least a minute, at most 365 days."""
    compact = text.strip().lower().replace(" ", "")
    if not compact or _INTERVAL.sub("", compact):
        raise ScheduleError(f"cannot read interval {text!r}; use e.g. 15m, 2h, 1h30m or 1d")
    seconds = sum(int(n) * _UNITS[unit] for n, unit in _INTERVAL.findall(compact))
    if seconds < MIN_INTERVAL_SECONDS:
        raise ScheduleError(f"interval {text!r} is shorter than the minimum of 1 minute")
    if seconds > MAX_INTERVAL_SECONDS:
        raise ScheduleError(f"interval {text!r} is longer than the maximum of 365 days")
    return seconds


def format_interval(seconds: int) -> str:
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds % size == 0:
            count = seconds // size
            return f"{count} {unit}" + ("s" if count != 1 else "") if count != 1 else unit
    return f"{seconds} seconds"


def default_specs(anchor: datetime, timezone: str = "UTC") -> list[ScheduleSpec]:
    """What a new connection is scheduled to: incremental every 15 minutes and a nightly full run."""
    return [
        ScheduleSpec("incremental", "interval", interval_seconds=DEFAULT_INCREMENTAL_SECONDS, anchor=anchor),
        ScheduleSpec("full", "cron", cron=DEFAULT_FULL_CRON, timezone=timezone),
    ]


__all__ = [
    "MODES",
    "CronError",
    "Mode",
    "ScheduleError",
    "ScheduleSpec",
    "build_trigger",
    "default_specs",
    "describe",
    "fire_times",
    "next_fire_times",
    "parse_interval",
]
