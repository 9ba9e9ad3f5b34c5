"""A local stand-in for HubSpot's CRM API, served over real HTTP for hubspot-api-client.

`start_hubspot_sandbox()` imports a generated book into a fresh portal and serves it on 127.0.0.1;
connect with `HubSpot(access_token=sb.credentials["access_token"], host=sb.credentials["host"])`.
Modules: `store` (records, associations, property definitions as JSON-able tables), `search`
(filterGroups evaluation and paging), `routes_objects`, `routes_associations`, `routes_schema`
(properties, groups, pipelines, owners), `importer` (Book -> records) and `app` (auth, headers, faults).
"""

from __future__ import annotations

import gc
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sandbox.book import Book
from sandbox.faults import FaultPlan
from sandbox.http import App, ServedSandbox, ServerThread
from sandbox.hubspot.app import Auth, HubSpotApp, RateLimits
from sandbox.hubspot.importer import import_book
from sandbox.hubspot.store import HubSpotStore

__all__ = ["Auth", "HubSpotSandbox", "HubSpotStore", "RateLimits", "start_hubspot_sandbox"]


class HubSpotSandbox(ServedSandbox):
    """A running portal: `.url`, `.app` (call counter, `.faults`), `.store`, `.credentials`, `.stop()`."""

    def __init__(self, portal: HubSpotApp, port: int = 0) -> None:
        self.portal = portal
        self.store: HubSpotStore = portal.store
        self.app: App = portal.app
        self.auth: Auth = portal.auth
        self._server = ServerThread(portal.app, port=port)

    @property
    def credentials(self) -> dict[str, Any]:
        return {
            "access_token": self.auth.access_token,
            "host": self.url,
            "client_id": self.auth.client_id,
            "client_secret": self.auth.client_secret,
            "refresh_token": self.auth.refresh_token,
        }

    def stop(self) -> None:
        super().stop()
        if self.store.frozen:  # let the GC have the portal back (see HubSpotStore.settle)
            gc.unfreeze()
            self.store.frozen = False


def start_hubspot_sandbox(
    book: Book | None = None,
    *,
    store: HubSpotStore | None = None,
    deals: int = 200,
    seed: int = 1,
    faults: FaultPlan | None = None,
    port: int = 0,
    access_token: str | None = None,
    clock: Callable[[], datetime] | None = None,
    association_page_size: int = 500,
    limits: RateLimits | None = None,
) -> HubSpotSandbox:
    """Serve `store` as it is, or a portal built from `book` (or a generated one of `deals` deals);
    returns it running."""
    if store is None:
        store = HubSpotStore(clock=clock, association_page_size=association_page_size)
        if book is None:
            from sandbox.generator import generate_book  # the generator is only needed when generating

            book = generate_book(deals=deals, seed=seed)
        import_book(store, book)
    auth = Auth(access_token=access_token) if access_token else Auth()
    return HubSpotSandbox(HubSpotApp(store, faults, auth, limits), port=port).start()
