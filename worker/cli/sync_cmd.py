"""`commitments sync`, `commitments runs` and `commitments setup`: run the main job and see what it did.

`sync` streams one run with a progress line (deals read, assessed, changed) and ends with a summary table
(counts, failures with reasons, API calls by kind, duration, and how many deals sit in a stage the
playbook does not map, which are assessed as expecting nothing); `--dry-run` lists the planned writes
instead of making them, and `--deal ID` (repeatable) syncs just those deals now, naming each id the CRM
does not have. Ctrl-C or SIGTERM stops the run cleanly at the next chunk boundary. `runs` shows
the run history from the state store; `setup` provisions the CRM fields (idempotent, with a dry run).
"""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from types import FrameType
from typing import Any, Protocol

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy.orm import Session

from connectors.base import ConnectorError, SetupReport, no_access_to_grant
from core.models import WritePlan
from core.playbook import PlaybookError
from worker.cli.output import stderr_console, stdout_console
from worker.connections import deal_ids, open_connection, open_worker_state
from worker.errors import UserError
from worker.observability.redaction import scrub
from worker.scheduling.schedules import crm_of, newest_run_id, record_failed_start
from worker.settings import Settings
from worker.store import Store
from worker.store import runs as run_store
from worker.store.models import RunRow
from worker.sync import ChunkReport, SyncAlreadyRunning, SyncResult, run_sync

console = stdout_console()
PLAN_ROWS = 40


@contextmanager
def stop_on_signals() -> Iterator[Callable[[], bool]]:
    """A stop flag raised by the first SIGINT/SIGTERM (the run ends at the next chunk boundary); a second
    SIGINT falls back to the default behaviour (KeyboardInterrupt)."""
    requested = False

    def handler(signum: int, _frame: FrameType | None) -> None:
        nonlocal requested
        if requested and signum == signal.SIGINT:
            raise KeyboardInterrupt
        requested = True
        console.print("[yellow]stopping after the current chunk (Ctrl-C again to abort)...[/]")

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield lambda: requested
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def execute_sync(
    connection_name: str | None,
    *,
    full: bool,
    dry_run: bool,
    deals: Sequence[str] = (),
    out: Console = console,
    **open_options: Any,
) -> SyncResult:
    """Open the connection, run one sync with a progress line, print the summary; shared with `demo`.
    `deals` (ids as typed) makes it a `deals` run of just those; one that cannot be an id of the connection's
    CRM is a usage error, before anything is sent to the CRM or recorded."""
    with open_worker_state(connection_name) as (settings, store):
        name = settings.connection(connection_name).name  # an unknown name fails here: nothing to record
        try:
            ids = deal_ids(crm_of(settings, name), deals)
        except ValueError as exc:
            raise typer.BadParameter(str(exc), param_hint="'--deal'") from None
        newest_before = newest_run_id(store.engine, name)
        mode = "deals" if ids else "full" if full else "incremental"
        try:
            return _sync_and_report(settings, store, name, mode, ids, dry_run, out, open_options)
        except (UserError, PlaybookError, ConnectorError) as exc:
            if not isinstance(exc, SyncAlreadyRunning):  # not a failure: another run is doing the work
                # a rejected login or a broken playbook is a failed run, in `runs` as a scheduled one is
                record_failed_start(
                    store.engine, name, crm_of(settings, name), mode=mode, trigger="manual",
                    now=datetime.now(UTC), reason=scrub(str(exc)), newest_before=newest_before,
                    dry_run=dry_run,
                )
            raise


def _sync_and_report(
    settings: Settings, store: Store, name: str, mode: str, ids: list[str], dry_run: bool, out: Console,
    open_options: dict[str, Any],
) -> SyncResult:
    planned: list[WritePlan] = []
    with (
        open_connection(settings, name, store, **open_options) as connection,
        stop_on_signals() as stop,
    ):
        columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
        with Progress(*columns, console=Console(stderr=True), transient=True) as progress:
            task = progress.add_task(f"syncing {connection.name}", total=None)

            def on_chunk(report: ChunkReport) -> None:
                c = report.counts
                text = f"{connection.name}: {c.deals_read} read, {c.deals_assessed} assessed"
                text += f", {c.deals_changed} to change"
                progress.update(task, description=text)
                if dry_run:
                    room = PLAN_ROWS - len(planned)
                    planned.extend([p for p in report.plans if not p.is_empty][: max(room, 0)])

            result = run_sync(
                connection,
                datetime.now(UTC),
                mode=mode,
                deal_ids=ids,
                dry_run=dry_run,
                should_stop=stop,
                on_chunk=on_chunk,
            )
    if dry_run:
        out.print(plan_table(planned, result))
    out.print(summary_table(result))
    if result.failures:
        out.print(failures_table(result.failures, result.counts.failures))
    for deal_id in result.deals_not_found:
        out.print(
            f"[red]deal {escape(deal_id)} not found in the CRM[/] (deleted or merged, or in a pipeline "
            "the connection leaves out): not synced"
        )
    return result


