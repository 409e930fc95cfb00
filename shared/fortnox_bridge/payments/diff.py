"""What a poll tells upstream about one payment, from what Fortnox lists now and the snapshot of what was sent.

Pure: no AWS, no Fortnox. The poller reads, this decides, the poller writes.
"""

import hashlib
import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from fortnox_bridge.events import (
    InvoicePaymentStatus,
    PaymentChanged,
    PaymentEvent,
    PaymentFigures,
    PaymentReceived,
    PaymentRemoved,
)
from fortnox_bridge.ids import FortnoxTenantId, TenantId
from fortnox_bridge.store.payment_sync import PaymentSnapshot

Kind = Literal["received", "changed", "removed"]
EVENT_TYPES: dict[str, type[PaymentEvent]] = {
    PaymentReceived.detail_type: PaymentReceived,
    PaymentChanged.detail_type: PaymentChanged,
    PaymentRemoved.detail_type: PaymentRemoved,
}


@dataclass(frozen=True)
class InvoiceFacts:
    """A Fortnox invoice as the same poll saw it, and how upstream knows it."""

    fortnox_number: str
    total: Decimal
    balance: Decimal
    ocr: str | None
    upstream_number: str | None
    export_id: str | None
    ours: bool
    """Carries this tenant's marker: the bridge exported it."""

    @property
    def status(self) -> InvoicePaymentStatus:
        return invoice_status(self.total, self.balance)


def invoice_status(total: Decimal, balance: Decimal) -> InvoicePaymentStatus:
    """Where an invoice stands by its balance; a credit invoice (negative total) is read the same way, mirrored."""
    sign = Decimal(-1) if total < 0 else Decimal(1)
    left, whole = balance * sign, total * sign
    if left < 0:
        return "overpaid"
    if left == 0:
        return "fully_paid"
    if left >= whole:
        return "unpaid"
    return "partly_paid"


def same_listing(snapshot: PaymentSnapshot, figures: PaymentFigures, invoice_number: str) -> bool:
    """Whether the list item says what the snapshot holds. The list lacks the amount in currency, so it is compared
    on what the list has: a change Fortnox makes to that amount alone also changes the SEK amount or the rate."""
    held = snapshot.figures
    return (
        not snapshot.removed
        and snapshot.invoice_number == invoice_number
        and held.payment_date == figures.payment_date
        and held.amount_sek == figures.amount_sek
        and held.currency == figures.currency
        and held.currency_rate == figures.currency_rate
        and held.currency_unit == figures.currency_unit
    )


def event_id(
    tenant: TenantId, company: FortnoxTenantId, payment_number: str, kind: Kind, version: int, figures: PaymentFigures
) -> str:
    """The same change of the same payment always hashes alike, whichever poll finds it."""
    material = json.dumps(
        [tenant, company, payment_number, kind, version, figures.model_dump(mode="json")], separators=(",", ":")
    )
    return f"pay_{hashlib.sha256(material.encode()).hexdigest()[:32]}"


def payment_event(
    kind: Kind,
    *,
    tenant: TenantId,
    company: FortnoxTenantId,
    payment_number: str,
    version: int,
    figures: PaymentFigures,
    invoice: InvoiceFacts,
    previous: PaymentFigures | None = None,
) -> PaymentEvent:
    common = {
        "event_id": event_id(tenant, company, payment_number, kind, version, figures),
        "tenant_id": tenant,
        "fortnox_tenant_id": company,
        "payment_number": payment_number,
        "sequence": version,
        "fortnox_invoice_number": invoice.fortnox_number,
        "ocr": invoice.ocr,
        "upstream_invoice_number": invoice.upstream_number,
        "export_id": invoice.export_id,
        "payment": figures,
        "invoice_total": invoice.total,
        "invoice_balance": invoice.balance,
        "invoice_status": invoice.status,
    }
    if kind == "received":
        return PaymentReceived.model_validate(common)
    if kind == "removed":
        return PaymentRemoved.model_validate(common)
    if previous is None:
        raise ValueError("a changed payment needs the figures it had")
    return PaymentChanged.model_validate({**common, "previous": previous})


def stored(event: PaymentEvent) -> dict[str, object]:
    """An event as a snapshot keeps it, to be sent again exactly (same id, same body) after a crash or a re-sync."""
    return {"detail_type": event.detail_type, "event": event.model_dump(mode="json")}


def restored(kept: dict[str, object]) -> PaymentEvent:
    return EVENT_TYPES[str(kept["detail_type"])].model_validate(kept["event"])
