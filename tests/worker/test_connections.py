"""The built-in sandbox connections: both sandbox CRMs keep their state in one file in the state directory."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from connectors.base import ApplyResult
from core.assess import assess
from core.plan import plan
from core.playbook import Playbook
from sandbox import persist
from worker.connections import build_connector, sandbox_crm
from worker.errors import UserError
from worker.playbook_files import load_playbook
from worker.settings import SandboxConnection

SALESFORCE = SandboxConnection(name="sandbox", crm_name="salesforce")
HUBSPOT = SandboxConnection(name="sandbox-hubspot", crm_name="hubspot")


def _deal_count(target: SandboxConnection, state: Path) -> int:
    with sandbox_crm(target, state, deals=3) as config:
        connector = build_connector(config, load_playbook())
        try:
            return sum(len(chunk) for chunk in connector.read_deals(None, datetime.now(UTC)))
        finally:
            connector.close()


def test_given_the_salesforce_sandbox_saved_when_the_hubspot_sandbox_first_opens_then_it_has_a_book(
    tmp_path: Path,
) -> None:
    state = tmp_path / "sandbox.sqlite3"
    assert _deal_count(SALESFORCE, state) == 3

    hubspot_deals = _deal_count(HUBSPOT, state)

    assert hubspot_deals == 3
    assert persist.kinds(state) == {"SalesforceStore", "HubSpotStore"}
    assert _deal_count(SALESFORCE, state) == 3


def test_given_a_state_file_that_is_not_a_sandbox_state_when_opening_the_sandbox_then_a_clear_error(
    tmp_path: Path,
) -> None:
    state = tmp_path / "sandbox.sqlite3"
    state.write_text("not a database")

    with pytest.raises(UserError, match=r"is not a sandbox state file; remove the file"):
        _deal_count(SALESFORCE, state)



def _sync_then_abort(state: Path, playbook: Playbook, now: datetime) -> ApplyResult:
    """Provision the sandbox and write every deal's plan, then stop as a second Ctrl-C does."""
    with sandbox_crm(SALESFORCE, state, deals=3) as config:
        connector = build_connector(config, playbook)
        try:
            connector.setup(playbook, dry_run=False)
            deals = [deal for chunk in connector.read_deals(None, now) for deal in chunk]
            plans = [plan(assess(deal, playbook, now), deal, playbook, now) for deal in deals]
            result = connector.apply(plans, playbook)
        finally:
            connector.close()
        raise KeyboardInterrupt(result)


def test_given_a_run_aborted_after_it_wrote_when_the_sandbox_opens_again_then_it_holds_what_the_run_wrote(
    tmp_path: Path,
) -> None:
    state, playbook, now = tmp_path / "sandbox.sqlite3", load_playbook(), datetime.now(UTC)
    with pytest.raises(KeyboardInterrupt) as aborted:
        _sync_then_abort(state, playbook, now)
    written: ApplyResult = aborted.value.args[0]

    with sandbox_crm(SALESFORCE, state, deals=3) as config:
        connector = build_connector(config, playbook)
        try:
            reread = [deal for chunk in connector.read_deals(None, now) for deal in chunk]
        finally:
            connector.close()

    # the state store remembers the tasks the run created: a sandbox that forgot them never gets them back
    assert written.tasks_created
    assert {t.key for d in reread for t in d.plugin_tasks} == {t.key for t in written.tasks_created}
    assert all(deal.current.assessed_at is not None for deal in reread)
