"""HubSpot sandbox CRM search through hubspot-api-client: filters, sorts, paging and the documented limits."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hubspot import HubSpot
from hubspot.crm.deals import ApiException

from sandbox.hubspot import HubSpotSandbox, start_hubspot_sandbox
from sandbox.hubspot import search as search_mod
from sandbox.hubspot.search import SearchCache, matching_ids
from sandbox.hubspot.values import epoch_ms, iso_ms
from tests.sandbox.conftest import HUBSPOT_T0, hubspot_book, hubspot_client_for


def _ms(days: float) -> str:
    return str(epoch_ms(HUBSPOT_T0 + timedelta(days=days)))


def _search(client: HubSpot, *groups: list[dict[str, Any]], **extra: Any) -> Any:
    body = {"filterGroups": [{"filters": g} for g in groups], "limit": 100, **extra}
    return client.crm.deals.search_api.do_search(public_object_search_request=body)


def _names(page: Any) -> list[str]:
    return [r.properties["dealname"] for r in page.results]


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        pytest.param(
            [
                {"propertyName": "hs_lastmodifieddate", "operator": "GTE", "value": _ms(2)},
                {"propertyName": "hs_lastmodifieddate", "operator": "LTE", "value": _ms(4)},
            ],
            ["Deal 2", "Deal 3", "Deal 4"],
            id="modified-window-epoch-ms",
        ),
        pytest.param(
            [
                {
                    "propertyName": "hs_lastmodifieddate",
                    "operator": "GT",
                    "value": iso_ms(HUBSPOT_T0 + timedelta(days=4)),
                }
            ],
            ["Deal 5"],
            id="modified-after-iso",
        ),
        pytest.param(
            [{"propertyName": "amount", "operator": "BETWEEN", "value": "1500", "highValue": "3000"}],
            ["Deal 2", "Deal 3"],
            id="between-numbers",
        ),
        pytest.param(
            [{"propertyName": "dealstage", "operator": "IN", "values": ["qualifiedtobuy", "contractsent"]}],
            ["Deal 1", "Deal 2"],
            id="in",
        ),
        pytest.param(
            [{"propertyName": "dealstage", "operator": "NOT_IN", "values": ["qualifiedtobuy"]}],
            ["Deal 3", "Deal 4", "Deal 5"],
            id="not-in",
        ),
        pytest.param(
            [
                {"propertyName": "amount", "operator": "NEQ", "value": "1000"},
                {"propertyName": "amount", "operator": "LT", "value": "3000"},
            ],
            ["Deal 2"],
            id="neq-and-lt",
        ),
        pytest.param(
            [{"propertyName": "hs_next_step", "operator": "HAS_PROPERTY"}],
            ["Deal 1", "Deal 3", "Deal 5"],
            id="has-property",
        ),
        pytest.param(
            [{"propertyName": "hs_next_step", "operator": "NOT_HAS_PROPERTY"}],
            ["Deal 2", "Deal 4"],
            id="not-has-property",
        ),
        pytest.param(
            [{"propertyName": "dealname", "operator": "CONTAINS_TOKEN", "value": "4"}],
            ["Deal 4"],
            id="contains-token",
        ),
        pytest.param(
            [{"propertyName": "dealname", "operator": "EQ", "value": "deal 5"}],
            ["Deal 5"],
            id="eq-is-case-insensitive",
        ),
    ],
)
def test_given_filters_when_searching_deals_then_matching_deals_come_back(
    hubspot_client: HubSpot, filters: list[dict[str, Any]], expected: list[str]
) -> None:
    page = _search(
        hubspot_client,
        filters,
        properties=["dealname"],
        sorts=[{"propertyName": "hs_object_id", "direction": "ASCENDING"}],
    )
    assert _names(page) == expected
    assert page.total == len(expected)


def test_given_two_filter_groups_when_searching_then_they_are_ored(hubspot_client: HubSpot) -> None:
    page = _search(
        hubspot_client,
        [{"propertyName": "amount", "operator": "EQ", "value": "1000"}],
        [{"propertyName": "amount", "operator": "EQ", "value": "5000"}],
        properties=["dealname"],
    )
    assert sorted(_names(page)) == ["Deal 1", "Deal 5"]


def test_given_gt_on_object_id_and_sort_when_paging_then_the_id_restart_trick_walks_everything(
    hubspot_client: HubSpot,
) -> None:
    seen: list[str] = []
    last = "0"
    while True:
        page = _search(
            hubspot_client,
            [{"propertyName": "hs_object_id", "operator": "GT", "value": last}],
            sorts=[{"propertyName": "hs_object_id", "direction": "ASCENDING"}],
            limit=2,
        )
        if not page.results:
            break
        seen += [r.id for r in page.results]
        last = page.results[-1].id
    assert len(seen) == 5
    assert seen == sorted(seen, key=int)


def test_given_a_descending_sort_when_searching_then_order_follows_the_property(
    hubspot_client: HubSpot,
) -> None:
    page = _search(
        hubspot_client, sorts=[{"propertyName": "amount", "direction": "DESCENDING"}], properties=["dealname"]
    )
    assert _names(page) == ["Deal 5", "Deal 4", "Deal 3", "Deal 2", "Deal 1"]


def test_given_no_properties_when_searching_then_hubspot_default_deal_properties_come_back(
    hubspot_client: HubSpot,
) -> None:
    page = _search(hubspot_client, limit=1)
    assert set(page.results[0].properties) == {
        "amount",
        "closedate",
        "createdate",
        "dealname",
        "dealstage",
        "hs_lastmodifieddate",
        "hs_object_id",
        "pipeline",
    }
    assert page.paging.next.after == "1"


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"limit": 201}, id="limit-over-200"),
        pytest.param({"filterGroups": [{"filters": []}] * 6}, id="six-groups"),
        pytest.param(
            {"filterGroups": [{"filters": [{"propertyName": "amount", "operator": "HAS_PROPERTY"}] * 11}]},
            id="eleven-filters-in-a-group",
        ),
        pytest.param({"sorts": [{"propertyName": "amount"}, {"propertyName": "dealname"}]}, id="two-sorts"),
        pytest.param(
            {"filterGroups": [{"filters": [{"propertyName": "nope", "operator": "EQ", "value": "1"}]}]},
            id="unknown-property",
        ),
    ],
)
def test_given_a_search_past_the_documented_limits_when_sent_then_400(
    hubspot_client: HubSpot, body: dict
) -> None:
    with pytest.raises(ApiException) as caught:
        hubspot_client.crm.deals.search_api.do_search(public_object_search_request=body)
    assert caught.value.status == 400


def test_given_an_archived_deal_when_searching_then_it_is_not_found(hubspot_client: HubSpot) -> None:
    first = _search(hubspot_client, limit=1).results[0].id
    hubspot_client.crm.deals.basic_api.archive(first)
    assert first not in [r.id for r in _search(hubspot_client).results]


@pytest.fixture(scope="module")
def big_portal() -> Iterator[HubSpotSandbox]:
    """5 book deals plus 10,050 deals inserted straight into the store (all modified in one hour)."""
    with start_hubspot_sandbox(hubspot_book()) as sandbox:
        base = datetime(2025, 3, 1, tzinfo=UTC)
        for i in range(10_050):
            stamp = iso_ms(base + timedelta(seconds=i % 3600))
            sandbox.store.insert(
                "deals",
                {
                    "dealname": f"Bulk {i}",
                    "dealstage": "qualifiedtobuy",
                    "pipeline": "default",
                    "amount": str(i),
                },
                created_at=stamp,
            )
        yield sandbox


def test_given_10k_matches_when_paging_past_10000_then_400(big_portal: HubSpotSandbox) -> None:
    client = hubspot_client_for(big_portal)
    window = [
        {
            "propertyName": "hs_lastmodifieddate",
            "operator": "GTE",
            "value": str(epoch_ms(datetime(2025, 3, 1, tzinfo=UTC))),
        }
    ]
    page = _search(client, window, limit=200, after="9800")
    assert page.total == 10_050
    assert len(page.results) == 200
    assert page.paging.next.after == "10000"
    with pytest.raises(ApiException) as caught:
        _search(client, window, limit=200, after=page.paging.next.after)
    assert caught.value.status == 400


def test_given_10k_deals_when_searching_a_page_then_it_answers_well_under_a_second(
    big_portal: HubSpotSandbox,
) -> None:
    client = hubspot_client_for(big_portal)
    started = time.perf_counter()
    page = _search(
        client,
        [
            {"propertyName": "amount", "operator": "GTE", "value": "5000"},
            {"propertyName": "hs_object_id", "operator": "GT", "value": "0"},
        ],
        sorts=[{"propertyName": "hs_object_id", "direction": "ASCENDING"}],
        limit=200,
    )
    first_page = time.perf_counter() - started
    started = time.perf_counter()
    _search(
        client,
        [
            {"propertyName": "amount", "operator": "GTE", "value": "5000"},
            {"propertyName": "hs_object_id", "operator": "GT", "value": "0"},
        ],
        sorts=[{"propertyName": "hs_object_id", "direction": "ASCENDING"}],
        limit=200,
        after="200",
    )
    next_page = time.perf_counter() - started
    assert page.total == 5_050 + 1  # bulk amounts 5000..10049 and book Deal 5
    assert first_page < 0.75  # generous: CI machines are shared; typically ~0.1 s
    assert next_page < 0.3  # a cached query: typically a few ms


def _bulk_ms(minute: int) -> str:
    return str(epoch_ms(datetime(2025, 3, 1, 0, minute, tzinfo=UTC)))


_BULK_WINDOW = [
    {"propertyName": "hs_lastmodifieddate", "operator": "GTE", "value": _bulk_ms(10)},
    {"propertyName": "hs_lastmodifieddate", "operator": "LTE", "value": _bulk_ms(50)},
]
_BY_ID = [{"propertyName": "hs_object_id", "direction": "ASCENDING"}]
_BY_AMOUNT_DOWN = [{"propertyName": "amount", "direction": "DESCENDING"}]


def _id_filter(operator: str, value: str) -> dict[str, str]:
    return {"propertyName": "hs_object_id", "operator": operator, "value": value}


def _one_group(*filters: dict[str, str], **extra: Any) -> dict[str, Any]:
    return {"filterGroups": [{"filters": list(filters)}], **extra}


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(_one_group(*_BULK_WINDOW, _id_filter("GT", "15000"), sorts=_BY_ID), id="window-gt-mid"),
        pytest.param(_one_group(_id_filter("GTE", "15000"), *_BULK_WINDOW), id="gte-first-default-sort"),
        pytest.param(_one_group(_id_filter("GT", "0"), sorts=_BY_ID), id="gt-zero"),
        pytest.param(_one_group(_id_filter("GT", "99999")), id="past-the-last"),
        pytest.param(_one_group(_id_filter("GT", "15000.5")), id="fractional-bound"),
        pytest.param(_one_group(_id_filter("GT", "12000"), _id_filter("GT", "15000")), id="two-id-filters"),
        pytest.param(_one_group(_id_filter("GT", "15000"), query="bulk 1"), id="with-query"),
        pytest.param(
            _one_group(_id_filter("GT", "15000"), sorts=_BY_AMOUNT_DOWN),
            id="other-sort",
        ),
        pytest.param(_one_group(_id_filter("LT", "15000")), id="lt"),
    ],
)
def test_given_a_query_when_answered_from_the_cache_then_it_equals_a_scan_of_the_table(
    big_portal: HubSpotSandbox, body: dict[str, Any]
) -> None:
    cache = SearchCache()
    assert cache.ids(big_portal.store, "deals", body) == matching_ids(big_portal.store, "deals", body)
    assert cache.ids(big_portal.store, "deals", body) == matching_ids(big_portal.store, "deals", body)


def test_given_10k_deals_when_keyset_paging_through_them_then_the_table_is_filtered_once(
    big_portal: HubSpotSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    scans: list[str] = []

    def counted(store: Any, object_type: str, body: dict[str, Any]) -> list[str]:
        scans.append(object_type)
        return matching_ids(store, object_type, body)

    monkeypatch.setattr(search_mod, "matching_ids", counted)
    client = hubspot_client_for(big_portal)
    window = [{"propertyName": "hs_lastmodifieddate", "operator": "GTE", "value": _bulk_ms(10)}]
    in_window = 10_050 - 3 * 600  # the hour's stamps repeat three times; each time 600 s fall before 00:10
    seen: list[str] = []
    last = "0"
    while True:
        page = _search(client, [*window, _id_filter("GT", last)], sorts=_BY_ID, limit=200)
        if not page.results:
            break
        assert page.total == in_window - len(seen)
        seen += [r.id for r in page.results]
        last = seen[-1]
    assert len(seen) == len(set(seen)) == in_window
    assert seen == sorted(seen, key=int)
    assert scans == ["deals"]  # one scan, not one per page (42 pages)


def test_given_10k_deals_when_batch_reading_100_then_it_is_fast(big_portal: HubSpotSandbox) -> None:
    client = hubspot_client_for(big_portal)
    ids = list(big_portal.store.tables["deals"])[-100:]
    started = time.perf_counter()
    response = client.crm.deals.batch_api.read(
        {"inputs": [{"id": i} for i in ids], "properties": ["dealname"]}
    )
    assert len(response.results) == 100
    assert time.perf_counter() - started < 0.5  # typically ~10 ms


def test_given_tasks_on_a_deal_when_searching_by_associations_deal_then_only_its_tasks_come_back(
    hubspot_client: HubSpot,
) -> None:
    deal_id = _search(hubspot_client, limit=1).results[0].id
    body = {
        "filterGroups": [
            {"filters": [{"propertyName": "associations.deal", "operator": "EQ", "value": deal_id}]}
        ],
        "properties": ["hs_task_subject"],
    }
    tasks = hubspot_client.crm.objects.tasks.search_api.do_search(public_object_search_request=body)
    assert [t.properties["hs_task_subject"] for t in tasks.results] == ["Send deck"]
