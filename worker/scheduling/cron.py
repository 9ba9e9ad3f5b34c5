"""Cron expressions: validation with errors naming the bad field, normalisation for APScheduler, words.

Admins write standard five-field crontab expressions (minute hour day-of-month month day-of-week, plus the
`@daily`-style macros). APScheduler 3's `CronTrigger.from_crontab` reads day-of-week numbers differently
from cron (0 is Monday there, Sunday in cron) and ANDs day-of-month with day-of-week where cron ORs them,
so this module parses the expression itself into explicit value sets and hands APScheduler unambiguous
fields (weekday names). Pure: no clock, no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MACROS = {
    "@hourly": "0 * * * *",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@weekly": "0 0 * * 0",
    "@monthly": "0 0 1 * *",
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
}
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_MONTH_NAMES = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
# cron numbering: 0 (and 7) is Sunday
_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_DAY_NAMES = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")


class CronError(ValueError):
    """The expression is not valid cron; the message names the field and what is accepted there."""


@dataclass(frozen=True)
class _FieldSpec:
    name: str
    low: int
    high: int
    names: tuple[str, ...] = ()  # accepted names, index + name_base = value
    name_base: int = 0


_FIELDS = (
    _FieldSpec("minute", 0, 59),
    _FieldSpec("hour", 0, 23),
    _FieldSpec("day-of-month", 1, 31),
    _FieldSpec("month", 1, 12, _MONTHS, 1),
    _FieldSpec("day-of-week", 0, 7, _DAYS, 0),
)


@dataclass(frozen=True)
class CronSpec:
    """A validated cron expression: its text and the set of values each field allows."""

    expression: str
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # 0 = Sunday ... 6 = Saturday
    raw_fields: tuple[str, str, str, str, str]

    @property
    def every_day_of_month(self) -> bool:
        return self.raw_fields[2] == "*"

    @property
    def every_weekday(self) -> bool:
        return self.raw_fields[4] == "*"

    @property
    def fire_times(self) -> tuple[object, ...]:
        """What decides when it fires: equal for two spellings of one schedule ("1-5" and "MON-FRI", "*" and
        "1-31"). `parse_cron` refuses both day fields restricted, so at most one of them decides."""
        all_days = not self.every_day_of_month and len(self.days) == 31
        all_weekdays = not self.every_weekday and len(self.weekdays) == 7
        if all_days or all_weekdays or (self.every_day_of_month and self.every_weekday):
            days: tuple[object, ...] = ("every day",)
        elif self.every_day_of_month:
            days = ("weekdays", self.weekdays)
        else:
            days = ("days of the month", self.days)
        return (self.minutes, self.hours, self.months, *days)

    def apscheduler_fields(self) -> dict[str, str]:
        """Keyword arguments for `apscheduler.triggers.cron.CronTrigger` with cron's meaning."""
        return {
            "minute": _join(self.minutes, self.raw_fields[0]),
            "hour": _join(self.hours, self.raw_fields[1]),
            "day": _join(self.days, self.raw_fields[2]),
            "month": _join(self.months, self.raw_fields[3]),
            "day_of_week": "*"
            if self.every_weekday
            else ",".join(
                ("mon", "tue", "wed", "thu", "fri", "sat", "sun")[(d - 1) % 7] for d in sorted(self.weekdays)
            ),
        }


def _join(values: frozenset[int], raw: str) -> str:
    return "*" if raw == "*" else ",".join(str(v) for v in sorted(values))


def _value(token: str, spec: _FieldSpec, text: str) -> int:
    lowered = token.lower()
    if lowered in spec.names:
        return spec.names.index(lowered) + spec.name_base
    if not token.isdigit():
        accepted = f"{spec.low}-{spec.high}" + (f" or names like {spec.names[0]}" if spec.names else "")
        raise CronError(f"{spec.name} field {text!r}: {token!r} is not a number ({accepted})")
    value = int(token)
    if not spec.low <= value <= spec.high:
        raise CronError(f"{spec.name} field {text!r}: {value} is out of range {spec.low}-{spec.high}")
    return value


_PART = re.compile(r"^(?P<range>\*|[A-Za-z0-9]+(?:-[A-Za-z0-9]+)?)(?:/(?P<step>[^/]*))?$")


def _parse_field(text: str, spec: _FieldSpec) -> frozenset[int]:
    values: set[int] = set()
    for part in text.split(","):
        match = _PART.match(part)
        if not match:
            raise CronError(
                f"{spec.name} field {text!r}: cannot read {part!r} (use N, N-M, */S, N-M/S or lists)"
            )
        if match["range"] == "*":
            low, high = spec.low, spec.high
        elif "-" in match["range"]:
            first, last = match["range"].split("-")
            low, high = _value(first, spec, text), _value(last, spec, text)
            if low > high:
                raise CronError(f"{spec.name} field {text!r}: range {part!r} runs backwards")
        else:
            low = high = _value(match["range"], spec, text)
            if match["step"] is not None:
                high = spec.high
        step = 1
        if match["step"] is not None:
            if not match["step"].isdigit() or int(match["step"]) == 0:
                raise CronError(
                    f"{spec.name} field {text!r}: step {match['step']!r} must be a positive number"
                )
            step = int(match["step"])
        values.update(range(low, high + 1, step))
    return frozenset(values)


