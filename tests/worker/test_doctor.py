"""`commitments doctor` against the Salesforce sandbox with deliberate gaps, and its secrets hygiene."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from connectors.base import ConfigurationError, Connector, TransientError
from core.playbook import Playbook
from sandbox.salesforce import SalesforceSandbox, start_salesforce_sandbox
from worker.connections import build_connector, sandbox_config, start_sandbox
from worker.doctor import Finding, diagnose, has_problems
from worker.observability.logs import make_handler
from worker.observability.redaction import Redactor
from worker.settings import CRM_CONFIG

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
TOKEN = "00D5e000000ABCDEFG!AQ4AQKnownSecretTokenValue1234567890"


@pytest.fixture
def org() -> Iterator[SalesforceSandbox]:
    with start_salesforce_sandbox(deals=40, seed=5) as sandbox:
        yield sandbox


def connect(org: SalesforceSandbox, playbook: Playbook) -> Connector:
    return build_connector(sandbox_config("salesforce", org.credentials), playbook)


def by_check(findings: list[Finding]) -> dict[str, list[Finding]]:
    grouped: dict[str, list[Finding]] = {}
    for finding in findings:
        grouped.setdefault(finding.check, []).append(finding)
    return grouped


def nobody_at_the_activities(org: SalesforceSandbox) -> None:
    """Meetings and calls logged with no one: no WhoId, no EventRelation or TaskRelation rows."""
    for kind in ("Task", "Event"):
        for activity in list(org.store.table(kind).values()):
            org.store.set_fields(kind, activity, {"WhoId": None})
    for relations, activity_id in (("EventRelation", "EventId"), ("TaskRelation", "TaskId")):
        for relation in list(org.store.table(relations).values()):
            org.store.set_fields(relations, relation, {activity_id: None})


def test_given_provisioned_org_with_good_data_when_diagnosed_then_no_problem(
    org: SalesforceSandbox, playbook: Playbook
) -> None:
    connector = connect(org, playbook)
    connector.setup(playbook, dry_run=False)
    findings = diagnose(connector, playbook, NOW, connection="sandbox")
    assert not has_problems(findings), findings
    assert [f.check for f in findings] == [
        "credentials",
        "provisioning",
        "field access",
        "stage mapping",
        "contact roles",
        "activity",
        "meeting attendees",
        "email capture",
        "API budget",
    ]


def test_given_reps_without_the_user_permission_set_when_diagnosed_then_a_warning_names_them_until_assigned(
    org: SalesforceSandbox, playbook: Playbook
) -> None:
    connector = connect(org, playbook)
    connector.setup(playbook, dry_run=False)
    owners = {
        org.store.table("User")[d["OwnerId"]]["Name"]
        for d in org.store.table("Opportunity").values()
        if not d["IsClosed"]
    }

    (before,) = by_check(diagnose(connector, playbook, NOW, connection="acme"))["field access"]
    connector.grant_field_access(dry_run=False)
    (after,) = by_check(diagnose(connector, playbook, NOW, connection="acme"))["field access"]

    assert before.severity == "warning"
    assert before.detail.startswith(f"{len(owners)} of {len(owners)} active owners of open deals can't read")
    assert sorted(owners)[0] in before.detail
    assert "'Commitments User'" in before.fix
    assert "`commitments setup --connection acme --assign-owners`" in before.fix
    assert (after.severity, after.detail) == (
        "ok", f"all {len(owners)} active owners of open deals can read the fields"
    )


@pytest.mark.parametrize(
    ("error", "permission_fix"),
    [
        (ConfigurationError("INSUFFICIENT_ACCESS: FieldPermissions"), True),
        (TransientError("cannot reach Salesforce at acme.my.salesforce.com: ConnectionError"), False),
    ],
    ids=["permission-objects-refused", "crm-unreachable"],
)
def test_given_the_access_check_fails_when_diagnosed_then_a_warning_with_a_permission_fix_only_for_a_refusal(
    org: SalesforceSandbox,
    playbook: Playbook,
    monkeypatch: pytest.MonkeyPatch,
    error: ConfigurationError,
    permission_fix: bool,
) -> None:
    connector = connect(org, playbook)
    connector.setup(playbook, dry_run=False)

    def failing() -> None:
        raise error

    monkeypatch.setattr(connector, "field_access", failing)
    findings = diagnose(connector, playbook, NOW, connection="acme")

    (access,) = by_check(findings)["field access"]
    assert access.severity == "warning"
    assert access.detail == f"could not check who can read the fields: {error}"
    # a network error is no missing permission: it says to run doctor again instead
    assert ("View Setup and Configuration" in access.fix) is permission_fix
    assert ("`commitments doctor` again" in access.fix) is not permission_fix
    assert not has_problems(findings)


def test_given_setup_not_run_when_diagnosed_then_provisioning_problem_with_setup_fix(
    org: SalesforceSandbox, playbook: Playbook
) -> None:
    findings = by_check(diagnose(connect(org, playbook), playbook, NOW, connection="acme"))
    (provisioning,) = findings["provisioning"]
    assert provisioning.severity == "problem"
    assert "Commitments_Secured__c" in provisioning.detail
    assert provisioning.fix == "run `commitments setup --connection acme` (preview with --dry-run)"


def test_given_stage_unknown_to_playbook_when_diagnosed_then_it_is_named_with_the_fix(
    org: SalesforceSandbox, playbook: Playbook
) -> None:
    org.store.insert(
        "OpportunityStage",
        {
            "MasterLabel": "Legal Review",
            "ApiName": "Legal Review",
            "IsActive": True,
            "IsClosed": False,
            "IsWon": False,
            "SortOrder": 75,
            "DefaultProbability": 80,
            "ForecastCategoryName": "Pipeline",
        },
    )
    connector = connect(org, playbook)
    connector.setup(playbook, dry_run=False)
    (stages,) = by_check(diagnose(connector, playbook, NOW, connection="acme"))["stage mapping"]
    assert (stages.severity, stages.detail) == ("problem", "pipeline 'salesforce': unmapped 'Legal Review'")
    assert "stage_maps.salesforce.stages" in stages.fix


def test_given_deals_without_contact_roles_or_people_at_their_activities_when_diagnosed_then_contact_problem(
    org: SalesforceSandbox, playbook: Playbook
) -> None:
    for role in list(org.store.table("OpportunityContactRole").values()):
        org.store.set_fields("OpportunityContactRole", role, {"OpportunityId": None})
    nobody_at_the_activities(org)  # nobody the deals met either
    connector = connect(org, playbook)
    connector.setup(playbook, dry_run=False)
    findings = diagnose(connector, playbook, NOW, connection="acme")
    (contacts,) = by_check(findings)["contact roles"]
    assert (contacts.severity, contacts.detail) == (
        "problem", "0% of 40 sampled deals have buyer contacts, 0% a contact role"
    )
    assert "contact roles" in contacts.fix
    assert has_problems(findings)


def test_given_contacts_met_at_meetings_but_no_contact_roles_when_diagnosed_then_a_roles_warning(
    org: SalesforceSandbox, playbook: Playbook
) -> None:
    for role in list(org.store.table("OpportunityContactRole").values()):
        org.store.set_fields("OpportunityContactRole", role, {"OpportunityId": None})
    connector = connect(org, playbook)
    connector.setup(playbook, dry_run=False)
    (contacts,) = by_check(diagnose(connector, playbook, NOW, connection="acme"))["contact roles"]
    assert contacts.severity == "warning"
    assert contacts.detail.endswith("sampled deals have buyer contacts, 0% a contact role")
    assert "decision maker" in contacts.fix


def test_given_meetings_and_calls_logged_without_their_people_when_diagnosed_then_an_attendee_warning(
    org: SalesforceSandbox, playbook: Playbook
) -> None:
    nobody_at_the_activities(org)  # contact roles stay: the deals have buyers, just none at the meetings
    connector = connect(org, playbook)
    connector.setup(playbook, dry_run=False)

    (attendees,) = by_check(diagnose(connector, playbook, NOW, connection="acme"))["meeting attendees"]

    assert attendees.severity == "warning"
    assert attendees.detail.startswith("0% of ")
    assert attendees.detail.endswith("held meetings and connected calls had a contact of the deal at them")
    assert "Name" in attendees.fix


def test_given_open_deals_with_no_activity_logged_when_diagnosed_then_an_activity_problem_with_its_fix(
    org: SalesforceSandbox, playbook: Playbook
) -> None:
    for kind, parent in (("Task", "WhatId"), ("Event", "WhatId")):  # every activity moved off the deals
        for activity in list(org.store.table(kind).values()):
            org.store.set_fields(kind, activity, {parent: None})
    connector = connect(org, playbook)
    connector.setup(playbook, dry_run=False)

    findings = diagnose(connector, playbook, NOW, connection="acme")

    (activity,) = by_check(findings)["activity"]
    assert activity.severity == "problem"
    assert activity.detail.startswith("100% of ")
    assert activity.detail.endswith(" open deals have no activity logged")
    assert "log meetings and calls" in activity.fix
    assert has_problems(findings)


def test_given_no_emails_logged_when_diagnosed_then_activity_capture_hint(
    org: SalesforceSandbox, playbook: Playbook
) -> None:
    for task in org.store.table("Task").values():
        if (task.get("TaskSubtype") or "").lower() == "email":  # logged emails become plain notes
            org.store.set_fields("Task", task, {"TaskSubtype": "Task", "Type": "Other"})
    connector = connect(org, playbook)
    connector.setup(playbook, dry_run=False)
    (emails,) = by_check(diagnose(connector, playbook, NOW, connection="acme"))["email capture"]
    assert emails.severity == "warning"
    assert "Einstein Activity Capture" in emails.fix


def test_given_rejected_token_when_diagnosed_then_clear_problem_and_token_nowhere(
    org: SalesforceSandbox, playbook: Playbook
) -> None:
    config = CRM_CONFIG.validate_python(
        {
            "crm": "salesforce",
            "auth": {
                "mode": "session",
                "session_id": TOKEN,
                "instance_url": "https://acme.my.salesforce.com",
            },
            "api_base_url": org.url,
            "max_attempts": 1,
        }
    )
    redactor = Redactor()
    redactor.add_from(config)
    stream = io.StringIO()
    handler = make_handler(stream, json_lines=True, redactor=redactor)
    root = logging.getLogger()
    root.addHandler(handler)
    previous_level = root.level
    root.setLevel(logging.DEBUG)
    try:
        connector = build_connector(config, playbook)
        findings = diagnose(connector, playbook, NOW, connection="acme")
        logging.getLogger("tests.doctor").error("doctor said: %s", findings)
    finally:
        root.removeHandler(handler)
        root.setLevel(previous_level)
    (credentials,) = findings
    assert (credentials.check, credentials.severity) == ("credentials", "problem")
    assert "credentials of connection 'acme'" in credentials.fix
    shown = " ".join([credentials.detail, credentials.fix, repr(credentials), repr(config), str(config)])
    for text in (shown, stream.getvalue()):
        assert TOKEN not in text
        assert "KnownSecretTokenValue" not in text


def test_given_a_provisioned_hubspot_portal_when_diagnosed_then_provisioning_lists_what_it_has(
    playbook: Playbook,
) -> None:
    portal = start_sandbox("hubspot", deals=3)
    try:
        connector = build_connector(sandbox_config("hubspot", portal.credentials), playbook)
        connector.setup(playbook, dry_run=False)
        findings = diagnose(connector, playbook, NOW, connection="acme")
        (provisioning,) = by_check(findings)["provisioning"]
    finally:
        portal.stop()

    assert "field access" not in by_check(findings)  # HubSpot: no field access the API can check
    assert provisioning.severity == "ok"
    # what a HubSpot portal has: a property group and properties (it has no permissions to speak of)
    assert provisioning.detail == "all 9 in place (property 8, property group 1)"


def test_given_an_unknown_hubspot_pipeline_id_when_diagnosed_then_the_setting_is_named_not_the_credentials(
    playbook: Playbook,
) -> None:
    portal = start_sandbox("hubspot", deals=3)
    try:
        config = sandbox_config("hubspot", portal.credentials).model_copy(update={"pipelines": ("typo",)})
        findings = diagnose(build_connector(config, playbook), playbook, NOW, connection="acme")
    finally:
        portal.stop()

    (first,) = findings
    assert (first.check, first.severity) == ("credentials", "problem")
    assert "no deal pipeline with id 'typo'" in first.detail
    assert "rejected the credentials" not in first.detail
