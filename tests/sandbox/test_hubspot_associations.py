"""HubSpot sandbox associations v4 through hubspot-api-client: labels, batch read and paging, creation."""

from __future__ import annotations

import pytest
from hubspot import HubSpot
from hubspot.crm.associations.v4 import ApiException
from hubspot.crm.objects.tasks import (
    AssociationSpec,
    PublicAssociationsForObject,
    PublicObjectId,
    SimplePublicObjectInputForCreate,
)

from sandbox.hubspot import start_hubspot_sandbox
from tests.sandbox.conftest import hubspot_book, hubspot_client_for


def _deal_ids(client: HubSpot) -> list[str]:
    return [deal.id for deal in client.crm.deals.get_all()]


def _read(client: HubSpot, from_type: str, to_type: str, inputs: list[dict]) -> object:
    return client.crm.associations.v4.batch_api.get_page(from_type, to_type, {"inputs": inputs})


def _type_id(client: HubSpot, from_type: str, to_type: str, label: str | None) -> int:
    catalogue = client.crm.associations.v4.schema.definitions_api.get_all(from_type, to_type).results
    return next(t.type_id for t in catalogue if t.label == label)


def test_given_the_portal_when_reading_labels_then_hubspot_defined_and_user_labels_are_listed(
    hubspot_client: HubSpot,
) -> None:
    deal_contact = hubspot_client.crm.associations.v4.schema.definitions_api.get_all(
        "deals", "contacts"
    ).results
    assert ("HUBSPOT_DEFINED", 3, None) in [(t.category, t.type_id, t.label) for t in deal_contact]
    labels = {t.label for t in deal_contact if t.category == "USER_DEFINED"}
    assert {"Decision Maker", "Economic Buyer", "Champion"} <= labels
    assert _type_id(hubspot_client, "tasks", "deals", None) == 216
    assert _type_id(hubspot_client, "meetings", "deals", None) == 212
    assert _type_id(hubspot_client, "contacts", "deals", None) == 4


def test_given_a_deal_with_roles_when_batch_reading_contacts_then_labels_come_with_each_contact(
    hubspot_client: HubSpot,
) -> None:
    deal_id = _deal_ids(hubspot_client)[0]
    response = _read(hubspot_client, "deals", "contacts", [{"id": deal_id}])
    result = response.results[0]
    assert result._from.id == deal_id
    labels = [sorted(str(t.label) for t in target.association_types) for target in result.to]
    assert labels == [["Decision Maker", "None"], ["Champion", "None"], ["None"]]
    assert all(target.association_types[0].type_id == 3 for target in result.to)


def test_given_a_contact_when_reading_deals_then_the_inverse_types_are_stored(
    hubspot_client: HubSpot,
) -> None:
    deal_id = _deal_ids(hubspot_client)[0]
    contact_id = _read(hubspot_client, "deals", "contacts", [{"id": deal_id}]).results[0].to[0].to_object_id
    result = _read(hubspot_client, "contacts", "deals", [{"id": contact_id}]).results[0]
    assert len(result.to) == 5
    assert {t.type_id for t in result.to[0].association_types} == {
        4,
        _type_id(hubspot_client, "contacts", "deals", "Decision Maker"),
    }


def test_given_ids_without_associations_when_batch_read_then_207_no_associations_found(
    hubspot_client: HubSpot,
) -> None:
    deal_id = _deal_ids(hubspot_client)[0]
    response = _read(hubspot_client, "deals", "notes", [{"id": deal_id}, {"id": "12345"}])
    assert response.results == []
    assert response.num_errors == 2
    error = response.errors[1]
    assert (error.category, error.sub_category) == (
        "OBJECT_NOT_FOUND",
        "crm.associations.NO_ASSOCIATIONS_FOUND",
    )
    assert error.message == "No note is associated with deal 12345."


def test_given_more_associations_than_a_page_when_batch_read_then_after_pages_per_input() -> None:
    with start_hubspot_sandbox(hubspot_book(), association_page_size=2) as sandbox:
        client = hubspot_client_for(sandbox)
        deal_id = _deal_ids(client)[0]
        first = _read(client, "deals", "contacts", [{"id": deal_id}]).results[0]
        assert len(first.to) == 2
        second = _read(
            client, "deals", "contacts", [{"id": deal_id, "after": first.paging.next.after}]
        ).results[0]
        assert second.paging is None
        assert len({t.to_object_id for t in [*first.to, *second.to]}) == 3


