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


def _open_deal_owners(org: SalesforceSandbox) -> set[str]:
    return {d["OwnerId"] for d in rows(org, "Opportunity") if not d["IsClosed"] and not d["IsDeleted"]}


def test_given_setup_ran_when_field_access_is_checked_then_active_owners_of_open_deals_without_it_are_named(
    org: SalesforceSandbox,
) -> None:
    sf = connect(org)
    sf.setup(PLAYBOOK, dry_run=False)
    owners = sorted(_open_deal_owners(org))
    assert len(owners) >= 3
    users = org.store.table("User")
    org.store.set_fields("User", users[owners[0]], {"IsActive": False})  # gone: not counted
    worker_set = next(p for p in rows(org, "PermissionSet") if p["Name"] == "Commitments_Plugin")
    org.store.insert(
        "PermissionSetAssignment", {"AssigneeId": owners[1], "PermissionSetId": worker_set["Id"]}
    )
    org.store.insert("User", {"Username": "idle@x.test", "Name": "Idle", "IsActive": True})  # owns no deal

    access = sf.field_access()

    assert access is not None
    assert access.owners == len(owners) - 1
    assert {user_id for user_id, _ in access.without} == set(owners[2:])  # the worker's set grants read too
    assert [name for _, name in access.without] == sorted(users[o]["Name"] for o in owners[2:])


def test_given_owners_without_access_when_granted_then_each_gets_the_user_set_once_and_then_can_read(
    org: SalesforceSandbox,
) -> None:
    sf = connect(org)
    sf.setup(PLAYBOOK, dry_run=False)
    owners = _open_deal_owners(org)

    dry = sf.grant_field_access(dry_run=True)
    assigned_before = len(list(rows(org, "PermissionSetAssignment")))
    granted = sf.grant_field_access(dry_run=False)
    again = sf.grant_field_access(dry_run=False)

    assert len(dry.pending) == len(owners)
    assert len(granted.pending) == len(owners)
    assert granted.refused == []
    assert again.changes == []
    user_set = next(p for p in rows(org, "PermissionSet") if p["Name"] == "Commitments_User")
    assignments = rows(org, "PermissionSetAssignment")
    assignees = [a["AssigneeId"] for a in assignments if a["PermissionSetId"] == user_set["Id"]]
    assert sorted(assignees) == sorted(owners)
    assert assigned_before == 1  # the dry run assigned nothing
    assert sf.field_access() == type(sf.field_access())(len(owners), ())
