"""Our marker on every Fortnox document we create, so an export can always be found again."""

import hashlib

from fortnox_bridge.ids import TenantId

MAX_LENGTH = 80  # ExternalInvoiceReference1


def export_reference(tenant: TenantId, upstream_number: str) -> str:
    """``FB:{tenant}:{number}``; a long tenant id is shortened to a hash so the marker fits Fortnox's 80."""
    reference = f"FB:{tenant}:{upstream_number}"
    if len(reference) <= MAX_LENGTH:
        return reference
    return f"FB:{hashlib.sha256(tenant.encode()).hexdigest()[:16]}:{upstream_number}"


def credit_reference(value: str | None) -> str | None:
    """A Fortnox reference field that names a document: Fortnox writes "0" or nothing when it names none."""
    return value if value not in (None, "", "0") else None
