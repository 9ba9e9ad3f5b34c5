"""The built-in sandbox connections: both sandbox CRMs keep their state in one file in the state directory."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

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
