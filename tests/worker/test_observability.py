"""Structured logs with run context, secret redaction, Prometheus metrics and the health endpoints."""

from __future__ import annotations

import io
import json
import logging
import socket
import struct
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest
from pydantic import BaseModel, SecretStr

from worker.observability.health import HealthServer, HealthState
from worker.observability.logs import make_handler, run_context
from worker.observability.metrics import Metrics
from worker.observability.redaction import Redactor, secret_values

TOKEN = "00Dxx0000001gPL!AQ4AQFq2cX9rj2eYbY3tW7kZ3nDqLm"


@pytest.fixture
def captured() -> Iterator[tuple[logging.Logger, io.StringIO, Redactor]]:
    stream = io.StringIO()
    redactor = Redactor(["hunter2-client-secret"])
    handler = make_handler(stream, json_lines=True, redactor=redactor)
    logger = logging.getLogger("tests.observability")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    yield logger, stream, redactor
    logger.removeHandler(handler)


def _lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_given_run_context_when_logging_then_every_json_line_carries_run_id_and_connection(captured) -> None:
    logger, stream, _ = captured
    with run_context(run_id=42, connection="acme-sf"):
        logger.info("read %d deals", 10)
        logger.warning("one failure")
    logger.info("outside")
    lines = _lines(stream)
    assert [(line["message"], line.get("run_id"), line.get("connection")) for line in lines] == [
        ("read 10 deals", 42, "acme-sf"),
        ("one failure", 42, "acme-sf"),
        ("outside", None, None),
    ]
    assert lines[0]["level"] == "info"
    assert lines[0]["logger"] == "tests.observability"


def test_given_registered_secret_and_token_patterns_when_logged_then_never_in_output(captured) -> None:
    logger, stream, _ = captured
    logger.info("login with client_secret hunter2-client-secret")
    logger.info("header Authorization: Bearer %s", "eyJhbGciOiJIUzI1NiJ9.payload.sig")
    logger.info("url https://x/services?access_token=abcdef123456&next=1")
    try:
        raise RuntimeError(f"INVALID_SESSION_ID: session {TOKEN} expired")
    except RuntimeError:
        logger.exception("sync failed")
    text = stream.getvalue()
    for secret in ("hunter2-client-secret", "eyJhbGciOiJIUzI1NiJ9", "abcdef123456", TOKEN):
        assert secret not in text
    assert "***" in text
    assert "INVALID_SESSION_ID" in text  # the useful part of the error survives


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Authorization: Bearer abcdefghijkl.mnop", "Authorization: Bearer ***"),
        # base64 of "consumer_key:consumer_secret", as a proxy or server echoing request headers shows it
        ("Authorization: Basic Y2stMTIzOnNlY3JldC00NTY=", "Authorization: Basic ***"),
        ("{'Authorization': 'Basic Y2stMTIzOnNlY3JldC00NTY='}", "{'Authorization': 'Basic ***'}"),
        ("the basic permissions are missing", "the basic permissions are missing"),
        ("GET /x?access_token=XYZ123456&y=1", "GET /x?access_token=***&y=1"),
        ('{"refresh_token": "abc12345"}', '{"refresh_token": "***"}'),
        ("sessionId=00Dxx0000001gPL!AR8AQJXg5r", "sessionId=***"),
        ("<sessionId>00D5e00000!AQ4AQ</sessionId>", "<sessionId>***</sessionId>"),
        (f"expired session {TOKEN}", "expired session ***"),
        ("password: hunter22", "password: ***"),
        # a quoted value is masked whole, spaces and all
        ('password="p@ss w0rd" user=x', 'password="***" user=x'),
        ('{"client_secret":  "abc def"}', '{"client_secret":  "***"}'),
        ("GET /x?q=access_token%3DXYZ123456&y=1", "GET /x?q=access_token%3D***&y=1"),
        ("401 for pat-na1-1a2b3c4d-1234-5678-9abc-123456789012", "401 for ***"),
        # bytes reprs of headers and bodies, as urllib3 and requests print them
        ("{b'Authorization': b'Basic Y2stMTIzOnNlY3JldC00NTY='}", "{b'Authorization': b'Basic ***'}"),
        ("b'password': b'p@ss w0rd'", "b'password': b'***'"),
        ("password=bob12345", "password=***"),
        ("nothing secret here", "nothing secret here"),
        # a settings error names the key's path and the problem, never the value: it stays readable
        (
            "connections.acme.access_token: environment variable ACME_TOKEN is not set",
            "connections.acme.access_token: environment variable ACME_TOKEN is not set",
        ),
        ("connections.s.auth.password: required, missing", "connections.s.auth.password: required, missing"),
    ],
)
def test_given_token_like_text_when_scrubbed_then_masked(text: str, expected: str) -> None:
    assert Redactor().scrub(text) == expected


