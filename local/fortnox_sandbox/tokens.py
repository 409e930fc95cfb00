"""Access tokens are JWTs whose claims carry the tenant, as Fortnox's are."""

import base64
import hashlib
import hmac
import json
import secrets
from typing import Any

from fortnox_sandbox.errors import Unauthorized
from fortnox_sandbox.state import RefreshToken, SandboxState


def issue(
    state: SandboxState, *, client_id: str, tenant_id: int, scopes: frozenset[str], refresh: bool
) -> dict[str, Any]:
    now = int(state.now())
    claims = {
        "iss": "fortnox-sandbox",
        "tenantId": tenant_id,
        "clientId": client_id,
        "scope": " ".join(sorted(scopes)),
        "iat": now,
        "exp": now + state.ACCESS_TOKEN_SECONDS,
        "jti": secrets.token_hex(8),
        "authsource": "OAUTH2",
    }
    access = _sign(claims, state.signing_key)
    state.issued.append(access)
    answer: dict[str, Any] = {
        "access_token": access,
        "expires_in": state.ACCESS_TOKEN_SECONDS,
        "token_type": "bearer",
        "scope": claims["scope"],
    }
    if refresh:
        token = secrets.token_urlsafe(32)
        state.issued.append(token)
        state.refresh_tokens[token] = RefreshToken(
            client_id=client_id,
            tenant_id=tenant_id,
            scopes=scopes,
            expires_at=state.now() + state.REFRESH_TOKEN_SECONDS,
        )
        answer["refresh_token"] = token
    return answer


def verify(state: SandboxState, authorization: str | None) -> dict[str, Any]:
    """The claims of a valid bearer token, or ``Unauthorized``."""
    if not authorization or not authorization.startswith("Bearer "):
        raise Unauthorized()
    token = authorization.removeprefix("Bearer ").strip()
    claims = _verified_claims(token, state.signing_key)
    if claims.get("exp", 0) <= state.now() or claims.get("jti") in state.revoked_access:
        raise Unauthorized()
    consent = state.consents.get((claims["clientId"], claims["tenantId"]))
    if consent is None or consent.revoked or claims["tenantId"] not in state.companies:
        raise Unauthorized()
    return claims


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _sign(claims: dict[str, Any], key: bytes) -> str:
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    payload = _b64(json.dumps(claims, separators=(",", ":")).encode())
    signature = hmac.new(key, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{_b64(signature)}"


def _verified_claims(token: str, key: bytes) -> dict[str, Any]:
    try:
        header, payload, signature = token.split(".")
        expected = hmac.new(key, f"{header}.{payload}".encode(), hashlib.sha256).digest()
        if not hmac.compare_digest(_b64(expected), signature):
            raise Unauthorized()
        claims: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (ValueError, UnicodeDecodeError):
        raise Unauthorized() from None
    return claims
