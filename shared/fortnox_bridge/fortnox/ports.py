"""What the Fortnox client needs from the outside: an access token and a place in the rate limit."""

from typing import Protocol


class TokenProvider(Protocol):
    def access_token(self) -> str:
        """A valid access token for this tenant, refreshed if needed."""
        ...

    def invalidate(self, token: str) -> None:
        """Fortnox refused ``token`` (401); the next ``access_token`` must not return it."""
        ...


class RateLimiter(Protocol):
    def acquire(self) -> None:
        """Block until one more request may be sent without breaking the tenant's limit."""
        ...


class StaticToken:
    """A fixed token: for scripts and tests that already hold one."""

    def __init__(self, token: str) -> None:
        self._token = token

    def access_token(self) -> str:
        return self._token

    def invalidate(self, token: str) -> None:
        """Nothing to refresh: the next request fails with 401 again."""


class NoRateLimit:
    def acquire(self) -> None:
        """Only for tools that talk to a sandbox without a limit."""
