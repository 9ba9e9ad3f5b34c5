"""`commitments schedule add|list|pause|resume|remove|run-now`: the schedules the worker runs.

Edits go to the `schedules` table; a running worker picks them up within a few seconds. `add` validates
the cron expression (naming the bad field), says the schedule in words and shows its next three fire
times in the schedule's zone and in UTC. `run-now` runs one sync at once in this process, through the
same per-connection lock as the worker (it is recorded as skipped when a run is already going).
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from itertools import islice

import typer
from rich.table import Table

from worker.cli.output import stdout_console
from worker.connections import open_worker_state
from worker.errors import UserError
from worker.scheduling import schedules as repo
from worker.scheduling.cron import CronError
from worker.scheduling.model import (
    ScheduleError,
    ScheduleSpec,
    describe,
    fire_times,
    next_fire_times,
    parse_interval,
    zone,
)
from worker.scheduling.runner import Runner, RunRequest, settings_sync
from worker.store import runs as run_store

console = stdout_console()


class ModeOption(StrEnum):
    INCREMENTAL = "incremental"
    FULL = "full"


def _spec(
    cron: str | None, tz: str | None, every: str | None, mode: ModeOption, now: datetime
) -> ScheduleSpec:
    if (cron is None) == (every is None):
        raise UserError('give either --cron "EXPR" (with --tz) or --every INTERVAL (e.g. 15m), not both')
    if every is not None and tz is not None:
        raise UserError("--tz applies to --cron only: an --every interval keeps one pace in every zone")
    try:
        if cron is None:
            seconds = parse_interval(every or "")
            return ScheduleSpec(mode.value, "interval", interval_seconds=seconds, anchor=now)
        spec = ScheduleSpec(mode.value, "cron", cron=cron, timezone=tz or "UTC")
    except (CronError, ScheduleError) as exc:
        raise UserError(str(exc)) from None
    if not next_fire_times(spec, now, 1):
        day, month = spec.cron_spec.raw_fields[2:4]
        raise UserError(
            f"cron expression {cron!r} never runs: day-of-month {day} does not occur in month {month}"
        )
    return spec


def fire_table(spec: ScheduleSpec, now: datetime, count: int = 3) -> Table:
    """The next `count` fire times after `now`, the moment the schedule is added: an interval's anchor is
    that moment, already past when a worker takes the schedule up, so its first run is one interval on (as
    `schedule list` shows)."""
    table = Table(title="next runs", show_edge=False)
    local_zone = zone(spec.timezone) if spec.kind == "cron" else UTC
    table.add_column(f"local ({spec.timezone if spec.kind == 'cron' else 'UTC'})")
    table.add_column("UTC")
    for fire in islice(fire_times(spec, now), count):
        table.add_row(f"{fire.astimezone(local_zone):%a %Y-%m-%d %H:%M %Z}", f"{fire:%a %Y-%m-%d %H:%M}")
    return table


def add(
    connection: str = typer.Option(..., "--connection", "-c", help="Connection name."),
    cron: str | None = typer.Option(None, "--cron", help='Cron expression, e.g. "30 2 * * 1-5".'),
    tz: str | None = typer.Option(
        None, "--tz", help="IANA time zone of the cron expression, e.g. Europe/Berlin (default UTC)."
    ),
    every: str | None = typer.Option(None, "--every", help="Interval instead of cron: 15m, 2h, 1d."),
    mode: ModeOption = typer.Option(ModeOption.INCREMENTAL, "--mode", help="incremental or full."),
) -> None:
    """Add a schedule: a cron expression in a time zone, or a fixed interval."""
    now = datetime.now(UTC)
    spec = _spec(cron, tz, every, mode, now)
    with open_worker_state() as (settings, store):
        crm = repo.crm_of(settings, connection)
        with store.session() as session:
            row = run_store.ensure_connection(session, connection, crm, now)
            same = repo.same_schedule(session, row.id, spec)
            if same is not None:
                paused = f" (paused: `commitments schedule resume {same.id}`)" if same.paused else ""
                words = f"(id {same.id}: {spec.mode}, {describe(spec)}){paused}"
                raise UserError(f"{connection} already has this schedule {words}; nothing added")
            schedule = repo.add_schedule(session, row.id, spec, now)
    console.print(f"added schedule {schedule.id}: {connection} {spec.mode}, [bold]{describe(spec)}[/]")
    console.print(fire_table(spec, now))


def list_(
    connection: str | None = typer.Option(None, "--connection", "-c", help="Only this connection."),
) -> None:
    """List schedules with their next run and the last run's outcome."""
    now = datetime.now(UTC)
    with open_worker_state(connection, lenient=connection is None) as (settings, store):
        with store.session() as session:
            for name, crm in repo.scheduled_connections(settings):
                row = run_store.ensure_connection(session, name, crm, now)
                repo.seed_defaults(session, row.id, now)
        with store.session() as session:
            schedules = repo.list_schedules(session, connection)
            outcomes = repo.last_outcomes(session)
    if not schedules and connection is not None:
        settings.connection(connection)  # a misspelt name says so instead of "no schedules"
    if not schedules:
        console.print("no schedules; add one with `commitments schedule add --connection NAME --every 15m`")
        return
    table = Table(title="Schedules")
    for column in ("id", "connection", "mode", "schedule", "next run (UTC)", "paused", "last run"):
        table.add_column(column)
    for s in schedules:
        fires = [] if s.paused else next_fire_times(s.spec, now, 1)
        next_run = "-" if s.paused else f"{fires[0]:%Y-%m-%d %H:%M}" if fires else "never"
        last = outcomes.get((s.connection_id, s.mode))
        last_text = f"{last[0]} {last[1]:%Y-%m-%d %H:%M}" if last else "never"
        table.add_row(
            str(s.id), s.connection, s.mode, describe(s.spec), next_run, "yes" if s.paused else "", last_text
        )
    console.print(table)


