"""`commitments sandbox serve`: run the local Salesforce and/or HubSpot stand-ins until stopped.

The servers listen on 127.0.0.1 (default port 8750; with `--crm both`, Salesforce on the port and
HubSpot on the next one), seeded from `--state FILE` when that file holds their state, else with a
generated book of `--deals` deals. The command prints each URL and the exact connection YAML and
environment variables that point the worker at them, then serves until Ctrl-C or SIGTERM. With
`--state` it saves on exit and every 30 seconds after API traffic, so a rerun picks up where the last
one stopped (one file holds both CRMs). `run_sandboxes` is the seam tests drive with their own stop event.
"""

from __future__ import annotations

import errno
import signal
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

import typer
import yaml

from sandbox import persist
from sandbox.book import Book
from sandbox.hubspot import start_hubspot_sandbox
from sandbox.hubspot.store import HubSpotStore
from sandbox.salesforce import new_org, start_salesforce_sandbox
from sandbox.salesforce.store import SalesforceStore
from worker.errors import UserError

DEFAULT_PORT = 8750
SAVE_EVERY_SECONDS = 30.0
CONNECTION_NAMES = {"salesforce": "local-salesforce", "hubspot": "local-hubspot"}
STORE_KINDS = {"salesforce": SalesforceStore.__name__, "hubspot": HubSpotStore.__name__}
ENV_NAMES = {
    "salesforce_password": "SANDBOX_SALESFORCE_PASSWORD",
    "salesforce_token": "SANDBOX_SALESFORCE_TOKEN",
    "hubspot_token": "SANDBOX_HUBSPOT_TOKEN",
}

Echo = Callable[[str], None]


class Crm(StrEnum):
    SALESFORCE = "salesforce"
    HUBSPOT = "hubspot"
    BOTH = "both"


@dataclass(frozen=True)
class ServeOptions:
    crm: Crm = Crm.BOTH
    port: int = DEFAULT_PORT  # 0: any free port (tests)
    deals: int = 200
    seed: int = 1
    state: Path | None = None
    save_every: float = SAVE_EVERY_SECONDS

    def crms(self) -> list[str]:
        return ["salesforce", "hubspot"] if self.crm is Crm.BOTH else [self.crm.value]

    def ports(self) -> dict[str, int]:
        return {crm: self.port + index if self.port else 0 for index, crm in enumerate(self.crms())}


@dataclass
class ServeState:
    """What the command itself keeps in the state file beside the stores: the HubSpot token."""

    tables: dict[str, dict[str, Any]] = field(default_factory=lambda: {"hubspot_auth": {}})


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="Local stand-ins for the Salesforce and HubSpot APIs.", no_args_is_help=True)
    group.command("serve")(serve)
    app.add_typer(group, name="sandbox")


def serve(
    crm: Crm = typer.Option(Crm.BOTH, "--crm", help="Which CRM to serve."),
    port: int = typer.Option(
        DEFAULT_PORT, "--port", min=0, max=65535,
        help="Port on 127.0.0.1 (default 8750); with --crm both HubSpot gets the next one. 0: any free port.",
    ),
    deals: int = typer.Option(200, "--deals", min=0, help="Deals to generate when no saved state exists."),
    seed: int = typer.Option(1, "--seed", help="Seed of the generated book (same seed, same book)."),
    state: Path | None = typer.Option(
        None, "--state", dir_okay=False,
        help="SQLite file to load state from and save it to (on exit, and every 30 s after changes).",
    ),
) -> None:
    """Serve the sandbox CRMs until Ctrl-C, printing the connection settings that point at them."""
    options = ServeOptions(crm=crm, port=port, deals=deals, seed=seed, state=state)
    if crm is Crm.BOTH and port == 65535:
        raise typer.BadParameter("--crm both also needs --port + 1: pick a lower port", param_hint="--port")
    try:
        run_sandboxes(options, threading.Event(), typer.echo)
    except KeyboardInterrupt:  # Ctrl-C while the book was still being generated: nothing to save
        raise typer.Exit(130) from None


def run_sandboxes(options: ServeOptions, stop: threading.Event, echo: Echo) -> None:
    """Start the servers, print how to connect, serve until `stop` is set, then stop and save."""
    _check_ports(options.ports())
    extras = ServeState()
    saved = _load(extras, options.state)
    sandboxes = _start(options, saved, extras, echo)
    _on_signals(stop)  # from here on Ctrl-C and SIGTERM mean "stop and save", not "abort"
    try:
        echo(connection_help(sandboxes, options.state))
        _serve(sandboxes, extras, options, stop, echo)
    finally:
        for sandbox in sandboxes.values():
            sandbox.stop()
        if options.state:
            _save(sandboxes, extras, options.state, echo)


# ------------------------------------------------------------------------------------------ starting
def _check_ports(ports: dict[str, int]) -> None:
    for crm, port in ports.items():
        if not port:
            continue
        probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server itself binds
            probe.bind(("127.0.0.1", port))
        except OSError as exc:
            raise _port_error(crm, port, exc) from None
        finally:
            probe.close()


def _port_error(crm: str, port: int, exc: OSError) -> UserError:
    in_use = exc.errno == errno.EADDRINUSE
    why = "is already in use" if in_use else f"cannot be used ({exc.strerror or exc})"
    return UserError(
        f"port {port} on 127.0.0.1 (for the {crm} sandbox) {why}; "
        "choose another with --port, or stop what is listening there"
    )


def _load(extras: ServeState, path: Path | None) -> set[str]:
    if path is None:
        return set()
    try:
        kinds = persist.kinds(path)
        persist.load(extras, path)
    except persist.StateFileError as exc:
        raise UserError(str(exc)) from None
    _check_savable(path)
    return kinds


