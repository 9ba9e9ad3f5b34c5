"""HubSpot sandbox objects API, driven through hubspot-api-client: list, get, create, update, batches."""

from __future__ import annotations

import json

import pytest
from hubspot import HubSpot
from hubspot.crm.deals import ApiException as DealsApiException

from sandbox.hubspot import HubSpotSandbox


def _error_body(error: Exception) -> dict:
    return json.loads(error.body)  # type: ignore[attr-defined]


def _deal_ids(client: HubSpot) -> list[str]:
    return [deal.id for deal in client.crm.deals.get_all()]


def test_given_five_deals_when_listing_two_per_page_then_after_pages_through_all_in_id_order(
    hubspot_client: HubSpot,
) -> None:
    seen, after = [], None
    while True:
        page = hubspot_client.crm.deals.basic_api.get_page(limit=2, after=after, properties=["dealname"])
        seen += [deal.id for deal in page.results]
        if page.paging is None:
            break
        after = page.paging.next.after
    assert len(seen) == 5
    assert seen == sorted(seen, key=int)
    assert set(page.results[0].properties) == {
        "dealname",
        "createdate",
        "hs_lastmodifieddate",
        "hs_object_id",
    }


def test_given_a_list_request_over_100_when_sent_then_400_validation_error(hubspot_client: HubSpot) -> None:
    with pytest.raises(DealsApiException) as caught:
        hubspot_client.crm.deals.basic_api.get_page(limit=101)
    assert caught.value.status == 400
    assert _error_body(caught.value)["category"] == "VALIDATION_ERROR"


def test_given_an_imported_deal_when_read_by_id_then_hubspot_properties_and_stage_dates_are_there(
    hubspot_client: HubSpot,
) -> None:
    deal_id = _deal_ids(hubspot_client)[2]
    wanted = [
        "dealname",
        "dealstage",
        "pipeline",
        "amount",
        "hs_is_closed",
        "hs_manual_forecast_category",
        "hubspot_owner_id",
        "hs_v2_date_entered_presentationscheduled",
        "hs_date_entered_appointmentscheduled",
    ]
    deal = hubspot_client.crm.deals.basic_api.get_by_id(deal_id, properties=wanted)
    props = deal.properties
    assert (props["dealname"], props["dealstage"], props["pipeline"]) == (
        "Deal 3",
        "presentationscheduled",
        "default",
    )
    assert props["amount"] == "3000"
    assert props["hs_is_closed"] == "false"
    assert props["hs_manual_forecast_category"] == "PIPELINE"
    assert props["hs_v2_date_entered_presentationscheduled"] == "2025-01-01T03:00:00.000Z"
    assert props["hs_date_entered_appointmentscheduled"] == "2025-01-01T00:00:00.000Z"
    assert props["hs_lastmodifieddate"] == "2025-01-04T00:00:00.000Z"


def test_given_an_unknown_id_when_read_then_404(hubspot_client: HubSpot) -> None:
    with pytest.raises(DealsApiException) as caught:
        hubspot_client.crm.deals.basic_api.get_by_id("1")
    assert caught.value.status == 404


def test_given_a_patch_when_applied_then_value_history_and_modification_stamp_change(
    hubspot_client: HubSpot,
) -> None:
    deal_id = _deal_ids(hubspot_client)[0]
    before = hubspot_client.crm.deals.basic_api.get_by_id(deal_id).properties["hs_lastmodifieddate"]
    updated = hubspot_client.crm.deals.basic_api.update(deal_id, {"properties": {"dealstage": "closedwon"}})
    assert updated.properties["hs_lastmodifieddate"] > before
    deal = hubspot_client.crm.deals.basic_api.get_by_id(
        deal_id,
        properties=[
            "hs_is_closed_won",
            "hs_is_closed",
            "hs_v2_date_entered_closedwon",
            "hs_v2_date_exited_qualifiedtobuy",
        ],
        properties_with_history=["dealstage"],
    )
    assert (deal.properties["hs_is_closed_won"], deal.properties["hs_is_closed"]) == ("true", "true")
    stamp = updated.properties["hs_lastmodifieddate"]
    assert (
        deal.properties["hs_v2_date_entered_closedwon"]
        == deal.properties["hs_v2_date_exited_qualifiedtobuy"]
        == stamp
    )
    assert [v.value for v in deal.properties_with_history["dealstage"]][:2] == ["closedwon", "qualifiedtobuy"]