def _set_paused(schedule_id: int, paused: bool) -> None:
    with open_worker_state() as (_settings, store), store.session() as session:
        row = repo.set_paused(session, schedule_id, paused, datetime.now(UTC))
        spec = repo.spec_of(row)
    state = "paused" if paused else "resumed"
    console.print(
        f"schedule {schedule_id} ({spec.mode}, {describe(spec)}) {state}; a running worker follows in seconds"
    )


def pause(schedule_id: int = typer.Argument(..., help="Schedule id (see `schedule list`).")) -> None:
    """Pause a schedule (its job stays, it just does not fire)."""
    _set_paused(schedule_id, True)


def resume(schedule_id: int = typer.Argument(..., help="Schedule id (see `schedule list`).")) -> None:
    """Resume a paused schedule."""
    _set_paused(schedule_id, False)


def remove(schedule_id: int = typer.Argument(..., help="Schedule id (see `schedule list`).")) -> None:
    """Remove a schedule for good."""
    with open_worker_state() as (_settings, store), store.session() as session:
        repo.remove_schedule(session, schedule_id)
    console.print(f"schedule {schedule_id} removed")


def run_now(
    connection: str = typer.Option(..., "--connection", "-c", help="Connection name."),
    mode: ModeOption = typer.Option(ModeOption.INCREMENTAL, "--mode", help="incremental or full."),
) -> None:
    """Run one sync of the connection now, unless a run of it is already going (then it is skipped)."""
    with open_worker_state(connection) as (settings, store):
        runner = Runner(store, settings_sync(store))
        request = RunRequest(connection, repo.crm_of(settings, connection), mode.value, "manual")
        outcome = runner.run(request)
    colour = {"success": "green", "partial": "yellow"}.get(outcome, "red")
    console.print(f"{connection} {mode.value} run: [{colour}]{outcome}[/] (details: `commitments runs`)")
    if outcome == "skipped_locked":
        raise UserError(
            f"a run of {connection!r} is already going; try again when it has finished", exit_code=3
        )
    if outcome not in run_store.SUCCESS_OUTCOMES:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    group = typer.Typer(
        help="Schedules the worker runs (cron in a time zone, or an interval).", no_args_is_help=True
    )
    group.command("add")(add)
    group.command("list")(list_)
    group.command("pause")(pause)
    group.command("resume")(resume)
    group.command("remove")(remove)
    group.command("run-now")(run_now)
    app.add_typer(group, name="schedule")
