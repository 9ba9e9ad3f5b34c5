"""HubSpot sandbox properties, property groups, pipelines and owners through hubspot-api-client."""

from __future__ import annotations

import json

import pytest
from hubspot import HubSpot
from hubspot.crm.deals import ApiException as DealsApiException
from hubspot.crm.properties import ApiException as PropertiesApiException
from hubspot.crm.properties import OptionInput, PropertyCreate, PropertyGroupCreate

COMMITMENTS = ("time", "explore", "change")


def _provision(client: HubSpot) -> None:
    props = client.crm.properties
    props.groups_api.create(
        object_type="deals",
        property_group_create=PropertyGroupCreate(name="commitments", label="Commitments", display_order=-1),
    )
    props.core_api.create(
        object_type="deals",
        property_create=PropertyCreate(
            name="commitments_secured",
            label="Commitments secured",
            type="enumeration",
            field_type="checkbox",
            group_name="commitments",
            options=[
                OptionInput(label=c.title(), value=c, display_order=i, hidden=False)
                for i, c in enumerate(COMMITMENTS)
            ],
        ),
    )


def test_given_a_fresh_portal_when_reading_properties_then_defaults_exist_and_plugin_ones_do_not(
    hubspot_client: HubSpot,
) -> None:
    names = {p.name for p in hubspot_client.crm.properties.core_api.get_all("deals").results}
    assert {"dealname", "dealstage", "hs_lastmodifieddate", "hs_v2_date_entered_closedwon"} <= names
    assert not any(n.startswith("commitment") for n in names)
    with pytest.raises(PropertiesApiException) as caught:
        hubspot_client.crm.properties.core_api.get_by_name("deals", "commitments_secured")
    assert caught.value.status == 404


def test_given_a_group_and_checkbox_property_when_created_then_deals_accept_joined_option_values(
    hubspot_client: HubSpot,
) -> None:
    _provision(hubspot_client)
    group = hubspot_client.crm.properties.groups_api.get_by_name("deals", "commitments")
    assert group.label == "Commitments"
    prop = hubspot_client.crm.properties.core_api.get_by_name("deals", "commitments_secured")
    assert [o.value for o in prop.options] == list(COMMITMENTS)
    deal_id = hubspot_client.crm.deals.basic_api.get_page(limit=1).results[0].id
    hubspot_client.crm.deals.batch_api.update(
        {"inputs": [{"id": deal_id, "properties": {"commitments_secured": "time;explore"}}]}
    )
    deal = hubspot_client.crm.deals.basic_api.get_by_id(deal_id, properties=["commitments_secured"])
    assert deal.properties["commitments_secured"] == "time;explore"
    with pytest.raises(DealsApiException) as caught:
        hubspot_client.crm.deals.basic_api.update(
            deal_id, {"properties": {"commitments_secured": "time;Decide"}}
        )
    problems = json.loads(
        json.loads(caught.value.body)["message"].removeprefix("Property values were not valid: ")
    )
    assert (problems[0]["error"], problems[0]["name"]) == ("INVALID_OPTION", "commitments_secured")


def test_given_existing_property_and_group_when_created_again_then_409_conflict(
    hubspot_client: HubSpot,
) -> None:
    _provision(hubspot_client)
    with pytest.raises(PropertiesApiException) as caught:
        _provision(hubspot_client)
    assert caught.value.status == 409
    body = json.loads(caught.value.body)
    assert body["category"] == "OBJECT_ALREADY_EXISTS"
    assert body["status"] == "error"


@pytest.mark.parametrize(
    "create",
    [
        pytest.param(
            {
                "name": "x",
                "label": "X",
                "type": "enumeration",
                "fieldType": "checkbox",
                "groupName": "nope",
                "options": [{"label": "A", "value": "a"}],
            },
            id="unknown-group",
        ),
        pytest.param(
            {
                "name": "x",
                "label": "X",
                "type": "enumeration",
                "fieldType": "checkbox",
                "groupName": "dealinformation",
            },
            id="enumeration-without-options",
        ),
        pytest.param(
            {
                "name": "x",
                "label": "X",
                "type": "number",
                "fieldType": "checkbox",
                "groupName": "dealinformation",
            },
            id="field-type-mismatch",
        ),
    ],
)
def test_given_an_invalid_property_when_created_then_400(hubspot_client: HubSpot, create: dict) -> None:
    with pytest.raises(PropertiesApiException) as caught:
        hubspot_client.crm.properties.core_api.create(object_type="deals", property_create=create)
    assert caught.value.status == 400


def test_given_a_created_property_when_patched_then_options_change(hubspot_client: HubSpot) -> None:
    _provision(hubspot_client)
    options = [
        {"label": c.title(), "value": c, "displayOrder": i, "hidden": False}
        for i, c in enumerate([*COMMITMENTS, "decide"])
    ]
    updated = hubspot_client.crm.properties.core_api.update(
        "deals", "commitments_secured", {"options": options}
    )
    assert [o.value for o in updated.options][-1] == "decide"


def test_given_the_default_pipeline_when_read_then_stages_carry_string_metadata(
    hubspot_client: HubSpot,
) -> None:
    pipeline = hubspot_client.crm.pipelines.pipelines_api.get_all("deals").results[0]
    assert pipeline.id == "default"
    stages = {s.id: s.metadata for s in pipeline.stages}
    assert stages["closedwon"] == {"isClosed": "true", "probability": "1"}
    assert stages["qualifiedtobuy"] == {"isClosed": "false", "probability": "0.4"}
    by_id = hubspot_client.crm.pipelines.pipeline_stages_api.get_all("deals", "default").results
    assert by_id[0].id == "appointmentscheduled"


def test_given_the_book_owner_when_listing_owners_then_it_matches_the_deal_owner(
    hubspot_client: HubSpot,
) -> None:
    owners = hubspot_client.crm.owners.owners_api.get_page().results
    assert [(o.email, o.type) for o in owners] == [("ann@seller.test", "PERSON")]
    deal = hubspot_client.crm.deals.basic_api.get_page(limit=1, properties=["hubspot_owner_id"]).results[0]
    assert deal.properties["hubspot_owner_id"] == owners[0].id
