"""Events the bridge publishes upstream, on the product's EventBridge bus; their models are the contract."""

from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, ClassVar, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from fortnox_bridge.ids import FortnoxTenantId, TenantId

if TYPE_CHECKING:
    from mypy_boto3_events.client import EventBridgeClient

SOURCE = "fortnox-bridge"


class PublishedEvent(BaseModel):
    # Every function imports the publisher, so every function would build all these models at its cold start; each
    # publishes one or two kinds, if any, and builds those when it first publishes one.
    model_config = ConfigDict(defer_build=True)

    detail_type: ClassVar[str]


class ConnectionConnected(PublishedEvent):
    """A tenant connected (or reconnected) a Fortnox company."""

    detail_type: ClassVar[str] = "connection.connected"
    tenant_id: TenantId
    fortnox_tenant_id: FortnoxTenantId
    company_name: str


class ConnectionNeedsReconnect(PublishedEvent):
    """Fortnox no longer accepts the tenant's tokens; published once, when the connection is lost. The event carries
    no link: upstream asks for one (``POST /tenants/{id}/connect-links``) when a person is ready to reconnect."""

    detail_type: ClassVar[str] = "connection.needs_reconnect"
    tenant_id: TenantId
    reason: str


class ConnectionRevoked(PublishedEvent):
    """The connection was ended on request. ``revoked_at_fortnox`` is false for a service account: its consent lives
    on at Fortnox until a system administrator removes the integration there."""

    detail_type: ClassVar[str] = "connection.revoked"
    tenant_id: TenantId
    fortnox_tenant_id: FortnoxTenantId
    revoked_at_fortnox: bool


class EventPublisher(Protocol):
    def publish(self, event: PublishedEvent) -> None: ...


class EventBridgePublisher:
    def __init__(self, client: "EventBridgeClient", bus_name: str) -> None:
        self._client = client
        self._bus = bus_name

    def publish(self, event: PublishedEvent) -> None:
        answer = self._client.put_events(
            Entries=[
                {
                    "Source": SOURCE,
                    "DetailType": event.detail_type,
                    "Detail": event.model_dump_json(),
                    "EventBusName": self._bus,
                }
            ]
        )
        if answer.get("FailedEntryCount"):
            raise RuntimeError(f"EventBridge refused {event.detail_type}: {answer['Entries']}")


class InvoiceExported(PublishedEvent):
    """An upstream invoice, credit note or credit is in Fortnox.

    A document that exists is never reported as failed: when a step after its create (attach the PDF, bookkeep,
    send) could not be done, ``pending_steps`` names what is left and ``pending_reason_*`` why; sending the same
    event again finishes them."""

    detail_type: ClassVar[str] = "invoice.exported"
    tenant_id: TenantId
    event_id: str
    invoice_number: str
    """The upstream number."""
    document: Literal["invoice", "credit_note", "credit", "order"]
    fortnox_document_number: str
    action: Literal["created", "updated", "unchanged", "superseded"]
    """``superseded``: the event is older (``occurred_at``) than the one last applied, so it was not applied."""
    pending_steps: list[Literal["attach_pdf", "bookkeep", "send"]] = []
    pending_reason_sv: str | None = None
    pending_reason_en: str | None = None
    fortnox_code: int | None = None


class InvoiceExportFailed(PublishedEvent):
    """The export needs someone to act; the reason says what to fix, in Swedish and English.

    ``fortnox_document_number`` is set when the document is in Fortnox and only this event's change was not
    applied (it is booked, credited, sent, ...)."""

    detail_type: ClassVar[str] = "invoice.export_failed"
    tenant_id: TenantId
    event_id: str
    invoice_number: str | None
    reason_sv: str
    reason_en: str
    fortnox_code: int | None = None
    fortnox_message: str | None = None
    fortnox_document_number: str | None = None


