"""`commitments deals --missing COMMITMENT`: a manager's list of deals missing a commitment, and the
stored explanation of one deal (`commitments explain DEAL_ID --connection NAME`).

Both read the state store's latest assessments (written by `commitments sync`), so they need no CRM call.
The list prints as a table, or as CSV (for a spreadsheet) or JSON (for a script) with `--format`.
"""

from __future__ import annotations

import csv
import json
import sys
from enum import StrEnum
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from core.models import Assessment, Commitment, CommitmentStatus
from core.playbook import Playbook
from worker.cli.output import counted, stderr_console, stdout_console
from worker.connections import connection_playbook, connection_settings, deal_ids, open_store
from worker.errors import UserError
from worker.settings import ConnectionSettings, SandboxConnection, Settings
from worker.store import Store
from worker.store import deals as deal_store
from worker.store import runs as run_store
from worker.store.models import DealAssessmentRow, RunRow

console = stdout_console()


class ListFormat(StrEnum):
    TABLE = "table"
    CSV = "csv"
    JSON = "json"


def resolve_commitment(value: str, playbook: Playbook) -> Commitment:
    """A commitment by id ("consensus"), label ("Commitment to Build Consensus") or the label's end as a
    manager says it ("Build Consensus"), case-insensitively."""
    wanted = " ".join(value.split()).casefold()
    for key, commitment in playbook.commitment_by_label.items():
        if key.casefold() == wanted:
            return commitment
    ending = {c for key, c in playbook.commitment_by_label.items() if key.casefold().endswith(f" {wanted}")}
    if len(ending) == 1:
        return ending.pop()
    valid = ", ".join(f"{c.value} ({playbook.label(c)})" for c in Commitment)
    raise UserError(f"unknown commitment {value!r}; expected one of: {valid}")


def _connection_id(store: Store, settings: Settings, name: str | None) -> tuple[int, str]:
    resolved = settings.connection(name).name
    with store.session() as session:
        row = run_store.find_connection(session, resolved)
    if row is None:
        raise UserError(
            f"no sync recorded for connection {resolved!r}; run `commitments sync -c {resolved}` first"
        )
    return row.id, resolved


_NOT_SUCCEEDED = {
    "failed": "failed", "budget_stopped": "stopped at the API budget", "interrupted": "was interrupted"
}


def unsynced_note(run: RunRow | None, name: str) -> str | None:
    """One line saying the connection's last sync did not succeed, so what it stored (it assesses before it
    writes) may not be in the CRM; None when it succeeded (or there is none)."""
    if run is None or run.outcome in run_store.SUCCESS_OUTCOMES:
        return None
    error = " ".join((run.error or "").split())
    short = f": {error[:197]}..." if len(error) > 200 else f": {error}" if error else ""
    what = _NOT_SUCCEEDED.get(run.outcome, run.outcome)
    return (
        f"note: the last sync of {name} (run {run.id}, {run.started_at:%Y-%m-%d %H:%M} UTC) {what}{short}; "
        "these assessments may not be in the CRM yet"
    )


def print_note(note: str | None) -> None:
    """On stderr, so a CSV or JSON export stays clean; on one line, as CRM and error text are."""
    if note is not None:
        stderr_console().print(f"[yellow]{escape(note)}[/]", highlight=False, soft_wrap=True)


def shown_stage(row: DealAssessmentRow) -> str:
    """The stage as the CRM shows it (HubSpot's label), else its value."""
    return row.stage_label or row.stage


def _ids(encoded: str) -> str:
    return ", ".join(c.value for c in deal_store.decode_commitments(encoded)) or "-"


def missing_table(
    rows: list[DealAssessmentRow],
    commitment: Commitment,
    playbook: Playbook,
    connection: str,
    include_closed: bool = False,
) -> Table:
    which = "deals" if include_closed else "open deals"
    table = Table(title=f"{connection}: {which} missing {playbook.label(commitment)} ({len(rows)})")
    for column in ("deal", "name", "stage", "owner", "score", "next", "secured", "assessed (UTC)"):
        table.add_column(column)
    for row in rows:
        # CRM text is printed as is: "[q3]" in a deal name is not a style, "[/x]" not a closing tag.
        table.add_row(
            escape(row.deal_id),
            escape(row.name),
            escape(shown_stage(row)),
            escape(row.owner_id or ""),
            str(row.score),
            row.next or "-",
            _ids(row.secured),
            row.assessed_at.strftime("%Y-%m-%d %H:%M"),
        )
    return table


