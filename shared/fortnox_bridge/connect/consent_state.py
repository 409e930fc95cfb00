"""The OAuth ``state``: signed, bound to a tenant and a link, valid for Fortnox's 10-minute code window.

Single use is enforced separately (``ConsentStates``), after the signature and expiry are checked. The state names
its signing key by key id (``signing_keys``): a person who opened a landing before the key rotated completes at the
callback after it.
"""

import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass

from fortnox_bridge.connect.signing_keys import SigningKeys, b64, key_id, payload_fields
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


def issue(
    tenant_id: str, link_hash: str, key: bytes, now: float, *, replaces: int | None = None
) -> tuple[str, ConsentState]:
    state = ConsentState(
        tenant_id, link_hash, secrets.token_urlsafe(16), int(now) + STATE_LIFETIME_SECONDS, replaces=replaces
    )
    fields = {name: value for name, value in state.__dict__.items() if value is not None}
    payload = b64(json.dumps({**fields, _KEY_ID: key_id(key)}, separators=(",", ":")).encode())
    return f"{payload}.{b64(hmac.new(key, payload.encode(), hashlib.sha256).digest())}", state


_KEY_ID = "k"


def verify(token: str, keys: SigningKeys, now: float) -> ConsentState:
    payload, _, signature = token.partition(".")
    fields = payload_fields(payload)
    kid = fields.get(_KEY_ID) if fields is not None else None
    # A state without a key id was issued before states carried one (minutes before the upgrade): the current key.
    key = keys.current() if kid is None else keys.find(kid) if isinstance(kid, str) else None
    if key is None:
        raise StateRefused("the state was signed with a key the bridge no longer holds", "forged")
    expected = hmac.new(key, payload.encode("utf-8", "replace"), hashlib.sha256).digest()
    # Compared as bytes: hmac.compare_digest refuses str with non-ASCII characters by raising, not by answering no.
    if not payload or not hmac.compare_digest(b64(expected).encode(), signature.encode("utf-8", "replace")):
        raise StateRefused("the state's signature does not match", "forged")
    if fields is None:
        raise StateRefused("the state cannot be read", "forged")
    fields.pop(_KEY_ID, None)
    try:
        state = ConsentState(**fields)
    except TypeError:
        raise StateRefused("the state cannot be read", "forged") from None
    if state.expires_at < now:
        raise StateRefused("the state is older than Fortnox's 10-minute window", "expired")
    return state
