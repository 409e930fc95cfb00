"""The bridge's mark on a voucher, so a create whose answer was lost can be found by reading the day back.

Fortnox vouchers take no reference of ours that its list returns for certain: ``ReferenceNumber`` and
``ReferenceType`` are Fortnox's own for vouchers it makes (invoices, payments), ``Comments`` is missing from the
list Fortnox documents (FACTS.md 3.4, the vouchers list example), and rows are not listed at all. ``Description`` is
required, listed, and shown to the bookkeeper in every voucher view, so the marker goes at its end: one list of the
day's vouchers finds it, and a person can see which vouchers the bridge made.

The marker is a hash of the tenant and the business key, not the key itself: a key (``2026-11-24#kassa-12``) and a
tenant id can together run to 190 characters, and Description holds 200. Twelve base-32 characters (60 bits) keep
it short next to the text and make a collision between two days of one company as likely as never.
"""

import base64
import hashlib
import re

from fortnox_bridge.ids import TenantId

PREFIX = "FB:"
MARKER = re.compile(r"(?<![A-Za-z0-9])FB:[A-Z2-7]{12}(?![A-Za-z0-9])")
"""Any bridge marker: a voucher carrying one was made by the bridge, whichever tenant it was for."""
LENGTH = len(PREFIX) + 12


def voucher_marker(tenant: TenantId, business_key: str) -> str:
    """The same marker for the same tenant and business key, in every company and every process."""
    digest = hashlib.sha256(f"voucher\x1f{tenant}\x1f{business_key}".encode()).digest()
    return PREFIX + base64.b32encode(digest).decode()[:12]


def marked(description: str | None, marker: str) -> bool:
    """Whether ``description`` ends with exactly ``marker``, where the bridge puts it: a bookkeeper who copies a
    bridge voucher's text into the middle of a correction voucher's does not make that one pass for the day."""
    text = (description or "").rstrip()
    return text.endswith(marker) and MARKER.fullmatch(text[-LENGTH - 1 :].lstrip()) is not None


def markers_in(description: str | None) -> set[str]:
    return set(MARKER.findall(description or ""))
