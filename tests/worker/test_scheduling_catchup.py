"""The catch-up decision at worker start, driven by `now` and the run history (no clock, no waiting)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from worker.scheduling.catchup import catch_up_runs
from worker.scheduling.model import ScheduleSpec

ANCHOR = datetime(2026, 1, 1, tzinfo=UTC)
EVERY_15 = ScheduleSpec("incremental", "interval", interval_seconds=900, anchor=ANCHOR)
NIGHTLY = ScheduleSpec("full", "cron", cron="0 2 * * *", timezone="Europe/Berlin")  # 01:00 UTC in winter


def _t(text: str) -> datetime:
    return datetime.fromisoformat(f"2026-11-24 {text}").replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("history", "now", "expected"),
    [
        # never succeeded: due, and full wins
        ({}, "10:00", [(1, "full")]),
        # both fresh: nothing to catch up
        ({(1, "incremental"): _t("09:50"), (1, "full"): _t("01:00")}, "10:00", []),
        # incremental older than its 15 minutes (a fire at 09:45 passed since 09:40)
        ({(1, "incremental"): _t("09:40"), (1, "full"): _t("01:00")}, "10:00", [(1, "incremental")]),
        # the nightly full run was missed (last full yesterday before 01:00 UTC)
        (
            {(1, "incremental"): _t("09:50"), (1, "full"): datetime(2026, 11, 23, 0, 59, tzinfo=UTC)},
            "10:00",
            [(1, "full")],
        ),
        # a fresh full run covers the incremental schedule too
        ({(1, "incremental"): _t("03:00"), (1, "full"): _t("09:55")}, "10:00", []),
    ],
)
def test_given_history_when_worker_starts_then_stale_connections_catch_up(
    history: dict[tuple[int, str], datetime], now: str, expected: list[tuple[int, str]]
) -> None:
    runs = catch_up_runs([(1, EVERY_15), (1, NIGHTLY)], history, _t(now))  # type: ignore[arg-type]
    assert [(run.connection_id, run.mode) for run in runs] == expected


def test_given_downtime_over_several_fires_when_caught_up_then_one_run_per_connection() -> None:
    history = {(1, "incremental"): _t("02:00"), (2, "incremental"): _t("09:59")}
    runs = catch_up_runs([(1, EVERY_15), (2, EVERY_15)], history, _t("10:00"))  # type: ignore[arg-type]
    assert [(run.connection_id, run.mode, run.due_since) for run in runs] == [(1, "incremental", _t("02:15"))]
    assert "due since 2026-11-24 02:15 UTC" in runs[0].reason