def test_given_ids_and_one_unknown_when_batch_read_then_207_with_the_unknown_id_in_errors(
    hubspot_client: HubSpot,
) -> None:
    ids = _deal_ids(hubspot_client)
    response = hubspot_client.crm.deals.batch_api.read(
        {"inputs": [{"id": i} for i in [*ids, "42"]], "properties": ["dealname", "amount"]}
    )
    assert sorted(r.id for r in response.results) == sorted(ids)
    assert response.num_errors == 1
    assert response.errors[0].category == "OBJECT_NOT_FOUND"
    assert response.errors[0].context == {"ids": ["42"]}
    assert response.status == "COMPLETE"
    assert response.started_at
    assert response.completed_at


@pytest.mark.parametrize(("inputs", "history"), [(101, False), (51, True)])
def test_given_too_many_inputs_when_batch_read_then_400(
    hubspot_client: HubSpot, inputs: int, history: bool
) -> None:
    body = {"inputs": [{"id": str(i)} for i in range(inputs)], "properties": ["dealname"]}
    if history:
        body["propertiesWithHistory"] = ["dealstage"]
    with pytest.raises(DealsApiException) as caught:
        hubspot_client.crm.deals.batch_api.read(body)
    assert caught.value.status == 400


def test_given_one_record_set_to_fail_when_batch_update_then_207_and_the_others_are_written(
    hubspot_sandbox: HubSpotSandbox, hubspot_client: HubSpot
) -> None:
    ids = _deal_ids(hubspot_client)
    hubspot_sandbox.store.fail_record_ids.add(ids[1])
    response = hubspot_client.crm.deals.batch_api.update(
        {"inputs": [{"id": i, "properties": {"hs_next_step": f"step {i}"}} for i in ids]}
    )
    assert response.num_errors == 1
    assert response.errors[0].context == {"ids": [ids[1]]}
    assert sorted(r.id for r in response.results) == sorted(set(ids) - {ids[1]})
    stored = hubspot_sandbox.store.tables["deals"]
    assert stored[ids[0]]["properties"]["hs_next_step"] == f"step {ids[0]}"
    assert stored[ids[1]]["properties"].get("hs_next_step") != f"step {ids[1]}"


def test_given_an_invalid_option_on_one_record_when_batch_update_then_only_that_record_fails(
    hubspot_sandbox: HubSpotSandbox, hubspot_client: HubSpot
) -> None:
    ids = _deal_ids(hubspot_client)[:3]
    values = ["COMMIT", "NOT_AN_OPTION", "BEST_CASE"]
    response = hubspot_client.crm.deals.batch_api.update(
        {
            "inputs": [
                {"id": i, "properties": {"hs_manual_forecast_category": v}}
                for i, v in zip(ids, values, strict=True)
            ]
        }
    )
    assert response.num_errors == 1
    error = response.errors[0]
    assert (error.category, error.context) == ("VALIDATION_ERROR", {"ids": [ids[1]]})
    assert error.errors[0].code == "INVALID_OPTION"
    assert "NOT_AN_OPTION was not one of the allowed options" in error.message
    assert (
        hubspot_sandbox.store.tables["deals"][ids[2]]["properties"]["hs_manual_forecast_category"]
        == "BEST_CASE"
    )


def test_given_an_unknown_property_when_batch_update_then_whole_batch_400_and_nothing_written(
    hubspot_sandbox: HubSpotSandbox, hubspot_client: HubSpot
) -> None:
    ids = _deal_ids(hubspot_client)[:2]
    inputs = [
        {"id": ids[0], "properties": {"hs_next_step": "written?"}},
        {"id": ids[1], "properties": {"commitments_secured": "time"}},
    ]
    with pytest.raises(DealsApiException) as caught:
        hubspot_client.crm.deals.batch_api.update({"inputs": inputs})
    body = _error_body(caught.value)
    assert caught.value.status == 400
    assert body["category"] == "VALIDATION_ERROR"
    assert body["correlationId"]
    problems = json.loads(body["message"].removeprefix("Property values were not valid: "))
    assert problems[0]["error"] == "PROPERTY_DOESNT_EXIST"
    assert problems[0]["name"] == "commitments_secured"
    assert hubspot_sandbox.store.tables["deals"][ids[0]]["properties"].get("hs_next_step") != "written?"


def test_given_a_read_only_property_when_patched_then_400(hubspot_client: HubSpot) -> None:
    deal_id = _deal_ids(hubspot_client)[0]
    with pytest.raises(DealsApiException) as caught:
        hubspot_client.crm.deals.basic_api.update(deal_id, {"properties": {"hs_is_closed": "true"}})
    assert caught.value.status == 400
    assert "READ_ONLY_VALUE" in _error_body(caught.value)["message"]


