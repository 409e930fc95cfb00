"""The OAuth ``state``: signed, bound to a tenant and a link, valid for Fortnox's 10-minute code window.

Single use is enforced separately (``ConsentStates``), after the signature and expiry are checked.
"""

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass

from fortnox_bridge.errors import BadInputError

STATE_LIFETIME_SECONDS = 600


class StateRefused(BadInputError):
    """The state is forged, expired, replayed or belongs to another tenant."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class ConsentState:
    tenant_id: str
    link_hash: str
    nonce: str
    expires_at: int
    replaces: int | None = None
    """The Fortnox company the person confirmed replacing, when the link was made to replace a connection."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def issue(
    tenant_id: str, link_hash: str, key: bytes, now: float, *, replaces: int | None = None
) -> tuple[str, ConsentState]:
    state = ConsentState(
        tenant_id, link_hash, secrets.token_urlsafe(16), int(now) + STATE_LIFETIME_SECONDS, replaces=replaces
    )
    fields = {name: value for name, value in state.__dict__.items() if value is not None}
    payload = _b64(json.dumps(fields, separators=(",", ":")).encode())
    return f"{payload}.{_b64(hmac.new(key, payload.encode(), hashlib.sha256).digest())}", state


def verify(token: str, key: bytes, now: float) -> ConsentState:
    payload, _, signature = token.partition(".")
    expected = hmac.new(key, payload.encode("utf-8", "replace"), hashlib.sha256).digest()
    # Compared as bytes: hmac.compare_digest refuses str with non-ASCII characters by raising, not by answering no.
    if not payload or not hmac.compare_digest(_b64(expected).encode(), signature.encode("utf-8", "replace")):
        raise StateRefused("the state's signature does not match", "forged")
    try:
        fields = json.loads(_unb64(payload))
        state = ConsentState(**fields)
    except (ValueError, TypeError):
        raise StateRefused("the state cannot be read", "forged") from None
    if state.expires_at < now:
        raise StateRefused("the state is older than Fortnox's 10-minute window", "expired")
    return state
