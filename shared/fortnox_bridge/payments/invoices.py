"""Which upstream invoice a Fortnox invoice is: ours by our marker, else by the number the tenant matches on."""

import hashlib
from decimal import Decimal
from typing import Literal

from fortnox_bridge.export.references import export_reference
from fortnox_bridge.export.review import export_id
from fortnox_bridge.fortnox.models.invoices import Invoice, InvoiceListItem
from fortnox_bridge.ids import TenantId
from fortnox_bridge.payments.diff import InvoiceFacts
from fortnox_bridge.store.ledger import ExportLedger, ExportScope

LEDGER_KINDS = ("invoice", "credit_note", "credit")
"""The invoice export's ledger kinds (``export/exporter.py _ledger_kind``), each keyed by the upstream number."""


def upstream_number_in(tenant: TenantId, marker: str | None) -> str | None:
    """The upstream number in our marker, when the marker is this tenant's (``export_reference``); another
    tenant's marker on a shared company is not ours."""
    if not marker or not marker.startswith("FB:"):
        return None
    for prefix in (f"FB:{tenant}:", f"FB:{hashlib.sha256(tenant.encode()).hexdigest()[:16]}:"):
        if marker.startswith(prefix):
            number = marker[len(prefix) :]
            if number and export_reference(tenant, number) == marker:
                return number
    return None


class InvoiceMatcher:
    """Invoice facts for events, with the ledger read at most once per invoice and poll."""

    def __init__(self, scope: ExportScope, ledger: ExportLedger, match_on: Literal["invoice_number", "ocr"]) -> None:
        self._scope = scope
        self._ledger = ledger
        self._match_on = match_on
        self._export_ids: dict[tuple[str, str], str | None] = {}

    def facts(self, invoice: InvoiceListItem | Invoice) -> InvoiceFacts:
        number = str(invoice.DocumentNumber)
        upstream = upstream_number_in(self._scope.tenant, invoice.ExternalInvoiceReference1)
        ocr = invoice.OCR or None
        total = invoice.Total if invoice.Total is not None else Decimal(0)
        balance = invoice.Balance if invoice.Balance is not None else total
        if upstream is not None:
            return InvoiceFacts(number, total, balance, ocr, upstream, self._export_id(number, upstream), ours=True)
        matched = number if self._match_on == "invoice_number" else ocr
        return InvoiceFacts(number, total, balance, ocr, matched, None, ours=False)

    def _export_id(self, fortnox_number: str, upstream: str) -> str | None:
        key = (fortnox_number, upstream)
        if key not in self._export_ids:
            self._export_ids[key] = self._find(fortnox_number, upstream)
        return self._export_ids[key]

    def _find(self, fortnox_number: str, upstream: str) -> str | None:
        # An upstream invoice and its credit note share a number and so a marker: the ledger entry whose Fortnox
        # document is this invoice says which export made it. An invoice made from an order (collective
        # invoicing) has another number than the order the ledger names, so the first entry found stands in.
        entries = [(kind, self._ledger.get(self._scope, kind, upstream)) for kind in LEDGER_KINDS]
        for kind, entry in entries:
            if entry is not None and entry.fortnox_id == fortnox_number:
                return export_id(kind, upstream)
        for kind, entry in entries:
            if entry is not None:
                return export_id(kind, upstream)
        return None