def test_given_tasks_when_batch_created_then_201_results_with_trace_ids(hubspot_client: HubSpot) -> None:
    inputs = [
        {
            "properties": {
                "hs_task_subject": f"T{i}",
                "hs_timestamp": "1735689600000",
                "hs_task_status": "NOT_STARTED",
            },
            "objectWriteTraceId": f"t{i}",
        }
        for i in range(3)
    ]
    response = hubspot_client.crm.objects.tasks.batch_api.create({"inputs": inputs})
    assert sorted(r.object_write_trace_id for r in response.results) == ["t0", "t1", "t2"]
    assert response.results[0].properties["hs_timestamp"] == "2025-01-01T00:00:00.000Z"


def test_given_an_archived_deal_when_listing_then_only_archived_true_shows_it(
    hubspot_client: HubSpot,
) -> None:
    deal_id = _deal_ids(hubspot_client)[0]
    hubspot_client.crm.deals.basic_api.archive(deal_id)
    assert deal_id not in _deal_ids(hubspot_client)
    archived = hubspot_client.crm.deals.basic_api.get_page(archived=True)
    assert [d.id for d in archived.results] == [deal_id]
    assert archived.results[0].archived is True


def test_given_an_unknown_owner_when_creating_a_task_then_400_invalid_owner_id(
    hubspot_client: HubSpot,
) -> None:
    from hubspot.crm.objects.tasks import ApiException as TasksApiException

    with pytest.raises(TasksApiException) as caught:
        hubspot_client.crm.objects.tasks.basic_api.create(
            {"properties": {"hs_task_subject": "x", "hubspot_owner_id": "1"}}
        )
    assert "INVALID_OWNER_ID" in _error_body(caught.value)["message"]


def test_given_a_deal_created_without_pipeline_when_read_then_it_sits_in_the_default_pipeline(
    hubspot_client: HubSpot,
) -> None:
    deal = hubspot_client.crm.deals.basic_api.create(
        {"properties": {"dealname": "New", "dealstage": "appointmentscheduled"}}
    )
    assert deal.properties["pipeline"] == "default"
    read = hubspot_client.crm.deals.basic_api.get_by_id(
        deal.id, properties=["num_associated_contacts", "hs_is_closed"]
    )
    assert read.properties["hs_is_closed"] == "false"
    assert read.properties["num_associated_contacts"] is None
    book_deal = _deal_ids(hubspot_client)[0]
    counted = hubspot_client.crm.deals.basic_api.get_by_id(book_deal, properties=["num_associated_contacts"])
    assert counted.properties["num_associated_contacts"] == "3"


def test_given_unchanged_values_when_written_then_modification_stamp_stays(hubspot_client: HubSpot) -> None:
    deal_id = _deal_ids(hubspot_client)[0]
    before = hubspot_client.crm.deals.basic_api.get_by_id(deal_id, properties=["dealname"]).properties
    after = hubspot_client.crm.deals.basic_api.update(
        deal_id, {"properties": {"dealname": before["dealname"]}}
    )
    assert after.properties["hs_lastmodifieddate"] == before["hs_lastmodifieddate"]


def test_given_a_task_without_hs_timestamp_when_created_then_400_naming_the_missing_property(
    hubspot_client: HubSpot,
) -> None:
    from hubspot.crm.objects.tasks import ApiException as TasksApiException

    with pytest.raises(TasksApiException) as caught:
        hubspot_client.crm.objects.tasks.basic_api.create({"properties": {"hs_task_subject": "x"}})
    body = _error_body(caught.value)
    assert (caught.value.status, body["category"]) == (400, "VALIDATION_ERROR")
    assert body["context"] == {"properties": ["hs_timestamp"]}


def test_given_associations_asked_when_reading_a_deal_then_associated_ids_come_with_it(
    hubspot_client: HubSpot,
) -> None:
    deal_id = _deal_ids(hubspot_client)[0]
    deal = hubspot_client.crm.deals.basic_api.get_by_id(deal_id, associations=["contacts", "line_items"])
    assert len(deal.associations["contacts"].results) == 3
    assert deal.associations["contacts"].results[0].type == "deal_to_contact"
    assert len(deal.associations["line_items"].results) == 1


def test_given_emails_when_batch_reading_contacts_by_id_property_then_contacts_come_back(
    hubspot_client: HubSpot,
) -> None:
    response = hubspot_client.crm.contacts.batch_api.read(
        {
            "inputs": [{"id": "c1@acme.test"}, {"id": "C2@ACME.TEST"}],
            "idProperty": "email",
            "properties": ["firstname"],
        }
    )
    assert sorted(r.properties["firstname"] for r in response.results) == ["First1", "First2"]
    contact = hubspot_client.crm.contacts.basic_api.get_by_id("c3@acme.test", id_property="email")
    assert contact.properties["email"] == "c3@acme.test"
