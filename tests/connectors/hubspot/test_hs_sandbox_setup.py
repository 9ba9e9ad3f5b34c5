"""Provisioning through the sandbox: creates the group and properties once, dry run writes nothing."""

from __future__ import annotations

from hubspot_support import connector_for

from core.models import Commitment
from core.playbook import Playbook, parse_playbook
from sandbox.hubspot import HubSpotSandbox

OWNED = {
    "commitments_secured": ("enumeration", "checkbox"),
    "commitments_missing": ("enumeration", "checkbox"),
    "next_commitment": ("enumeration", "select"),
    "commitment_score": ("number", "number"),
    "commitment_stage_gap": ("bool", "booleancheckbox"),
    "commitment_evidence": ("string", "textarea"),
    "commitments_assessed_at": ("datetime", "date"),
    "commitments_confirmed": ("enumeration", "checkbox"),
}


def test_given_fresh_portal_when_setup_then_group_and_contract_properties_created(
    portal: HubSpotSandbox, playbook: Playbook
) -> None:
    report = connector_for(portal).setup(playbook, dry_run=False)
    assert {(c.name, c.action) for c in report.changes} == {("commitments", "create")} | {
        (name, "create") for name in OWNED
    }
    for name, (type_, field_type) in OWNED.items():
        definition = portal.store.definition("deals", name)
        assert definition is not None
        assert (definition["type"], definition["fieldType"], definition["groupName"]) == (
            type_, field_type, "commitments"
        )
    options = portal.store.definition("deals", "commitments_secured")["options"]  # type: ignore[index]
    assert [o["value"] for o in options] == [c.value for c in Commitment]
    assert options[0]["label"] == "Commitment for Time"


def test_given_provisioned_portal_when_setup_again_then_nothing_pending_and_no_writes(
    portal: HubSpotSandbox, playbook: Playbook
) -> None:
    connector_for(portal).setup(playbook, dry_run=False)
    portal.app.reset_calls()
    report = connector_for(portal).setup(playbook, dry_run=False)
    assert report.pending == []
    assert set(portal.app.calls) == {"properties.groups", "properties.list"}


def test_given_fresh_portal_when_dry_run_then_plan_reported_and_nothing_written(
    portal: HubSpotSandbox, playbook: Playbook
) -> None:
    report = connector_for(portal).setup(playbook, dry_run=True)
    assert report.dry_run
    assert len(report.pending) == 1 + len(OWNED)
    assert portal.store.definition("deals", "commitments_secured") is None
    assert all(not name.startswith(("properties.create", "properties.update")) for name in portal.app.calls)


def test_given_renamed_label_in_playbook_when_setup_then_options_updated_in_place(
    portal: HubSpotSandbox, playbook: Playbook
) -> None:
    connector_for(portal).setup(playbook, dry_run=False)
    data = playbook.model_dump(mode="json")
    data["commitments"]["time"]["label"] = "Time commitment"
    renamed = parse_playbook(data, "test")
    report = connector_for(portal).setup(renamed, dry_run=False)
    updated = {c.name for c in report.changes if c.action == "update"}
    assert updated == {
        "commitments_secured", "commitments_missing", "next_commitment", "commitments_confirmed"
    }
    options = portal.store.definition("deals", "next_commitment")["options"]  # type: ignore[index]
    assert options[0] == {**options[0], "value": "time", "label": "Time commitment"}
