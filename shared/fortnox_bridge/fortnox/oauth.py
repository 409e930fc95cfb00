"""Fortnox's token endpoint (apps.fortnox.se/oauth-v1): code exchange, refresh, client credentials, revoke."""

import base64
import json
import math
import time
from collections.abc import Callable
from typing import Any, NoReturn

import httpx
from pydantic import BaseModel, Field, SecretStr

from fortnox_bridge import json_codec
from fortnox_bridge.errors import NeedsTenantActionError
from fortnox_bridge.fortnox.errors import (
    FortnoxInvalidClient,
    FortnoxInvalidGrant,
    FortnoxRateLimited,
    FortnoxServerError,
    FortnoxTransportError,
    FortnoxUnexpectedResponse,
    parse_error,
)
from fortnox_bridge.fortnox.http import shared_client
from fortnox_bridge.ids import TenantId
from fortnox_bridge.observability import count, logger
from fortnox_bridge.tokens.cache import HeldToken, TokenCache

TOKEN_TIMEOUT = httpx.Timeout(connect=2.0, write=2.0, read=8.0, pool=1.0)
"""Every phase of one token request is bounded, so a refresh has a worst case its lease can be sized from.
A token answer is well under one read's worth of bytes, so one read timeout covers the whole answer."""


def longest_attempt(timeout: httpx.Timeout) -> float:
    """The longest one token request can take: every phase at its limit."""
    phases = (timeout.connect, timeout.write, timeout.read, timeout.pool)
    return sum(phase for phase in phases if phase is not None)


class TokenSet(BaseModel):
    """A token answer. Secrets stay ``SecretStr`` so a stray log line prints stars, not tokens."""

    access_token: SecretStr
    refresh_token: SecretStr | None = None
    expires_in: int = Field(gt=0)
    scope: str = ""
    token_type: str = "bearer"  # noqa: S105 - the OAuth token type, not a secret
    obtained_at: float = Field(default_factory=time.time)

    @property
    def scopes(self) -> frozenset[str]:
        return frozenset(self.scope.split())


class TokenEndpoint:
    def __init__(
        self,
        *,
        auth_url: str,
        client_id: str,
        client_secret: Callable[[], str],
        current_client_secret: Callable[[], str] | None = None,
        http: httpx.Client | None = None,
        timeout: httpx.Timeout = TOKEN_TIMEOUT,
    ) -> None:
        """``client_secret`` may serve a cached copy; ``current_client_secret`` reads the one stored now, and is
        asked once when Fortnox answers ``invalid_client`` (the secret may have been rotated since the copy)."""
        self._base = auth_url.rstrip("/")
        self._client_id = client_id
        self._client_secret = client_secret
        self._current_client_secret = current_client_secret
        self._timeout = timeout
        self._http = http or shared_client(timeout)

    @property
    def client_id(self) -> str:
        return self._client_id

    @property
    def attempt_seconds(self) -> float:
        return longest_attempt(self._timeout)

    def exchange_code(self, code: str, *, redirect_uri: str | None) -> TokenSet:
        form = {"grant_type": "authorization_code", "code": code}
        if redirect_uri is not None:
            form["redirect_uri"] = redirect_uri
        return self._token(form)

    def refresh(self, refresh_token: str) -> TokenSet:
        return self._token({"grant_type": "refresh_token", "refresh_token": refresh_token})

    def client_credentials(self, fortnox_tenant_id: int) -> TokenSet:
        """Service accounts only: no refresh token, consent valid until revoked."""
        return self._token({"grant_type": "client_credentials"}, headers={"TenantId": str(fortnox_tenant_id)})

    def revoke(self, refresh_token: str, *, within: float = math.inf) -> None:
        """``within``: the seconds the caller has for the whole revoke. A request sent again with a rotated client
        secret goes only if a whole attempt still fits; the caller sends the first only if one does."""
        self._post("/oauth-v1/revoke", {"token_type_hint": "refresh_token", "token": refresh_token}, within=within)

    def _token(self, form: dict[str, str], headers: dict[str, str] | None = None) -> TokenSet:
        response = self._post("/oauth-v1/token", form, headers)
        try:
            return TokenSet.model_validate(json_codec.loads(response.content))
        except ValueError:
            raise FortnoxUnexpectedResponse("the token endpoint answered without a token", status=200) from None

    def _post(
        self, path: str, form: dict[str, str], headers: dict[str, str] | None = None, *, within: float = math.inf
    ) -> httpx.Response:
        secret = self._client_secret()
        started = time.monotonic()
        try:
            return self._send(path, form, headers, secret)
        except FortnoxInvalidClient:
            # Fortnox refuses the client before it looks at the grant, so the same request may go again as it is.
            current = self._current_client_secret() if self._current_client_secret is not None else secret
            if current == secret or within - (time.monotonic() - started) < self.attempt_seconds:
                raise
            logger.info("the client secret was rotated; asking again with the current one", extra={"path": path})
            return self._send(path, form, headers, current)

    def _send(
        self, path: str, form: dict[str, str], headers: dict[str, str] | None, client_secret: str
    ) -> httpx.Response:
        try:
            response = self._http.post(
                f"{self._base}{path}",
                data=form,
                auth=(self._client_id, client_secret),
                headers=headers,
                timeout=self._timeout,
            )
        except httpx.TransportError as error:
            # A lost answer to a refresh may already have rotated the token at Fortnox.
            raise FortnoxTransportError(
                f"POST {path} got no answer: {type(error).__name__}", maybe_committed=True
            ) from None
        if response.status_code >= 400:
            raise parse_error(response)
        return response


TRANSIENT = (FortnoxServerError, FortnoxTransportError, FortnoxRateLimited)
"""Token-endpoint failures worth riding out with a kept token that still has life: nothing was refused."""


