"""The sandbox's HTTP server: a client that goes away mid-answer is the client's business, not a traceback
in the terminal of `commitments sandbox serve` (or of a sync on the built-in sandbox) when a sync is
stopped with Ctrl-C."""

from __future__ import annotations

import socket
import struct
import threading

import pytest

from sandbox.http import App, Request, Response, ServerThread


def test_given_a_client_that_hangs_up_mid_answer_when_served_then_nothing_is_printed(
    capfd: pytest.CaptureFixture[str],
) -> None:
    app = App("big")
    answered = threading.Event()

    @app.route("GET", "/big", "big")
    def big(_request: Request) -> Response:
        answered.set()
        return Response(200, b"x" * 16_000_000)  # more than the socket buffers hold

    with ServerThread(app) as server:
        for _ in range(3):
            client = socket.create_connection(("127.0.0.1", server.port))
            client.sendall(b"GET /big HTTP/1.1\r\nHost: sandbox\r\n\r\n")
            assert answered.wait(5)
            answered.clear()
            client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # reset
            client.close()
        # the server is still answering others
        client = socket.create_connection(("127.0.0.1", server.port))
        client.sendall(b"GET /nope HTTP/1.1\r\nHost: sandbox\r\n\r\n")
        assert client.recv(12) == b"HTTP/1.1 404"
        client.close()

    captured = capfd.readouterr()
    assert "Traceback" not in captured.err
    assert "Exception occurred" not in captured.err
