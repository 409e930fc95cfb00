"""One signed POST to a checked destination: to its checked address, never following a redirect, and over within
``TIMEOUT_SECONDS`` of wall time however the receiver trickles its answer."""

import ssl
import time
import typing
from collections.abc import Iterable, Mapping

import httpcore
import httpx

from fortnox_bridge.webhooks.destination import Destination

SocketOption = tuple[int, int, int] | tuple[int, int, bytes | bytearray] | tuple[int, int, None, int]
TIMEOUT_SECONDS = 10.0
"""The whole request, from connecting to the status line: httpx's own timeouts are per read, and a receiver that
sends its headers a byte at a time would otherwise hold the worker, and every other tenant's delivery in the batch,
until Lambda's timeout."""


def post(destination: Destination, body: str, headers: Mapping[str, str]) -> int:
    """The receiver's status code; ``httpx.TransportError`` when there was no answer in time.

    Straight to a transport of its own, not through ``httpx.Client``: X-Ray's patch instruments the client (a trace
    would name the webhook's path, where receivers often keep a token) and the client logs every URL, query string
    and all, at INFO. A transport per request: connections are pooled by address, so a pooled connection verified
    for one tenant's host name could carry another tenant's request to a different host on the same address. Nothing
    follows a redirect, and the answer's body is never read: a receiver cannot make the worker hold a large one."""
    request = httpx.Request(
        "POST",
        destination.pinned_url,
        content=body.encode(),
        headers={**headers, "Host": destination.host_header},
        extensions={"sni_hostname": destination.host, "timeout": httpx.Timeout(TIMEOUT_SECONDS).as_dict()},
    )
    with _DeadlineTransport(time.monotonic() + TIMEOUT_SECONDS) as transport:
        response = transport.handle_request(request)
        response.close()
        return response.status_code


class _DeadlineTransport(httpx.HTTPTransport):
    """httpx's transport (same TLS checks, same errors) over sockets that give up at ``deadline``."""

    def __init__(self, deadline: float) -> None:
        super().__init__(trust_env=False)
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False), network_backend=_DeadlineBackend(deadline)
        )


class _DeadlineBackend(httpcore.NetworkBackend):
    def __init__(self, deadline: float) -> None:
        self._deadline = deadline
        self._sockets = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[SocketOption] | None = None,
    ) -> httpcore.NetworkStream:
        stream = self._sockets.connect_tcp(
            host, port, _left(self._deadline, timeout, httpcore.ConnectTimeout), local_address, socket_options
        )
        return _DeadlineStream(stream, self._deadline)


class _DeadlineStream(httpcore.NetworkStream):
    def __init__(self, stream: httpcore.NetworkStream, deadline: float) -> None:
        self._stream = stream
        self._deadline = deadline

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, _left(self._deadline, timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, _left(self._deadline, timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        secured = self._stream.start_tls(
            ssl_context, server_hostname, _left(self._deadline, timeout, httpcore.ConnectTimeout)
        )
        return _DeadlineStream(secured, self._deadline)

    def get_extra_info(self, info: str) -> typing.Any:
        return self._stream.get_extra_info(info)


def _left(deadline: float, timeout: float | None, expired: type[httpcore.TimeoutException]) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise expired("the webhook did not answer in time")
    return left if timeout is None else min(timeout, left)
