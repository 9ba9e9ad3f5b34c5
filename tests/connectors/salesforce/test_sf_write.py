"""Writing fields: composite collections with per-record errors, batching, Bulk API 2.0 above a threshold."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import responses
from responses import matchers
from salesforce_support import API, PLAYBOOK, add_task_statuses, connector, payload, session_config, text

from connectors.base import RecordFailure
from connectors.salesforce.write import truncate_bytes
from core.models import Commitment, OwnedField, OwnedFields, TaskAction, TaskActionKind, WritePlan

A, B = "0065g00000Abc01AAB", "0065g00000Abc02AAB"


def _plan(
    deal_id: str, changed: set[OwnedField], tasks: tuple[TaskAction, ...] = (), **values: Any
) -> WritePlan:
    return WritePlan(deal_id=deal_id, values=OwnedFields(**values), changed=frozenset(changed), tasks=tasks)


def test_given_plans_and_a_completion_when_applied_then_one_composite_call_reports_each_record(
    rsps: responses.RequestsMock,
) -> None:
    add_task_statuses(rsps)
    complete = TaskAction(
        kind=TaskActionKind.COMPLETE,
        deal_id=A,
        commitment=Commitment.CHANGE,
        key=f"cmt:{A}:change",
        task_id="00T5g00000Tsk03EAA",
    )
    plans = [
        _plan(
            A,
            {OwnedField.SECURED, OwnedField.SCORE},
            (complete,),
            secured=(Commitment.TIME, Commitment.CHANGE),
            score=2,
            next=Commitment.EXPLORE,
        ),
        _plan(B, {OwnedField.ASSESSED_AT, OwnedField.NEXT}, assessed_at=datetime(2024, 6, 10, 2, tzinfo=UTC)),
    ]
    expected_body = {
        "allOrNone": False,
        "records": [
            {
                "attributes": {"type": "Opportunity"},
                "id": A,
                "Commitments_Secured__c": "time;change",
                "Commitment_Score__c": 2,
            },
            {
                "attributes": {"type": "Opportunity"},
                "id": B,
                "Commitments_Assessed_At__c": "2024-06-10T02:00:00.000Z",
                "Next_Commitment__c": None,
            },
            {"attributes": {"type": "Task"}, "id": "00T5g00000Tsk03EAA", "Status": "Completed"},
        ],
    }
    rsps.patch(
        f"{API}composite/sobjects",
        json=payload("composite_update_partial.json"),
        match=[matchers.json_params_matcher(expected_body)],
    )

    result = connector().apply(plans, PLAYBOOK)

    assert (result.deals_updated, result.fields_written, result.tasks_completed) == (1, 2, 1)
    assert result.failures == [
        RecordFailure(
            B,
            "update",
            "unable to obtain exclusive access to this record or 1 records: 0065g00000Abc02AAB",
            "UNABLE_TO_LOCK_ROW",
        )
    ]


def test_given_450_changed_deals_when_applied_then_three_composite_calls_of_at_most_200_are_made(
    rsps: responses.RequestsMock,
) -> None:
    sizes: list[int] = []

    def answer(request: Any) -> tuple[int, dict[str, str], str]:
        import json

        records = json.loads(request.body)["records"]
        sizes.append(len(records))
        return 200, {}, json.dumps([{"id": r["id"], "success": True, "errors": []} for r in records])

    rsps.add_callback("PATCH", f"{API}composite/sobjects", callback=answer)
    plans = [_plan(f"006{i:015d}", {OwnedField.SCORE}, score=i % 10) for i in range(450)]

    result = connector().apply(plans, PLAYBOOK)

    assert sizes == [200, 200, 50]
    assert result.deals_updated == 450
    assert not result.failures


def test_given_a_batch_salesforce_stays_unavailable_for_when_applied_then_it_and_the_rest_fail_to_retry(
    rsps: responses.RequestsMock,
) -> None:
    # Updates are idempotent: the first batch's writes are kept and counted, this batch and the next are
    # reported per deal (code "transient", retried next run) instead of failing the whole run.
    answered: list[int] = []

    def answer(request: Any) -> tuple[int, dict[str, str], str]:
        import json

        records = json.loads(request.body)["records"]
        if answered:
            return 503, {}, json.dumps(payload("error_server_unavailable.json"))
        answered.append(len(records))
        return 200, {}, json.dumps([{"id": r["id"], "success": True, "errors": []} for r in records])

    rsps.add_callback("PATCH", f"{API}composite/sobjects", callback=answer)
    plans = [_plan(f"006{i:015d}", {OwnedField.SCORE}, score=i % 10) for i in range(450)]

    result = connector(session_config(max_attempts=2)).apply(plans, PLAYBOOK)

    assert (result.deals_updated, result.fields_written) == (200, 200)
    assert [f.deal_id for f in result.failures] == [p.deal_id for p in plans[200:]]
    assert {(f.operation, f.code) for f in result.failures} == {("update", "transient")}
    assert len(rsps.calls) == 1 + 2  # the second batch tried as often as the retry policy allows, no third


def test_given_more_updates_than_the_bulk_threshold_when_applied_then_one_bulk_job_runs_and_failures_are_read(
    rsps: responses.RequestsMock,
) -> None:
    jobs = f"{API}jobs/ingest"
    rsps.post(jobs, json={"id": "7505g000001Job1", "state": "Open"})
    rsps.put(f"{jobs}/7505g000001Job1/batches", status=201)
    rsps.patch(f"{jobs}/7505g000001Job1", json={"id": "7505g000001Job1", "state": "UploadComplete"})
    done = {
        "id": "7505g000001Job1",
        "state": "JobComplete",
        "numberRecordsFailed": 1,
        "numberRecordsProcessed": 2,
    }
    rsps.get(f"{jobs}/7505g000001Job1", json=done)
    rsps.get(f"{jobs}/7505g000001Job1/failedResults", body=text("bulk_failed_results.csv"))
    plans = [
        _plan(A, {OwnedField.SCORE}, score=3),
        _plan(B, {OwnedField.SCORE, OwnedField.STAGE_GAP}, score=3),
    ]

    result = connector(session_config(bulk_threshold=1, bulk_wait_seconds=0)).apply(plans, PLAYBOOK)

    assert (result.deals_updated, result.fields_written) == (1, 1)
    assert [(f.deal_id, f.code) for f in result.failures] == [(B, "UNABLE_TO_LOCK_ROW")]
    uploaded = next(c.request.body for c in rsps.calls if c.request.method == "PUT")
    assert b"#N/A" not in uploaded
    assert b"false" in uploaded


def test_given_unchanged_plans_when_applied_then_nothing_is_sent(rsps: responses.RequestsMock) -> None:
    result = connector().apply([_plan(A, set(), score=2)], PLAYBOOK)

    assert result.deals_updated == 0
    assert not rsps.calls


def test_given_multibyte_text_over_the_limit_when_truncated_then_no_character_is_split() -> None:
    text_ = "é" * 20000  # 40000 bytes

    cut = truncate_bytes(text_)

    assert len(cut.encode()) == 32768
    assert cut == "é" * 16384
