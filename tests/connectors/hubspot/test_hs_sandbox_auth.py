"""Credentials through the sandbox: OAuth refresh on expiry, a bad token says to replace it, pipelines."""

from __future__ import annotations

import pytest
from hubspot_support import FakeClock, Sleeps, read_all
from pydantic import SecretStr

from connectors.base import ConfigurationError
from connectors.hubspot import HubSpotConfig, HubSpotConnector, HubSpotOAuth
from sandbox.hubspot import HubSpotSandbox


def oauth_connector(portal: HubSpotSandbox) -> HubSpotConnector:
    creds = portal.credentials
    oauth = HubSpotOAuth(
        client_id=creds["client_id"],
        client_secret=SecretStr(creds["client_secret"]),
        refresh_token=SecretStr(creds["refresh_token"]),
    )
    return HubSpotConnector(HubSpotConfig(oauth=oauth, base_url=portal.url), sleep=Sleeps())


def test_given_oauth_app_when_reading_then_token_obtained_once_and_deals_read(
    portal: HubSpotSandbox, clock: FakeClock
) -> None:
    connector = oauth_connector(portal)
    assert len(read_all(connector, None, clock.now)) == 60
    assert connector.api_calls()["oauth"] == 1


def test_given_expired_oauth_session_when_reading_then_token_refreshed_and_call_repeated(
    portal: HubSpotSandbox, clock: FakeClock
) -> None:
    connector = oauth_connector(portal)
    portal.app.faults.queue("expired_session", "objects.list")
    assert len(read_all(connector, None, clock.now)) == 60
    assert connector.api_calls()["oauth"] == 2


def test_given_wrong_private_app_token_when_reading_then_configuration_error_says_to_create_a_new_token(
    portal: HubSpotSandbox, clock: FakeClock
) -> None:
    config = HubSpotConfig(access_token=SecretStr("pat-na1-wrong-token"), base_url=portal.url)
    with pytest.raises(ConfigurationError, match="create a new access token") as caught:
        read_all(HubSpotConnector(config, sleep=Sleeps()), None, clock.now)
    assert "pat-na1-wrong-token" not in str(caught.value)
    assert "scope" not in str(caught.value)


def test_given_portal_when_pipeline_stages_asked_then_stage_ids_in_order(portal: HubSpotSandbox) -> None:
    token = SecretStr(portal.credentials["access_token"])
    connector = HubSpotConnector(HubSpotConfig(access_token=token, base_url=portal.url))
    stages = connector.pipeline_stages()
    assert stages["default"][:2] == ["appointmentscheduled", "qualifiedtobuy"]
    assert stages["default"][-2:] == ["closedwon", "closedlost"]


def test_given_unknown_refresh_token_when_reading_then_configuration_error_without_secrets(
    portal: HubSpotSandbox, clock: FakeClock
) -> None:
    oauth = HubSpotOAuth(client_id=portal.credentials["client_id"],
                         client_secret=SecretStr(portal.credentials["client_secret"]),
                         refresh_token=SecretStr("revoked-refresh-token"))
    connector = HubSpotConnector(HubSpotConfig(oauth=oauth, base_url=portal.url), sleep=Sleeps())
    with pytest.raises(ConfigurationError, match="refresh token") as caught:
        read_all(connector, None, clock.now)
    assert "revoked-refresh-token" not in str(caught.value)
    assert portal.credentials["client_secret"] not in str(caught.value)
