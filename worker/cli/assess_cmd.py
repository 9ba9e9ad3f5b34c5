"""`commitments assess FILE` and `commitments explain FILE DEAL_ID` (or `explain DEAL_ID --file FILE`):
core on a Deal JSON export, with no CRM at all.

`assess` prints one row per deal (stage, score, secured, missing, next, stage gap) or JSON for machines;
`explain` walks one deal's ten commitments: status, evidence, reason and what would secure it. Input
mistakes end as one clear message, never a traceback: malformed JSON names the line and column; a bad
deal names its position, id and field, the other deals are still assessed and the exit code is 1.
`explain` reads the deal from a file (before the id, or as `--file`) or from a connection's last sync.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from core.assess import assess
from core.deal_parsing import DealInputError, parse_deals
from core.models import Assessment, CommitmentStatus, Deal, WritePlan
from core.plan import plan
from core.playbook import Playbook, PlaybookError
from worker.cli.output import stderr_console, stdout_console
from worker.errors import UserError
from worker.playbook_files import load_playbook

FILE_HELP = 'Deal JSON file: an array of deals or {"deals": [...]} (see docs/deal-json.md).'
NOW_HELP = "Assess as of this ISO time (default: now). A time without an offset is read as UTC."
PLAYBOOK_HELP = "Playbook YAML to use instead of the packaged default."
_STATUS_STYLE = {
    CommitmentStatus.SECURED: "green",
    CommitmentStatus.PARTIAL: "yellow",
    CommitmentStatus.MISSING: "red",
    CommitmentStatus.UPCOMING: "dim",
}


class OutputFormat(StrEnum):
    TABLE = "table"
    JSON = "json"


@dataclass(frozen=True)
class LoadedDeals:
    deals: list[Deal]
    errors: list[DealInputError]


@contextmanager
def _user_errors() -> Iterator[None]:
    """Show a user's mistake as one line on stderr and exit non-zero, as worker.cli.main does."""
    try:
        yield
    except (UserError, PlaybookError) as exc:
        stderr_console().print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
        raise typer.Exit(getattr(exc, "exit_code", 2)) from None


