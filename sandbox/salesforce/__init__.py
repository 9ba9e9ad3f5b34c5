"""A local stand-in for the Salesforce APIs a sync connector uses, over real HTTP for simple-salesforce.

`start_salesforce_sandbox()` seeds an org (standard stages, an integration user, optionally a generated
book of deals) and serves it on 127.0.0.1. simple-salesforce always calls `https://*.salesforce.com`, so
connect through a session that rewrites those URLs to `.url` (see `sandbox.salesforce.testing`).
Modules: `schema` / `schema_parts` (standard objects), `store` (JSON-able tables, indexes, sessions),
`writes` (validated writes), `book_import` (Book -> records; read it for how activities are represented),
`soql` / `soql_eval` / `soql_filters` / `query_pages` (queries), `rest`, `composite` (sObject
Collections), `composite_requests` (the Composite resource: subrequests in one call), `bulk2`,
`describe`, `login`, `metadata_soap` / `metadata_types` (Metadata API, custom fields, field-level
security) and `app`.
"""

from __future__ import annotations

from typing import Any

from sandbox.book import Book
from sandbox.faults import FaultPlan
from sandbox.http import App, ServedSandbox, ServerThread
from sandbox.salesforce.app import FaultStyle, build_app
from sandbox.salesforce.book_import import import_book, seed_org
from sandbox.salesforce.store import SalesforceStore

__all__ = ["FaultStyle", "SalesforceSandbox", "SalesforceStore", "new_org", "start_salesforce_sandbox"]


def new_org(
    book: Book | None = None, *, archive_after_days: int | None = None, **store_options: Any
) -> SalesforceStore:
    """A seeded store: stages, the integration user and, if given, the book's records.

    `archive_after_days=365` archives old activities as a real org does (query() no longer returns them,
    queryAll does); by default nothing is archived.
    """
    store = SalesforceStore(**store_options)
    seed_org(store)
    if book is not None:
        import_book(store, book)
    if archive_after_days is not None:
        store.archive_old_activities(archive_after_days)
    return store


class SalesforceSandbox(ServedSandbox):
    """A running org: `.url`, `.app` (call counter, `.faults`), `.store`, `.credentials`, `.stop()`."""

    def __init__(
        self,
        store: SalesforceStore,
        faults: FaultPlan | None = None,
        port: int = 0,
        style: FaultStyle | None = None,
    ) -> None:
        self.store = store
        self.style = style or FaultStyle()
        self.app: App = build_app(store, faults, self.style)
        self._server = ServerThread(self.app, port=port)
        self._session_id: str | None = None

    @property
    def credentials(self) -> dict[str, Any]:
        """What a connection config needs; `session_id` is a valid session issued for the API user."""
        org = self.store.org
        if self.store.session_user(self._session_id) is None:
            self._session_id = self.store.issue_session(org["api_user_id"])
        return {
            "username": org["username"],
            "password": org["password"],
            "security_token": org["security_token"],
            "consumer_key": org["consumer_key"],
            "consumer_secret": org["consumer_secret"],
            "session_id": self._session_id,
            "user_id": org["api_user_id"],
            "organization_id": org["id"],
            "instance_url": "https://commitments-sandbox.my.salesforce.com",
            "domain": "login",
            "client_credentials_domain": "commitments-sandbox.my",
            "base_url": self.url,
            "api_base_url": self.url,
        }

    def register_jwt_public_key(self, public_key_pem: str) -> None:
        """From now on JWT bearer assertions must be signed by the matching private key."""
        self.store.org["jwt_public_key"] = public_key_pem


def start_salesforce_sandbox(
    book: Book | None = None,
    *,
    deals: int = 200,
    seed: int = 1,
    faults: FaultPlan | None = None,
    port: int = 0,
    store: SalesforceStore | None = None,
    fault_style: FaultStyle | None = None,
    **store_options: Any,
) -> SalesforceSandbox:
    """Serve an org on 127.0.0.1: `book` if given, else a generated book of `deals` deals (0: empty org).

    `store_options` go to `SalesforceStore`: `clock`, `child_page_size` (nested child paging threshold),
    `api_daily_max` (the DailyApiRequests limit), `session_timeout` (seconds of inactivity). A given `store`
    (e.g. loaded from a state file) is served as is. `fault_style` picks 403 or 429 rate limits and 503 or
    500 server errors.
    """
    if store is None:
        if book is None and deals:
            from sandbox.generator import generate_book  # the generator is only needed when generating

            book = generate_book(deals=deals, seed=seed)
        store = new_org(book, **store_options)
    return SalesforceSandbox(store, faults, port, fault_style).start()
