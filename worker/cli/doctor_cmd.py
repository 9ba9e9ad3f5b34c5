"""`commitments doctor --connection NAME`: check a connection and print each problem with its fix.

Exit code 0 when nothing is wrong (warnings allowed), 1 when at least one problem was found. `--format json`
prints the same findings as one JSON document, for a monitoring job to alert on; when the settings can't be
read, that document says `"ready": false` with the `error`, and the exit code is 2.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from dataclasses import asdict
from datetime import UTC, datetime

import typer
from rich.markup import escape
from rich.table import Table

from connectors.base import ConnectorError
from core.playbook import PlaybookError
from worker.cli.assess_cmd import OutputFormat
from worker.cli.output import error_text, stdout_console
from worker.connections import open_connection, open_worker_state
from worker.doctor import Finding, diagnose, has_problems
from worker.errors import UserError

console = stdout_console()
_MARK = {"ok": "[green]ok[/]", "warning": "[yellow]warning[/]", "problem": "[red]problem[/]"}


def findings_table(connection: str, findings: list[Finding]) -> Table:
    table = Table(title=f"Doctor: {escape(connection)}")
    for column in ("check", "status", "found", "fix"):
        table.add_column(column)
    for f in findings:
        table.add_row(f.check, _MARK[f.severity], escape(f.detail), escape(f.fix))  # CRM stage names: as is
    return table


def write_json(document: Mapping[str, object]) -> None:
    sys.stdout.write(json.dumps(document, indent=2, ensure_ascii=False) + "\n")


def doctor(
    connection: str | None = typer.Option(
        None, "--connection", "-c", help="Connection name (default: the only one)."
    ),
    sample: int = typer.Option(500, "--sample", min=1, help="Deals to read for the coverage checks."),
    output: OutputFormat = typer.Option(
        OutputFormat.TABLE, "--format", "-f", help="table for people, json for a monitoring job."
    ),
) -> None:
    """Check credentials, API budget, provisioning, field access, stage mapping and data coverage."""
    try:
        with (
            open_worker_state(connection) as (settings, store),
            open_connection(settings, connection, store) as conn,
        ):
            findings = diagnose(
                conn.connector, conn.playbook, datetime.now(UTC), connection=conn.name, sample_size=sample
            )
            name = conn.name
    except (UserError, PlaybookError, ConnectorError) as exc:
        if output is not OutputFormat.JSON:
            raise  # main() prints it on stderr
        # A monitoring job parses stdout: it still gets one document, saying why the check could not run.
        write_json({"connection": connection, "ready": False, "error": error_text(exc), "findings": []})
        raise typer.Exit(getattr(exc, "exit_code", 2)) from exc
    ready = not has_problems(findings)
    if output is OutputFormat.JSON:
        write_json({"connection": name, "ready": ready, "findings": [asdict(f) for f in findings]})
        raise typer.Exit(0 if ready else 1)
    console.print(findings_table(name, findings))
    if not ready:
        console.print("[red]problems found[/]: fix them and rerun `commitments doctor`")
        raise typer.Exit(1)
    console.print("[green]ready to sync[/]")


def register(app: typer.Typer) -> None:
    app.command("doctor")(doctor)