def test_given_1001_inputs_when_batch_read_then_400(hubspot_client: HubSpot) -> None:
    with pytest.raises(ApiException) as caught:
        _read(hubspot_client, "deals", "contacts", [{"id": str(i)} for i in range(1001)])
    assert caught.value.status == 400


def test_given_a_task_created_with_a_deal_association_when_reading_then_both_sides_see_it(
    hubspot_sandbox: object, hubspot_client: HubSpot
) -> None:
    deal_id = _deal_ids(hubspot_client)[1]
    before = hubspot_client.crm.deals.basic_api.get_by_id(deal_id).properties["hs_lastmodifieddate"]
    type_id = _type_id(hubspot_client, "tasks", "deals", None)
    task = hubspot_client.crm.objects.tasks.basic_api.create(
        simple_public_object_input_for_create=SimplePublicObjectInputForCreate(
            properties={
                "hs_timestamp": "2025-02-01T09:00:00Z",
                "hs_task_subject": "Win consensus",
                "hs_task_status": "NOT_STARTED",
                "hs_task_priority": "HIGH",
                "hs_task_type": "TODO",
            },
            associations=[
                PublicAssociationsForObject(
                    to=PublicObjectId(id=deal_id),
                    types=[
                        AssociationSpec(association_category="HUBSPOT_DEFINED", association_type_id=type_id)
                    ],
                )
            ],
        )
    )
    assert task.properties["hs_task_subject"] == "Win consensus"
    from_deal = _read(hubspot_client, "deals", "tasks", [{"id": deal_id}]).results[0]
    assert task.id in {t.to_object_id for t in from_deal.to}
    from_task = _read(hubspot_client, "tasks", "deals", [{"id": task.id}]).results[0]
    assert [(t.to_object_id, t.association_types[0].type_id) for t in from_task.to] == [(deal_id, 216)]
    assert hubspot_client.crm.deals.basic_api.get_by_id(deal_id).properties["hs_lastmodifieddate"] > before


def test_given_a_wrong_type_id_when_creating_a_task_then_400(hubspot_client: HubSpot) -> None:
    from hubspot.crm.objects.tasks import ApiException as TasksApiException

    deal_id = _deal_ids(hubspot_client)[0]
    body = {
        "properties": {"hs_task_subject": "x", "hs_timestamp": "1735689600000"},
        "associations": [
            {
                "to": {"id": deal_id},
                "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 3}],
            }
        ],
    }
    with pytest.raises(TasksApiException) as caught:
        hubspot_client.crm.objects.tasks.basic_api.create(simple_public_object_input_for_create=body)
    assert caught.value.status == 400


def test_given_default_and_labeled_creation_when_reading_then_the_new_associations_show(
    hubspot_client: HubSpot,
) -> None:
    deal_id = _deal_ids(hubspot_client)[0]
    note = hubspot_client.crm.objects.notes.basic_api.create(
        {"properties": {"hs_note_body": "budget approved", "hs_timestamp": "1735689600000"}}
    )
    answer = hubspot_client.crm.associations.v4.basic_api.create_default("notes", note.id, "deals", deal_id)
    assert [r.association_spec.association_type_id for r in answer.results] == [214, 213]
    contact_id = hubspot_client.crm.contacts.get_all()[3].id
    buyer = _type_id(hubspot_client, "deals", "contacts", "Economic Buyer")
    created = hubspot_client.crm.associations.v4.batch_api.create(
        "deals",
        "contacts",
        {
            "inputs": [
                {
                    "from": {"id": deal_id},
                    "to": {"id": contact_id},
                    "types": [{"associationCategory": "USER_DEFINED", "associationTypeId": buyer}],
                },
            ]
        },
    )
    assert created.results[0].labels == ["Economic Buyer"]
    contacts = _read(hubspot_client, "deals", "contacts", [{"id": deal_id}]).results[0].to
    assert {t.label for t in contacts[-1].association_types} == {None, "Economic Buyer"}
    notes = _read(hubspot_client, "deals", "notes", [{"id": deal_id}]).results[0].to
    assert [t.to_object_id for t in notes] == [note.id]


def test_given_an_archived_task_when_reading_a_deals_tasks_then_it_is_left_out(
    hubspot_client: HubSpot,
) -> None:
    deal_id = _deal_ids(hubspot_client)[0]
    task_id = _read(hubspot_client, "deals", "tasks", [{"id": deal_id}]).results[0].to[0].to_object_id
    hubspot_client.crm.objects.tasks.basic_api.archive(task_id)
    response = _read(hubspot_client, "deals", "tasks", [{"id": deal_id}])
    assert response.results == []
    assert response.errors[0].sub_category == "crm.associations.NO_ASSOCIATIONS_FOUND"