class _Auth(BaseModel):
    username: str
    password: SecretStr
    token: SecretStr


class _Settings(BaseModel):
    name: str
    auth: _Auth
    extra: dict[str, SecretStr]


def test_given_settings_with_nested_secrets_when_registered_then_all_are_masked() -> None:
    settings = _Settings(
        name="acme",
        auth=_Auth(username="ops@acme.test", password=SecretStr("pw-0001"), token=SecretStr("tok-0002")),
        extra={"hubspot": SecretStr("pat-na1-0003")},
    )
    redactor = Redactor()
    redactor.add_from(settings)
    assert sorted(secret_values(settings)) == ["pat-na1-0003", "pw-0001", "tok-0002"]
    assert redactor.scrub(
        f"failed {settings.auth.password.get_secret_value()} pat-na1-0003 ops@acme.test"
    ) == ("failed *** *** ops@acme.test")
    assert "pw-0001" not in repr(settings)


def test_given_runs_when_recorded_then_metrics_named_with_prefix_and_total_suffix() -> None:
    metrics = Metrics()
    metrics.record_run(
        connection="acme",
        mode="incremental",
        trigger="schedule",
        outcome="success",
        duration_s=12.5,
        counts={"deals_assessed": 40, "fields_written": 7, "tasks_created": 2, "tasks_completed": 1,
                "tasks_reopened": 1},
        api_calls={"query": 3, "composite": 1},
        started_at=None,
    )
    metrics.record_run(connection="acme", mode="full", trigger="schedule", outcome="skipped_locked")
    text = metrics.exposition().decode()
    expected = [
        'commitments_runs_total{connection="acme",mode="incremental",outcome="success",trigger="schedule"} 1.0',  # noqa: E501
        'commitments_deals_assessed_total{connection="acme"} 40.0',
        'commitments_fields_written_total{connection="acme"} 7.0',
        'commitments_tasks_created_total{connection="acme"} 2.0',
        'commitments_tasks_completed_total{connection="acme"} 1.0',
        'commitments_tasks_reopened_total{connection="acme"} 1.0',
        'commitments_api_calls_total{connection="acme",kind="query"} 3.0',
        'commitments_run_duration_seconds_count{connection="acme",mode="incremental"} 1.0',
        'commitments_lock_contention_total{connection="acme"} 1.0',
    ]
    for line in expected:
        assert line in text


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def test_given_health_server_when_probed_then_livez_and_readyz_follow_the_state() -> None:
    clock = [100.0]
    state = HealthState(stale_after=30, monotonic=lambda: clock[0])
    state.scheduler_alive = lambda: True
    state.scheduler_running = lambda: True
    state.database_ok = lambda: True
    metrics = Metrics()
    metrics.runs.labels("acme", "full", "manual", "success").inc()
    server = HealthServer(state, metrics, port=0).start()
    base = f"http://127.0.0.1:{server.port}"
    try:
        assert _get(base + "/livez")[0] == 503  # never ticked
        state.tick()
        assert _get(base + "/livez")[0] == 200
        clock[0] += 31
        status, body = _get(base + "/livez")
        assert (status, json.loads(body)["checks"]["loop_ticked"]) == (503, False)
        assert _get(base + "/readyz")[0] == 200

        def db_down() -> bool:
            raise OSError("connection refused")

        state.database_ok = db_down
        status, body = _get(base + "/readyz")
        assert (status, json.loads(body)["checks"]["database"]) == (503, False)
        state.database_ok = lambda: True
        state.draining.set()
        assert _get(base + "/readyz")[0] == 503
        status, body = _get(base + "/metrics")
        assert status == 200
        assert b"commitments_runs_total" in body
        assert _get(base + "/nope")[0] == 404
    finally:
        server.stop()


def test_given_a_probe_that_resets_its_connection_when_served_then_no_traceback_breaks_the_log(
    capfd: pytest.CaptureFixture[str],
) -> None:
    # A TCP health check (a load balancer's, a Kubernetes tcpSocket probe) connects and resets; the worker's
    # stderr is its log, one JSON object a line with --log-json, where a traceback has no place.
    server = HealthServer(HealthState(), Metrics(), port=0).start()
    try:
        for request in (b"GET /metrics HTTP/1.1\r\nHost: probe\r\n", b"GET /livez HTTP/1.1\r\n\r\n", b""):
            for _ in range(5):
                probe = socket.create_connection(("127.0.0.1", server.port))
                probe.sendall(request)
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # reset
                probe.close()
        assert _get(f"http://127.0.0.1:{server.port}/metrics")[0] == 200  # and it still answers
    finally:
        server.stop()

    captured = capfd.readouterr()
    assert "Traceback" not in captured.err
    assert "Exception occurred" not in captured.err
