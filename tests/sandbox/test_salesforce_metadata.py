"""Metadata API provisioning against the Salesforce sandbox through `sf.mdapi` (zeep), and its FLS trap."""

from __future__ import annotations

import json
from typing import Any

import pytest
from simple_salesforce.api import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest

from sandbox.salesforce import SalesforceSandbox, SalesforceStore, start_salesforce_sandbox
from sandbox.salesforce.testing import password_login, route_metadata_api

SECURED = "Opportunity.Commitments_Secured__c"
SCORE = "Opportunity.Commitment_Score__c"


@pytest.fixture
def md(salesforce_sandbox: SalesforceSandbox, sf: Salesforce) -> Any:
    route_metadata_api(sf, salesforce_sandbox.url)
    return sf.mdapi


def _provision_fields(md: Any) -> None:
    values = [
        md.CustomValue(fullName=v, label=v.title(), default=False) for v in ("time", "explore", "change")
    ]
    md.CustomField.upsert(
        [
            md.CustomField(
                fullName=SECURED,
                label="Commitments Secured",
                type=md.FieldType("MultiselectPicklist"),
                visibleLines=4,
                valueSet=md.ValueSet(
                    restricted=True,
                    valueSetDefinition=md.ValueSetValuesDefinition(sorted=False, value=values),
                ),
            ),
            md.CustomField(
                fullName=SCORE, label="Commitment Score", type=md.FieldType("Number"), precision=3, scale=0
            ),
            md.CustomField(
                fullName="Activity.Commitment_Key__c",
                label="Commitment Key",
                type=md.FieldType("Text"),
                length=80,
            ),
        ]
    )


def _grant(md: Any, sf: Salesforce, fields: list[tuple[str, bool]]) -> None:
    permissions = [md.PermissionSetFieldPermissions(field=f, editable=e, readable=True) for f, e in fields]
    md.PermissionSet.upsert(
        [md.PermissionSet(fullName="Commitments", label="Commitments", fieldPermissions=permissions)]
    )
    permission_set = sf.query("SELECT Id FROM PermissionSet WHERE Name = 'Commitments'")["records"][0]["Id"]
    sf.PermissionSetAssignment.create(
        {
            "AssigneeId": sf.query("SELECT Id FROM User WHERE Username LIKE 'integration%'")["records"][0][
                "Id"
            ],
            "PermissionSetId": permission_set,
        }
    )


def _field_names(sf: Salesforce, object_name: str = "Opportunity") -> set[str]:
    return {f["name"] for f in getattr(sf, object_name).describe()["fields"]}


def test_given_new_custom_field_without_fls_when_described_then_invisible_to_the_api(
    md: Any, sf: Salesforce
) -> None:
    _provision_fields(md)
    assert "Commitments_Secured__c" not in _field_names(sf)
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.query("SELECT Commitments_Secured__c FROM Opportunity")
    assert caught.value.content[0]["errorCode"] == "INVALID_FIELD"


def test_given_permission_set_assigned_when_described_then_field_readable_and_writable(
    md: Any, sf: Salesforce
) -> None:
    _provision_fields(md)
    _grant(md, sf, [(SECURED, True), (SCORE, True), ("Task.Commitment_Key__c", True)])
    fields = {f["name"]: f for f in sf.Opportunity.describe()["fields"]}
    secured = fields["Commitments_Secured__c"]
    assert (secured["type"], secured["custom"], secured["restrictedPicklist"]) == (
        "multipicklist",
        True,
        True,
    )
    assert [p["value"] for p in secured["picklistValues"]] == ["time", "explore", "change"]
    assert fields["Commitment_Score__c"]["type"] == "double"
    assert "Commitment_Key__c" in _field_names(sf, "Task")
    opp_id = sf.query("SELECT Id FROM Opportunity WHERE Name = 'Deal 1'")["records"][0]["Id"]
    sf.Opportunity.update(opp_id, {"Commitments_Secured__c": "time;explore", "Commitment_Score__c": 2})
    rows = sf.query(
        "SELECT Name, Commitment_Score__c FROM Opportunity WHERE Commitments_Secured__c "
        "INCLUDES ('explore;time')"
    )["records"]
    assert [(r["Name"], r["Commitment_Score__c"]) for r in rows] == [("Deal 1", 2)]
    excluded = sf.query("SELECT COUNT() FROM Opportunity WHERE Commitments_Secured__c EXCLUDES ('time')")
    assert excluded["totalSize"] == 4


