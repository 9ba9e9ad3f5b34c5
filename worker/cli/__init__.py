"""The `commitments` command line: one typer app, one module per command group.

Each module under worker/cli/ defines `register(app)`; `main()` turns the errors a user can cause (bad
config, bad input files, rejected credentials) into one clear message and a non-zero exit code instead
of a traceback.
"""

from __future__ import annotations

import sys

import typer
from rich.markup import escape

from connectors.base import ConnectorError
from core.playbook import PlaybookError
from worker.cli import (
    assess_cmd,
    deals_cmd,
    demo_cmd,
    doctor_cmd,
    sandbox_cmd,
    schedule_cmd,
    sync_cmd,
    worker_cmd,
)
from worker.cli.output import error_text, stderr_console
from worker.errors import UserError

app = typer.Typer(
    name="commitments",
    help="Infer Iannarino's ten buyer commitments on CRM deals and write them back to Salesforce or HubSpot.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

# Each command module registers itself here; add yours to this tuple.
_COMMAND_MODULES: tuple[object, ...] = (
    assess_cmd, sandbox_cmd, sync_cmd, deals_cmd, demo_cmd, schedule_cmd, worker_cmd, doctor_cmd
)
for module in _COMMAND_MODULES:
    module.register(app)  # type: ignore[attr-defined]

def main() -> None:
    try:
        app()
    except (UserError, PlaybookError, ConnectorError) as exc:
        # Scrubbed of secrets a connector's text may echo; CRM and file text may contain [brackets], which
        # rich reads as markup.
        message = escape(error_text(exc))
        stderr_console().print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
        sys.exit(getattr(exc, "exit_code", 2))
