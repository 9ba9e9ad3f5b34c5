"""HubSpot sandbox as a whole: auth, OAuth refresh, rate-limit headers, injected faults, generated books."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
import urllib3
from hubspot import HubSpot
from hubspot.crm.deals import ApiException
from hubspot.crm.deals.exceptions import ServiceException, UnauthorizedException
from urllib3.util.retry import Retry

from sandbox import persist
from sandbox.hubspot import HubSpotSandbox, HubSpotStore, RateLimits, start_hubspot_sandbox
from tests.sandbox.conftest import hubspot_book, hubspot_client_for


def test_given_a_wrong_token_when_calling_then_401_invalid_authentication(
    hubspot_sandbox: HubSpotSandbox,
) -> None:
    client = hubspot_client_for(hubspot_sandbox, token="pat-na1-wrong")
    with pytest.raises(UnauthorizedException) as caught:
        client.crm.deals.basic_api.get_page()
    body = json.loads(caught.value.body)
    assert body["category"] == "INVALID_AUTHENTICATION"
    assert body["message"].startswith("Authentication credentials not found")
    assert body["status"] == "error"


def test_given_a_refresh_token_when_exchanged_then_the_new_access_token_works(
    hubspot_sandbox: HubSpotSandbox,
) -> None:
    from hubspot.oauth import ApiException as OAuthApiException

    credentials = hubspot_sandbox.credentials
    tokens = HubSpot(host=credentials["host"]).oauth.tokens_api
    form = {key: credentials[key] for key in ("client_id", "client_secret", "refresh_token")}
    token = tokens.create(grant_type="refresh_token", **form)
    assert (token.expires_in, token.refresh_token, token.token_type) == (
        1800,
        form["refresh_token"],
        "bearer",
    )
    assert (
        hubspot_client_for(hubspot_sandbox, token=token.access_token).crm.deals.basic_api.get_page().results
    )
    with pytest.raises(OAuthApiException) as caught:
        tokens.create(grant_type="refresh_token", **{**form, "refresh_token": "nope"})
    assert (caught.value.status, json.loads(caught.value.body)["status"]) == (400, "BAD_REFRESH_TOKEN")


def test_given_any_call_when_answered_then_rate_limit_headers_are_sent(hubspot_client: HubSpot) -> None:
    _data, status, headers = hubspot_client.crm.deals.basic_api.get_page_with_http_info()
    assert status == 200
    assert headers["X-HubSpot-RateLimit-Max"] == "190"
    assert int(headers["X-HubSpot-RateLimit-Remaining"]) < 190
    assert headers["X-HubSpot-RateLimit-Interval-Milliseconds"] == "10000"
    assert int(headers["X-HubSpot-RateLimit-Daily-Remaining"]) < int(headers["X-HubSpot-RateLimit-Daily"])


def test_given_a_queued_rate_limit_when_searching_then_api_exception_429_with_retry_after(
    hubspot_sandbox: HubSpotSandbox, hubspot_client: HubSpot
) -> None:
    hubspot_sandbox.app.faults.queue("rate_limit", "objects.search")
    with pytest.raises(ApiException) as caught:
        hubspot_client.crm.deals.search_api.do_search(public_object_search_request={"limit": 1})
    assert caught.value.status == 429
    assert caught.value.headers["Retry-After"] == "1"
    body = json.loads(caught.value.body)
    assert (body["errorType"], body["policyName"]) == ("RATE_LIMIT", "TEN_SECONDLY_ROLLING")
    assert hubspot_client.crm.deals.search_api.do_search(public_object_search_request={"limit": 1}).total == 5


def test_given_a_queued_rate_limit_when_the_client_retries_posts_then_the_second_attempt_succeeds(
    hubspot_sandbox: HubSpotSandbox,
) -> None:
    hubspot_sandbox.app.faults.retry_after = 0
    hubspot_sandbox.app.faults.queue("rate_limit", "objects.search")
    retry = Retry(total=2, status_forcelist=(429,), allowed_methods=None, raise_on_status=False)
    client = HubSpot(
        access_token=hubspot_sandbox.credentials["access_token"], host=hubspot_sandbox.url, retry=retry
    )
    assert client.crm.deals.search_api.do_search(public_object_search_request={"limit": 1}).total == 5
    assert hubspot_sandbox.app.calls["objects.search"] == 2


def test_given_queued_server_errors_when_calling_then_502_then_503(
    hubspot_sandbox: HubSpotSandbox, hubspot_client: HubSpot
) -> None:
    hubspot_sandbox.app.faults.queue("server_error", "objects.list", times=2)
    statuses = []
    for _ in range(2):
        with pytest.raises(ServiceException) as caught:
            hubspot_client.crm.deals.basic_api.get_page()
        statuses.append(caught.value.status)
        assert json.loads(caught.value.body)["status"] == "error"
    assert statuses == [502, 503]


def test_given_an_expired_session_fault_when_calling_then_401_expired_authentication(
    hubspot_sandbox: HubSpotSandbox, hubspot_client: HubSpot
) -> None:
    hubspot_sandbox.app.faults.queue("expired_session")
    with pytest.raises(UnauthorizedException) as caught:
        hubspot_client.crm.deals.basic_api.get_page()
    assert json.loads(caught.value.body)["category"] == "EXPIRED_AUTHENTICATION"


def test_given_a_dropped_connection_when_calling_then_urllib3_raises(
    hubspot_sandbox: HubSpotSandbox, hubspot_client: HubSpot
) -> None:
    hubspot_sandbox.app.faults.queue("drop", "objects.batch_read")
    with pytest.raises(urllib3.exceptions.HTTPError):
        hubspot_client.crm.deals.batch_api.read({"inputs": [{"id": "1"}]}, _request_timeout=(2, 2))


@pytest.mark.parametrize(
    ("limits", "calls", "policy"),
    [
        pytest.param(RateLimits(max_per_interval=3), 3, "TEN_SECONDLY_ROLLING", id="ten-secondly"),
        pytest.param(RateLimits(), 5, "SECONDLY", id="search-five-per-second"),
        pytest.param(RateLimits(daily=1000, used_today=998), 2, "DAILY", id="daily"),
    ],
)
def test_given_enforced_limits_when_used_up_then_429_names_the_policy(
    limits: RateLimits, calls: int, policy: str
) -> None:
    limits.enforce, limits.clock = True, lambda: 100.0  # a frozen clock: the window never moves on
    with start_hubspot_sandbox(hubspot_book(), limits=limits) as sandbox:
        search = hubspot_client_for(sandbox).crm.deals.search_api  # a POST: urllib3 retries a 429 GET itself
        for _ in range(calls):
            search.do_search(public_object_search_request={"limit": 1})
        with pytest.raises(ApiException) as caught:
            search.do_search(public_object_search_request={"limit": 1})
        assert caught.value.status == 429
        assert json.loads(caught.value.body)["policyName"] == policy


def test_given_a_generated_book_when_started_then_deals_contacts_and_engagements_are_linked() -> None:
    with start_hubspot_sandbox(deals=30, seed=7) as sandbox:
        client = hubspot_client_for(sandbox)
        deals = client.crm.deals.get_all(properties=["dealstage", "pipeline"])
        assert len(deals) == 30
        assert {d.properties["pipeline"] for d in deals} == {"default"}
        read = client.crm.associations.v4.batch_api.get_page(
            "deals", "meetings", {"inputs": [{"id": d.id} for d in deals]}
        )
        meeting_ids = [t.to_object_id for r in read.results for t in r.to][:100]
        meetings = client.crm.objects.meetings.batch_api.read(
            {
                "inputs": [{"id": i} for i in meeting_ids],
                "properties": ["hs_meeting_outcome", "hs_meeting_start_time"],
            }
        )
        assert {m.properties["hs_meeting_outcome"] for m in meetings.results} <= {
            "SCHEDULED",
            "COMPLETED",
            "RESCHEDULED",
            "NO_SHOW",
            "CANCELED",
        }


def test_given_a_saved_portal_when_loaded_into_a_new_store_then_records_and_new_ids_continue(
    tmp_path,
) -> None:
    with start_hubspot_sandbox(hubspot_book()) as sandbox:
        persist.save(sandbox.store, tmp_path / "state.sqlite3")
        deals = dict(sandbox.store.tables["deals"])
    store = HubSpotStore(clock=lambda: datetime(2025, 5, 1, tzinfo=UTC))
    assert persist.load(store, tmp_path / "state.sqlite3")
    assert store.tables["deals"] == deals
    assert int(store.new_id()) > max(
        int(i) for name in ("deals", "tasks", "quotes") for i in store.tables[name]
    )
    deal_id = next(iter(deals))
    assert store.associated("deals", deal_id, "contacts")
    with start_hubspot_sandbox(store=store) as served:
        assert hubspot_client_for(served).crm.deals.basic_api.get_by_id(deal_id).id == deal_id