def parse_now(value: str | None) -> datetime:
    if value is None:
        return datetime.now(UTC)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise UserError(f"--now {value!r} is not an ISO date or time (e.g. 2026-04-01T12:00:00Z)") from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def load_deal_file(path: Path) -> LoadedDeals:
    """Read and parse a Deal JSON file; a file-level problem raises UserError naming the file."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: cannot read the file ({exc})") from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UserError(f"{path}: invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from None
    try:
        deals, errors = parse_deals(document)
    except ValueError as exc:
        raise UserError(f"{path}: {exc}") from None
    return LoadedDeals(deals, errors)


def _print_input_errors(path: Path, errors: list[DealInputError]) -> None:
    err = stderr_console()
    for error in errors:  # one line each, however long, so logs and grep keep an error whole
        text = f"[bold red]error:[/] {escape(str(path))}: {escape(str(error))}"
        err.print(text, highlight=False, soft_wrap=True)


def _ids(values: tuple[Any, ...]) -> str:
    return " ".join(str(v) for v in values) or "-"


def _table(rows: list[tuple[Deal, Assessment]]) -> Table:
    table = Table(title="Buyer commitments")
    table.add_column("Deal", max_width=40, overflow="ellipsis", no_wrap=True)
    table.add_column("Stage", no_wrap=True)
    table.add_column("Score", justify="right", no_wrap=True)
    table.add_column("Secured", overflow="fold")
    table.add_column("Missing", overflow="fold", style="red")
    table.add_column("Next", no_wrap=True)
    table.add_column("Gap", justify="center", no_wrap=True)
    for deal, result in rows:
        table.add_row(
            escape(f"{deal.id} {deal.name}".strip()),
            escape(deal.stage_label or deal.stage),
            f"{result.score}/10",
            _ids(result.secured),
            _ids(result.missing),
            str(result.next or "-"),
            "[red]yes[/]" if result.stage_gap else "",
        )
    return table


def _json_row(deal: Deal, result: Assessment, write_plan: WritePlan) -> dict[str, Any]:
    row: dict[str, Any] = {"name": deal.name, "pipeline": deal.pipeline, **result.model_dump(mode="json")}
    row["plan"] = {
        "changed": sorted(str(f) for f in write_plan.changed),
        "tasks": [t.model_dump(mode="json", exclude_defaults=True) for t in write_plan.tasks],
    }
    return row


def _error_json(error: DealInputError) -> dict[str, Any]:
    return {
        "index": error.index,
        "deal_id": error.deal_id,
        "problems": [{"path": p.path, "problem": p.problem} for p in error.problems],
    }


def assess_command(
    file: Path = typer.Argument(..., help=FILE_HELP, show_default=False),
    output: OutputFormat = typer.Option(
        OutputFormat.TABLE, "--format", "-f", help="table for people, json for machines."
    ),
    now: str | None = typer.Option(None, "--now", help=NOW_HELP, show_default=False),
    playbook_path: Path | None = typer.Option(None, "--playbook", help=PLAYBOOK_HELP, show_default=False),
) -> None:
    """Assess every deal in a Deal JSON file: score, secured, missing, next commitment and stage gap."""
    with _user_errors():
        at = parse_now(now)
        playbook = load_playbook(playbook_path)
        loaded = load_deal_file(file)
    _print_input_errors(file, loaded.errors)
    rows = [(deal, assess(deal, playbook, at)) for deal in loaded.deals]
    out = stdout_console()
    if output is OutputFormat.JSON:
        document = {
            "assessed_at": at.isoformat(),
            "assessments": [_json_row(d, r, plan(r, d, playbook, at)) for d, r in rows],
            "errors": [_error_json(e) for e in loaded.errors],
        }
        out.print_json(json.dumps(document), indent=2)
    else:
        out.print(_table(rows))
        for deal, result in rows:
            for warning in result.warnings:
                out.print(f"[yellow]warning:[/] {escape(deal.id)}: {escape(warning)}", highlight=False)
        failed = f", [red]{len(loaded.errors)} could not be read[/]" if loaded.errors else ""
        out.print(f"{len(rows)} deals assessed as of {at.isoformat()}{failed}", highlight=False)
    if loaded.errors:
        raise typer.Exit(1)


def _explain(out: Console, deal: Deal, result: Assessment, write_plan: WritePlan, playbook: Playbook) -> None:
    label = f" ({escape(deal.stage_label)})" if deal.stage_label else ""  # the value is what stage maps name
    out.print(
        f"[bold]{escape(deal.name or deal.id)}[/] ({escape(deal.id)})  stage {escape(deal.stage)!r}{label} "
        f"in pipeline {escape(deal.pipeline)!r}",
        highlight=False,
    )
    gap = "  [red]stage is ahead of the commitments[/]" if result.stage_gap else ""
    # The label, as `explain --connection` and the CRM's picklist show it, not the commitment id.
    next_label = escape(playbook.label(result.next)) if result.next else "none"
    out.print(f"score {result.score}/10, next: {next_label}{gap}", highlight=False)
    for warning in result.warnings:
        out.print(f"[yellow]warning:[/] {escape(warning)}", highlight=False)
    for item in result.results:
        guidance = playbook.commitments[item.commitment]
        style = _STATUS_STYLE[item.status]
        expected = " (expected by the stage)" if item.expected else ""
        out.print(
            f"\n[bold]{escape(guidance.label)}[/]: [{style}]{item.status}[/]{expected}", highlight=False
        )
        out.print(f"  why: {escape(item.reason)}", highlight=False)
        for found in item.evidence:
            when = f" {found.at.date().isoformat()}" if found.at else ""
            record = f" {found.record_id}" if found.record_id else ""
            out.print(
                f"  - {found.kind} {escape(found.source)}{escape(record)}{when}: {escape(found.snippet)}",
                highlight=False,
            )
        if item.status is not CommitmentStatus.SECURED:
            out.print(f"  to secure: {escape(guidance.secure_hint)}", highlight=False)
    for task in write_plan.tasks:
        verb = "create task" if task.kind == "create" else "complete task"
        out.print(f"\nplanned: {verb} {escape(task.key)} {escape(task.subject)}", highlight=False)


def explain_command(
    source: list[str] = typer.Argument(
        ...,
        metavar="[FILE] DEAL_ID",
        help="The Deal JSON file (or give --file) and the deal's id (Salesforce opportunity, HubSpot deal).",
        show_default=False,
    ),
    file: Path | None = typer.Option(None, "--file", help=FILE_HELP, show_default=False),
    now: str | None = typer.Option(None, "--now", help=NOW_HELP, show_default=False),
    playbook_path: Path | None = typer.Option(None, "--playbook", help=PLAYBOOK_HELP, show_default=False),
    connection: str | None = typer.Option(
        None, "--connection", "-c", help="Show the deal's last assessment stored by `commitments sync`."
    ),
) -> None:
    """Explain one deal: each commitment's status, evidence, reason and what would secure it.

    The deal comes from a Deal JSON file (FILE DEAL_ID, or DEAL_ID --file FILE) or the last sync (-c NAME).
    """
    with _user_errors():
        file, deal_id = _file_and_deal_id(source, file)
        if connection is not None and file is not None:
            raise UserError("explain reads a Deal JSON file or the last sync (--connection), not both")
        if connection is not None and (now is not None or playbook_path is not None):
            # The stored assessment is shown as that sync made it; silently ignoring them would mislead.
            raise UserError("--now and --playbook apply to a Deal JSON file, not to a stored assessment")
        if connection is not None:
            from worker.cli.deals_cmd import explain_stored  # the state-store side lives with `deals`

            explain_stored(deal_id, connection)
            return
        if file is None and Path(deal_id).is_file():  # `explain deals.json`: the file, but no deal id
            raise UserError(f"{deal_id} is the Deal JSON file; give the deal's id after it: FILE DEAL_ID")
        if file is None:
            raise UserError(
                "give the deal's source: a Deal JSON file (explain FILE DEAL_ID) or --connection NAME"
            )
        at = parse_now(now)
        playbook = load_playbook(playbook_path)
        loaded = load_deal_file(file)
        deal = _find(file, loaded, deal_id)
    result = assess(deal, playbook, at)
    _explain(stdout_console(), deal, result, plan(result, deal, playbook, at), playbook)


def _file_and_deal_id(source: list[str], file: Path | None) -> tuple[Path | None, str]:
    """Split `[FILE] DEAL_ID`: the file may come first (as in `assess FILE`) or as --file, not both."""
    if len(source) == 1:
        return file, source[0]
    if len(source) > 2:
        raise UserError(f"explain takes [FILE] DEAL_ID, got {len(source)} arguments: {' '.join(source)}")
    if file is not None:
        raise UserError(f"give the Deal JSON file once: {source[0]!r} or --file {str(file)!r}")
    return Path(source[0]), source[1]


def _find(path: Path, loaded: LoadedDeals, deal_id: str) -> Deal:
    for deal in loaded.deals:
        if deal.id == deal_id:
            return deal
    for error in loaded.errors:
        if error.deal_id == deal_id:
            raise UserError(f"{path}: {error}")
    known = ", ".join(d.id for d in loaded.deals[:5]) + (", ..." if len(loaded.deals) > 5 else "")
    raise UserError(f"{path}: no deal with id {deal_id!r} ({len(loaded.deals)} deals: {known or 'none'})")


def register(app: typer.Typer) -> None:
    app.command("assess")(assess_command)
    app.command("explain")(explain_command)