def plan_table(plans: list[WritePlan], result: SyncResult) -> Table:
    table = Table(
        title=f"Dry run: planned writes (first {len(plans)} of {result.counts.deals_changed} deals)"
    )
    for column in ("deal", "fields to write", "task actions"):
        table.add_column(column)
    for plan in plans:
        fields = ", ".join(sorted(f.value for f in plan.changed)) or "-"
        tasks = ", ".join(f"{t.kind.value} {t.commitment.value}" for t in plan.tasks) or "-"
        table.add_row(escape(plan.deal_id), fields, tasks)
    return table


def summary_table(result: SyncResult) -> Table:
    colour = {"success": "green", "partial": "yellow"}.get(result.outcome, "red")
    dry = ", dry run" if result.dry_run else ""
    title = f"Sync {escape(result.connection)} ({result.mode}{dry}): [{colour}]{result.outcome}[/]"
    table = Table(title=title, show_header=False)
    table.add_column("what")
    table.add_column("count", justify="right")
    c = result.counts
    rows = [
        ("deals read", c.deals_read),
        ("deals assessed", c.deals_assessed),
        ("deals to change" if result.dry_run else "deals changed", c.deals_changed),
        ("fields to write" if result.dry_run else "fields written", c.fields_written),
        ("tasks to create" if result.dry_run else "tasks created", c.tasks_created),
        ("tasks to complete" if result.dry_run else "tasks completed", c.tasks_completed),
        ("tasks to reopen" if result.dry_run else "tasks reopened", c.tasks_reopened),
        ("failures (retried next run)", c.failures),
    ]
    if result.deals_forgotten:
        rows.append(("deals gone from the CRM (forgotten)", result.deals_forgotten))
    for label, value in rows:
        table.add_row(label, str(value))
    calls = ", ".join(f"{kind} {n}" for kind, n in sorted(result.api_calls.items())) or "none"
    table.add_row("API calls", f"{sum(result.api_calls.values())} ({calls})")
    table.add_row("duration", f"{result.duration_s:.2f} s")
    for warning, deals in result.warnings.items():  # stage names are CRM text: "[...]" is not markup
        text = f"{deals} deal{'s' if deals != 1 else ''}: {warning}; such a deal expects no commitment until "
        text += "the playbook maps it (`commitments doctor` lists what is unmapped)"
        table.add_row("warning", f"[yellow]{escape(text)}[/]")
    if result.error:
        table.add_row("error", f"[red]{escape(result.error)}[/]")  # CRM text: "[...]" is not markup
    return table


class _Failure(Protocol):
    @property
    def deal_id(self) -> str: ...
    @property
    def operation(self) -> str: ...
    @property
    def code(self) -> str | None: ...
    @property
    def message(self) -> str: ...


def failures_table(failures: Sequence[_Failure], total: int, shown: int = 20) -> Table:
    """The per-record failures (a run's `RecordFailure`s, or its stored rows), the first `shown` of them."""
    listed = failures[:shown]
    table = Table(title=f"Failures ({total}; the first {len(listed)} shown)")
    for column in ("deal", "operation", "code", "reason"):
        table.add_column(column)
    for failure in listed:
        # What the CRM answered is printed as is: "[q3]" in a message is not a style, "[/x]" not a tag.
        code, message = escape(failure.code or ""), escape(failure.message)
        table.add_row(escape(failure.deal_id), failure.operation, code, message)
    return table


def _run_failures(session: Session, run_id: int, limit: int) -> Table | str:
    """What a run (a scheduled one too, whose summary nobody saw) failed on, from the state store."""
    run = session.get(RunRow, run_id)
    if run is None:
        raise UserError(f"no run {run_id}; `commitments runs` lists them")
    if not run.failures:
        error = f"; it stopped on: {escape(run.error)}" if run.error else ""
        return f"run {run_id} ({run.outcome}) had no per-record failures{error}"
    return failures_table(run_store.failures_of(session, run_id, limit), run.failures, limit)


def setup_table(report: SetupReport) -> Table:
    if report.dry_run:
        title = f"Setup (dry run: nothing changed): {len(report.pending)} to create or update"
    else:
        title = f"Setup: {len(report.pending)} created or updated"
        title += f", {len(report.refused)} refused" if report.refused else ""
    table = Table(title=title)
    for column in ("kind", "name", "action", "detail"):
        table.add_column(column)
    for change in report.changes:
        table.add_row(change.kind, escape(change.name), change.action, escape(change.detail))
    return table


