"""The signature on every webhook request, and how a receiver checks it.

``Fortnox-Bridge-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, f"{t}.{body}")>``, Stripe's scheme: the
timestamp is inside the MAC, so a captured request replayed later fails the receiver's tolerance check. During a
secret rotation the header carries one ``v1=`` per secret in use (the new one first), and a receiver accepts the
request when any of them matches the secret it holds.
"""

import hashlib
import hmac
from collections.abc import Sequence
from datetime import datetime, timedelta

EVENT_ID_HEADER = "Fortnox-Bridge-Event-Id"
EVENT_TYPE_HEADER = "Fortnox-Bridge-Event-Type"
SIGNATURE_HEADER = "Fortnox-Bridge-Signature"
SCHEME = "v1"
DEFAULT_TOLERANCE = timedelta(minutes=5)
"""How far a receiver lets the signed timestamp stray from its own clock: long enough for clock skew and a slow
request, short enough that a replayed capture is refused."""


class SignatureRefused(Exception):
    """The request was not signed with the receiver's secret, or not recently."""


def signature(secret: str, timestamp: int, body: str) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.{body}".encode(), hashlib.sha256).hexdigest()


def signature_header(secrets: Sequence[str], timestamp: int, body: str) -> str:
    if not secrets:
        raise ValueError("a webhook is signed with at least one secret")
    return ",".join([f"t={timestamp}", *(f"{SCHEME}={signature(secret, timestamp, body)}" for secret in secrets)])


def verify(header: str, body: str, secret: str, now: datetime, tolerance: timedelta = DEFAULT_TOLERANCE) -> None:
    """What a receiver does with each request: raise ``SignatureRefused`` unless one ``v1`` matches ``secret`` over
    the exact body received and the timestamp is within ``tolerance`` of ``now``. Compare in constant time."""
    timestamp, candidates = _parse(header)
    if abs(now.timestamp() - timestamp) > tolerance.total_seconds():
        raise SignatureRefused("the signature's timestamp is outside the tolerance")
    expected = signature(secret, timestamp, body)
    # Every candidate is compared, so the time taken says nothing about which one (or how much of it) matched.
    matched = [hmac.compare_digest(expected, candidate) for candidate in candidates]
    if not any(matched):
        raise SignatureRefused("no signature matches the secret")


def _parse(header: str) -> tuple[int, list[str]]:
    timestamp: int | None = None
    candidates: list[str] = []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t" and value.isdigit():
            timestamp = int(value)
        elif key == SCHEME and value:
            candidates.append(value)
    if timestamp is None or not candidates:
        raise SignatureRefused(f"the header has no t= or no {SCHEME}=")
    return timestamp, candidates