def _record(row: DealAssessmentRow) -> dict[str, Any]:
    """One listed deal as plain values: commitments as ids, the assessment time in ISO 8601 UTC."""
    return {
        "deal_id": row.deal_id,
        "name": row.name,
        "stage": row.stage,
        "stage_label": row.stage_label or "",
        "pipeline": row.pipeline,
        "owner_id": row.owner_id or "",
        "is_closed": row.is_closed,
        "score": row.score,
        "next": row.next or "",
        "secured": [c.value for c in deal_store.decode_commitments(row.secured)],
        "missing": [c.value for c in deal_store.decode_commitments(row.missing)],
        "stage_gap": row.stage_gap,
        "assessed_at": row.assessed_at.isoformat(),
    }


# The keys of `_record`, in its order: the CSV header, written even when no deal is listed.
CSV_COLUMNS = (
    "deal_id", "name", "stage", "stage_label", "pipeline", "owner_id", "is_closed", "score", "next",
    "secured", "missing", "stage_gap", "assessed_at",
)


def write_missing(
    rows: list[DealAssessmentRow], output: ListFormat, commitment: Commitment, connection: str
) -> None:
    """The list as CSV (lists joined with ';', as the CRM's multi-selects hold them) or as JSON."""
    records = [_record(row) for row in rows]
    if output is ListFormat.JSON:
        document = {"connection": connection, "missing": commitment.value, "deals": records}
        sys.stdout.write(json.dumps(document, indent=2) + "\n")
        return
    writer = csv.DictWriter(sys.stdout, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for record in records:
        writer.writerow({k: ";".join(v) if isinstance(v, list) else v for k, v in record.items()})


def explanation_table(assessment: Assessment, playbook: Playbook, title: str) -> Table:
    """One row per commitment: status, why (and, unless secured, what would secure it), and the evidence."""
    table = Table(title=title, show_lines=True)
    for column in ("commitment", "status", "why", "evidence"):
        table.add_column(column)
    colours = {"secured": "green", "partial": "yellow", "missing": "red", "upcoming": "dim"}
    for result in assessment.results:
        status = result.status.value
        # Reasons and snippets quote CRM text (subjects, notes, names): never read as rich markup.
        evidence = "\n".join(f"{e.kind.value}: {e.snippet or e.source}" for e in result.evidence[:3]) or "-"
        marker = " (expected)" if result.expected else ""
        why = result.reason
        if result.status is not CommitmentStatus.SECURED:
            why += f"\nto secure: {playbook.commitments[result.commitment].secure_hint}"
        table.add_row(
            playbook.label(result.commitment),
            f"[{colours[status]}]{status}[/]{marker}",
            escape(why),
            escape(evidence),
        )
    return table


def _stored_deal_id(target: ConnectionSettings | SandboxConnection, deal_id: str) -> str:
    """`deal_id` as typed, in the form the CRM returns it and a sync stores it (as `sync --deal` takes it:
    a 15-character Salesforce id gets its case-safe suffix); as typed when it cannot be one of its ids."""
    crm = target.crm.crm if isinstance(target, ConnectionSettings) else target.crm_name
    try:
        return deal_ids(crm, [deal_id])[0]
    except ValueError:
        return deal_id  # no such deal was stored: the lookup says so


def explain_stored(deal_id: str, connection: str | None, out: Console = console) -> None:
    """Print the last stored assessment of `deal_id` for a synced connection."""
    settings = connection_settings(connection)
    target = settings.connection(connection)
    playbook = connection_playbook(target)
    stored_id = _stored_deal_id(target, deal_id)
    store = open_store(settings)
    try:
        connection_id, name = _connection_id(store, settings, connection)
        with store.session() as session:
            row = deal_store.latest_assessment(session, connection_id, stored_id)
            history = deal_store.history_of(session, connection_id, stored_id)
            note = unsynced_note(run_store.last_stored_run(session, connection_id), name)
    finally:
        store.close()
    if row is None:
        raise UserError(
            f"deal {deal_id!r} has no stored assessment for connection {name!r}; check the id or sync first"
        )
    assessment = deal_store.stored_assessment(row)
    next_label = playbook.label(assessment.next) if assessment.next else "none"
    stage = shown_stage(row)
    title = escape(f"{row.name} ({stored_id}, {stage}): score {assessment.score}/10, next: {next_label}")
    out.print(explanation_table(assessment, playbook, title))
    if assessment.stage_gap:
        out.print("[yellow]The stage is ahead of the commitments actually secured.[/]")
    for item in history:
        lost = f", lost {item.lost_at:%Y-%m-%d}" if item.lost_at else ""
        label = playbook.label(Commitment(item.commitment))
        out.print(f"  {label}: first secured {item.first_secured_at:%Y-%m-%d}{lost}")
    out.print(f"[dim]assessed {row.assessed_at:%Y-%m-%d %H:%M} UTC by the last sync of {escape(name)}[/]")
    print_note(note)


def register(app: typer.Typer) -> None:
    @app.command()
    def deals(
        missing: str = typer.Option(..., "--missing", "-m", help="Commitment id or label, e.g. consensus."),
        stage: str | None = typer.Option(
            None, "--stage", help="Only deals in this stage (its value or HubSpot label; any case)."
        ),
        owner: str | None = typer.Option(None, "--owner", help="Only deals of this owner id."),
        connection: str | None = typer.Option(None, "--connection", "-c", help="Connection name."),
        limit: int = typer.Option(200, "--limit", "-n", min=1, help="At most this many deals."),
        include_closed: bool = typer.Option(
            False, "--include-closed", help="List closed deals too (always, for execute: won deals)."
        ),
        output: ListFormat = typer.Option(
            ListFormat.TABLE, "--format", "-f", help="table, csv (for a spreadsheet) or json (for scripts)."
        ),
    ) -> None:
        """List open deals missing a commitment (expected by their stage, not secured), from the last sync."""
        settings = connection_settings(connection)
        playbook = connection_playbook(settings.connection(connection))
        commitment = resolve_commitment(missing, playbook)
        # Execute is only ever expected of a won deal, which is closed: open deals never miss it.
        include_closed = include_closed or commitment is Commitment.EXECUTE
        store = open_store(settings)
        try:
            connection_id, name = _connection_id(store, settings, connection)
            with store.session() as session:
                rows = deal_store.deals_missing(
                    session,
                    connection_id,
                    commitment,
                    stage=stage,
                    owner_id=owner,
                    include_closed=include_closed,
                    limit=limit,
                )
                # A filter no synced deal matches at all is named with the values there are, so a manager
                # can tell a mistyped stage or owner from a team with nothing missing.
                unmatched: list[tuple[str, str, list[str] | None]] = []
                if stage is not None and not rows:
                    seen = deal_store.stages_seen(session, connection_id, stage)
                    unmatched.append((f"is in stage {stage!r}", "stages", seen))
                if owner is not None and not rows:
                    seen = deal_store.owners_seen(session, connection_id, owner)
                    unmatched.append((f"has owner {owner!r}", "owner ids", seen))
                note = unsynced_note(run_store.last_stored_run(session, connection_id), name)
        finally:
            store.close()
        for what, kinds, seen in unmatched:  # on stderr, so a CSV or JSON export stays clean
            if seen is not None:
                listed = ", ".join(seen[:20]) + (", ..." if len(seen) > 20 else "") if seen else "none yet"
                stderr_console().print(f"[yellow]no synced deal {escape(what)}; {kinds}: {escape(listed)}[/]")
        if output is ListFormat.TABLE:
            console.print(missing_table(rows, commitment, playbook, name, include_closed))
        else:
            write_missing(rows, output, commitment, name)
        if len(rows) == limit:  # on stderr, so a CSV or JSON export stays clean
            shown = counted(limit, "deal")
            stderr_console().print(f"[yellow]showing the first {shown}; --limit N shows more[/]")
        print_note(note)