def test_given_restricted_value_set_when_writing_unknown_value_then_restricted_picklist_error(
    md: Any, sf: Salesforce
) -> None:
    _provision_fields(md)
    _grant(md, sf, [(SECURED, True)])
    opp_id = sf.query("SELECT Id FROM Opportunity LIMIT 1")["records"][0]["Id"]
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.Opportunity.update(opp_id, {"Commitments_Secured__c": "time;decide"})
    assert caught.value.content[0]["errorCode"] == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    assert caught.value.content[0]["fields"] == ["Commitments_Secured__c"]


def test_given_read_only_field_permission_when_writing_then_insert_update_error(
    md: Any, sf: Salesforce
) -> None:
    _provision_fields(md)
    _grant(md, sf, [(SCORE, False)])
    assert {f["name"]: f["updateable"] for f in sf.Opportunity.describe()["fields"]}[
        "Commitment_Score__c"
    ] is False
    opp_id = sf.query("SELECT Id FROM Opportunity LIMIT 1")["records"][0]["Id"]
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.Opportunity.update(opp_id, {"Commitment_Score__c": 3})
    assert caught.value.content[0]["errorCode"] == "INVALID_FIELD_FOR_INSERT_UPDATE"


def test_given_saved_components_when_read_then_zeep_objects_round_trip(md: Any) -> None:
    _provision_fields(md)
    secured = md.CustomField.read([SECURED])
    assert (secured.fullName, secured.type, secured.valueSet.restricted) == (
        SECURED,
        "MultiselectPicklist",
        True,
    )
    assert [v.fullName for v in secured.valueSet.valueSetDefinition.value] == ["time", "explore", "change"]
    assert md.CustomField.read(["Opportunity.Missing__c"]).fullName is None
    md.ListView.upsert(
        [
            md.ListView(
                fullName="Opportunity.Missing_Consensus",
                label="Missing Consensus",
                filterScope=md.FilterScope("Everything"),
                columns=["OPPORTUNITY.NAME"],
            )
        ]
    )
    view = md.ListView.read(["Opportunity.Missing_Consensus"])
    assert (view.label, view.filterScope, view.columns) == (
        "Missing Consensus",
        "Everything",
        ["OPPORTUNITY.NAME"],
    )


def test_given_existing_field_when_created_again_then_duplicate_error_but_upsert_is_idempotent(
    md: Any,
) -> None:
    _provision_fields(md)
    with pytest.raises(Exception, match="DUPLICATE_DEVELOPER_NAME"):
        md.CustomField.create(
            [md.CustomField(fullName=SCORE, label="Score", type=md.FieldType("Number"), precision=3)]
        )
    _provision_fields(md)  # upsert twice: no error


def test_given_bad_custom_field_when_upserted_then_mdapi_raises_with_status_code(md: Any) -> None:
    with pytest.raises(Exception, match="INVALID_CROSS_REFERENCE_KEY"):
        md.CustomField.upsert([md.CustomField(fullName="Widget.X__c", label="X", type=md.FieldType("Text"))])


def test_given_task_custom_field_when_upserted_then_rejected_in_favour_of_activity(md: Any) -> None:
    with pytest.raises(Exception, match=r"FIELD_INTEGRITY_EXCEPTION.*Activity\.Key__c"):
        md.CustomField.upsert(
            [md.CustomField(fullName="Task.Key__c", label="Key", type=md.FieldType("Text"))]
        )


