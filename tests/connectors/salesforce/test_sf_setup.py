"""Provisioning's pure parts: what the plugin wants, how it compares with what exists, error wording."""

from __future__ import annotations

import pytest
from salesforce_support import PLAYBOOK, session_config

from connectors.base import ConfigurationError
from connectors.salesforce.session import SalesforceApi
from connectors.salesforce.setup import (
    OPEN_ONLY,
    WON_ONLY,
    Provisioner,
    desired_fields,
    desired_list_views,
    desired_permission_sets,
    differs,
)

CONFIG = session_config()


def test_given_the_playbook_when_fields_are_designed_then_picklist_values_are_ids_with_playbook_labels() -> (
    None
):
    secured = desired_fields(CONFIG, PLAYBOOK)[0]

    values = secured.attrs["valueSet"]["valueSetDefinition"]["value"]
    assert secured.full_name == "Opportunity.Commitments_Secured__c"
    assert (values[0]["fullName"], values[0]["label"]) == ("time", "Commitment for Time")
    assert len(values) == 10


@pytest.mark.parametrize(("which", "worker"), [(0, True), (1, False)], ids=["worker", "sales-user"])
def test_given_the_permission_sets_when_designed_then_the_worker_writes_and_sales_users_confirm(
    which: int, worker: bool
) -> None:
    permission_set = desired_permission_sets(CONFIG)[which]
    permissions = {p["field"]: p for p in permission_set.attrs["fieldPermissions"]}

    assert all(p["readable"] for p in permissions.values())
    confirmed = permissions.pop("Opportunity.Commitments_Confirmed__c")
    assert confirmed["editable"] is not worker  # reps tick it; the worker only reads it
    assert {p["editable"] for p in permissions.values()} == {worker}
    # field permissions name activity custom fields per object (Task./Event.), never Activity.
    assert {"Task.Commitment_Key__c", "Event.Commitment_Key__c"} <= set(permissions)
    assert not [f for f in permissions if f.startswith("Activity.")]
    assert len(permissions) == 9


def test_given_an_echo_of_the_same_field_when_compared_then_unchanged_and_a_new_label_updates() -> None:
    score = desired_fields(CONFIG, PLAYBOOK)[4]
    echoed = {
        "fullName": score.full_name,
        "label": "Commitment Score",
        "type": "Number",
        "precision": "2",
        "scale": "0",
        "description": "How many of the ten buyer commitments are secured (plugin).",
    }

    assert differs(score, echoed) == "unchanged"
    assert differs(score, {**echoed, "label": "Score"}) == "update"
    assert differs(score, {**echoed, "description": None}) == "update"  # provisioned before it had one
    assert differs(score, {"fullName": None}) == "create"


def test_given_an_empty_filter_value_read_back_as_nothing_when_compared_then_the_view_is_unchanged() -> None:
    missing_view = desired_list_views(CONFIG, PLAYBOOK)[1]
    echoed = {
        **missing_view.attrs,
        "fullName": missing_view.full_name,
        "filters": [
            {"field": "Commitments_Missing__c", "operation": "notEqual", "value": None},
            {"field": "OPPORTUNITY.CLOSED", "operation": "equals", "value": "0"},
        ],
    }

    assert differs(missing_view, echoed) == "unchanged"


def test_given_the_list_views_when_provisioned_then_open_deals_only_and_won_ones_for_execute() -> None:
    # A won deal keeps listing the commitments it missed: a manager's "Missing Build Consensus" view
    # must not fill up with won deals (`commitments deals --missing` leaves them out too); only a won deal
    # can miss Execute.
    config = CONFIG.model_copy(update={"list_views_per_commitment": True})
    views = {view.full_name: view.attrs["filters"][-1] for view in desired_list_views(config, PLAYBOOK)}

    assert len(views) == 12
    assert views.pop("Opportunity.Missing_Execute") == WON_ONLY == {
        "field": "OPPORTUNITY.WON", "operation": "equals", "value": "1"
    }
    assert all(deals == OPEN_ONLY for deals in views.values())
    assert OPEN_ONLY == {"field": "OPPORTUNITY.CLOSED", "operation": "equals", "value": "0"}


def test_given_the_metadata_api_refuses_a_component_when_provisioning_then_a_clear_error() -> None:
    provisioner = Provisioner(SalesforceApi(CONFIG), CONFIG)

    def refuse() -> None:
        raise Exception(
            "\nOpportunity.Commitments_Secured__c: (FIELD_INTEGRITY_EXCEPTION, too many values), "
        )

    with pytest.raises(ConfigurationError, match=r"FIELD_INTEGRITY_EXCEPTION.*Modify Metadata"):
        provisioner._metadata("CustomField Opportunity.Commitments_Secured__c", refuse)
