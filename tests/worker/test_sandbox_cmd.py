"""`commitments sandbox serve`: argument errors, the printed connection settings, state across restarts."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import yaml
from hubspot import HubSpot
from typer.testing import CliRunner

from connectors.hubspot.config import HubSpotConfig
from connectors.salesforce.config import SalesforceConfig
from worker.cli import app
from worker.cli.sandbox_cmd import Crm, ServeOptions, connection_settings, run_sandboxes
from worker.errors import UserError
from worker.settings import load_settings


@pytest.fixture
def busy_port() -> Iterator[int]:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    yield listener.getsockname()[1]
    listener.close()


class Served:
    """`run_sandboxes` in a thread, with its printed lines and the sandboxes it started."""

    def __init__(self, options: ServeOptions) -> None:
        self.lines: list[str] = []
        self.stop = threading.Event()
        self.ready = threading.Event()
        self.error: BaseException | None = None
        self.options = options
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _echo(self, text: str) -> None:
        self.lines.append(text)
        if "Press Ctrl-C" in text:
            self.ready.set()

    def _run(self) -> None:
        try:
            run_sandboxes(self.options, self.stop, self._echo)
        except BaseException as exc:
            self.error = exc
            self.ready.set()

    @property
    def output(self) -> str:
        return "\n".join(self.lines)


@contextmanager
def serving(options: ServeOptions) -> Iterator[Served]:
    served = Served(options)
    served.thread.start()
    assert served.ready.wait(30)
    if served.error:
        raise served.error
    try:
        yield served
    finally:
        served.stop.set()
        served.thread.join(30)
    if served.error:
        raise served.error


def _settings_document(output: str) -> dict:
    start = output.index("connections:")
    end = output.index("\nEnvironment:")
    return yaml.safe_load(output[start:end])


def _environment(output: str) -> dict[str, str]:
    exports = [line.removeprefix("export ") for line in output.splitlines() if line.startswith("export ")]
    pairs = [line.split("=", 1) for line in exports]
    return {name: value.strip("'") for name, value in pairs}


# ------------------------------------------------------------------------------------------ arguments
def test_given_taken_port_when_serving_then_clear_user_error(busy_port: int) -> None:
    result = CliRunner().invoke(app, ["sandbox", "serve", "--crm", "hubspot", "--port", str(busy_port)])
    assert isinstance(result.exception, UserError)
    message = str(result.exception)
    assert f"port {busy_port} on 127.0.0.1 (for the hubspot sandbox) is already in use" in message
    assert "--port" in str(result.exception)


def _free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@pytest.fixture
def busy_after_free() -> Iterator[int]:
    """A port this test holds whose predecessor is free (tried until found, so the test never skips)."""
    for _attempt in range(100):
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        port = listener.getsockname()[1]
        if port > 1024 and _free(port - 1):
            listener.listen()
            yield port
            listener.close()
            return
        listener.close()
    pytest.fail("no ephemeral port with a free predecessor in 100 tries")


def test_given_taken_next_port_when_serving_both_then_error_names_hubspot(busy_after_free: int) -> None:
    busy_port = busy_after_free
    result = CliRunner().invoke(app, ["sandbox", "serve", "--port", str(busy_port - 1), "--deals", "0"])
    assert isinstance(result.exception, UserError)
    assert "for the hubspot sandbox" in str(result.exception)


def test_given_taken_port_when_run_as_a_program_then_one_line_and_no_traceback(busy_port: int) -> None:
    program = "from worker.cli import main; main()"
    args = ["sandbox", "serve", "--crm", "salesforce", "--port", str(busy_port)]
    done = subprocess.run([sys.executable, "-c", program, *args], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "is already in use" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--crm", "pipedrive"], "Invalid value for '--crm'"),
        (["--port", "70000"], "Invalid value for '--port'"),
        (["--port", "65535"], "--crm both also needs --port + 1"),
        (["--deals", "-1"], "Invalid value for '--deals'"),
    ],
)
def test_given_bad_argument_when_serving_then_usage_error(args: list[str], message: str) -> None:
    result = CliRunner().invoke(app, ["sandbox", "serve", *args])
    assert result.exit_code == 2
    assert message in " ".join(result.output.split()).replace("│", "").replace("  ", " ")


# ------------------------------------------------------------------------------------------- serving
def test_given_both_crms_when_served_then_printed_settings_validate_as_connections(tmp_path: Path) -> None:
    with serving(ServeOptions(port=0, deals=5)) as served:
        output = served.output
    document = _settings_document(output)
    config = tmp_path / "connections.yaml"
    config.write_text(yaml.safe_dump(document))
    settings = load_settings({"COMMITMENTS_CONFIG": str(config), **_environment(output)})
    salesforce = settings.connections["local-salesforce"].crm
    hubspot = settings.connections["local-hubspot"].crm
    assert isinstance(salesforce, SalesforceConfig)
    assert isinstance(hubspot, HubSpotConfig)
    assert str(salesforce.api_base_url).rstrip("/") in output
    assert hubspot.base_url in output
    assert hubspot.access_token is not None
    assert hubspot.access_token.get_secret_value().startswith("pat-")


def test_given_state_file_when_restarted_then_state_and_token_survive(tmp_path: Path) -> None:
    state = tmp_path / "sandbox.sqlite3"
    options = ServeOptions(crm=Crm.HUBSPOT, port=0, deals=5, state=state)
    with serving(options) as first:
        sandbox_token = _environment(first.output)["SANDBOX_HUBSPOT_TOKEN"]
        url = _settings_document(first.output)["connections"]["local-hubspot"]["base_url"]
        client = HubSpot(access_token=sandbox_token, host=url)
        deal = client.crm.deals.basic_api.create({"properties": {"dealname": "Made during the first run"}})
    assert "Saved" in first.output
    with serving(options) as second:
        assert "Loaded the hubspot sandbox's state" in second.output
        assert "Generating" not in second.output
        assert _environment(second.output)["SANDBOX_HUBSPOT_TOKEN"] == sandbox_token
        url = _settings_document(second.output)["connections"]["local-hubspot"]["base_url"]
        again = HubSpot(access_token=sandbox_token, host=url).crm.deals.basic_api.get_by_id(deal.id)
    assert again.properties["dealname"] == "Made during the first run"


def test_given_state_and_traffic_when_period_passes_then_state_is_saved_while_serving(tmp_path: Path) -> None:
    state = tmp_path / "sandbox.sqlite3"
    options = ServeOptions(crm=Crm.SALESFORCE, port=0, deals=3, state=state, save_every=0.05)
    with serving(options) as served:
        url = _settings_document(served.output)["connections"]["local-salesforce"]["api_base_url"]
        with socket.create_connection(("127.0.0.1", int(url.rsplit(":", 1)[1]))) as connection:
            query = b"GET /services/data/v61.0/query?q=SELECT+Id+FROM+Account HTTP/1.1\r\n"
            connection.sendall(query + b"Host: x\r\nConnection: close\r\n\r\n")
            assert connection.recv(100).startswith(b"HTTP/1.1")
        for _ in range(200):
            if any(line.startswith("Saved") for line in served.lines):
                break
            served.stop.wait(0.05)
        assert any(line.startswith("Saved") for line in served.lines)
    assert state.exists()


def test_given_state_file_of_another_program_when_serving_then_clear_error(tmp_path: Path) -> None:
    state = tmp_path / "notes.txt"
    state.write_text("my notes, not a database" * 50)
    with pytest.raises(UserError, match="not a sandbox state file"):
        run_sandboxes(ServeOptions(port=0, state=state), threading.Event(), print)
    assert state.read_text().startswith("my notes")


def test_given_state_file_in_a_directory_that_cannot_be_made_when_serving_then_error_before_serving(
    tmp_path: Path,
) -> None:
    (tmp_path / "a-file").write_text("x")
    state = tmp_path / "a-file" / "served.sqlite3"  # its directory cannot be created: a file has that name
    lines: list[str] = []

    with pytest.raises(UserError, match=f"cannot save sandbox state to {state}: .*; choose another --state"):
        run_sandboxes(ServeOptions(port=0, deals=1, state=state), threading.Event(), lines.append)

    assert lines == []  # nothing served, no connection settings printed for a session that would be lost


def test_given_no_sandboxes_when_settings_built_then_empty() -> None:
    assert connection_settings({}) == ({"connections": {}}, {})
