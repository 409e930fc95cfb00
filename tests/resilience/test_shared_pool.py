"""One HTTP pool per process and Fortnox host, shared by every tenant (issue 13, point 1).

The sandbox closes every connection after its answer (werkzeug's server speaks HTTP/1.0), so a kept-alive connection
cannot go stale against it. A small HTTP/1.1 host here keeps connections open as Fortnox's front does, and can be
restarted or answer late.
"""

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from fortnox_bridge.fortnox.errors import FortnoxTransportError
from fortnox_bridge.fortnox.http import FortnoxHttp, shared_client
from fortnox_bridge.fortnox.ports import NoRateLimit, StaticToken
from fortnox_bridge.fortnox.retry import RetryPolicy

LATE_SECONDS = 1.0
"""How long the host takes to answer a tenant whose client gives up after a tenth of it."""


class KeepAliveHost(BaseHTTPRequestHandler):
    """Answers with the caller's token in the body, keeps the connection open; answers ``token-late`` late."""

    protocol_version = "HTTP/1.1"
    seen: list[tuple[str, str, int]]
    open_sockets: list[socket.socket]

    def setup(self) -> None:
        super().setup()
        self.open_sockets.append(self.connection)

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        token = (self.headers.get("Authorization") or "").removeprefix("Bearer ")
        self.seen.append((self.command, token, self.client_address[1]))
        if token == "token-late":
            time.sleep(LATE_SECONDS)
        body = f'{{"answered": "{token}"}}'.encode()
        try:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except OSError:
            self.close_connection = True

    do_GET = _answer
    do_POST = _answer

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the test reads ``seen``."""


class Host:
    def __init__(self, port: int = 0) -> None:
        self.seen: list[tuple[str, str, int]] = []
        self.open_sockets: list[socket.socket] = []
        handler = type("Handler", (KeepAliveHost,), {"seen": self.seen, "open_sockets": self.open_sockets})
        self.server = ThreadingHTTPServer(("127.0.0.1", port), handler)
        self.server.daemon_threads = True
        self.server.handle_error = lambda *_: None  # type: ignore[method-assign]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def stop(self) -> None:
        """Gone as a restarted process is: the listener and every open connection closed."""
        self.server.shutdown()
        self.server.server_close()
        for connection in self.open_sockets:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
            connection.close()


@pytest.fixture
def host() -> Iterator[Host]:
    running = Host()
    yield running
    running.stop()


def _tenant(url: str, token: str, pool: httpx.Client, timeout: float = 5.0) -> FortnoxHttp:
    return FortnoxHttp(
        base_url=url,
        tokens=StaticToken(token),
        rate_limiter=NoRateLimit(),
        http=pool,
        retry=RetryPolicy(max_attempts=1),
        timeout=timeout,
    )


def test_after_the_host_restarts_a_create_goes_once_on_a_new_connection(host: Host) -> None:
    # Given a pool holding a kept-alive connection to the host
    pool = shared_client(5.0)
    _tenant(host.url, "token-a", pool).request("GET", "/3/companyinformation", idempotent=True)
    port = host.server.server_address[1]

    # When the host restarts on the same address, and the next tenant creates an invoice
    host.stop()
    restarted = Host(port)
    try:
        answer = _tenant(restarted.url, "token-b", pool).request("POST", "/3/invoices", body={}, idempotent=False)
    finally:
        restarted.stop()

    # Then the create reached the new host once and its answer came back: the dead connection was not used
    assert answer == {"answered": "token-b"}
    assert [(method, token) for method, token, _ in restarted.seen] == [("POST", "token-b")]


def test_a_late_answer_to_one_tenants_request_is_never_read_as_another_tenants_answer(host: Host) -> None:
    # Given a tenant whose request the host answers after the client gave up waiting
    pool = shared_client(5.0)
    with pytest.raises(FortnoxTransportError):
        _tenant(host.url, "token-late", pool, timeout=LATE_SECONDS / 10).request(
            "GET", "/3/invoices/1", idempotent=True
        )

    # When another tenant's request goes through the same pool, while that late answer is on its way
    answers = [_tenant(host.url, "token-b", pool).request("GET", "/3/invoices/2", idempotent=True) for _ in range(3)]

    # Then every answer it reads is its own
    assert answers == [{"answered": "token-b"}] * 3