class ConnectionLost(NeedsTenantActionError):
    """Fortnox refused the tenant's grant (a person's refresh token, a service account's consent): the tenant must
    connect again."""


LostNotifier = Callable[[TenantId, str], None]
"""Marks a tenant's connection as needing a reconnect and tells upstream, once."""


class ServiceAccountTokens:
    """TokenProvider for a tenant that consented with ``account_type=service``: client credentials + TenantId.

    Tokens are kept in ``cache`` under (client id, company): every worker of the process, for every tenant connected
    to that company, reuses one until ``margin`` before it expires. A token asked for before the connection at hand
    was made (``connected_at``) is not used for it: it may carry the scopes of the consent that connection replaced.
    Given ``usable_for`` (the life a request needs), a kept token inside the margin still carries a request while
    its replacement cannot be had (the token endpoint fails) or is being asked for by another worker.
    Given ``tenant`` and ``notify_lost``, a refused consent marks that tenant's connection lost.
    """

    REFRESH_BEFORE_EXPIRY_SECONDS = 120.0
    """Without a margin from the caller (tools, the bench); the wiring derives one (``tokens.cache.reuse_margin``)."""

    def __init__(
        self,
        endpoint: TokenEndpoint,
        fortnox_tenant_id: int,
        *,
        cache: TokenCache | None = None,
        margin: float = REFRESH_BEFORE_EXPIRY_SECONDS,
        usable_for: float | None = None,
        connected_at: float = 0.0,
        tenant: TenantId | None = None,
        notify_lost: LostNotifier | None = None,
    ) -> None:
        self._endpoint = endpoint
        self._tenant = fortnox_tenant_id
        self._cache = cache or TokenCache()
        self._margin = margin
        self._usable_for = usable_for
        self._connected_at = connected_at
        self._connected_tenant = tenant
        self._notify_lost = notify_lost
        self._key = ("service", endpoint.client_id, fortnox_tenant_id)

    def access_token(self) -> str:
        held = self._held(self._margin)
        if held is not None:
            return held
        asking = self._cache.fetching(self._key)
        # While another worker asks for the replacement, a kept token that still serves a request goes on serving.
        if not asking.acquire(blocking=self._held_for_a_request() is None):
            held = self._held_for_a_request()
            if held is not None:
                return held
            asking.acquire()
        try:
            held = self._held(self._margin)  # another worker of this process may have just asked
            if held is not None:
                return held
            return self._ask()
        finally:
            asking.release()

    def invalidate(self, token: str) -> None:
        self._cache.drop(self._key, token)

    def _ask(self) -> str:
        asked_at = self._cache.clock()
        try:
            fresh = self._endpoint.client_credentials(self._tenant)
        except TRANSIENT as failure:
            count("TokenRefreshFailed")
            held = self._held_for_a_request()
            if held is None:
                raise
            logger.warning(
                "no new token for now; the kept one still serves a request",
                extra={"fortnox_tenant": self._tenant, "status": failure.status},
            )
            return held
        except FortnoxInvalidGrant as refused:
            self._consent_lost(refused)
        token = fresh.access_token.get_secret_value()
        require_company(token, self._tenant)
        count("TokenRefreshed")
        self._cache.keep(
            self._key,
            HeldToken(token, expires_at=asked_at + fresh.expires_in, scope=(self._connected_at,)),
        )
        return token

    def _consent_lost(self, refused: FortnoxInvalidGrant) -> NoReturn:
        """The company removed the integration (or its service-account consent) in Fortnox: like a person's refused
        refresh token, the connection is lost until someone connects it again."""
        reason = f"Fortnox no longer accepts the service-account consent of company {self._tenant} ({refused.message})"
        count("TokenConnectionLost")
        self._cache.drop(self._key)
        if self._connected_tenant is not None and self._notify_lost is not None:
            self._notify_lost(self._connected_tenant, reason)
        raise ConnectionLost(
            f"the Fortnox company {self._tenant} has removed this integration's consent; an administrator of the "
            "company must connect it again through a new connect link"
        ) from None

    def _held_for_a_request(self) -> str | None:
        return None if self._usable_for is None else self._held(self._usable_for)

    def _held(self, margin: float) -> str | None:
        held = self._cache.get(self._key)
        if held is None or held.expires_at - self._cache.clock() <= margin:
            return None
        (asked_for,) = held.scope
        if not isinstance(asked_for, float) or asked_for < self._connected_at:
            return None
        return held.access_token


class TokensOfAnotherCompany(NeedsTenantActionError):
    """The tokens at hand were issued for another Fortnox company than the one the tenant is connected to."""


def require_company(access_token: str, company: int) -> None:
    """Refuse an access token whose ``tenantId`` claim does not name ``company``, before anything is sent with it.

    An unreadable claim is refused too: Fortnox documents the claim, so a token without it cannot be shown to belong
    to the connected company, and sending books to an unknown company is the outcome this check exists to prevent.
    """
    claimed = fortnox_tenant_claim(access_token)
    if claimed != company:
        held = "an unknown company" if claimed is None else f"Fortnox company {claimed}"
        raise TokensOfAnotherCompany(
            f"the Fortnox tokens held for this tenant belong to {held}, not to company {company} it is connected "
            "to; nothing was sent with them. Connect the tenant again."
        )


def fortnox_tenant_claim(access_token: str) -> int | None:
    """Fortnox access tokens are JWTs carrying ``tenantId`` (FACTS.md 1.7). Read, never trusted for access."""
    try:
        payload = access_token.split(".")[1]
        claims: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        return int(claims["tenantId"])
    except (IndexError, KeyError, TypeError, ValueError):
        return None
