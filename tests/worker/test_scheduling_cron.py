"""Cron validation, the schedule in words, and fire times (including DST days) from a given `now`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from worker.scheduling.cron import CronError, parse_cron
from worker.scheduling.model import (
    ScheduleError,
    ScheduleSpec,
    build_trigger,
    describe,
    fire_times,
    format_interval,
    next_fire_times,
    parse_interval,
)


def _cron(expr: str, tz: str = "UTC") -> ScheduleSpec:
    return ScheduleSpec("full", "cron", cron=expr, timezone=tz)


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("61 2 * * *", "minute field '61': 61 is out of range 0-59"),
        ("30 24 * * *", "hour field '24': 24 is out of range 0-23"),
        ("30 2 0 * *", "day-of-month field '0': 0 is out of range 1-31"),
        ("30 2 * 13 *", "month field '13': 13 is out of range 1-12"),
        ("30 2 * * 8", "day-of-week field '8': 8 is out of range 0-7"),
        ("30 2 * * funday", "day-of-week field 'funday': 'funday' is not a number"),
        ("*/0 * * * *", "minute field '*/0': step '0' must be a positive number"),
        ("30 5-2 * * *", "hour field '5-2': range '5-2' runs backwards"),
        ("* * *", "has 3 field(s); expected 5"),
        ("0 2 1 * 1", "restricts both day-of-month (1) and day-of-week (1)"),
    ],
)
def test_given_bad_cron_when_parsed_then_error_names_the_field(expression: str, message: str) -> None:
    with pytest.raises(CronError) as raised:
        parse_cron(expression)
    assert message in str(raised.value)


@pytest.mark.parametrize(
    ("expression", "tz", "words"),
    [
        ("30 2 * * 1-5", "Europe/Berlin", "every weekday at 02:30 Europe/Berlin"),
        ("30 2 * * mon-fri", "Europe/Berlin", "every weekday at 02:30 Europe/Berlin"),
        ("0 2 * * *", "UTC", "every day at 02:00 UTC"),
        ("30 2 * * 0", "UTC", "every Sunday at 02:30 UTC"),
        ("30 2 * * 7", "UTC", "every Sunday at 02:30 UTC"),
        ("0 6 * * sat,sun", "UTC", "every Saturday and Sunday at 06:00 UTC"),
        ("0 9 1,15 * *", "UTC", "on the 1st and 15th of every month at 09:00 UTC"),
        ("0 8,12,18 * * *", "UTC", "every day at 08:00, 12:00 and 18:00 UTC"),
        ("*/15 * * * *", "UTC", "every 15 minutes (UTC)"),
        (
            "*/10 9-17 * * 1-5",
            "America/New_York",
            "every 10 minutes during hours 9-17 on weekdays (America/New_York)",
        ),
        ("0 */4 * * *", "UTC", "every 4 hours (UTC)"),
        ("15 * * * *", "UTC", "every hour at minute 15 (UTC)"),
        ("@daily", "UTC", "every day at 00:00 UTC"),
        ("0 3 * 1,7 *", "UTC", "every day in January and July at 03:00 UTC"),
        # a frequency on restricted days, and days of the month in given months
        ("*/15 * 1 * *", "UTC", "every 15 minutes on the 1st of every month (UTC)"),
        ("0 * 1,15 * *", "UTC", "every hour on the hour on the 1st and 15th of every month (UTC)"),
        ("*/10 * * 1 *", "UTC", "every 10 minutes in January (UTC)"),
        ("*/5 * * 6 1-5", "UTC", "every 5 minutes on weekdays in June (UTC)"),
        ("*/5 * * * sat,sun", "UTC", "every 5 minutes on Saturdays and Sundays (UTC)"),
        ("@yearly", "UTC", "on the 1st of January at 00:00 UTC"),
        ("0 0 1-10 3 *", "UTC", "on days 1-10 of March at 00:00 UTC"),
    ],
)
def test_given_cron_when_described_then_words_read_naturally(expression: str, tz: str, words: str) -> None:
    assert describe(_cron(expression, tz)) == words


def test_given_cron_sunday_as_zero_when_firing_then_it_is_sunday_not_apscheduler_monday() -> None:
    # APScheduler 3's from_crontab treats 0 as Monday; cron means Sunday.
    fires = next_fire_times(_cron("0 6 * * 0"), datetime(2026, 11, 24, tzinfo=UTC), 2)  # a Tuesday
    assert [f.strftime("%A %Y-%m-%d") for f in fires] == ["Sunday 2026-11-29", "Sunday 2026-12-06"]


def test_given_unknown_time_zone_when_scheduling_then_error_says_how_to_name_one() -> None:
    with pytest.raises(ScheduleError, match="unknown time zone 'Mars/Olympus'; use an IANA name"):
        _cron("0 2 * * *", "Mars/Olympus")


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("expression", "tz", "after", "expected_utc"),
    [
        # Europe/Berlin spring forward 2026-03-29 02:00 -> 03:00: 02:30 does not exist, fires once (01:30 UTC)
        (
            "30 2 * * *",
            "Europe/Berlin",
            "2026-03-27 12:00",
            ["2026-03-28 01:30", "2026-03-29 01:30", "2026-03-30 00:30"],
        ),
        # Europe/Berlin fall back 2026-10-25 03:00 -> 02:00: 02:30 happens twice, fires once (the first)
        (
            "30 2 * * *",
            "Europe/Berlin",
            "2026-10-23 12:00",
            ["2026-10-24 00:30", "2026-10-25 00:30", "2026-10-26 01:30"],
        ),
        # America/New_York spring forward 2026-03-08 02:00 -> 03:00
        (
            "30 2 * * *",
            "America/New_York",
            "2026-03-06 12:00",
            ["2026-03-07 07:30", "2026-03-08 07:30", "2026-03-09 06:30"],
        ),
        # America/New_York fall back 2026-11-01 02:00 -> 01:00: 02:30 happens once anyway
        (
            "30 2 * * *",
            "America/New_York",
            "2026-10-30 12:00",
            ["2026-10-31 06:30", "2026-11-01 07:30", "2026-11-02 07:30"],
        ),
        # ... and 01:30 happens twice there: fires once
        (
            "30 1 * * *",
            "America/New_York",
            "2026-10-30 12:00",
            ["2026-10-31 05:30", "2026-11-01 05:30", "2026-11-02 06:30"],
        ),
        # a wildcard-hour cron keeps its elapsed-time rhythm through the repeated hour
        (
            "30 * * * *",
            "Europe/Berlin",
            "2026-10-24 23:45",
            ["2026-10-25 00:30", "2026-10-25 01:30", "2026-10-25 02:30"],
        ),
        (
            "0 2 * * *",
            "UTC",
            "2026-11-24 02:00",
            ["2026-11-25 02:00", "2026-11-26 02:00", "2026-11-27 02:00"],
        ),
    ],
)
def test_given_cron_and_now_when_listing_fire_times_then_each_local_time_fires_once(
    expression: str, tz: str, after: str, expected_utc: list[str]
) -> None:
    times = fire_times(_cron(expression, tz), _utc(after))
    assert [next(times) for _ in expected_utc] == [_utc(t) for t in expected_utc]


def test_given_fall_back_day_when_counting_fires_that_day_then_0230_berlin_fires_once() -> None:
    spec = _cron("30 2 * * *", "Europe/Berlin")
    day = [
        t
        for t in _take(fire_times(spec, _utc("2026-10-24 22:00")), 3)
        if t.date().isoformat() == "2026-10-25"
    ]
    assert len(day) == 1


def _take(times: object, n: int) -> list[datetime]:
    iterator = iter(times)  # type: ignore[call-overload]
    return [next(iterator) for _ in range(n)]


def test_given_interval_when_listing_fire_times_then_they_align_to_the_anchor_across_restarts() -> None:
    spec = ScheduleSpec("incremental", "interval", interval_seconds=900, anchor=_utc("2026-01-01 00:05"))
    assert next_fire_times(spec, _utc("2026-11-24 10:07"), 3) == [
        _utc("2026-11-24 10:20"),
        _utc("2026-11-24 10:35"),
        _utc("2026-11-24 10:50"),
    ]


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("15m", 900), ("1h", 3600), ("1h30m", 5400), ("2d", 172800), ("90s", 90), (" 45 m ", 2700)],
)
def test_given_interval_text_when_parsed_then_seconds(text: str, seconds: int) -> None:
    assert parse_interval(text) == seconds


@pytest.mark.parametrize(
    ("text", "message"),
    [("15", "cannot read"), ("fast", "cannot read"), ("30s", "minimum"), ("366d", "maximum of 365 days")],
)
def test_given_bad_interval_when_parsed_then_clear_error(text: str, message: str) -> None:
    with pytest.raises(ScheduleError, match=message):
        parse_interval(text)


@pytest.mark.parametrize(
    ("seconds", "words"),
    [(900, "15 minutes"), (3600, "hour"), (7200, "2 hours"), (86400, "day"), (90, "90 seconds")],
)
def test_given_seconds_when_formatted_then_words(seconds: int, words: str) -> None:
    assert format_interval(seconds) == words


@pytest.mark.parametrize("expression", ["30 * * * *", "*/15 * * * *", "30 2 * * *"])
def test_given_fire_in_repeated_hour_when_scheduler_asks_next_just_after_then_strictly_later(
    expression: str,
) -> None:
    # APScheduler's loop asks get_next_fire_time(previous, now) with now a few ms after the fire; 3.11.3's own
    # CronTrigger answers the same 02:30 CET again there, and its scheduler then loops forever.
    trigger = build_trigger(_cron(expression, "Europe/Berlin"))
    previous, now = None, _utc("2026-10-24 23:50")
    for _ in range(12):
        fire = trigger.get_next_fire_time(previous, now)
        assert fire is not None
        # compared in UTC: Python compares two times of one zone by wall clock, ignoring fold
        assert previous is None or fire.astimezone(UTC) > previous.astimezone(UTC)
        previous, now = fire, fire.astimezone(UTC) + timedelta(milliseconds=5)
