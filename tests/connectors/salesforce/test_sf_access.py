"""Who can read the plugin's fields: the queries sent, and per-record refusals when assigning access."""

from __future__ import annotations

import pytest
import responses
from salesforce_support import API, connector, query_page, soql_with

from connectors.base import ConfigurationError

ANN, BO = ("0055g00000Ann01AAA", "Ann Lee"), ("0055g00000Bo001AAA", "Bo Chan")
CY = ("0055g00000Cy01AAA", "Cy Dee")
OWNERS = "FROM User WHERE IsActive = true AND Id IN (SELECT OwnerId FROM Opportunity WHERE IsClosed = false)"
READERS = (
    "FROM PermissionSetAssignment WHERE PermissionSetId IN (SELECT ParentId FROM FieldPermissions WHERE "
    "SobjectType = 'Opportunity' AND Field = 'Opportunity.Commitments_Secured__c' AND PermissionsRead = true)"
)


def _owners_and_readers(rsps: responses.RequestsMock, readers: list[str]) -> None:
    owners = [{"Id": user_id, "Name": name} for user_id, name in (ANN, BO, CY)]
    rsps.get(f"{API}query/", json=query_page(owners), match=[soql_with(OWNERS)])
    rsps.get(
        f"{API}query/",
        json=query_page([{"AssigneeId": user_id} for user_id in readers]),
        match=[soql_with(READERS, "AssigneeId IN (SELECT OwnerId FROM Opportunity WHERE IsClosed = false)")],
    )


def test_given_one_owner_reads_the_fields_when_checked_then_the_other_two_are_named(
    rsps: responses.RequestsMock,
) -> None:
    _owners_and_readers(rsps, [BO[0]])

    access = connector().field_access()

    assert access is not None
    assert access.owners == 3
    assert access.without == (ANN, CY)


def test_given_two_owners_without_access_when_one_assignment_is_refused_then_the_other_is_made_with_reason(
    rsps: responses.RequestsMock,
) -> None:
    _owners_and_readers(rsps, [BO[0]])
    rsps.get(
        f"{API}query/",
        json=query_page([{"Id": "0PS5g000000User1AAA"}]),
        match=[soql_with("FROM PermissionSet WHERE Name = 'Commitments_User'")],
    )
    refused = {
        "success": False,
        "errors": [{"statusCode": "FIELD_INTEGRITY_EXCEPTION", "message": "license doesn't match"}],
    }
    post = rsps.post(f"{API}composite/sobjects", json=[{"success": True, "id": "0Pa1"}, refused])

    report = connector().grant_field_access(dry_run=False)

    sent = post.calls[0].request.body
    assert b'"AssigneeId": "0055g00000Ann01AAA"' in sent
    assert b'"AssigneeId": "0055g00000Cy01AAA"' in sent
    assert b'"PermissionSetId": "0PS5g000000User1AAA"' in sent
    assert b'"allOrNone": false' in sent
    assert [(c.name, c.action) for c in report.changes] == [
        ("Commitments_User -> Ann Lee", "create"),
        ("Commitments_User -> Cy Dee", "refused"),
    ]
    assert report.refused[0].detail == "FIELD_INTEGRITY_EXCEPTION: license doesn't match"
    assert [c.name for c in report.pending] == ["Commitments_User -> Ann Lee"]


def test_given_a_dry_run_when_granting_then_the_owners_without_access_are_listed_and_nothing_is_sent(
    rsps: responses.RequestsMock,
) -> None:
    _owners_and_readers(rsps, [])

    report = connector().grant_field_access(dry_run=True)

    names = ("Ann Lee", "Bo Chan", "Cy Dee")
    assert [c.name for c in report.pending] == [f"Commitments_User -> {name}" for name in names]
    assert len(rsps.calls) == 2  # the two queries; no permission set lookup, no write


def test_given_the_user_permission_set_is_missing_when_granting_then_it_says_to_run_setup(
    rsps: responses.RequestsMock,
) -> None:
    _owners_and_readers(rsps, [])
    rsps.get(f"{API}query/", json=query_page([]), match=[soql_with("FROM PermissionSet WHERE Name")])

    with pytest.raises(ConfigurationError, match="run `commitments setup` first"):
        connector().grant_field_access(dry_run=False)