def runs_table(rows: list[tuple[RunRow, str]]) -> Table:
    table = Table(title="Sync runs (newest first)")
    headers = ("id", "connection", "started (UTC)", "mode", "trigger", "outcome", "read", "changed")
    for column in (*headers, "fields", "tasks +/✓/↺", "failures", "API calls", "duration", "error"):
        table.add_column(column)
    for run, name in rows:
        mode = f"{run.mode}{' dry' if run.dry_run else ''}"
        table.add_row(
            str(run.id),
            escape(name),
            run.started_at.strftime("%Y-%m-%d %H:%M:%S"),
            mode,
            run.trigger,
            run.outcome,
            str(run.deals_read),
            str(run.deals_changed),
            str(run.fields_written),
            f"{run.tasks_created}/{run.tasks_completed}/{run.tasks_reopened}",
            str(run.failures),
            str(sum((run.api_calls or {}).values())),
            f"{run.duration_s:.1f} s" if run.duration_s is not None else "",
            escape((run.error or "")[:60]),
        )
    return table


def register(app: typer.Typer) -> None:
    @app.command()
    def sync(
        connection: str | None = typer.Option(
            None, "--connection", "-c", help="Connection name (default: the only one, or the sandbox)."
        ),
        full: bool = typer.Option(
            False, "--full", help="Read every deal, not just those changed since the last run."
        ),
        dry_run: bool = typer.Option(
            False, "--dry-run", help="Assess and plan, write nothing; list the planned writes."
        ),
        deal: list[str] | None = typer.Option(
            None,
            "--deal",
            metavar="ID",
            help="Sync just this deal now (repeatable): no other deal is read, the watermark stays; "
            "exits 1 unless every deal named was synced.",
        ),
    ) -> None:
        """Read deals, assess the ten commitments, write the changes back to the CRM and record the run."""
        if deal and full:
            raise typer.BadParameter(
                "cannot be combined with --full (a --deal run reads just the deals it names)",
                param_hint="'--deal'",
            )
        result = execute_sync(connection, full=full, dry_run=dry_run, deals=deal or ())
        if not result.ok or (deal and result.outcome != "success"):
            raise typer.Exit(1)

    @app.command()
    def runs(
        connection: str | None = typer.Option(
            None, "--connection", "-c", help="Only this connection's runs."
        ),
        limit: int = typer.Option(20, "--limit", "-n", min=1, help="How many runs to show."),
        failures: int | None = typer.Option(
            None, "--failures", metavar="RUN_ID", help="What run RUN_ID failed on, with the CRM's reasons."
        ),
    ) -> None:
        """Show the sync run history from the state store."""
        # History needs no connection's settings: one with a problem is set aside, with a warning.
        with (
            open_worker_state(connection, lenient=connection is None) as (settings, store),
            store.session() as session,
        ):
            if failures is not None:
                console.print(_run_failures(session, failures, limit))
                return
            rows = run_store.recent_runs(session, connection, limit)
            if not rows and connection is not None:
                settings.connection(connection)  # a misspelt name says so instead of "no runs yet"
            console.print(runs_table(rows) if rows else "no runs recorded yet; run `commitments sync`")

    @app.command()
    def setup(
        connection: str | None = typer.Option(None, "--connection", "-c", help="Connection name."),
        dry_run: bool = typer.Option(False, "--dry-run", help="Show what would be created; change nothing."),
        assign_owners: bool = typer.Option(
            False,
            "--assign-owners",
            help="Salesforce: also give the active owners of open deals who can't read the commitment fields "
            "the 'Commitments User' permission set (`doctor` lists them).",
        ),
    ) -> None:
        """Provision the plugin's fields, picklist values, permissions and views (idempotent)."""
        with (
            open_worker_state(connection) as (settings, store),
            open_connection(settings, connection, store, provision_sandbox=False) as opened,
        ):
            if assign_owners and not opened.connector.grants_field_access:  # said before anything changes
                raise no_access_to_grant(opened.connector.crm)
            report = opened.connector.setup(opened.playbook, dry_run=dry_run)
            if assign_owners:
                try:
                    report.changes += opened.connector.grant_field_access(dry_run=dry_run).changes
                except ConnectorError:
                    console.print(setup_table(report))  # what setup did before the error, then the error
                    raise
        console.print(setup_table(report))
        if report.refused:
            stderr_console().print(
                f"{len(report.refused)} refused (reasons above): fix them in Salesforce and run setup again",
                highlight=False,
            )
            raise typer.Exit(1)
