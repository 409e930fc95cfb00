"""Access tokens a process keeps between invoices, so an invoice pays for neither a token request nor a secret read.

Only access tokens are kept, each with what it was issued under; never a refresh token. A person's refresh always
re-reads the secret under the lease and writes over the version it read (docs/decisions.md, "Rules a per-process
token cache (issue 13) must keep"), so nothing here can send a refresh token or decide a refresh.
"""

import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field

CLOCK_SKEW_SECONDS = 5.0
"""How far this host's clock may be from Fortnox's: both keep NTP time, so a few seconds is generous."""


def reuse_margin(*, request_timeout: float, rate_window: float) -> float:
    """How long before its expiry a kept token stops being handed out.

    A token is taken before the rate limiter's wait (at most one window while no more workers than the limit queue
    for one tenant) and must still be valid when Fortnox reads the request: after the pool, connect and write
    phases, each bounded by the request timeout. Add the clock skew. With the defaults (5 s window, 30 s timeout)
    that is 100 s of a token's 3600 (FACTS.md 1.4): one token request per process and company every 58 minutes.
    A token that dies sooner anyway (revoked, or a worse skew) is refused with a 401, which drops it and costs one
    new token and one retry."""
    return rate_window + 3 * request_timeout + CLOCK_SKEW_SECONDS


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
    """The process's kept access tokens by key, safe to share between threads."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self._held: dict[Hashable, HeldToken] = {}
        self._fetching: dict[Hashable, threading.Lock] = {}
        self._guard = threading.Lock()

    def get(self, key: Hashable) -> HeldToken | None:
        with self._guard:
            return self._held.get(key)

    def keep(self, key: Hashable, token: HeldToken) -> None:
        with self._guard:
            self._held[key] = token

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
            return self._fetching.setdefault(key, threading.Lock())

    def clear(self) -> None:
        with self._guard:
            self._held.clear()
            self._fetching.clear()