def test_given_assignment_exists_when_assigned_again_then_duplicate_value(md: Any, sf: Salesforce) -> None:
    _provision_fields(md)
    _grant(md, sf, [(SCORE, True)])
    with pytest.raises(SalesforceMalformedRequest) as caught:
        _grant(md, sf, [(SCORE, True)])
    assert caught.value.content[0]["errorCode"] == "DUPLICATE_VALUE"


def test_given_multiselect_written_out_of_order_when_read_then_in_picklist_order(
    md: Any, sf: Salesforce
) -> None:
    _provision_fields(md)
    _grant(md, sf, [(SECURED, True), (SCORE, True)])
    opp_id = sf.query("SELECT Id FROM Opportunity LIMIT 1")["records"][0]["Id"]
    sf.Opportunity.update(opp_id, {"Commitments_Secured__c": "change;time;change", "Commitment_Score__c": 2})
    record = sf.Opportunity.get(opp_id)
    assert record["Commitments_Secured__c"] == "time;change"
    assert record["Commitment_Score__c"] == 2.0
    assert isinstance(record["Commitment_Score__c"], float)


def test_given_provisioned_org_when_dumped_and_loaded_then_fields_sessions_and_fls_survive(
    md: Any, sf: Salesforce, salesforce_sandbox: SalesforceSandbox
) -> None:
    _provision_fields(md)
    _grant(md, sf, [(SCORE, True)])
    restored = SalesforceStore()
    restored.load(json.loads(json.dumps(salesforce_sandbox.store.dump())))  # JSON-able all the way
    with start_salesforce_sandbox(store=restored) as again:
        client = password_login(again.credentials)
        assert "Commitment_Score__c" in _field_names(client)
        assert restored.session_user(sf.session_id) == restored.org["api_user_id"]


@pytest.mark.parametrize(
    ("attributes", "message"),
    [
        ({"type": "Checkbox"}, "Must specify 'defaultValue' for a CustomField of type Checkbox"),
        ({"type": "Text"}, "Must specify 'length' for a CustomField of type Text"),
        ({"type": "Text", "length": 300}, "Length must be between 1 and 255"),
        ({"type": "LongTextArea", "length": 32768}, "Must specify 'visibleLines'"),
        ({"type": "Number"}, "Must specify 'precision'"),
    ],
)
def test_given_incomplete_custom_field_when_upserted_then_field_integrity_error(
    md: Any, attributes: dict[str, Any], message: str
) -> None:
    kind = attributes.pop("type")
    field = md.CustomField(fullName="Opportunity.Bad__c", label="Bad", type=md.FieldType(kind), **attributes)
    with pytest.raises(Exception, match=f"FIELD_INTEGRITY_EXCEPTION, {message}"):
        md.CustomField.upsert([field])


def test_given_activity_field_granted_on_task_only_when_described_then_visible_on_task_not_event(
    md: Any, sf: Salesforce
) -> None:
    _provision_fields(md)
    _grant(md, sf, [("Task.Commitment_Key__c", True)])
    assert "Commitment_Key__c" in _field_names(sf, "Task")
    assert "Commitment_Key__c" not in _field_names(sf, "Event")