def parse_cron(expression: str) -> CronSpec:
    """Validate a five-field cron expression (or a macro such as @daily) and return its value sets."""
    text = " ".join(expression.split())
    fields = MACROS.get(text.lower(), text).split()
    if len(fields) != 5:
        raise CronError(
            f"cron expression {expression!r} has {len(fields)} field(s); expected 5: "
            "minute hour day-of-month month day-of-week (e.g. '30 2 * * 1-5')"
        )
    minutes, hours, days, months, weekdays = (
        _parse_field(f, s) for f, s in zip(fields, _FIELDS, strict=True)
    )
    if fields[2] != "*" and fields[4] != "*":
        raise CronError(
            f"cron expression {expression!r} restricts both day-of-month ({fields[2]}) and day-of-week "
            f"({fields[4]}); cron would run on either, which is rarely meant: add two schedules instead"
        )
    raw = (fields[0], fields[1], fields[2], fields[3], fields[4])
    return CronSpec(text, minutes, hours, days, months, frozenset(d % 7 for d in weekdays), raw)


# ------------------------------------------------------------------------------------------------ words


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _step_of(raw: str) -> int | None:
    match = re.fullmatch(r"\*/(\d+)", raw)
    return int(match.group(1)) if match else None


def _days_phrases(spec: CronSpec) -> tuple[str, str]:
    """The days twice: as said before clock times ("every weekday", "on the 1st of January") and as said
    after a frequency ("on weekdays", "in January"; empty for every day). One phrase cannot serve both: a
    mechanical rewrite of the first gave "every 15 minutes on the 1st of on month"."""
    months = "" if spec.raw_fields[3] == "*" else _and([_MONTH_NAMES[m - 1] for m in sorted(spec.months)])
    in_months = f" in {months}" if months else ""
    if not spec.every_weekday:
        days = sorted(spec.weekdays)
        if days == [1, 2, 3, 4, 5]:
            lead, after = "every weekday", "on weekdays"
        elif days == [0, 6]:
            lead, after = "every Saturday and Sunday", "on Saturdays and Sundays"
        elif len(days) == 7:
            lead, after = "every day", ""
        else:
            names = _and([_DAY_NAMES[d] for d in days])
            lead, after = f"every {names}", f"on {names}"
        return lead + in_months, (after + in_months).strip()
    if not spec.every_day_of_month:
        ordinal = [_ordinal(d) for d in sorted(spec.days)]
        of = months or "every month"  # "the 1st of January", not "the 1st of every month in January"
        listed = f"the {_and(ordinal)}" if len(ordinal) <= 4 else f"days {spec.raw_fields[2]}"
        phrase = f"on {listed} of {of}"
        return phrase, phrase
    return "every day" + in_months, in_months.strip()


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _times_phrase(spec: CronSpec) -> tuple[str, bool]:
    """The time-of-day part and whether it is a frequency ("every 15 minutes") rather than clock times."""
    minute_raw, hour_raw = spec.raw_fields[0], spec.raw_fields[1]
    if len(spec.minutes) * len(spec.hours) <= 4:
        times = [f"{h:02d}:{m:02d}" for h in sorted(spec.hours) for m in sorted(spec.minutes)]
        return "at " + _and(times), False
    if minute_raw == "*":
        freq = "every minute"
    elif _step_of(minute_raw):
        freq = f"every {_step_of(minute_raw)} minutes"
    elif len(spec.minutes) == 1:
        minute = next(iter(spec.minutes))
        freq = "every hour on the hour" if minute == 0 else f"every hour at minute {minute}"
    else:
        freq = "at minutes " + minute_raw
    if hour_raw == "*":
        return freq, True
    hour_step = _step_of(hour_raw)
    if hour_step and len(spec.minutes) == 1:
        minute = next(iter(spec.minutes))
        return f"every {hour_step} hours at minute {minute}" if minute else f"every {hour_step} hours", True
    return f"{freq} during hours {hour_raw}", True


def describe_cron(spec: CronSpec, timezone: str) -> str:
    """The schedule in words, e.g. "every weekday at 02:30 Europe/Berlin"."""
    times, is_frequency = _times_phrase(spec)
    lead, after = _days_phrases(spec)
    if not is_frequency:
        return f"{lead} {times} {timezone}"
    return f"{times}{' ' + after if after else ''} ({timezone})"
