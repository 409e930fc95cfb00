"""The connect signing key's versions in use: the current one signs; the current and the previous one verify.

Secrets Manager rotates the key (``functions/signing_key_rotation``) and keeps the version before the current one as
``AWSPREVIOUS``. A token names the key it was signed with by a key id, a fingerprint of the key itself: the secret's
value stays the plain key it has always been, so a stack deployed before keys rotated needs no migration. A token
signed by a key two rotations old (or a key id nobody holds) finds no key and is refused.
"""

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager.client import SecretsManagerClient

CURRENT_STAGE = "AWSCURRENT"
PREVIOUS_STAGE = "AWSPREVIOUS"
CACHE_SECONDS = 300.0
"""How long a process keeps the versions it read: a rotation reaches every signer within five minutes."""
REFRESH_SECONDS = 10.0
"""A key id this process does not know makes it read the ring again past its cache, at most this often: a token signed
by a process that saw a rotation first verifies here too, and forged key ids cannot turn every request into a read."""
_KEY_ID_PURPOSE = b"fortnox-bridge key id"


def key_id(key: bytes) -> str:
    """The key's fingerprint, safe to put in a token: it says which key, never what the key is."""
    return hashlib.sha256(hmac.new(key, _KEY_ID_PURPOSE, hashlib.sha256).digest()).hexdigest()[:8]


@dataclass(frozen=True)
class KeyRing:
    current: bytes
    previous: bytes | None = None

    def held(self) -> tuple[bytes, ...]:
        """Every key a token may have been signed with, the current one first."""
        return (self.current,) if self.previous is None else (self.current, self.previous)


KeyId = Callable[[bytes], str]


class SigningKeys:
    """The key ring as one process sees it, read at most every ``CACHE_SECONDS``."""

    def __init__(self, read: Callable[[], KeyRing], clock: Callable[[], float] = time.monotonic) -> None:
        self._read = read
        self._clock = clock
        self._guard = threading.Lock()
        self._ring: KeyRing | None = None
        self._read_at = 0.0
        self._refreshed_at: float | None = None

    @classmethod
    def fixed(cls, *keys: bytes) -> "SigningKeys":
        """A ring that never changes (the current key first): for callers that sign with a key of their own."""
        return cls(lambda: KeyRing(keys[0], keys[1] if len(keys) > 1 else None))

    def current(self) -> bytes:
        return self._cached().current

    def find(self, kid: str, fingerprint: KeyId = key_id) -> bytes | None:
        """The key whose ``fingerprint`` is ``kid``, among the current and the previous one; None when neither is."""
        found = _matching(self._cached(), kid, fingerprint)
        if found is None and self._may_refresh():
            found = _matching(self._cached(force=True), kid, fingerprint)
        return found

    def _may_refresh(self) -> bool:
        with self._guard:
            now = self._clock()
            if self._refreshed_at is not None and now - self._refreshed_at < REFRESH_SECONDS:
                return False
            self._refreshed_at = now
            return True

    def _cached(self, *, force: bool = False) -> KeyRing:
        with self._guard:
            now = self._clock()
            if force or self._ring is None or now - self._read_at >= CACHE_SECONDS:
                self._ring, self._read_at = self._read(), now
            return self._ring


def _matching(ring: KeyRing, kid: str, fingerprint: KeyId) -> bytes | None:
    # A key id is public (it names a key, it proves nothing): a plain comparison, safe for any text a token carries.
    return next((key for key in ring.held() if fingerprint(key) == kid), None)


def read_key_ring(client: "SecretsManagerClient", secret_id: str) -> KeyRing:
    """The current and the previous version of the signing key secret (no previous one before its first rotation)."""
    current = client.get_secret_value(SecretId=secret_id, VersionStage=CURRENT_STAGE)["SecretString"]
    try:
        previous: str | None = client.get_secret_value(SecretId=secret_id, VersionStage=PREVIOUS_STAGE)["SecretString"]
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
            raise
        previous = None
    return KeyRing(current.encode(), previous.encode() if previous is not None else None)


# -- the token encoding both signers use (OAuth states, status links) --------------------------------------------
def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def payload_fields(payload: str) -> dict[str, Any] | None:
    """What a token's payload says, or None when it is not a JSON object; trusted only once its signature matched
    (before, only its key id is read, to pick the key to check it with)."""
    try:
        fields = json.loads(unb64(payload))
    except ValueError:
        return None
    return fields if isinstance(fields, dict) else None
