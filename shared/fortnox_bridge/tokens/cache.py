"""Access tokens a process keeps between invoices, so an invoice pays for neither a token request nor a secret read.

Only access tokens are kept, each with what it was issued under; never a refresh token. A person's refresh always
re-reads the secret under the lease and writes over the version it read (docs/decisions.md, "Rules a per-process
token cache (issue 13) must keep"), so nothing here can send a refresh token or decide a refresh.
"""

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import TypeVar

CLOCK_SKEW_SECONDS = 5.0
"""How far this host's clock may be from Fortnox's: both keep NTP time, so a few seconds is generous."""


REPLACEMENT_SECONDS = 60.0
"""How long before a kept token becomes too short for a request its replacement is asked for: while the token
endpoint fails (a 5xx, a timeout), the kept token carries the invoices for this long, through several tries."""

MAX_KEPT = 4096
"""Tokens kept per process at most (about 1 KB each); the least recently used goes first. Far more companies and
tenants than one process serves within a token's hour, so in practice only tokens nobody uses any more go."""


def request_lifetime(*, request_timeout: float, rate_window: float) -> float:
    """The life a token must have left when it is handed out, for Fortnox to still accept it with the request.

    A token is taken before the rate limiter's wait (at most one window while no more workers than the limit queue
    for one tenant) and must still be valid when Fortnox reads the request: after the pool, connect and write
    phases, each bounded by the request timeout. Add the clock skew. The read phase does not count: Fortnox has
    accepted the token by then. With the defaults (5 s window, 30 s timeout) that is 100 s."""
    return rate_window + 3 * request_timeout + CLOCK_SKEW_SECONDS


def reuse_margin(*, request_timeout: float, rate_window: float) -> float:
    """How long before its expiry a kept token stops being handed out while a replacement can be had.

    A request's lifetime plus ``REPLACEMENT_SECONDS``: 160 s of a token's 3600 with the defaults (FACTS.md 1.4),
    one token request per process and company every 57 minutes. A token that dies sooner anyway (revoked, or a
    worse skew) is refused with a 401, which drops it and costs one new token and one retry."""
    return request_lifetime(request_timeout=request_timeout, rate_window=rate_window) + REPLACEMENT_SECONDS


@dataclass(frozen=True)
class HeldToken:
    access_token: str = field(repr=False)
    expires_at: float
    """On the cache's clock, counted from before the token was asked for."""
    scope: tuple[object, ...]
    """What the token was issued under: a caller with another scope must not use it (its company, its connection)."""
    version: str | None = None
    """For a person's token, the secret's VersionId it was read from or written as."""


class TokenCache:
    """The process's kept access tokens by key, at most ``limit`` of them, safe to share between threads."""

    def __init__(self, clock: Callable[[], float] = time.time, *, limit: int = MAX_KEPT) -> None:
        self.clock = clock
        self._limit = limit
        self._held: OrderedDict[Hashable, HeldToken] = OrderedDict()
        self._fetching: OrderedDict[Hashable, threading.Lock] = OrderedDict()
        self._guard = threading.Lock()

    def get(self, key: Hashable) -> HeldToken | None:
        with self._guard:
            held = self._held.get(key)
            if held is not None:
                self._held.move_to_end(key)
            return held

    def keep(self, key: Hashable, token: HeldToken) -> None:
        with self._guard:
            self._held[key] = token
            self._held.move_to_end(key)
            _trim(self._held, self._limit)

    def drop(self, key: Hashable, access_token: str | None = None) -> None:
        """Forget the token under ``key``; given ``access_token``, only if it is still that one (another worker of
        the process may already have replaced it with a good one)."""
        with self._guard:
            held = self._held.get(key)
            if held is not None and (access_token is None or held.access_token == access_token):
                del self._held[key]

    def fetching(self, key: Hashable) -> threading.Lock:
        """Held while a token for ``key`` is asked for, so the process's workers ask once, not once each."""
        with self._guard:
            lock = self._fetching.setdefault(key, threading.Lock())
            self._fetching.move_to_end(key)
            # A lock forgotten while held only lets one more worker ask for the same token: harmless.
            _trim(self._fetching, self._limit)
            return lock

    def clear(self) -> None:
        with self._guard:
            self._held.clear()
            self._fetching.clear()


_Kept = TypeVar("_Kept")


def _trim(kept: "OrderedDict[Hashable, _Kept]", limit: int) -> None:
    while len(kept) > limit:
        kept.popitem(last=False)
