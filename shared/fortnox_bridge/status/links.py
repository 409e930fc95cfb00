"""Status links: signed, expiring, revocable bearer links to a tenant's status page.

A link is its own proof: the tenant, the expiry and the tenant's status-link generation, signed with a key derived
from the connect signing key. Nothing is stored per link; ``revoke_all`` moves the generation on and every link made
before stops working. The key id names the signing key: a link verifies under the current key or the one before it
(one rotation later), and a link signed by a key the bridge no longer holds is told apart from a forged one. The link
is a bearer credential: it never goes into a log line, a trace or an event.
"""

import hashlib
import hmac
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from fortnox_bridge.connect.signing_keys import SigningKeys, b64, payload_fields
from fortnox_bridge.errors import BadInputError
from fortnox_bridge.ids import TenantId, is_tenant_id
from fortnox_bridge.store.table import StoreBase, status_link_generation_key
from fortnox_bridge.store.tenants import TenantStore

LONGEST = timedelta(days=90)
SHORTEST = timedelta(hours=1)
_PURPOSE = b"fortnox-bridge status links v1"
_CSRF = b"csrf:"


class StatusLinkRefused(BadInputError):
    """The link is forged, expired, revoked or signed by a key the bridge no longer holds."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class StatusLink:
    """A verified link: the tenant it opens, until when, and the token that proves it."""

    tenant_id: TenantId
    expires_at: datetime
    token: str


def _derive(key: bytes) -> bytes:
    # A key of its own, so nothing signed for the connect flow (an OAuth state) is ever a valid status link.
    return hmac.new(key, _PURPOSE, hashlib.sha256).digest()


def key_id(key: bytes) -> str:
    return hashlib.sha256(_derive(key)).hexdigest()[:8]


class StatusLinkGenerations(StoreBase):
    def current(self, tenant: TenantId) -> int:
        item = self._table.get_item(Key=status_link_generation_key(tenant), ConsistentRead=True).get("Item")
        return int(str(item.get("generation", 0))) if item else 0

    def advance(self, tenant: TenantId) -> int:
        answer = self._table.update_item(
            Key=status_link_generation_key(tenant),
            UpdateExpression="ADD generation :one",
            ExpressionAttributeValues={":one": 1},
            ReturnValues="UPDATED_NEW",
        )
        return int(str(answer["Attributes"]["generation"]))


class StatusLinks:
    def __init__(
        self,
        *,
        tenants: TenantStore,
        generations: StatusLinkGenerations,
        signing_keys: SigningKeys,
        public_base_url: str,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._tenants = tenants
        self._generations = generations
        self._signing_keys = signing_keys
        self._base = public_base_url.rstrip("/")
        self._clock = clock

    def url(self, token: str) -> str:
        return f"{self._base}/status/{token}"

    def create(self, tenant: TenantId, valid: timedelta) -> tuple[str, datetime]:
        """A link to ``tenant``'s status page, valid for ``valid`` (one hour to 90 days): its URL and expiry."""
        if not SHORTEST <= valid <= LONGEST:
            raise BadInputError("a status link is valid for at least one hour and at most 90 days")
        self._tenants.require(tenant)
        expires_at = (self._clock() + valid).replace(microsecond=0)
        key = self._signing_keys.current()
        fields = {
            "k": key_id(key),
            "t": tenant,
            "e": int(expires_at.timestamp()),
            "g": self._generations.current(tenant),
            "n": secrets.token_urlsafe(9),
        }
        payload = b64(json.dumps(fields, separators=(",", ":")).encode())
        token = f"{payload}.{b64(hmac.new(_derive(key), payload.encode(), hashlib.sha256).digest())}"
        return self.url(token), expires_at

    def verify(self, token: str) -> StatusLink:
        """The link's tenant, if the link is genuine, unexpired and not revoked; ``StatusLinkRefused`` otherwise."""
        payload, _, signature = token.partition(".")
        fields = payload_fields(payload)
        key = self._key_of(payload)
        if key is None:
            if fields is not None and isinstance(fields.get("k"), str):
                raise StatusLinkRefused("the status link was signed with a key the bridge no longer holds", "rotated")
            raise StatusLinkRefused("the status link's signature does not match", "unknown")
        expected = b64(hmac.new(_derive(key), payload.encode("utf-8", "replace"), hashlib.sha256).digest())
        # Compared as bytes: hmac.compare_digest raises on str with non-ASCII characters instead of answering no.
        if not payload or not hmac.compare_digest(expected.encode(), signature.encode("utf-8", "replace")):
            raise StatusLinkRefused("the status link's signature does not match", "unknown")
        if fields is None:
            raise StatusLinkRefused("the status link cannot be read", "unknown")
        tenant, expires, generation = fields.get("t"), fields.get("e"), fields.get("g")
        if not (isinstance(tenant, str) and is_tenant_id(tenant) and type(expires) is int and type(generation) is int):
            raise StatusLinkRefused("the status link cannot be read", "unknown")
        expires_at = datetime.fromtimestamp(expires, UTC)
        if expires_at <= self._clock():
            raise StatusLinkRefused("the status link has expired", "expired")
        if generation != self._generations.current(TenantId(tenant)):
            raise StatusLinkRefused("the status link was revoked", "revoked")
        return StatusLink(TenantId(tenant), expires_at, token)

    def revoke_all(self, tenant: TenantId) -> None:
        """Every status link of ``tenant`` made so far stops working."""
        self._tenants.require(tenant)
        self._generations.advance(tenant)

    def csrf_token(self, link: StatusLink) -> str:
        """Bound to the link, and made with the link's own key: a form posted without it, or with another link's, is
        refused, and a page shown before a rotation still posts after it."""
        key = self._key_of(link.token.partition(".")[0])
        if key is None:
            raise StatusLinkRefused("the status link was signed with a key the bridge no longer holds", "rotated")
        return b64(hmac.new(_derive(key), _CSRF + link.token.encode(), hashlib.sha256).digest())

    def _key_of(self, payload: str) -> bytes | None:
        """The key the payload's key id names, among those the bridge holds; None when it names none of them."""
        fields = payload_fields(payload)
        kid = fields.get("k") if fields is not None else None
        return self._signing_keys.find(kid, key_id) if isinstance(kid, str) else None

    def accepts(self, link: StatusLink, csrf: str | None) -> bool:
        return csrf is not None and hmac.compare_digest(self.csrf_token(link).encode(), csrf.encode("utf-8", "replace"))


class FormRefused(BadInputError):
    """A status page form posted without this link's CSRF token: nothing is done."""
