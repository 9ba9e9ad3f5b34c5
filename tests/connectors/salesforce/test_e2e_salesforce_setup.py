"""End to end through the sandbox: provisioning is idempotent, a dry run writes nothing."""

from __future__ import annotations

import pytest
from salesforce_e2e_support import PLAYBOOK, connect, rows, start_org

from sandbox.salesforce import SalesforceSandbox


@pytest.fixture
def org() -> SalesforceSandbox:
    box, _ = start_org(deals=5)
    yield box
    box.stop()


def test_given_a_fresh_org_when_setup_runs_dry_then_it_lists_every_change_and_writes_nothing(
    org: SalesforceSandbox,
) -> None:
    report = connect(org).setup(PLAYBOOK, dry_run=True)

    assert report.dry_run
    assert {(c.kind, c.action) for c in report.changes} == {
        ("field", "create"), ("permission_set", "create"), ("list_view", "create"),
        ("permission_assignment", "create"),
    }
    assert len(report.pending) == 14
    assert not org.store.tables["_Metadata"]
    assert not list(rows(org, "PermissionSetAssignment"))


def test_given_setup_ran_when_it_runs_again_then_nothing_changes_and_the_fields_are_visible(
    org: SalesforceSandbox,
) -> None:
    sf = connect(org)
    first = sf.setup(PLAYBOOK, dry_run=False)
    calls_before = org.app.calls["metadata"]

    second = sf.setup(PLAYBOOK, dry_run=False)

    assert len(first.pending) == 14
    assert second.pending == []
    assert org.app.calls["metadata"] - calls_before == 3  # reads only: fields, permission sets, views
    schema = sf.schema()
    assert schema.has("Opportunity", "Commitments_Secured__c")
    assert schema.has("Task", "Commitment_Key__c")
    assert len(list(rows(org, "PermissionSetAssignment"))) == 1


def test_given_per_commitment_views_and_a_prefix_when_setup_runs_then_all_names_carry_the_prefix(
    org: SalesforceSandbox,
) -> None:
    sf = connect(org, field_prefix="Acme_", list_views_per_commitment=True)

    report = sf.setup(PLAYBOOK, dry_run=False)

    names = [c.name for c in report.changes]
    assert "Opportunity.Acme_Commitments_Secured__c" in names
    assert "Opportunity.Acme_Missing_Consensus" in names
    assert len([c for c in report.changes if c.kind == "list_view"]) == 12
    assert sf.schema().has("Opportunity", "Acme_Next_Commitment__c")


def test_given_the_metadata_session_expires_when_setup_runs_then_it_logs_in_again_and_finishes(
    org: SalesforceSandbox,
) -> None:
    sf = connect(org)
    sf.pipeline_stages()  # logged in
    org.app.faults.queue("expired_session", "metadata")

    report = sf.setup(PLAYBOOK, dry_run=False)

    assert len(report.pending) == 14
    assert sf.api_calls()["login"] == 2
