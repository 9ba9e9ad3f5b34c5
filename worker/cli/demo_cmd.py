"""`commitments demo`: the whole product in one command, against both sandbox CRMs, with no configuration.

For Salesforce and then HubSpot: start the sandbox in-process with a small generated book, provision the
fields, run a first sync, show what a rep sees on a few deals (secured, missing, next, evidence, task),
list the tasks created, then run a second sync that writes nothing. State goes to a temporary store, so
the demo leaves nothing behind.
"""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime
from pathlib import Path

import typer
from rich.panel import Panel
from rich.table import Table

from core.models import Commitment, CommitmentStatus
from core.playbook import Playbook
from worker.cli.output import stdout_console
from worker.cli.sync_cmd import summary_table
from worker.connections import build_connector, sandbox_crm
from worker.playbook_files import load_playbook
from worker.settings import SandboxConnection
from worker.store import Store
from worker.store import deals as deal_store
from worker.store import runs as run_store
from worker.store import state as state_store
from worker.store.models import TaskKeyRow
from worker.sync import SyncConnection, SyncResult, run_sync

console = stdout_console()
CRM_TITLES = {"salesforce": "Salesforce", "hubspot": "HubSpot"}


def rep_view(
    store: Store, connection_id: int, deal_id: str, playbook: Playbook, task: TaskKeyRow | None
) -> Panel:
    """What a rep reads on the deal record after the sync."""
    with store.session() as session:
        row = deal_store.latest_assessment(session, connection_id, deal_id)
    assert row is not None  # only called for deals the sync just assessed
    assessment = deal_store.stored_assessment(row)
    lines = [
        f"[bold]Stage[/] {row.stage_label or row.stage}   [bold]Score[/] {assessment.score}/10",
        f"[green]Secured[/]  {', '.join(playbook.label(c) for c in assessment.secured) or '-'}",
        f"[red]Missing[/]  {', '.join(playbook.label(c) for c in assessment.missing) or '-'}",
    ]
    if assessment.next is not None:
        result = assessment.result(assessment.next)
        lines.append(f"[bold]Next[/]     {playbook.label(assessment.next)}: {result.reason}")
    for result in assessment.results:
        if result.status is CommitmentStatus.SECURED and result.evidence:
            lines.append(f"  evidence, {playbook.label(result.commitment)}: {result.evidence[0].snippet}")
    if task is not None:
        label = playbook.label(Commitment(task.commitment))
        lines.append(f"[bold]Task[/]     {playbook.task.subject.replace('{label}', label)} ({task.task_id})")
    return Panel("\n".join(lines), title=f"{row.name} ({deal_id})", expand=False)


def _show_deals(store: Store, connection_id: int, playbook: Playbook, count: int) -> list[TaskKeyRow]:
    with store.session() as session:
        tasks = state_store.task_keys(session, connection_id, open_only=True)
    by_deal = {t.deal_id: t for t in tasks}
    for deal_id in sorted(by_deal)[:count]:
        console.print(rep_view(store, connection_id, deal_id, playbook, by_deal[deal_id]))
    return tasks


def _tasks_table(tasks: list[TaskKeyRow], playbook: Playbook) -> Table:
    table = Table(title=f"Tasks created by the plugin ({len(tasks)}; first 8 shown)")
    for column in ("key", "task id", "subject"):
        table.add_column(column)
    for task in tasks[:8]:
        label = playbook.label(Commitment(task.commitment))
        table.add_row(task.key, task.task_id, playbook.task.subject.replace("{label}", label))
    return table


def demo_crm(
    crm: str, store: Store, playbook: Playbook, *, deals: int, seed: int, show: int
) -> tuple[SyncResult, SyncResult]:
    console.rule(f"[bold]{CRM_TITLES[crm]} sandbox[/]")
    target = SandboxConnection(name=f"demo-{crm}", crm_name=crm)
    with sandbox_crm(target, None, deals=deals, seed=seed) as config:
        connector = build_connector(config, playbook)
        try:
            report = connector.setup(playbook, dry_run=False)
            pending = report.pending
            console.print(f"Setup: {len(pending)} provisioned ({report.by_kind(pending)})")
            connection = SyncConnection(target.name, connector, playbook, store)
            first = run_sync(connection, datetime.now(UTC))
            console.print(summary_table(first))
            with store.session() as session:
                connection_id = run_store.find_connection(session, target.name).id  # type: ignore[union-attr]
            tasks = _show_deals(store, connection_id, playbook, show)
            console.print(_tasks_table(tasks, playbook))
            second = run_sync(connection, datetime.now(UTC))
        finally:
            connector.close()
    c = second.counts
    console.print(
        f"Second sync: {c.deals_read} deals read, [bold]{c.fields_written} fields written, "
        f"{c.tasks_created} tasks created[/] (nothing changed in the CRM, so nothing is written)"
    )
    return first, second


def register(app: typer.Typer) -> None:
    @app.command()
    def demo(
        deals: int = typer.Option(40, "--deals", min=1, help="Deals in each generated sandbox book."),
        seed: int = typer.Option(7, "--seed", help="Seed of the generated books."),
        show: int = typer.Option(3, "--show", min=0, help="Deals to show as a rep sees them, per CRM."),
    ) -> None:
        """Run the whole product on the Salesforce and HubSpot sandboxes (no configuration needed)."""
        playbook = load_playbook()
        with tempfile.TemporaryDirectory(prefix="commitments-demo-") as tmp:
            store = Store.open(f"sqlite:///{Path(tmp) / 'demo.sqlite3'}")
            try:
                for crm in ("salesforce", "hubspot"):
                    first, second = demo_crm(crm, store, playbook, deals=deals, seed=seed, show=show)
                    if not (first.ok and second.ok):
                        raise typer.Exit(1)
            finally:
                store.close()