def _check_savable(path: Path) -> None:
    """Saving writes `<state>.saving` beside the file and renames it; find out now that the directory
    takes it, not at Ctrl-C after a session's changes were made."""
    probe = path.with_name(path.name + ".saving")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        probe.touch()
        probe.unlink()
    except OSError as exc:
        raise UserError(
            f"cannot save sandbox state to {path}: {exc.strerror or exc}; choose another --state"
        ) from None


def _start(options: ServeOptions, saved: set[str], extras: ServeState, echo: Echo) -> dict[str, Any]:
    ports = options.ports()
    book: list[Book] = []

    def generated() -> Book:
        if not book:
            from sandbox.generator import generate_book

            # Dated to today, so "scheduled" meetings are still ahead when a sync runs on the real clock;
            # the same seed gives the same book on the same day.
            today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
            echo(f"Generating {options.deals} deals (seed {options.seed}, as of {today:%Y-%m-%d})...")
            book.append(generate_book(deals=options.deals, seed=options.seed, now=today))
        return book[0]

    sandboxes: dict[str, Any] = {}
    try:
        for crm in options.crms():
            restore = options.state if STORE_KINDS[crm] in saved else None
            sandboxes[crm] = _start_one(crm, ports[crm], generated, restore, extras)
            if restore:
                echo(f"Loaded the {crm} sandbox's state from {restore}")
    except OSError as exc:
        for sandbox in sandboxes.values():
            sandbox.stop()
        raise _port_error(crm, ports[crm], exc) from None
    return sandboxes


def _start_one(
    crm: str, port: int, generated: Callable[[], Book], restore: Path | None, extras: ServeState
) -> Any:
    """Start one CRM's server: from the saved state when `restore` names the file, else from the book."""
    if crm == "salesforce":
        store = new_org(None if restore else generated())
        if restore:
            persist.load(store, restore)
        return start_salesforce_sandbox(store=store, port=port)
    auth = extras.tables["hubspot_auth"]
    empty = Book(seed=0, owners=[], companies=[], contacts=[], deals=[])
    sandbox = start_hubspot_sandbox(
        empty if restore else generated(), port=port, access_token=auth.get("token", {}).get("access_token")
    )
    if restore:
        persist.load(sandbox.store, restore)  # before anyone is told the URL
    auth["token"] = {"access_token": sandbox.credentials["access_token"]}
    return sandbox


# ------------------------------------------------------------------------------------------- serving
def _serve(
    sandboxes: dict[str, Any], extras: ServeState, options: ServeOptions, stop: threading.Event, echo: Echo
) -> None:
    """Wait for `stop`; with a state file, save whenever traffic happened since the last save."""
    last = _traffic(sandboxes)
    while not stop.wait(options.save_every if options.state else None):
        now = _traffic(sandboxes)
        if options.state and now != last:
            _save(sandboxes, extras, options.state, echo)
            last = now


def _traffic(sandboxes: dict[str, Any]) -> tuple[int, ...]:
    """A number that moves when a store may have changed: its write version, else its API call count."""
    return tuple(
        getattr(sb.store, "version", None) or sum(sb.app.calls.values()) for sb in sandboxes.values()
    )


def _save(sandboxes: dict[str, Any], extras: ServeState, path: Path, echo: Echo) -> None:
    try:
        records = sum(persist.save(sb.store, path) for sb in sandboxes.values())
        persist.save(extras, path)
    except (OSError, persist.StateFileError) as exc:
        raise UserError(f"cannot save sandbox state to {path}: {exc}") from None
    echo(f"Saved {records} records to {path}")


def _on_signals(stop: threading.Event) -> None:
    """SIGTERM (docker stop, systemd) ends the loop like Ctrl-C does; only the main thread may do this."""
    if threading.current_thread() is not threading.main_thread():
        return
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())


# ------------------------------------------------------------------------------------------- printing
def connection_settings(sandboxes: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """The connections YAML document and the environment variables its `${...}` references need."""
    connections: dict[str, Any] = {}
    env: dict[str, str] = {}
    if "salesforce" in sandboxes:
        creds = sandboxes["salesforce"].credentials
        connections[CONNECTION_NAMES["salesforce"]] = {
            "crm": "salesforce",
            "api_base_url": sandboxes["salesforce"].url,
            "auth": {
                "mode": "password",
                "username": creds["username"],
                "password": "${" + ENV_NAMES["salesforce_password"] + "}",
                "security_token": "${" + ENV_NAMES["salesforce_token"] + "}",
            },
        }
        env[ENV_NAMES["salesforce_password"]] = creds["password"]
        env[ENV_NAMES["salesforce_token"]] = creds["security_token"]
    if "hubspot" in sandboxes:
        connections[CONNECTION_NAMES["hubspot"]] = {
            "crm": "hubspot",
            "base_url": sandboxes["hubspot"].url,
            "access_token": "${" + ENV_NAMES["hubspot_token"] + "}",
        }
        env[ENV_NAMES["hubspot_token"]] = sandboxes["hubspot"].credentials["access_token"]
    return {"connections": connections}, env


def connection_help(sandboxes: dict[str, Any], state: Path | None) -> str:
    document, env = connection_settings(sandboxes)
    lines = [f"{crm.capitalize() if crm == 'salesforce' else 'HubSpot'} sandbox: {sb.url}"
             for crm, sb in sandboxes.items()]
    lines += ["", "Connection settings (config/connections.yaml):", "",
              yaml.safe_dump(document, sort_keys=False).rstrip(), "", "Environment:", ""]
    lines += [f"export {name}='{value}'" for name, value in env.items()]
    lines += ["", f"State: {state} (saved on exit and every 30 s after changes)" if state else
              "State: in memory only (use --state FILE to keep it)", "Press Ctrl-C to stop."]
    return "\n".join(lines)
