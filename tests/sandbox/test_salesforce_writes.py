"""Writes against the Salesforce sandbox: single records, sObject Collections and Bulk API 2.0."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from simple_salesforce.api import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest, SalesforceOperationError

from sandbox.salesforce import SalesforceSandbox


def _opportunity_ids(sf: Salesforce) -> list[str]:
    return [r["Id"] for r in sf.query("SELECT Id FROM Opportunity ORDER BY Name")["records"]]


def _update(sf: Salesforce, records: list[dict[str, Any]], all_or_none: bool = False) -> Any:
    body = {
        "allOrNone": all_or_none,
        "records": [{"attributes": {"type": "Opportunity"}, **r} for r in records],
    }
    return sf.restful("composite/sobjects", method="PATCH", json=body)


def test_given_one_locked_record_when_composite_update_then_per_record_results_in_order(
    salesforce_sandbox: SalesforceSandbox, sf: Salesforce
) -> None:
    ids = _opportunity_ids(sf)
    salesforce_sandbox.store.fail_record_ids.add(ids[1])
    results = _update(sf, [{"id": i, "NextStep": f"step {n}"} for n, i in enumerate(ids[:3])])
    assert [r["success"] for r in results] == [True, False, True]
    assert results[0] == {"id": ids[0], "success": True, "errors": []}
    assert results[1]["errors"][0]["statusCode"] == "UNABLE_TO_LOCK_ROW"
    steps = {r["Id"]: r["NextStep"] for r in sf.query("SELECT Id, NextStep FROM Opportunity")["records"]}
    assert (steps[ids[0]], steps[ids[2]]) == ("step 0", "step 2")
    assert steps[ids[1]] != "step 1"
    assert salesforce_sandbox.app.calls["composite_update"] == 1


def test_given_all_or_none_and_one_bad_record_when_composite_update_then_nothing_written(
    sf: Salesforce,
) -> None:
    ids = _opportunity_ids(sf)
    results = _update(sf, [{"id": ids[0], "NextStep": "x"}, {"id": ids[1], "Bogus__c": 1}], all_or_none=True)
    assert results[0]["errors"][0]["statusCode"] == "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    assert results[1]["errors"][0]["statusCode"] == "INVALID_FIELD"
    assert sf.Opportunity.get(ids[0])["NextStep"] != "x"


@pytest.mark.parametrize(
    ("values", "code"),
    [
        ({"Bogus__c": "x"}, "INVALID_FIELD"),
        ({"StageName": "Almost Won"}, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"),
        ({"NextStep": "é" * 200}, "STRING_TOO_LONG"),  # 200 characters, 400 bytes > 255
        ({"IsWon": True}, "INVALID_FIELD_FOR_INSERT_UPDATE"),
        ({"Amount": "lots"}, "INVALID_TYPE_ON_FIELD_IN_RECORD"),
        ({"CloseDate": None}, "REQUIRED_FIELD_MISSING"),
        ({"AccountId": "001000000000000AAA"}, "INVALID_CROSS_REFERENCE_KEY"),
    ],
)
def test_given_invalid_value_when_composite_update_then_record_error_code(
    sf: Salesforce, values: dict[str, Any], code: str
) -> None:
    [result] = _update(sf, [{"id": _opportunity_ids(sf)[0], **values}])
    assert result["success"] is False
    assert result["errors"][0]["statusCode"] == code


def test_given_201_records_when_composite_update_then_exceeded_id_limit(sf: Salesforce) -> None:
    ids = _opportunity_ids(sf)
    with pytest.raises(SalesforceMalformedRequest) as caught:
        _update(sf, [{"id": ids[n % len(ids)], "NextStep": "x"} for n in range(201)])
    assert caught.value.content[0]["errorCode"] == "EXCEEDED_ID_LIMIT"


def test_given_write_when_applied_then_modstamps_move_and_stage_change_is_recorded(
    salesforce_sandbox: SalesforceSandbox, sf: Salesforce
) -> None:
    opp_id = _opportunity_ids(sf)[0]
    before = sf.Opportunity.get(opp_id)
    assert sf.Opportunity.update(opp_id, {"StageName": "Closed Won"}) == 204
    after = sf.Opportunity.get(opp_id)
    assert after["SystemModstamp"] > before["SystemModstamp"]
    assert after["LastModifiedDate"] == after["SystemModstamp"]
    assert (after["IsClosed"], after["IsWon"], after["ForecastCategoryName"]) == (True, True, "Closed")
    history = sf.query(f"SELECT StageName FROM OpportunityHistory WHERE OpportunityId = '{opp_id}'")
    assert history["records"][-1]["StageName"] == "Closed Won"


def test_given_new_task_when_created_then_it_is_a_child_of_its_opportunity(sf: Salesforce) -> None:
    opp_id = _opportunity_ids(sf)[0]
    created = sf.restful(
        "composite/sobjects",
        method="POST",
        json={
            "allOrNone": False,
            "records": [
                {
                    "attributes": {"type": "Task"},
                    "WhatId": opp_id,
                    "Subject": "Book a review",
                    "Status": "Open",
                },
                {"attributes": {"type": "Task"}, "WhatId": opp_id, "Subject": "Book a review"},
            ],
        },
    )
    assert created[0]["errors"][0]["statusCode"] == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    assert created[1]["success"] is True
    assert created[1]["id"].startswith("00T")
    [opp] = sf.query(
        f"SELECT (SELECT Subject, Status, IsClosed FROM Tasks) FROM Opportunity WHERE Id = '{opp_id}'"
    )["records"]
    new = [t for t in opp["Tasks"]["records"] if t["Subject"] == "Book a review"]
    assert new == [{**new[0], "Status": "Not Started", "IsClosed": False}]
    single = sf.Task.create({"WhatId": opp_id, "Subject": "Call back", "Status": "Completed"})
    assert sf.Task.get(single["id"])["CompletedDateTime"] is not None


def test_given_a_task_when_an_account_is_related_to_it_then_it_is_a_what_not_one_of_its_people(
    sf: Salesforce,
) -> None:
    opp_id = _opportunity_ids(sf)[0]
    account = sf.Account.create({"Name": "Acme"})["id"]
    contact = sf.Contact.create({"LastName": "Odum"})["id"]
    call = {"WhatId": opp_id, "WhoId": contact, "Subject": "Call", "Status": "Completed"}
    task = sf.Task.create(call)["id"]

    relation = sf.TaskRelation.create({"TaskId": task, "RelationId": account})["id"]  # no IsWhat given

    assert sf.TaskRelation.get(relation)["IsWhat"] is True  # false only for a contact or a lead
    assert sf.Task.get(task)["WhoCount"] == 1
    with pytest.raises(SalesforceMalformedRequest):  # TaskRelation supports create and delete, no update
        sf.TaskRelation.update(relation, {"RelationId": contact})


def test_given_an_inactive_owner_when_a_task_is_created_for_them_then_inactive_owner_or_user(
    salesforce_sandbox: SalesforceSandbox, sf: Salesforce
) -> None:
    opp_id = _opportunity_ids(sf)[0]
    owner_id = sf.query(f"SELECT OwnerId FROM Opportunity WHERE Id = '{opp_id}'")["records"][0]["OwnerId"]
    owner = salesforce_sandbox.store.get(owner_id)
    assert owner is not None
    owner["IsActive"] = False  # deactivated: still the owner of record, given nothing new
    created = sf.restful(
        "composite/sobjects",
        method="POST",
        json={"allOrNone": False, "records": [
            {"attributes": {"type": "Task"}, "WhatId": opp_id, "Subject": "Follow up", "OwnerId": owner_id},
            {"attributes": {"type": "Task"}, "WhatId": opp_id, "Subject": "Follow up"},
        ]},
    )
    assert created[0]["errors"] == [{
        "statusCode": "INACTIVE_OWNER_OR_USER",
        "message": f"operation performed with inactive user [{owner_id}] as owner of task",
        "fields": [],
    }]
    assert created[1]["success"] is True  # the integration user owns it
    assert _update(sf, [{"attributes": {"type": "Opportunity"}, "id": opp_id, "NextStep": "x"}])[0]["success"]


def test_given_single_create_with_unknown_field_when_posted_then_400_invalid_field(sf: Salesforce) -> None:
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.Task.create({"Subject": "x", "Nope__c": 1})
    assert caught.value.content[0]["errorCode"] == "INVALID_FIELD"


def test_given_records_when_composite_retrieve_then_fields_in_id_order(sf: Salesforce) -> None:
    ids = _opportunity_ids(sf)[:2]
    rows = sf.restful(
        "composite/sobjects/Opportunity",
        method="POST",
        json={"ids": [ids[1], "006000000000000AAA", ids[0]], "fields": ["Name"]},
    )
    assert [r and r["Name"] for r in rows] == ["Deal 2", None, "Deal 1"]


def test_given_bulk2_update_with_a_locked_record_when_job_runs_then_counts_and_failed_results(
    salesforce_sandbox: SalesforceSandbox, sf: Salesforce
) -> None:
    ids = _opportunity_ids(sf)
    salesforce_sandbox.store.fail_record_ids.add(ids[2])
    records = [{"Id": i, "NextStep": f"bulk {n}"} for n, i in enumerate(ids)]
    [result] = sf.bulk2.Opportunity.update(records=records, wait=0)
    assert (result["numberRecordsProcessed"], result["numberRecordsFailed"]) == (5, 1)
    failed = sf.bulk2.Opportunity.get_all_ingest_records(result["job_id"])
    assert [r["sf__Id"] for r in failed["failedRecords"]] == [ids[2]]
    assert failed["failedRecords"][0]["sf__Error"].startswith("UNABLE_TO_LOCK_ROW:")
    assert len(failed["successfulRecords"]) == 4
    assert sf.Opportunity.get(ids[0])["NextStep"] == "bulk 0"


def test_given_bulk2_unknown_column_when_job_runs_then_job_fails(sf: Salesforce) -> None:
    ids = _opportunity_ids(sf)
    with pytest.raises(SalesforceOperationError, match="Field name not found"):
        sf.bulk2.Opportunity.update(records=[{"Id": ids[0], "Nope__c": "x"}], wait=0)


def test_given_updates_and_a_delete_when_asking_updated_and_deleted_then_ids_in_window(
    salesforce_sandbox: SalesforceSandbox, sf: Salesforce
) -> None:
    ids = _opportunity_ids(sf)
    start = datetime.now(UTC) - timedelta(minutes=1)
    sf.Opportunity.update(ids[0], {"NextStep": "changed"})
    sf.Opportunity.delete(ids[1])
    end = datetime.now(UTC) + timedelta(minutes=1)
    assert sf.Opportunity.updated(start, end)["ids"] == [ids[0]]
    deleted = sf.Opportunity.deleted(start, end)["deletedRecords"]
    assert [d["id"] for d in deleted] == [ids[1]]


def test_given_child_update_when_applied_then_only_the_child_modstamp_moves(sf: Salesforce) -> None:
    opp = sf.query("SELECT Id, SystemModstamp FROM Opportunity WHERE Name = 'Deal 1'")["records"][0]
    task = sf.query(f"SELECT Id, SystemModstamp FROM Task WHERE WhatId = '{opp['Id']}' LIMIT 1")["records"][0]
    sf.Task.update(task["Id"], {"Status": "Completed"})
    assert sf.Task.get(task["Id"])["SystemModstamp"] > task["SystemModstamp"]
    assert sf.Opportunity.get(opp["Id"])["SystemModstamp"] == opp["SystemModstamp"]


def test_given_fields_param_when_getting_a_record_then_only_those_fields(sf: Salesforce) -> None:
    opp_id = _opportunity_ids(sf)[0]
    record = sf.Opportunity.get(opp_id, params={"fields": "Name,StageName"})
    assert list(record) == ["attributes", "Name", "StageName"]
