"""The worker reads its settings again for every run: a secret rotated in the secrets file, or a connection
removed from the connections file, takes effect at the next run of a long-running worker, no restart."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from worker.connections import build_connector, sandbox_config, start_sandbox
from worker.errors import UserError
from worker.observability.metrics import Metrics
from worker.playbook_files import load_playbook
from worker.scheduling.runner import Runner, RunRequest, settings_sync
from worker.scheduling.schedules import WatchedConnections
from worker.settings import Settings, SettingsError, load_settings
from worker.store import Store
from worker.store.models import RunRow


@pytest.fixture
def portal() -> Iterator[Any]:
    """A provisioned sandbox HubSpot portal."""
    handle = start_sandbox("hubspot", deals=3)
    connector = build_connector(sandbox_config("hubspot", handle.credentials), load_playbook())
    connector.setup(load_playbook(), dry_run=False)
    connector.close()
    yield handle
    handle.stop()


def _write(path: Path, document: dict[str, Any]) -> None:
    path.write_text(yaml.safe_dump(document), encoding="utf-8")


def _secrets(tmp_path: Path, token: str) -> None:
    tokens = {name: {"access_token": token} for name in ("acme", "other")}
    _write(tmp_path / "secrets.yaml", {"connections": tokens})


def _loader(config: Path) -> Any:
    def load(connection: str | None = None) -> Settings:
        environ = {"COMMITMENTS_CONFIG": str(config), "COMMITMENTS_STATE_DIR": str(config.parent)}
        return load_settings(environ, only=connection)

    return load


def _newest_error(store: Store) -> str | None:
    with Session(store.engine) as session:
        newest = session.scalars(select(RunRow).order_by(RunRow.id.desc())).first()
        assert newest is not None
        return newest.error


def test_given_a_worker_with_an_old_token_when_the_secrets_file_is_rotated_then_the_next_run_uses_the_new_one(
    tmp_path: Path, portal: Any, store: Store
) -> None:
    config = tmp_path / "connections.yaml"
    _write(config, {"connections": {"acme": {"crm": "hubspot", "base_url": portal.credentials["host"]}}})
    _secrets(tmp_path, "pat-na1-revoked")
    runner = Runner(store, settings_sync(store, _loader(config)), metrics=Metrics())
    request = RunRequest("acme", "hubspot", "full", "schedule")
    assert runner.run(request) == "failed"

    # when: the admin rotates the token in the secrets file while the worker keeps running
    _secrets(tmp_path, portal.credentials["access_token"])
    outcome = runner.run(request)

    # then: the next run logs in with the new token
    assert outcome == "success", _newest_error(store)


def test_given_a_connection_removed_from_the_file_when_its_schedule_fires_then_the_run_fails_naming_it(
    tmp_path: Path, portal: Any, store: Store
) -> None:
    config = tmp_path / "connections.yaml"
    body = {"crm": "hubspot", "base_url": portal.credentials["host"]}
    _write(config, {"connections": {"acme": body, "other": body}})
    _secrets(tmp_path, portal.credentials["access_token"])
    runner = Runner(store, settings_sync(store, _loader(config)), metrics=Metrics())
    request = RunRequest("acme", "hubspot", "incremental", "schedule")
    assert runner.run(request) == "success"

    # when: the admin removes the connection while the worker keeps running
    _write(config, {"connections": {"other": body}})
    outcome = runner.run(request)

    # then: it is not synced any more, and the run says why
    assert outcome == "failed"
    assert "no connection named 'acme'" in (_newest_error(store) or "")


def test_given_watched_connections_when_the_file_gains_a_connection_then_it_is_listed_without_a_restart(
    tmp_path: Path,
) -> None:
    config = tmp_path / "connections.yaml"
    body = {"crm": "hubspot", "access_token": "pat-na1-x"}
    _write(config, {"connections": {"acme": body}})
    loads: list[Settings] = []

    def load() -> Settings:
        loads.append(_loader(config)())
        return loads[-1]

    watched = WatchedConnections(load(), load, lambda: config)
    assert (watched(), watched(), len(loads)) == ([("acme", "hubspot")], [("acme", "hubspot")], 1)

    # when: the admin adds a connection while the worker keeps running
    _write(config, {"connections": {"acme": body, "beta": body}})

    # then: the next call reads the file again, and only once
    assert watched() == [("acme", "hubspot"), ("beta", "hubspot")]
    assert watched() == [("acme", "hubspot"), ("beta", "hubspot")]
    assert len(loads) == 2


def test_given_watched_connections_when_the_file_is_broken_mid_edit_then_one_error_and_the_old_list_is_kept(
    tmp_path: Path,
) -> None:
    config = tmp_path / "connections.yaml"
    _write(config, {"connections": {"acme": {"crm": "hubspot", "access_token": "pat-na1-x"}}})
    watched = WatchedConnections(_loader(config)(), _loader(config), lambda: config)

    config.write_text("connections: [unclosed\n", encoding="utf-8")

    with pytest.raises(SettingsError):
        watched()
    assert watched() == [("acme", "hubspot")]  # reported once; the worker keeps its schedules


def test_given_a_connection_whose_secret_is_not_set_yet_when_another_ones_schedule_fires_then_that_one_runs(
    tmp_path: Path, portal: Any, store: Store
) -> None:
    config = tmp_path / "connections.yaml"
    body = {"crm": "hubspot", "base_url": portal.credentials["host"]}
    _write(config, {"connections": {"acme": body}})
    _secrets(tmp_path, portal.credentials["access_token"])
    runner = Runner(store, settings_sync(store, _loader(config)), metrics=Metrics())

    # when: the admin adds a connection whose token variable is not set yet, while the worker keeps running
    beta = {"crm": "hubspot", "access_token": "${BETA_HUBSPOT_TOKEN}"}
    _write(config, {"connections": {"acme": body, "beta": beta}})
    acme = runner.run(RunRequest("acme", "hubspot", "incremental", "schedule"))
    acme_error = _newest_error(store)
    beta_outcome = runner.run(RunRequest("beta", "hubspot", "incremental", "schedule"))

    # then: acme's runs go on; beta's fail, naming what is missing
    assert acme == "success", acme_error
    assert beta_outcome == "failed"
    assert "BETA_HUBSPOT_TOKEN" in (_newest_error(store) or "")


@pytest.mark.parametrize(
    ("connections", "scheduled"),
    [
        ({"acme": {"crm": "hubspot", "access_token": "pat-na1-x"}}, [("acme", "hubspot")]),
        ({}, []),  # the file's only connection has a problem: not the built-in sandbox in its place
    ],
)
def test_given_a_connection_with_a_problem_when_a_worker_starts_then_it_is_left_out_and_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, connections: dict[str, Any], scheduled: list[Any]
) -> None:
    config = tmp_path / "connections.yaml"
    beta = {"crm": "hubspot", "access_token": "${BETA_HUBSPOT_TOKEN}"}
    _write(config, {"connections": {**connections, "beta": beta}})
    environ = {"COMMITMENTS_CONFIG": str(config), "COMMITMENTS_STATE_DIR": str(tmp_path)}

    settings = load_settings(environ, lenient=True)
    watched = WatchedConnections(settings, lambda: load_settings(environ, lenient=True), lambda: config)

    assert watched() == scheduled
    assert "BETA_HUBSPOT_TOKEN is not set" in caplog.text  # the log says which connection is not synced
    if not connections:
        with pytest.raises(UserError, match="no connection can be used"):
            settings.connection(None)


def test_given_watched_connections_when_the_first_connection_is_configured_then_the_sandboxes_stop_running(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config = tmp_path / "connections.yaml"
    _write(config, {"connections": {}})
    with caplog.at_level(logging.WARNING):
        watched = WatchedConnections(_loader(config)(), _loader(config), lambda: config)
    before = (watched(), watched.sandboxes_run())
    assert f"{config} defines no connections: the built-in sandbox CRM is used" in caplog.text

    _write(config, {"connections": {"acme": {"crm": "hubspot", "access_token": "pat-na1-x"}}})

    assert before == ([("sandbox", "salesforce")], True)
    assert (watched(), watched.sandboxes_run()) == ([("acme", "hubspot")], False)
