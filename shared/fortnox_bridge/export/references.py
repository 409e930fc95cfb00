"""Our marker on every Fortnox document we create, so an export can always be found again."""

import hashlib

from fortnox_bridge.fortnox.models.invoices import Invoice
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


def takes_back(invoice: Invoice) -> bool:
    """A credit document. Its rows say so first: upstream credit notes and Fortnox's full credits have negative
    quantities, invoices never do (so an invoice stays one even if Fortnox flags a credited original, which is not
    documented). Only a document without quantities is known by Fortnox's ``Credit`` flag; manual corrections are
    not linked, so Fortnox may not flag them at all."""
    quantities = [row.DeliveredQuantity for row in invoice.InvoiceRows if row.DeliveredQuantity]
    if quantities:
        return any(quantity < 0 for quantity in quantities)
    return bool(invoice.Credit)


def is_ours(invoice: Invoice, reference: str, *, credit: bool) -> bool:
    """Ours when it carries our marker and is the kind we made: an upstream invoice and credit note may share a
    number, and so a marker."""
    return invoice.ExternalInvoiceReference1 == reference and takes_back(invoice) == credit
