"""Issue 13, point 1: one HTTP pool per process and Fortnox host, shared by every tenant's client.

A shared httpx client must carry nothing from one tenant's exchange into another's request: the server here sets a
cookie on every answer, as a sticky load balancer in front of Fortnox would, and records what each request brought.
"""

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from fortnox_bridge.fortnox.http import FortnoxHttp, shared_client
from fortnox_bridge.fortnox.ports import NoRateLimit, StaticToken


@dataclass
class Seen:
    authorization: str | None
    cookie: str | None
    connection: str


class CookieSettingHost(BaseHTTPRequestHandler):
    """Answers every call with JSON and a cookie naming the caller's token, keeping the connection open."""

    protocol_version = "HTTP/1.1"
    seen: list[Seen]

    def do_GET(self) -> None:
        authorization = self.headers.get("Authorization")
        self.seen.append(Seen(authorization, self.headers.get("Cookie"), f"{self.client_address[1]}"))
        body = b'{"ok": true}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Set-Cookie", f"session={(authorization or 'nobody').removeprefix('Bearer ')}; Path=/")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the test reads what it needs from ``seen``."""


@pytest.fixture
def host() -> Iterator[tuple[str, list[Seen]]]:
    seen: list[Seen] = []
    handler = type("Host", (CookieSettingHost,), {"seen": seen})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", seen
    server.shutdown()
    server.server_close()


def _tenant(url: str, token: str, pool: httpx.Client) -> FortnoxHttp:
    return FortnoxHttp(base_url=url, tokens=StaticToken(token), rate_limiter=NoRateLimit(), http=pool, timeout=5.0)


def test_a_cookie_set_for_one_tenant_is_never_sent_with_another_tenants_request(
    host: tuple[str, list[Seen]],
) -> None:
    url, seen = host
    pool = shared_client(5.0)
    first, second = _tenant(url, "token-of-a", pool), _tenant(url, "token-of-b", pool)

    first.request("GET", "/3/companyinformation", idempotent=True)
    second.request("GET", "/3/companyinformation", idempotent=True)
    first.request("GET", "/3/companyinformation", idempotent=True)

    assert [(request.authorization, request.cookie) for request in seen] == [
        ("Bearer token-of-a", None),
        ("Bearer token-of-b", None),
        ("Bearer token-of-a", None),
    ]


def test_the_host_sets_cookies_a_plain_httpx_client_would_send_on(host: tuple[str, list[Seen]]) -> None:
    # The check above can fail: an httpx client with its default jar sends the first tenant's cookie with the second
    url, seen = host
    plain = httpx.Client(timeout=5.0)
    _tenant(url, "token-of-a", plain).request("GET", "/3/companyinformation", idempotent=True)
    _tenant(url, "token-of-b", plain).request("GET", "/3/companyinformation", idempotent=True)
    assert seen[1].cookie == "session=token-of-a"


def test_tenants_share_one_kept_alive_connection_and_closing_one_leaves_the_pool_open(
    host: tuple[str, list[Seen]],
) -> None:
    url, seen = host
    pool = shared_client(5.0)
    first, second = _tenant(url, "token-of-a", pool), _tenant(url, "token-of-b", pool)

    first.request("GET", "/3/companyinformation", idempotent=True)
    first.close()
    second.request("GET", "/3/companyinformation", idempotent=True)

    assert not pool.is_closed
    assert len({request.connection for request in seen}) == 1
