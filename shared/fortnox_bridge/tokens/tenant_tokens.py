"""Access tokens for a tenant that consented as a person: refresh tokens are single-use, so one refresher only.

When the access token must be refreshed, exactly one worker takes a DynamoDB lease, re-reads the secret (someone may
have just refreshed) and the connection (someone may have just lost it), renews the lease for the whole bounded
refresh, calls Fortnox, and writes the rotated pair over the secret version it read, before anything else. Every
other worker waits for the lease holder and re-reads the secret instead of refreshing. A refresh whose answer is
lost, or is a 5xx (which Fortnox may send after it rotated), is tried once more with the same refresh token: if
Fortnox had not rotated it, that succeeds; if it had, the connection is marked as needing a reconnect and upstream
hears it once. Never silently broken.

Every access token handed out, and every stored one before its refresh token is used, must name the connected
Fortnox company in its ``tenantId`` claim: tokens of another company are never sent anywhere.

The access token last read or written is kept in the process's ``TokenCache`` for the tenant, with the company,
connection generation and secret version it came from, so later invoices read no secret. It is used only for that
company and generation, and dropped on a 401, on ``TokensReplaced``, ``TokensOfAnotherCompany`` or
``ConnectionLost``, and when a caller serves another company or generation. A 401 on it reads the secret again:
another worker may have refreshed, and otherwise this worker refreshes.
"""

import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import NoReturn

from fortnox_bridge.errors import RetryableError
from fortnox_bridge.fortnox.errors import FortnoxError, FortnoxInvalidGrant
from fortnox_bridge.fortnox.oauth import (
    TRANSIENT,
    LostNotifier,
    TokenEndpoint,
    TokenSet,
    TokensOfAnotherCompany,
    require_company,
)
from fortnox_bridge.fortnox.oauth import ConnectionLost as ConnectionLost  # re-exported: importers know it here
from fortnox_bridge.fortnox.retry import IN_DOUBT
from fortnox_bridge.ids import TenantId
from fortnox_bridge.observability import count, logger
from fortnox_bridge.store.connections import ConnectionState, ConnectionStore
from fortnox_bridge.store.locks import LockStore
from fortnox_bridge.tokens.cache import HeldToken, TokenCache
from fortnox_bridge.tokens.secret_store import SecretTokenStore, StoredTokens, VersionedTokens

FRESH_ENOUGH_SECONDS = 300.0
"""An access token with less life than this is refreshed before use (unless the caller's margin is longer)."""
REFRESH_ATTEMPTS = 2
"""The refresh, and once more with the same refresh token when its answer was lost or a 5xx."""
WRITE_MARGIN_SECONDS = 10.0
"""After Fortnox answers: the version check and the write of the rotated pair, which must happen under the lease."""
POLL_SECONDS = 0.2


def refresh_seconds(endpoint: TokenEndpoint) -> float:
    """The longest the Fortnox part of a refresh can take: every attempt at its timeout."""
    return REFRESH_ATTEMPTS * endpoint.attempt_seconds


def refresh_lock_name(tenant: TenantId) -> str:
    """The lease every refresher of ``tenant`` holds while it refreshes; a disconnect holds it while it ends the
    connection, so no refresh runs in between (``ConnectService.disconnect``)."""
    return f"token-refresh#{tenant}"


def lease_seconds(endpoint: TokenEndpoint) -> float:
    """The refresh lease outlives the bounded refresh and the write after it, so no waiter can take over from a
    holder that is still working; it is renewed right before the first token request."""
    return refresh_seconds(endpoint) + WRITE_MARGIN_SECONDS


class RefreshPending(RetryableError):
    """Another worker is refreshing and did not finish in time; try again shortly."""


class TokensReplaced(RetryableError):
    """The tenant's tokens or connection changed while this worker refreshed: what it holds is stale; try again."""


ReconnectNotifier = LostNotifier