def test_given_external_id_field_when_upserting_tasks_then_created_once_then_updated(
    md: Any, sf: Salesforce
) -> None:
    md.CustomField.upsert(
        [
            md.CustomField(
                fullName="Activity.Commitment_Key__c",
                label="Key",
                length=100,
                type=md.FieldType("Text"),
                externalId=True,
            )
        ]
    )
    _grant(md, sf, [("Task.Commitment_Key__c", True)])
    opp_id = sf.query("SELECT Id FROM Opportunity WHERE Name = 'Deal 1'")["records"][0]["Id"]
    record = {
        "attributes": {"type": "Task"},
        "Commitment_Key__c": f"cmt:{opp_id}:time",
        "WhatId": opp_id,
        "Subject": "Book the first meeting",
    }
    body = {"allOrNone": False, "records": [record]}
    [first] = sf.restful("composite/sobjects/Task/Commitment_Key__c", method="PATCH", json=body)
    [second] = sf.restful("composite/sobjects/Task/Commitment_Key__c", method="PATCH", json=body)
    assert (first["created"], second["created"], first["id"]) == (True, False, second["id"])
    assert sf.Task.upsert(f"Commitment_Key__c/cmt:{opp_id}:time", {"Status": "Completed"}) == 200
    assert sf.Task.get(first["id"])["IsClosed"] is True
    described = {f["name"]: f for f in sf.Task.describe()["fields"]}
    assert described["Commitment_Key__c"]["externalId"] is True
    with pytest.raises(SalesforceMalformedRequest):
        sf.Task.upsert("Subject/whatever", {"Status": "Completed"})


def test_given_permission_set_naming_an_activity_field_on_activity_when_upserted_then_refused(
    md: Any, sf: Salesforce
) -> None:
    _provision_fields(md)
    with pytest.raises(Exception, match="INVALID_CROSS_REFERENCE_KEY, In field: field - no CustomField"):
        _grant(md, sf, [("Activity.Commitment_Key__c", True)])
    assert "Commitment_Key__c" not in _field_names(sf, "Task")


def test_given_a_field_name_over_40_characters_when_upserted_then_refused(md: Any) -> None:
    field = md.CustomField(
        fullName=f"Opportunity.{'A' * 41}__c", label="Long", type=md.FieldType("DateTime")
    )
    with pytest.raises(Exception, match="FIELD_INTEGRITY_EXCEPTION, Field name too long"):
        md.CustomField.upsert([field])


def test_given_list_view_on_a_missing_field_when_upserted_then_refused(md: Any) -> None:
    view = md.ListView(
        fullName="Opportunity.Broken",
        label="Broken",
        filterScope=md.FilterScope("Everything"),
        columns=["OPPORTUNITY.NAME", "Not_There__c"],
    )
    with pytest.raises(Exception, match="FIELD_INTEGRITY_EXCEPTION, Invalid field Not_There__c"):
        md.ListView.upsert([view])


def test_given_a_permission_set_saved_then_changed_when_field_permissions_are_queried_then_they_follow_it(
    md: Any, sf: Salesforce
) -> None:
    _provision_fields(md)
    _grant(md, sf, [(SECURED, False), (SCORE, True)])
    query = (
        "SELECT Field, PermissionsRead, PermissionsEdit FROM FieldPermissions "
        "WHERE Parent.Name = 'Commitments' ORDER BY Field"
    )
    first = [(r["Field"], r["PermissionsRead"], r["PermissionsEdit"]) for r in sf.query(query)["records"]]

    permissions = [md.PermissionSetFieldPermissions(field=SECURED, editable=True, readable=True)]
    md.PermissionSet.upsert(
        [md.PermissionSet(fullName="Commitments", label="Commitments", fieldPermissions=permissions)]
    )
    second = [(r["Field"], r["PermissionsRead"], r["PermissionsEdit"]) for r in sf.query(query)["records"]]

    assert first == [(SCORE, True, True), (SECURED, True, False)]
    assert second == [(SECURED, True, True)]  # the score no longer granted: its row is gone


def test_given_a_state_saved_before_field_permission_rows_when_loaded_then_they_are_rebuilt(
    md: Any, sf: Salesforce, salesforce_sandbox: SalesforceSandbox
) -> None:
    _provision_fields(md)
    _grant(md, sf, [(SCORE, True)])
    saved = json.loads(json.dumps(salesforce_sandbox.store.dump()))
    saved.pop("FieldPermissions")  # as an older sandbox saved its state
    restored = SalesforceStore()

    restored.load(saved)

    rows = [(r["Field"], r["PermissionsRead"]) for r in restored.table("FieldPermissions").values()]
    assert rows == [(SCORE, True)]
