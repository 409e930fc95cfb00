"""Fortnox's token endpoint (apps.fortnox.se/oauth-v1): code exchange, refresh, client credentials, revoke."""

import base64
import json
import time
from collections.abc import Callable
from typing import Any

import httpx
from pydantic import BaseModel, Field, SecretStr

from fortnox_bridge import json_codec
from fortnox_bridge.errors import NeedsTenantActionError
from fortnox_bridge.fortnox.errors import FortnoxTransportError, FortnoxUnexpectedResponse, parse_error
from fortnox_bridge.fortnox.http import shared_client
from fortnox_bridge.tokens.cache import HeldToken, TokenCache

TOKEN_TIMEOUT = httpx.Timeout(connect=2.0, write=2.0, read=8.0, pool=1.0)
"""Every phase of one token request is bounded, so a refresh has a worst case its lease can be sized from.
A token answer is well under one read's worth of bytes, so one read timeout covers the whole answer."""


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
        http: httpx.Client | None = None,
        timeout: httpx.Timeout = TOKEN_TIMEOUT,
    ) -> None:
        self._base = auth_url.rstrip("/")
        self._client_id = client_id
        self._client_secret = client_secret
        self._timeout = timeout
        self._http = http or shared_client(timeout)

    @property
    def client_id(self) -> str:
        return self._client_id

    @property
    def attempt_seconds(self) -> float:
        """The longest one token request can take: every phase at its limit."""
        phases = (self._timeout.connect, self._timeout.write, self._timeout.read, self._timeout.pool)
        return sum(phase for phase in phases if phase is not None)

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

    def revoke(self, refresh_token: str) -> None:
        self._post("/oauth-v1/revoke", {"token_type_hint": "refresh_token", "token": refresh_token})

    def _token(self, form: dict[str, str], headers: dict[str, str] | None = None) -> TokenSet:
        response = self._post("/oauth-v1/token", form, headers)
        try:
            return TokenSet.model_validate(json_codec.loads(response.content))
        except ValueError:
            raise FortnoxUnexpectedResponse("the token endpoint answered without a token", status=200) from None

    def _post(self, path: str, form: dict[str, str], headers: dict[str, str] | None = None) -> httpx.Response:
        try:
            response = self._http.post(
                f"{self._base}{path}",
                data=form,
                auth=(self._client_id, self._client_secret()),
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


class ServiceAccountTokens:
    """TokenProvider for a tenant that consented with ``account_type=service``: client credentials + TenantId.

    Tokens are kept in ``cache`` under (client id, company): every worker of the process, for every tenant connected
    to that company, reuses one until ``margin`` before it expires. A token asked for before the connection at hand
    was made (``connected_at``) is not used for it: it may carry the scopes of the consent that connection replaced.
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
        connected_at: float = 0.0,
    ) -> None:
        self._endpoint = endpoint
        self._tenant = fortnox_tenant_id
        self._cache = cache or TokenCache()
        self._margin = margin
        self._connected_at = connected_at
        self._key = ("service", endpoint.client_id, fortnox_tenant_id)

    def access_token(self) -> str:
        held = self._held()
        if held is not None:
            return held
        with self._cache.fetching(self._key):
            held = self._held()  # another worker of this process may have just asked
            if held is not None:
                return held
            asked_at = self._cache.clock()
            fresh = self._endpoint.client_credentials(self._tenant)
            token = fresh.access_token.get_secret_value()
            require_company(token, self._tenant)
            self._cache.keep(
                self._key,
                HeldToken(token, expires_at=asked_at + fresh.expires_in, scope=(self._connected_at,)),
            )
            return token

    def invalidate(self, token: str) -> None:
        self._cache.drop(self._key, token)

    def _held(self) -> str | None:
        held = self._cache.get(self._key)
        if held is None or held.expires_at - self._cache.clock() <= self._margin:
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