class TenantTokens:
    """TokenProvider for one tenant's connection to ``company`` (made in link ``generation``). Cheap to create; state
    lives in Secrets Manager and DynamoDB, and the access token in use in ``cache``."""

    def __init__(
        self,
        tenant: TenantId,
        *,
        company: int,
        generation: int = 0,
        secrets: SecretTokenStore,
        locks: LockStore,
        endpoint: TokenEndpoint,
        connections: ConnectionStore,
        notify_lost: ReconnectNotifier,
        remaining_seconds: Callable[[], float] = lambda: float("inf"),
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        cache: TokenCache | None = None,
        margin: float = FRESH_ENOUGH_SECONDS,
        usable_for: float | None = None,
    ) -> None:
        """Given ``usable_for`` (the life a request needs), the kept token inside the margin still carries a request
        while its refresh fails for now (the token endpoint fails, the refresher runs late) or runs elsewhere."""
        self._tenant = tenant
        self._company = company
        self._generation = generation
        self._secrets = secrets
        self._locks = locks
        self._endpoint = endpoint
        self._connections = connections
        self._notify_lost = notify_lost
        self._remaining = remaining_seconds
        self._clock = clock
        self._sleep = sleep
        self._lease = lease_seconds(endpoint)
        self._owner = f"refresh-{uuid.uuid4()}"
        self._cache = cache or TokenCache(clock)
        self._margin = max(margin, FRESH_ENOUGH_SECONDS)
        self._usable_for = usable_for
        self._key = ("person", tenant)
        self._refused: set[str] = set()

    def access_token(self) -> str:
        try:
            return self._access_token()
        except (TokensReplaced, TokensOfAnotherCompany, ConnectionLost):
            self._cache.drop(self._key)
            raise
        except (*TRANSIENT, RefreshPending) as failure:
            if isinstance(failure, TRANSIENT):  # the token endpoint failed; a pending refresh is another worker's
                count("TokenRefreshFailed")
            held = self._held_for_a_request()
            if held is None:
                raise
            logger.warning(
                "no refresh for now; the kept token still serves a request",
                extra={"tenant_id": self._tenant, "cause": type(failure).__name__},
            )
            return held

    def _access_token(self) -> str:
        usable = self._held(self._margin)
        if usable is not None:
            return usable
        # A holder that died frees the lease when it expires; waiting a little longer lets this worker take over.
        deadline = self._clock() + self._lease + 2 * POLL_SECONDS
        while self._clock() < deadline:
            current = self._read()
            usable = self._usable(current.tokens)
            if usable is not None:
                self._hold(current.tokens, current.version)
                return usable
            if self._locks.acquire(self._lock_name, owner=self._owner, lease_seconds=self._lease):
                try:
                    return self._refresh()
                finally:
                    self._locks.release(self._lock_name, owner=self._owner)
            usable = self._held_for_a_request()  # another worker refreshes; the kept token serves meanwhile
            if usable is not None:
                return usable
            self._sleep(POLL_SECONDS)
        raise RefreshPending(f"tokens of tenant {self._tenant} are being refreshed by another worker")

    def invalidate(self, token: str) -> None:
        self._refused.add(token)
        self._cache.drop(self._key, token)

    @property
    def _lock_name(self) -> str:
        return refresh_lock_name(self._tenant)

    def _held_for_a_request(self) -> str | None:
        return None if self._usable_for is None else self._held(self._usable_for)

    def _held(self, margin: float) -> str | None:
        """The process's kept token, if it serves this company and generation, is not refused and has more than
        ``margin`` left. One kept for another company or generation is dropped: the tenant moved on since it was
        read."""
        held = self._cache.get(self._key)
        if held is None:
            return None
        if held.scope != (self._company, self._generation):
            self._cache.drop(self._key, held.access_token)
            return None
        if held.access_token in self._refused or held.expires_at - self._clock() <= margin:
            return None
        return held.access_token

    def _hold(self, stored: StoredTokens, version: str) -> None:
        """Keep a token whose claim was checked against ``company``, with the secret version it belongs to."""
        self._cache.keep(
            self._key,
            HeldToken(
                stored.access_token.get_secret_value(),
                expires_at=stored.access_expires_at,
                scope=(self._company, self._generation),
                version=version,
            ),
        )

    def _usable(self, stored: StoredTokens | None) -> str | None:
        if stored is None:
            return None
        token = stored.access_token.get_secret_value()
        if token in self._refused or not stored.access_valid_for(self._margin, self._clock()):
            return None
        return token

    def _read(self) -> VersionedTokens:
        """The stored tokens, refused unless they belong to the connected company: even an expired access token
        names its company, and its refresh token must not be sent for another one."""
        current = self._secrets.read_versioned(self._tenant)
        if current is None:
            raise ConnectionLost(f"tenant {self._tenant} holds no Fortnox tokens; connect it first")
        try:
            require_company(current.tokens.access_token.get_secret_value(), self._company)
        except TokensOfAnotherCompany:
            self._require_connection()  # a reconnect moved the tenant on: this worker is stale, not the secret
            raise
        return current

    def _require_connection(self) -> None:
        """The connection is still the one this worker serves: a lost one is not refreshed again, a replaced one
        is retried by whoever holds the newer view."""
        connection = self._connections.get(self._tenant)
        if connection is None or connection.state is not ConnectionState.CONNECTED:
            reason = connection.reason if connection is not None and connection.reason else "it is not connected"
            raise ConnectionLost(f"tenant {self._tenant} must reconnect: {reason}")
        if connection.fortnox_tenant_id != self._company:
            raise TokensReplaced(f"tenant {self._tenant} was connected to another Fortnox company meanwhile")

    def _refresh(self) -> str:
        # Re-read under the lease: the previous holder may have refreshed, or lost the connection, meanwhile.
        current = self._read()
        usable = self._usable(current.tokens)
        if usable is not None:
            self._hold(current.tokens, current.version)
            return usable
        self._require_connection()
        if current.tokens.refresh_token is None:
            raise ConnectionLost(f"tenant {self._tenant} has no refresh token")
        if self._remaining() < self._lease:
            raise RefreshPending("too little time left to refresh safely")
        # Renewed now, the lease covers every token request and the write that follows, however long the reads
        # above took.
        if not self._locks.acquire(self._lock_name, owner=self._owner, lease_seconds=self._lease):
            raise RefreshPending("the refresh lease was taken over before the refresh began")
        refresh_token = current.tokens.refresh_token.get_secret_value()
        # The new token's life counts from before it was asked for, on the clock that judges it.
        asked_at = self._clock()
        try:
            fresh = self._endpoint.refresh(refresh_token)
        except IN_DOUBT:
            # The answer was lost, or Fortnox failed after it may have rotated (a 5xx is in doubt). If Fortnox never
            # rotated the token, the same refresh token still works.
            try:
                fresh = self._endpoint.refresh(refresh_token)
            except FortnoxInvalidGrant:
                return self._grant_refused(current, "Fortnox rotated the refresh token but its answer was lost")
        except FortnoxInvalidGrant:
            return self._grant_refused(current, "Fortnox refused the refresh token (used, expired or revoked)")
        return self._store(fresh.model_copy(update={"obtained_at": asked_at}), current)

    def _grant_refused(self, current: VersionedTokens, reason: str) -> str:
        """Lost, unless a writer stored other tokens since this worker read: then Fortnox refused a token that was
        already replaced, and the newer tokens are the connection."""
        now = self._secrets.read_versioned(self._tenant)
        if now is None or now.version == current.version:
            self._lost(reason)
        usable = self._usable(now.tokens)
        if usable is None:
            raise TokensReplaced(f"the tokens of tenant {self._tenant} were replaced while they were refreshed")
        require_company(usable, self._company)
        self._hold(now.tokens, now.version)
        return usable

    def _store(self, fresh: TokenSet, current: VersionedTokens) -> str:
        # Store the rotated pair before anything uses the new access token: it is the only copy. It goes only over
        # the version it was derived from; a secret that moved on holds a newer connection, which wins.
        rotated = StoredTokens.from_token_set(fresh)
        version = self._secrets.replace(self._tenant, rotated, read_version=current.version)
        if version is None:
            self._give_back(fresh)
            raise TokensReplaced(f"the tokens of tenant {self._tenant} were replaced while they were refreshed")
        try:
            self._connections.record_refresh(self._tenant, datetime.now(UTC))
        except Exception:  # bookkeeping only: the tokens are safe, the next keep-alive fixes the date
            logger.exception("could not record the refresh time", extra={"tenant_id": self._tenant})
        logger.info("refreshed Fortnox tokens", extra={"tenant_id": self._tenant})
        count("TokenRefreshed")
        access = rotated.access_token.get_secret_value()
        require_company(access, self._company)
        self._hold(rotated, version)
        return access

    def _give_back(self, fresh: TokenSet) -> None:
        """Tokens nobody will hold are revoked, so no grant lives on at Fortnox for a connection that was replaced."""
        if fresh.refresh_token is None:
            return
        try:
            self._endpoint.revoke(fresh.refresh_token.get_secret_value())
        except FortnoxError as failure:  # best effort: an unrevoked refresh token dies unused within 45 days
            logger.warning(
                "could not revoke a refresh token nobody holds",
                extra={"tenant_id": self._tenant, "status": failure.status},
            )

    def _lost(self, reason: str) -> NoReturn:
        count("TokenConnectionLost")
        self._notify_lost(self._tenant, reason)
        raise ConnectionLost(f"tenant {self._tenant} must reconnect: {reason}")
