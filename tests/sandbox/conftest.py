"""Shared fixtures for the sandbox tests: a small hand-built book, a running HubSpot portal and Salesforce
org, and a client logged in to each."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
from hubspot import HubSpot
from simple_salesforce.api import Salesforce

from sandbox.book import (
    Book,
    BookActivity,
    BookCompany,
    BookContact,
    BookDeal,
    BookLineItem,
    BookOwner,
    BookQuote,
    BookRole,
    BookStageChange,
)
from sandbox.hubspot import HubSpotSandbox, start_hubspot_sandbox
from sandbox.salesforce import SalesforceSandbox, start_salesforce_sandbox
from sandbox.salesforce.testing import password_login

HUBSPOT_T0 = datetime(2025, 1, 1, tzinfo=UTC)


def _hubspot_deal(index: int) -> BookDeal:
    t0 = HUBSPOT_T0
    return BookDeal(
        id=index,
        name=f"Deal {index}",
        company_id=1,
        owner_id=1,
        stage_index=index % 8,
        amount=1000.0 * index,
        close_date=date(2025, 6, 1),
        created_at=t0,
        modified_at=t0 + timedelta(days=index),
        forecast_category="Pipeline",
        next_step="Send proposal" if index % 2 else None,
        description=None,
        roles=[BookRole(1, "Decision Maker", True), BookRole(2, "Champion"), BookRole(3, None)],
        activities=[
            BookActivity(
                100 + index,
                "meeting",
                "Discovery call",
                "pain: manual work",
                t0 + timedelta(hours=1),
                t0 + timedelta(hours=2),
                "completed",
                [1],
            ),
            BookActivity(
                200 + index, "call", "Follow-up", "", t0 + timedelta(hours=3), None, "completed", [2]
            ),
            BookActivity(300 + index, "task", "Send deck", "", t0 + timedelta(days=7), None, "open"),
        ],
        stage_history=[BookStageChange(0, t0), BookStageChange(index % 8, t0 + timedelta(hours=index))],
        line_items=[BookLineItem(1, "Widget", 2, 50.0, t0)],
        quotes=[BookQuote(1, f"Quote {index}", "presented", t0)],
    )


def hubspot_book(deals: int = 5) -> Book:
    """A small, fully known book: one owner and company, four contacts, `deals` deals with roles,
    a completed meeting and call, an open task, a line item and a quote each."""
    contacts = [
        BookContact(i, 1, f"First{i}", f"Last{i}", f"c{i}@acme.test", "VP Sales") for i in range(1, 5)
    ]
    return Book(
        seed=0,
        owners=[BookOwner(1, "Ann", "Rep", "ann@seller.test")],
        companies=[BookCompany(1, "Acme", "acme.test", "Software")],
        contacts=contacts,
        deals=[_hubspot_deal(i) for i in range(1, deals + 1)],
    )


@pytest.fixture
def make_hubspot_book() -> Callable[..., Book]:
    return hubspot_book


@pytest.fixture
def hubspot_sandbox() -> Iterator[HubSpotSandbox]:
    with start_hubspot_sandbox(hubspot_book()) as sandbox:
        yield sandbox


def hubspot_client_for(sandbox: HubSpotSandbox, token: str | None = None) -> HubSpot:
    # client_side_validation makes the generated models insist on their required fields, so a response
    # missing createdAt, startedAt, status... fails the test instead of passing silently
    return HubSpot(
        access_token=token or sandbox.credentials["access_token"],
        host=sandbox.credentials["host"],
        client_side_validation=True,
    )


@pytest.fixture
def hubspot_client(hubspot_sandbox: HubSpotSandbox) -> HubSpot:
    return hubspot_client_for(hubspot_sandbox)


# ---- Salesforce: an org seeded with the same small book, served, and simple-salesforce logged in ----


@pytest.fixture
def salesforce_sandbox() -> Iterator[SalesforceSandbox]:
    with start_salesforce_sandbox(hubspot_book()) as sandbox:
        yield sandbox


@pytest.fixture
def sf(salesforce_sandbox: SalesforceSandbox) -> Salesforce:
    return password_login(salesforce_sandbox.credentials)
