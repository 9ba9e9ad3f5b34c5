"""More than 10,000 deals modified at the same instant are all read through incremental search."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hubspot_support import Sleeps, connector_for

from connectors.hubspot.read import CHANGE_SOURCES
from sandbox.book import Book, BookCompany, BookDeal, BookOwner
from sandbox.hubspot import start_hubspot_sandbox

DEALS = 10_500


def tied_book(stamp: datetime) -> Book:
    """A bare book whose deals all share one modification time: the case that loops naive paginators."""
    deals = [
        BookDeal(
            id=n, name=f"Deal {n}", company_id=1, owner_id=1, stage_index=n % 8, amount=1000.0,
            close_date=date(2027, 1, 1), created_at=stamp - timedelta(days=30), modified_at=stamp,
            forecast_category="Pipeline", next_step=None, description=None,
        )
        for n in range(1, DEALS + 1)
    ]
    return Book(
        seed=0,
        owners=[BookOwner(1, "Ada", "Owner", "ada@example.com")],
        companies=[BookCompany(1, "Acme", "acme.example", "Software")],
        contacts=[],
        deals=deals,
    )


@pytest.mark.slow
def test_given_10500_deals_modified_at_one_instant_when_incremental_read_then_every_deal_once() -> None:
    stamp = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
    with start_hubspot_sandbox(tied_book(stamp), clock=lambda: stamp + timedelta(hours=1)) as portal:
        connector = connector_for(portal, Sleeps())
        ids: list[str] = []
        chunk_sizes: list[int] = []
        for chunk in connector.read_deals(stamp - timedelta(minutes=1), stamp + timedelta(minutes=1)):
            ids.extend(d.id for d in chunk)
            chunk_sizes.append(len(chunk))
        assert len(ids) == DEALS
        assert set(ids) == set(portal.store.tables["deals"])
        assert max(chunk_sizes) <= 500
        calls = connector.api_calls()
        # Deal pages (each its own query past the last id seen), then one empty page per other change source
        # (engagement types, quotes, contacts with a buying role).
        assert calls["search"] == -(-DEALS // 200) + len(CHANGE_SOURCES)
        assert calls["batch_read"] == -(-DEALS // 100)
        assert calls["assoc_read"] == 8 * -(-DEALS // 1000)
