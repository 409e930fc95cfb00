"""Where a tenant's webhook may point: https to a public address on an allowed port, checked when each delivery is
sent, against the addresses the name resolves to at that moment.

The answer names the one checked address, and the request is made to that address (with the host name for TLS and
``Host``), so a name that resolves to something else between the check and the connect (DNS rebinding) cannot
steer the request inside.
"""

import ipaddress
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

ALLOWED_PORTS = frozenset({443, 8443})
"""HTTPS ports only: the worker's errors (refused, timed out) reach the tenant through the dead-letter reason, and
any port would let a tenant probe other people's hosts through the bridge."""

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Sequence[str]]


class DestinationRefused(Exception):
    """The webhook URL is not somewhere the bridge sends to; the message says why without repeating the URL."""


class HostNotFound(Exception):
    """The host name did not resolve: perhaps for a moment (DNS has bad days too), so the delivery is tried again."""


@dataclass(frozen=True)
class Destination:
    scheme: str
    host: str
    """As the tenant wrote it (lower case): sent as ``Host`` and as the TLS server name."""
    port: int
    address: IpAddress
    """The checked address the request is made to."""
    target: str
    """Path and query, as given."""

    @property
    def origin(self) -> str:
        """What a log line may say of the destination: no path, no query, no credentials."""
        return f"{self.scheme}://{self.host}:{self.port}"

    @property
    def pinned_url(self) -> str:
        host = f"[{self.address}]" if self.address.version == 6 else str(self.address)
        return f"{self.scheme}://{host}:{self.port}{self.target}"

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return host if self.port == default else f"{host}:{self.port}"


def resolve(host: str, port: int) -> list[str]:
    try:
        answers = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    except socket.gaierror:
        raise HostNotFound("the webhook's host name does not resolve") from None
    except UnicodeError:
        # A label over 63 characters, or an empty one ("a..b"): no DNS can ever answer for it.
        raise DestinationRefused("the webhook's host name is not a name DNS can hold") from None
    return [str(answer[4][0]) for answer in answers]


def check_destination(url: str, *, allow_loopback: bool = False, resolver: Resolver = resolve) -> Destination:
    """The destination ``url`` names, or ``DestinationRefused`` saying why not.

    ``allow_loopback`` is the local stack's: plain http and loopback addresses on any port, nothing else more."""
    parts = _split(url)
    scheme = parts.scheme.lower()
    if scheme != "https" and not (allow_loopback and scheme == "http"):
        raise DestinationRefused("a webhook must use https")
    if parts.username is not None or parts.password is not None:
        raise DestinationRefused("a webhook URL must not carry credentials (user:password@)")
    host = (parts.hostname or "").rstrip(".").lower()
    if not host:
        raise DestinationRefused("the webhook URL has no host")
    port = _port(parts, scheme)
    literal = _literal(host)
    candidates = [literal] if literal is not None else [_address(text) for text in resolver(host, port)]
    if not candidates:
        raise HostNotFound("the webhook's host name does not resolve")
    for address in candidates:
        _check_address(address, allow_loopback)
    if (
        not (allow_loopback and all(_plain(address).is_loopback for address in candidates))
        and port not in ALLOWED_PORTS
    ):
        raise DestinationRefused(f"a webhook must use port {' or '.join(map(str, sorted(ALLOWED_PORTS)))}")
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Destination(scheme=scheme, host=host, port=port, address=candidates[0], target=target)


def _split(url: str) -> SplitResult:
    if any(character.isspace() or ord(character) < 32 for character in url):
        raise DestinationRefused("the webhook URL contains spaces or control characters")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a port that is not a number or out of range
    except ValueError:
        raise DestinationRefused("the webhook URL cannot be read") from None
    return parts


def _port(parts: SplitResult, scheme: str) -> int:
    port = parts.port
    if port is None:
        return 443 if scheme == "https" else 80
    return port


def _literal(host: str) -> IpAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def _address(text: str) -> IpAddress:
    # getaddrinfo names a scoped IPv6 address "fe80::1%eth0"; the scope says nothing about where it is.
    return ipaddress.ip_address(text.split("%", 1)[0])


def _plain(address: IpAddress) -> IpAddress:
    """The IPv4 address inside an IPv4-mapped, 6to4 or Teredo IPv6 address, which is where a packet really goes."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour or (address.teredo[1] if address.teredo else None)
        if embedded is not None:
            return embedded
    return address


def _check_address(address: IpAddress, allow_loopback: bool) -> None:
    plain = _plain(address)
    if plain.is_loopback:
        if allow_loopback:
            return
        raise DestinationRefused("a webhook must point at a public address (this one is loopback)")
    kind = _non_public_kind(plain)
    if kind is not None:
        raise DestinationRefused(f"a webhook must point at a public address (this one is {kind})")
    if isinstance(address, ipaddress.IPv6Address) and address in NAT64:
        raise DestinationRefused("a webhook must point at a public address (this one is NAT64)")


NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
"""IPv6 that a NAT64 gateway turns into any IPv4 address, private ones included."""


def _non_public_kind(address: IpAddress) -> str | None:
    checks = (
        ("unspecified", address.is_unspecified),
        ("link-local", address.is_link_local),
        # fec0::/10, deprecated but still routed inside some networks; Python counts it neither private nor reserved.
        ("site-local", isinstance(address, ipaddress.IPv6Address) and address.is_site_local),
        ("multicast", address.is_multicast),
        ("private", address.is_private),
        ("reserved", address.is_reserved),
        ("non-global", not address.is_global),
    )
    return next((kind for kind, applies in checks if applies), None)
