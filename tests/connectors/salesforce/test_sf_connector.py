"""The public surface: the connector satisfies the protocol and constructing it does no I/O."""

from __future__ import annotations

import responses
from salesforce_support import password_config

import connectors.salesforce as package
from connectors.base import Connector
from connectors.salesforce import SalesforceConnector


def test_given_a_config_when_the_connector_is_built_then_it_is_a_connector_and_nothing_is_called(
    rsps: responses.RequestsMock,
) -> None:
    connector = SalesforceConnector(password_config())

    assert isinstance(connector, Connector)
    assert connector.crm == "salesforce"
    assert connector.api_calls() == {}
    assert connector.budget() is None
    assert not rsps.calls
    connector.close()


def test_given_the_package_when_imported_then_it_exports_exactly_config_and_connector() -> None:
    assert sorted(package.__all__) == ["SalesforceConfig", "SalesforceConnector"]
