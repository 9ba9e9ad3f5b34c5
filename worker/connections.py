"""The connector factory at the edge: settings in, a ready `SyncConnection` (connector, playbook, store) out.

This is the one place that knows which connector class serves which CRM config, and the one place that
starts the built-in sandbox CRMs in-process when the user has configured no CRM ("sandbox" is a
Salesforce org, "sandbox-hubspot" a HubSpot portal). A sandbox's state is saved in the state directory
when the connection closes (also when the run in it raised) and loaded the next time, so repeated
`commitments sync` runs see what earlier runs wrote, exactly as a real CRM would. Constructing a
connector does no network I/O.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from connectors.base import Connector
from connectors.hubspot.config import HubSpotConfig
from connectors.salesforce.config import SalesforceConfig
from core.playbook import Playbook, PlaybookError
from worker.errors import UserError
from worker.playbook_files import load_playbook
from worker.settings import CRM_CONFIG, ConnectionSettings, SandboxConnection, Settings, load_settings
from worker.store import Store
from worker.sync import SyncConnection

SANDBOX_STATE_FILE = "sandbox.sqlite3"


def build_connector(config: SalesforceConfig | HubSpotConfig, playbook: Playbook) -> Connector:
    """The connector for a CRM config; no network I/O happens here."""
    if isinstance(config, SalesforceConfig):
        from connectors.salesforce.connector import SalesforceConnector

        return SalesforceConnector(config, playbook=playbook)
    from connectors.hubspot.connector import HubSpotConnector

    return HubSpotConnector(config)


def deal_ids(crm: str, texts: Sequence[str]) -> list[str]:
    """The deal ids `texts` (as a user typed them) as the CRM `crm` returns those deals' ids, each once, in
    order; a ValueError naming every one that cannot be an id of that CRM, so none is sent to it."""
    if crm == "salesforce":
        from connectors.salesforce.read import OPPORTUNITY_ID_FORM as form
        from connectors.salesforce.read import opportunity_id as canonical
    else:
        from connectors.hubspot.read import DEAL_ID_FORM as form
        from connectors.hubspot.read import deal_id as canonical
    ids = {text: canonical(text) for text in texts}
    malformed = [repr(text) for text, found in ids.items() if found is None]
    if malformed:
        raise ValueError(f"{', '.join(malformed)} {'is' if len(malformed) == 1 else 'are'} not {form}")
    return list(dict.fromkeys(found for found in ids.values() if found is not None))


def open_store(settings: Settings) -> Store:
    return Store.open(settings.database_url)


def connection_settings(connection: str | None, *, lenient: bool = False, warn: bool = True) -> Settings:
    """The settings for a command on `connection`. With a connection named, a problem in another connection
    (one being added whose secret is not set yet) is set aside instead of stopping the command, as it stops
    none of the worker's runs of other connections; this connection's own problems, and the file's, are
    still an error. `lenient` sets aside every connection's problems (history views, the worker's start).
    What was set aside is a warning on stderr, unless `warn` is off (the worker logs it instead)."""
    settings = load_settings(only=connection, lenient=lenient)  # registers every secret with the redactor
    if settings.set_aside and warn:
        # On stderr, as the command's other warnings: a CSV or JSON on stdout stays clean.
        problems = "\n  ".join(settings.set_aside)
        print(f"warning: connections with problems are left aside:\n  {problems}", file=sys.stderr)
    elif warn and (empty := settings.empty_file()):
        print(f"warning: {empty}", file=sys.stderr)
    return settings


@contextmanager
def open_worker_state(
    connection: str | None = None, *, lenient: bool = False, warn: bool = True
) -> Iterator[tuple[Settings, Store]]:
    """Settings (see `connection_settings`) and the opened state store, closed afterwards."""
    settings = connection_settings(connection, lenient=lenient, warn=warn)
    store = open_store(settings)
    try:
        yield settings, store
    finally:
        store.close()


def connection_playbook(target: ConnectionSettings | SandboxConnection) -> Playbook:
    """The playbook a connection uses: the file its `playbook:` names, or the packaged default. An error in
    a named file also says which connection named it: a wrong path otherwise reads as a mystery file."""
    try:
        return load_playbook(target.playbook)
    except PlaybookError as exc:
        if target.playbook is None:
            raise
        raise PlaybookError(f"{exc}\n  (the `playbook:` of connection {target.name!r})") from None


@contextmanager
def open_connection(
    settings: Settings,
    name: str | None,
    store: Store,
    *,
    sandbox_deals: int = 200,
    sandbox_seed: int = 1,
    provision_sandbox: bool = True,
) -> Iterator[SyncConnection]:
    """Open the named connection (default: see `Settings.connection`) and close it afterwards."""
    target = settings.connection(name)
    playbook = connection_playbook(target)
    if isinstance(target, ConnectionSettings):
        connector = build_connector(target.crm, playbook)
        try:
            yield SyncConnection(target.name, connector, playbook, store)
        finally:
            connector.close()
        return
    state_file = settings.state_dir / SANDBOX_STATE_FILE
    with sandbox_crm(target, state_file, deals=sandbox_deals, seed=sandbox_seed) as config:
        connector = build_connector(config, playbook)
        try:
            if provision_sandbox:  # the sandbox is ours: provision it unasked so `sync` just works
                connector.setup(playbook, dry_run=False)
            yield SyncConnection(target.name, connector, playbook, store)
        finally:
            connector.close()


@contextmanager
def sandbox_crm(
    target: SandboxConnection, state_file: Path | None, *, deals: int = 200, seed: int = 1
) -> Iterator[SalesforceConfig | HubSpotConfig]:
    """Start the sandbox CRM in-process (restoring its saved state), yield its connection config, save."""
    from sandbox import persist
    from sandbox.generator import generate_book

    if state_file is not None and _has_saved_state(target, state_file):
        handle = start_sandbox(target.crm_name, deals=0)  # its saved state replaces any generated book
        persist.load(handle.store, state_file)
    else:
        # Dated to today, as `sandbox serve` does: "scheduled" meetings stay ahead of a real-clock sync.
        today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        handle = start_sandbox(target.crm_name, book=generate_book(deals=deals, seed=seed, now=today))
    try:
        yield sandbox_config(target.crm_name, handle.credentials)
    finally:
        # Saved however the body ends: a run stopped by an error or a second Ctrl-C has already written to
        # the sandbox as it would to a CRM, and the state store remembers those writes (the task keys); a
        # sandbox that forgot them would never get those tasks again. (A SIGKILL leaves no chance to save.)
        try:
            if state_file is not None:
                persist.save(handle.store, state_file)
        finally:
            handle.stop()


def _has_saved_state(target: SandboxConnection, state_file: Path) -> bool:
    """Whether the state file holds this sandbox CRM's state: one file keeps both sandboxes side by side,
    so the first sync of the other one must start from a generated book, not from nothing."""
    from sandbox import persist
    from sandbox.hubspot.store import HubSpotStore
    from sandbox.salesforce.store import SalesforceStore

    kind = (SalesforceStore if target.crm_name == "salesforce" else HubSpotStore).__name__
    try:
        return kind in persist.kinds(state_file)
    except persist.StateFileError:
        raise UserError(
            f"cannot load the sandbox CRM of connection {target.name!r}: {state_file} is not a sandbox state "
            "file; remove the file to start the sandboxes afresh"
        ) from None


def start_sandbox(crm: str, *, deals: int = 200, seed: int = 1, **options: Any) -> Any:
    """A running sandbox handle (`.url`, `.app`, `.store`, `.credentials`, `.stop()`)."""
    if crm == "salesforce":
        from sandbox.salesforce import start_salesforce_sandbox

        return start_salesforce_sandbox(deals=deals, seed=seed, **options)
    from sandbox.hubspot import start_hubspot_sandbox

    return start_hubspot_sandbox(deals=deals, seed=seed, **options)


def sandbox_config(crm: str, credentials: dict[str, Any]) -> SalesforceConfig | HubSpotConfig:
    """The connection config for a running sandbox, from its `.credentials`."""
    if crm == "hubspot":
        return HubSpotConfig(access_token=credentials["access_token"], base_url=credentials["host"])
    auth = {key: credentials[key] for key in ("username", "password", "security_token", "domain")}
    return CRM_CONFIG.validate_python(
        {
            "crm": "salesforce",
            "auth": {"mode": "password", **auth},
            "api_base_url": credentials["api_base_url"],
        }
    )
