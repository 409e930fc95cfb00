"""Access tokens for a tenant that consented as a person: refresh tokens are single-use, so one refresher only.

When the access token must be refreshed, exactly one worker takes a DynamoDB lease, re-reads the secret (someone may
have just refreshed), calls Fortnox, and writes the rotated pair to Secrets Manager before anything else. Every
other worker waits for the lease holder and re-reads the secret instead of refreshing. A refresh whose answer is
lost is tried once more with the same refresh token: if Fortnox had not rotated it, that succeeds; if it had, the
tenant is marked as needing a reconnect and an event with a fresh link goes upstream. Never silently broken.
"""

import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import NoReturn

from fortnox_bridge.errors import NeedsTenantActionError, RetryableError
from fortnox_bridge.fortnox.errors import FortnoxInvalidGrant, FortnoxTransportError
from fortnox_bridge.fortnox.oauth import TokenEndpoint
from fortnox_bridge.ids import TenantId
from fortnox_bridge.observability import logger
from fortnox_bridge.store.connections import ConnectionStore
from fortnox_bridge.store.locks import LockStore
from fortnox_bridge.tokens.secret_store import SecretTokenStore, StoredTokens

FRESH_ENOUGH_SECONDS = 300.0
"""An access token with less life than this is refreshed before use."""
LEASE_SECONDS = 30.0
MIN_REMAINING_SECONDS = 10.0
"""Do not start a refresh with less Lambda time left than this: a refresh cut off midway can lose the tenant."""


class ConnectionLost(NeedsTenantActionError):
    """Fortnox refused the tenant's refresh token; a person must reconnect."""


class RefreshPending(RetryableError):
    """Another worker is refreshing and did not finish in time; try again shortly."""


ReconnectNotifier = Callable[[TenantId, str], None]


class TenantTokens:
    """TokenProvider for one tenant. Cheap to create; state lives in Secrets Manager and DynamoDB."""

    def __init__(
        self,
        tenant: TenantId,
        *,
        secrets: SecretTokenStore,
        locks: LockStore,
        endpoint: TokenEndpoint,
        connections: ConnectionStore,
        notify_lost: ReconnectNotifier,
        remaining_seconds: Callable[[], float] = lambda: float("inf"),
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._tenant = tenant
        self._secrets = secrets
        self._locks = locks
        self._endpoint = endpoint
        self._connections = connections
        self._notify_lost = notify_lost
        self._remaining = remaining_seconds
        self._clock = clock
        self._sleep = sleep
        self._owner = f"refresh-{uuid.uuid4()}"
        self._cached: StoredTokens | None = None
        self._refused: set[str] = set()

    def access_token(self) -> str:
        usable = self._usable(self._cached)
        if usable is not None:
            return usable
        deadline = self._clock() + LEASE_SECONDS * 2
        while self._clock() < deadline:
            _, usable = self._read()
            if usable is not None:
                return usable
            if self._locks.acquire(self._lock_name, owner=self._owner, lease_seconds=LEASE_SECONDS):
                try:
                    return self._refresh()
                finally:
                    self._locks.release(self._lock_name, owner=self._owner)
            self._sleep(0.2)
        raise RefreshPending(f"tokens of tenant {self._tenant} are being refreshed by another worker")

    def invalidate(self, token: str) -> None:
        self._refused.add(token)
        self._cached = None

    @property
    def _lock_name(self) -> str:
        return f"token-refresh#{self._tenant}"

    def _usable(self, stored: StoredTokens | None) -> str | None:
        if stored is None:
            return None
        token = stored.access_token.get_secret_value()
        if token in self._refused or not stored.access_valid_for(FRESH_ENOUGH_SECONDS, self._clock()):
            return None
        return token

    def _read(self) -> tuple[StoredTokens, str | None]:
        """The stored tokens, and the access token when it can be used as it is (then it is cached too)."""
        stored = self._secrets.read(self._tenant)
        if stored is None:
            raise ConnectionLost(f"tenant {self._tenant} holds no Fortnox tokens; connect it first")
        usable = self._usable(stored)
        if usable is not None:
            self._cached = stored
        return stored, usable

    def _refresh(self) -> str:
        # Re-read under the lease: the previous holder may have refreshed between our read and our lease.
        stored, usable = self._read()
        if usable is not None:
            return usable
        if stored.refresh_token is None:
            raise ConnectionLost(f"tenant {self._tenant} has no refresh token")
        if self._remaining() < MIN_REMAINING_SECONDS:
            raise RefreshPending("too little time left to refresh safely")
        refresh_token = stored.refresh_token.get_secret_value()
        try:
            fresh = self._endpoint.refresh(refresh_token)
        except FortnoxTransportError:
            # The answer was lost. If Fortnox never rotated the token, the same refresh token still works.
            try:
                fresh = self._endpoint.refresh(refresh_token)
            except FortnoxInvalidGrant:
                self._lost("Fortnox rotated the refresh token but its answer was lost")
        except FortnoxInvalidGrant:
            self._lost("Fortnox refused the refresh token (used, expired or revoked)")
        # Store the rotated pair before anything uses the new access token: it is the only copy.
        rotated = StoredTokens.from_token_set(fresh)
        self._secrets.write(self._tenant, rotated)
        self._cached = rotated
        try:
            self._connections.record_refresh(self._tenant, datetime.now(UTC))
        except Exception:  # bookkeeping only: the tokens are safe, the next keep-alive fixes the date
            logger.exception("could not record the refresh time", extra={"tenant_id": self._tenant})
        logger.info("refreshed Fortnox tokens", extra={"tenant_id": self._tenant})
        return rotated.access_token.get_secret_value()

    def _lost(self, reason: str) -> NoReturn:
        self._notify_lost(self._tenant, reason)
        raise ConnectionLost(f"tenant {self._tenant} must reconnect: {reason}")
