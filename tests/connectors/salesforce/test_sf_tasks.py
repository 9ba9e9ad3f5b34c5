"""The plugin's tasks: dedupe by key before creating, per-record create errors, the crash guard."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest
import responses
from responses import matchers
from salesforce_support import (
    API,
    PLAYBOOK,
    STANDARD_TASK_STATUSES,
    add_task_statuses,
    connector,
    payload,
    query_page,
    soql_with,
)

from connectors.base import BudgetExhaustedError, CreatedTask
from connectors.salesforce.tasks import TaskStatuses
from core.models import Commitment, OwnedFields, TaskAction, TaskActionKind, WritePlan

A, B = "0065g00000Abc01AAB", "0065g00000Abc02AAB"
CREATE = TaskActionKind.CREATE
KEY_A, KEY_B = f"cmt:{A}:change", f"cmt:{B}:time"


def _create(
    deal_id: str, key: str, commitment: Commitment, kind: TaskActionKind = CREATE, **fields: Any
) -> WritePlan:
    action = TaskAction(
        kind=kind,
        deal_id=deal_id,
        commitment=commitment,
        key=key,
        subject="Secure the Commitment",
        body="Ask for it.",
        owner_id="0055g00000Own01AAA",
        due_date=date(2024, 6, 13),
    ).model_copy(update=fields)
    return WritePlan(deal_id=deal_id, values=OwnedFields(), tasks=(action,))


def _lookup(rsps: responses.RequestsMock, body: object, *keys: str) -> None:
    rsps.get(
        f"{API}query/",
        json=body,
        match=[soql_with("FROM Task WHERE Commitment_Key__c IN", "AND IsClosed = false", *keys)],
    )


def test_given_an_open_task_already_carries_the_key_when_creating_then_only_the_other_is_created(
    rsps: responses.RequestsMock,
) -> None:
    add_task_statuses(rsps)
    _lookup(rsps, payload("open_tasks_by_key.json"), KEY_A, KEY_B)
    expected = {
        "allOrNone": False,
        "records": [
            {
                "attributes": {"type": "Task"},
                "WhatId": B,
                "Subject": "Secure the Commitment",
                "Description": "Ask for it.",
                "Status": "Not Started",
                "Priority": "Normal",
                "Commitment_Key__c": KEY_B,
                "OwnerId": "0055g00000Own01AAA",
                "ActivityDate": "2024-06-13",
            }
        ],
    }
    rsps.post(
        f"{API}composite/sobjects",
        json=payload("composite_create_one.json"),
        match=[matchers.json_params_matcher(expected)],
    )

    result = connector().apply(
        [_create(A, KEY_A, Commitment.CHANGE), _create(B, KEY_B, Commitment.TIME)], PLAYBOOK
    )

    assert result.tasks_created == [
        CreatedTask(A, KEY_A, "00T5g00000Tsk03EAA"),
        CreatedTask(B, KEY_B, "00T5g00000Tsk09EAA"),
    ]


def test_given_one_create_is_refused_when_creating_then_it_is_a_record_failure_and_the_other_is_created(
    rsps: responses.RequestsMock,
) -> None:
    add_task_statuses(rsps)
    _lookup(rsps, payload("empty_query.json"))
    rsps.post(f"{API}composite/sobjects", json=payload("composite_create_tasks.json"))

    result = connector().apply(
        [_create(A, KEY_A, Commitment.CHANGE), _create(B, KEY_B, Commitment.TIME)], PLAYBOOK
    )

    assert result.tasks_created == [CreatedTask(A, KEY_A, "00T5g00000Tsk09EAA")]
    assert [(f.deal_id, f.operation, f.code) for f in result.failures] == [
        (B, "create_task", "FIELD_CUSTOM_VALIDATION_EXCEPTION")
    ]


def _unowned_create(deal_id: str, key: str) -> dict[str, object]:
    return {
        "attributes": {"type": "Task"}, "WhatId": deal_id, "Subject": "Secure the Commitment",
        "Description": "Ask for it.", "Status": "Not Started", "Priority": "Normal",
        "Commitment_Key__c": key, "ActivityDate": "2024-06-13",
    }


def test_given_deals_whose_owner_was_deactivated_when_creating_then_their_tasks_are_created_without_owner(
    rsps: responses.RequestsMock,
) -> None:
    add_task_statuses(rsps)
    _lookup(rsps, payload("empty_query.json"), KEY_A, KEY_B)
    rsps.post(f"{API}composite/sobjects", json=payload("composite_create_inactive_owner.json"))
    _lookup(rsps, payload("empty_query.json"), KEY_A, KEY_B)
    rsps.post(
        f"{API}composite/sobjects",
        json=[
            {"id": "00T5g00000Tsk10EAA", "success": True, "errors": []},
            {"id": "00T5g00000Tsk11EAA", "success": True, "errors": []},
        ],
        match=[matchers.json_params_matcher(
            {"allOrNone": False, "records": [_unowned_create(A, KEY_A), _unowned_create(B, KEY_B)]}
        )],
    )

    result = connector().apply(
        [_create(A, KEY_A, Commitment.CHANGE), _create(B, KEY_B, Commitment.TIME)], PLAYBOOK
    )

    assert result.failures == []
    assert result.tasks_created == [
        CreatedTask(A, KEY_A, "00T5g00000Tsk10EAA"),
        CreatedTask(B, KEY_B, "00T5g00000Tsk11EAA"),
    ]


def test_given_the_daily_limit_hit_retrying_an_unowned_task_when_applied_then_the_error_carries_the_created(
    rsps: responses.RequestsMock,
) -> None:
    add_task_statuses(rsps)
    _lookup(rsps, payload("empty_query.json"), KEY_A, KEY_B)
    refused_owner = payload("composite_create_inactive_owner.json")[0]
    rsps.post(
        f"{API}composite/sobjects",
        json=[{"id": "00T5g00000Tsk10EAA", "success": True, "errors": []}, refused_owner],
    )
    rsps.get(f"{API}query/", status=403, json=payload("error_daily_limit.json"), match=[soql_with(KEY_B)])
    plans = [_create(A, KEY_A, Commitment.CHANGE), _create(B, KEY_B, Commitment.TIME)]

    with pytest.raises(BudgetExhaustedError) as stopped:
        connector().apply(plans, PLAYBOOK)

    # the run records the task A got: a rep deleting it later must not see it made again
    assert stopped.value.written is not None
    assert stopped.value.written.tasks_created == [CreatedTask(A, KEY_A, "00T5g00000Tsk10EAA")]
    assert stopped.value.written.failures == []


def test_given_one_task_found_by_its_key_when_the_daily_limit_stops_the_create_then_the_error_carries_it(
    rsps: responses.RequestsMock,
) -> None:
    add_task_statuses(rsps)
    _lookup(rsps, payload("open_tasks_by_key.json"), KEY_A, KEY_B)
    rsps.post(f"{API}composite/sobjects", status=403, json=payload("error_daily_limit.json"))
    plans = [_create(A, KEY_A, Commitment.CHANGE), _create(B, KEY_B, Commitment.TIME)]

    with pytest.raises(BudgetExhaustedError) as stopped:
        connector().apply(plans, PLAYBOOK)

    # as when the create goes through: A's task is the deal's, and the run records its key
    assert stopped.value.written is not None
    assert stopped.value.written.tasks_created == [CreatedTask(A, KEY_A, "00T5g00000Tsk03EAA")]


def _without_priority(deal_id: str, key: str) -> dict[str, object]:
    owned = {**_unowned_create(deal_id, key), "OwnerId": "0055g00000Own01AAA"}
    return {k: v for k, v in owned.items() if k != "Priority"}


def test_given_an_org_without_the_task_priority_when_creating_then_tasks_get_its_default_priority(
    rsps: responses.RequestsMock, caplog: pytest.LogCaptureFixture
) -> None:
    add_task_statuses(rsps)
    _lookup(rsps, payload("empty_query.json"), KEY_A)
    bad_value = {
        "statusCode": "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
        "message": "Priority: bad value for restricted picklist field: Normal", "fields": ["Priority"],
    }
    rsps.post(f"{API}composite/sobjects", json=[{"success": False, "errors": [bad_value]}])
    _lookup(rsps, payload("empty_query.json"), KEY_A)
    rsps.post(
        f"{API}composite/sobjects",
        json=[{"id": "00T5g00000Tsk12EAA", "success": True, "errors": []}],
        match=[matchers.json_params_matcher({"allOrNone": False, "records": [_without_priority(A, KEY_A)]})],
    )
    _lookup(rsps, payload("empty_query.json"), KEY_B)
    rsps.post(  # the run's later tasks leave the refused priority out from the start
        f"{API}composite/sobjects",
        json=[{"id": "00T5g00000Tsk13EAA", "success": True, "errors": []}],
        match=[matchers.json_params_matcher({"allOrNone": False, "records": [_without_priority(B, KEY_B)]})],
    )
    sf = connector()

    first = sf.apply([_create(A, KEY_A, Commitment.CHANGE)], PLAYBOOK)
    later = sf.apply([_create(B, KEY_B, Commitment.TIME)], PLAYBOOK)

    assert first.failures == later.failures == []
    assert [t.task_id for t in (*first.tasks_created, *later.tasks_created)] == [
        "00T5g00000Tsk12EAA", "00T5g00000Tsk13EAA"
    ]
    assert "task priority 'Normal'" in caplog.text


def test_given_a_create_answered_with_503_when_it_landed_anyway_then_it_is_found_by_key_not_created_twice(
    rsps: responses.RequestsMock,
) -> None:
    add_task_statuses(rsps)
    _lookup(rsps, payload("empty_query.json"))
    rsps.post(f"{API}composite/sobjects", status=503, json=payload("error_server_unavailable.json"))
    landed = query_page([{"Id": "00T5g00000Tsk09EAA", "WhatId": A, "Commitment_Key__c": KEY_A}])
    _lookup(rsps, landed)

    result = connector().apply([_create(A, KEY_A, Commitment.CHANGE)], PLAYBOOK)

    assert result.tasks_created == [CreatedTask(A, KEY_A, "00T5g00000Tsk09EAA")]
    assert [c.request.method for c in rsps.calls] == ["GET", "GET", "POST", "GET"]  # statuses, keys, ...


def test_given_a_completion_known_only_by_key_when_applied_then_the_open_task_is_looked_up_and_closed(
    rsps: responses.RequestsMock,
) -> None:
    add_task_statuses(rsps)
    _lookup(rsps, payload("open_tasks_by_key.json"), KEY_A)
    rsps.patch(
        f"{API}composite/sobjects",
        json=[{"id": "00T5g00000Tsk03EAA", "success": True, "errors": []}],
        match=[
            matchers.json_params_matcher(
                {
                    "allOrNone": False,
                    "records": [
                        {"attributes": {"type": "Task"}, "id": "00T5g00000Tsk03EAA", "Status": "Completed"}
                    ],
                }
            )
        ],
    )
    action = TaskAction(kind=TaskActionKind.COMPLETE, deal_id=A, commitment=Commitment.CHANGE, key=KEY_A)

    result = connector().apply([WritePlan(deal_id=A, values=OwnedFields(), tasks=(action,))], PLAYBOOK)

    assert result.tasks_completed == 1


def test_given_an_org_with_its_own_task_statuses_when_creating_and_completing_then_its_values_are_used(
    rsps: responses.RequestsMock,
) -> None:
    # Task Status is a restricted picklist: "Not Started" and "Completed" would be refused here.
    statuses = [("Done", True, False, 3), ("Waiting", False, False, 2), ("Open", False, True, 4)]
    add_task_statuses(rsps, [
        {"ApiName": name, "MasterLabel": name, "IsClosed": closed, "IsDefault": default, "SortOrder": order}
        for name, closed, default, order in statuses
    ])
    _lookup(rsps, payload("open_tasks_by_key.json"), KEY_A)  # the task to complete, known only by key
    _lookup(rsps, query_page([]), KEY_B)
    done = {"attributes": {"type": "Task"}, "id": "00T5g00000Tsk03EAA", "Status": "Done"}
    rsps.patch(
        f"{API}composite/sobjects",
        json=[{"id": "00T5g00000Tsk03EAA", "success": True, "errors": []}],
        match=[matchers.json_params_matcher({"allOrNone": False, "records": [done]})],
    )
    rsps.post(
        f"{API}composite/sobjects",
        json=payload("composite_create_one.json"),
        match=[lambda request: (json.loads(request.body)["records"][0]["Status"] == "Open", "not Open")],
    )
    complete = TaskAction(kind=TaskActionKind.COMPLETE, deal_id=A, commitment=Commitment.CHANGE, key=KEY_A)

    result = connector().apply(
        [WritePlan(deal_id=A, values=OwnedFields(), tasks=(complete,)), _create(B, KEY_B, Commitment.TIME)],
        PLAYBOOK,
    )

    assert (result.tasks_completed, len(result.tasks_created), result.failures) == (1, 1, [])


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        ([], TaskStatuses("Not Started", "Completed")),  # an org listing none: Salesforce's standard values
        (STANDARD_TASK_STATUSES, TaskStatuses("Not Started", "Completed")),
        # no default: the first open value by sort order; "Completed" wins over an earlier closed value
        ([{"ApiName": "Later", "IsClosed": False, "SortOrder": 5}, {"ApiName": "Now", "SortOrder": 1},
          {"ApiName": "Dropped", "IsClosed": True, "SortOrder": 2},
          {"ApiName": "Completed", "IsClosed": True, "SortOrder": 3}], TaskStatuses("Now", "Completed")),
        # a default that is a closed value is not a new task's status
        ([{"ApiName": "Closed", "IsClosed": True, "IsDefault": True}], TaskStatuses("Not Started", "Closed")),
    ],
)
def test_given_task_status_rows_when_read_then_the_open_and_done_values_are_chosen(
    rows: list[dict[str, object]], expected: TaskStatuses
) -> None:
    assert TaskStatuses.of(rows) == expected


def test_given_tasks_to_reopen_when_applied_then_one_composite_update_sets_the_open_status_and_fresh_wording(
    rsps: responses.RequestsMock,
) -> None:
    add_task_statuses(rsps, [
        {"ApiName": name, "MasterLabel": name, "IsClosed": closed, "IsDefault": default, "SortOrder": order}
        for name, closed, default, order in [("Done", True, False, 1), ("Open", False, True, 2)]
    ])
    body = "Ask for it.\n\nWhere it stands (2024-06-10): a note says the project is on hold."
    task_a, task_b = "00T5g00000Tsk01AAA", "00T5g00000Tsk02AAA"
    plans = [
        _create(deal_id, key, Commitment.CHANGE, TaskActionKind.REOPEN, task_id=task_id, body=body)
        for deal_id, key, task_id in ((A, KEY_A, task_a), (B, f"cmt:{B}:change", task_b))
    ]
    # the org's default open status, the wording and due date refreshed; key and owner are not sent
    records = [
        {
            "attributes": {"type": "Task"},
            "id": task_id,
            "Status": "Open",
            "Subject": "Secure the Commitment",
            "Description": body,
            "ActivityDate": "2024-06-13",
        }
        for task_id in (task_a, task_b)
    ]
    deleted = {"success": False, "errors": [{"statusCode": "ENTITY_IS_DELETED", "message": "deleted"}]}
    rsps.patch(
        f"{API}composite/sobjects",
        json=[{"id": task_a, "success": True, "errors": []}, deleted],
        match=[matchers.json_params_matcher({"allOrNone": False, "records": records})],
    )

    result = connector().apply(plans, PLAYBOOK)

    assert (result.tasks_reopened, result.tasks_completed, result.tasks_created) == (1, 0, [])
    failures = [(f.deal_id, f.operation, f.code) for f in result.failures]
    assert failures == [(B, "reopen_task", "ENTITY_IS_DELETED")]  # collected, not raised