# -- voucher export (issue 10) --------------------------------------------------------------------------------------
class VoucherExported(PublishedEvent):
    """A closed sales day or a ready-made journal is a voucher in Fortnox.

    ``created``: this event made it (or an earlier delivery of it whose answer was lost). ``unchanged``: the day or
    journal was already booked with the same content, by this event id or another one; nothing was sent."""

    detail_type: ClassVar[str] = "voucher.exported"
    tenant_id: TenantId
    event_id: str
    business_key: str
    """``{business_day}#{location}`` for a sales day, ``journal#{journal_id}`` for a ready-made journal."""
    transaction_date: date
    """The voucher's date: the business day of a sales day."""
    location: str | None
    series: str
    number: int
    year: int
    """Fortnox's id of the financial year (``financialyear``): with series and number it names the voucher
    (``GET /3/vouchers/{series}/{number}?financialyear={year}``)."""
    action: Literal["created", "unchanged"]


class VoucherFinding(BaseModel):
    """One thing in the tenant's Fortnox setup or mapping that stops the voucher, and where to fix it."""

    model_config = ConfigDict(defer_build=True)

    code: str
    """``account_missing``, ``account_inactive``, ``cost_center_inactive``, ``series_not_manual``, ..."""
    subject: str
    """What the finding is about: an account number, a cost centre code, a series."""
    sv: str
    en: str


class VoucherExportFailed(PublishedEvent):
    """The voucher was not made; the reason says what to fix, in Swedish and English. ``findings`` lists each
    problem preflight found before any voucher call; ``fortnox_code``/``fortnox_message`` are Fortnox's own when
    Fortnox refused. Nothing was booked by this event: a day already booked is named in the reason."""

    detail_type: ClassVar[str] = "voucher.export_failed"
    tenant_id: TenantId
    event_id: str
    business_key: str | None
    reason_sv: str
    reason_en: str
    findings: list[VoucherFinding] = []
    fortnox_code: int | None = None
    fortnox_message: str | None = None


# -- payment sync (issue 11) ----------------------------------------------------------------------------------------
InvoicePaymentStatus = Literal["unpaid", "partly_paid", "fully_paid", "overpaid"]


class PaymentFigures(BaseModel):
    """A payment as Fortnox holds it: the amount in SEK and in the invoice's currency, and the rate Fortnox used
    (SEK per ``currency_unit`` units of the currency; 1 for SEK)."""

    model_config = ConfigDict(defer_build=True)

    payment_date: date
    amount_sek: Decimal
    amount_in_currency: Decimal
    currency: str
    currency_rate: Decimal
    currency_unit: Decimal


class PaymentEvent(PublishedEvent):
    """What every payment event says: which payment, on which invoice, as both systems number it, and where the
    invoice stands after it.

    ``event_id`` is stable: the same change of the same payment always carries the same id, so a re-send after a
    crash (or a re-sync) is recognisable upstream."""

    event_id: str
    tenant_id: TenantId
    fortnox_tenant_id: FortnoxTenantId
    payment_number: str
    """Fortnox's number of the payment (``/3/invoicepayments/{Number}``)."""
    sequence: int = Field(ge=1)
    """1 for the first event of a payment, one more for each later one: neither the bus nor a webhook keeps order,
    so a receiver keeps the highest it has seen of a payment and ignores an event with a lower one."""
    fortnox_invoice_number: str
    ocr: str | None
    upstream_invoice_number: str | None
    """The upstream number: the one the bridge exported the invoice under, else the Fortnox invoice or OCR number
    as the tenant's ``match_on`` says; None when neither is known."""
    export_id: str | None
    """The export that made the invoice (``GET /tenants/{id}/exports/{export_id}``); None when not made by the
    bridge."""
    payment: PaymentFigures
    """The payment now; for ``payment.removed``, as it was last seen."""
    invoice_total: Decimal
    invoice_balance: Decimal
    """In the invoice's currency, after this change as Fortnox reported it in the same poll."""
    invoice_status: InvoicePaymentStatus


class PaymentReceived(PaymentEvent):
    detail_type: ClassVar[str] = "payment.received"


class PaymentChanged(PaymentEvent):
    """Someone edited the payment in Fortnox: amount, date or rate."""

    detail_type: ClassVar[str] = "payment.changed"
    previous: PaymentFigures


class PaymentRemoved(PaymentEvent):
    """The payment was deleted in Fortnox; ``payment`` is how it was last seen."""

    detail_type: ClassVar[str] = "payment.removed"
