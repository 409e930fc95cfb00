"""Invoice export, exactly once, without idempotency keys from Fortnox.

The ledger holds one entry per (tenant, document kind, upstream number) under a lease. Before any create we look
for our marker (``ExternalInvoiceReference1``) whenever an earlier attempt may have reached Fortnox, and after a
create whose answer was lost we look again before trying anew. A document already in Fortnox is updated while it
is unbooked and the re-export is refused, with the reason, once it is booked.
"""

import hashlib
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from fortnox_bridge.contracts.invoices import (
    CreditNoteReady,
    CustomerUpserted,
    InvoiceCredited,
    InvoiceData,
    InvoiceEvent,
    InvoiceReady,
    S3ObjectRef,
)
from fortnox_bridge.errors import BadInputError, NeedsTenantActionError, RetryableError
from fortnox_bridge.events import EventPublisher, InvoiceExported, InvoiceExportFailed
from fortnox_bridge.export.builder import invoice_body, order_body
from fortnox_bridge.export.customers import CustomerHashes, upsert_customer
from fortnox_bridge.export.explanations import Explanation, ExportRefused, explain, refusal
from fortnox_bridge.export.references import export_reference
from fortnox_bridge.fortnox.client import FortnoxClient
from fortnox_bridge.fortnox.errors import FortnoxBadRequest, FortnoxError, FortnoxNotFound, FortnoxTransportError
from fortnox_bridge.fortnox.models.files import AttachmentWrite
from fortnox_bridge.fortnox.models.invoices import InvoiceListItem, InvoiceWrite
from fortnox_bridge.fortnox.models.orders import OrderListItem, OrderWrite
from fortnox_bridge.ids import TenantId
from fortnox_bridge.mapping.rules import TenantMapping
from fortnox_bridge.observability import logger
from fortnox_bridge.store.connections import Connection, ConnectionState, ConnectionStore
from fortnox_bridge.store.ledger import ExportLedger, ExportState, LedgerEntry
from fortnox_bridge.store.mappings import MappingStore
from fortnox_bridge.store.tenants import Tenant, TenantStore

LEASE = timedelta(minutes=5)
Document = Literal["invoice", "credit_note", "credit", "order"]
Action = Literal["created", "updated", "unchanged"]


@dataclass(frozen=True)
class Outcome:
    document: Document | None
    invoice_number: str | None
    fortnox_document_number: str | None
    action: Action | None
    failure: Explanation | None = None


class InvoiceExporter:
    def __init__(
        self,
        *,
        tenants: TenantStore,
        connections: ConnectionStore,
        ledger: ExportLedger,
        hashes: CustomerHashes,
        mappings: MappingStore,
        publisher: EventPublisher,
        client_for: Callable[[Connection], FortnoxClient],
        read_pdf: Callable[[S3ObjectRef], bytes],
    ) -> None:
        self._tenants = tenants
        self._connections = connections
        self._ledger = ledger
        self._hashes = hashes
        self._mappings = mappings
        self._publisher = publisher
        self._client_for = client_for
        self._read_pdf = read_pdf

    def export(self, event: InvoiceEvent) -> Outcome:
        """Export one event. Retryable failures raise; everything a person must fix is recorded, published and
        returned as a failed outcome, so the message is not retried in vain."""
        number = _number_of(event)
        try:
            tenant = self._tenants.require(TenantId(event.tenant_id))
            connection = self._connections.get(tenant.tenant_id)
            if connection is None or connection.state is not ConnectionState.CONNECTED:
                raise refusal(
                    "Fortnox är inte anslutet för den här kunden. Anslut via länken från tjänsten.",
                    "Fortnox is not connected for this tenant. Connect it through the link from the service.",
                )
            with self._client_for(connection) as client:
                outcome = self._dispatch(client, tenant, event)
        except RetryableError:
            raise
        except (NeedsTenantActionError, BadInputError) as error:
            explanation = self._explanation(error)
            self._publisher.publish(
                InvoiceExportFailed(
                    tenant_id=TenantId(event.tenant_id),
                    event_id=event.id,
                    invoice_number=number,
                    reason_sv=explanation.sv,
                    reason_en=explanation.en,
                    fortnox_code=explanation.code,
                    fortnox_message=explanation.fortnox_message or None,
                )
            )
            logger.warning(
                "export refused",
                extra={
                    "tenant_id": event.tenant_id,
                    "event_id": event.id,
                    "code": explanation.code,
                    "reason": explanation.en,
                },
            )
            return Outcome(None, number, None, None, failure=explanation)
        if outcome.document is not None and outcome.fortnox_document_number is not None and outcome.action:
            self._publisher.publish(
                InvoiceExported(
                    tenant_id=TenantId(event.tenant_id),
                    event_id=event.id,
                    invoice_number=outcome.invoice_number or "",
                    document=outcome.document,
                    fortnox_document_number=outcome.fortnox_document_number,
                    action=outcome.action,
                )
            )
        return outcome

    @staticmethod
    def _explanation(error: Exception) -> Explanation:
        if isinstance(error, ExportRefused):
            return error.explanation
        if isinstance(error, FortnoxError):
            return explain(error)
        message = getattr(error, "message", str(error))
        return Explanation(None, "", f"Exporten avvisades: {message}", f"The export was refused: {message}")

    def _dispatch(self, client: FortnoxClient, tenant: Tenant, event: InvoiceEvent) -> Outcome:
        if isinstance(event, CustomerUpserted):
            upsert_customer(client, self._hashes, tenant.tenant_id, event.data)
            return Outcome(None, None, None, None)
        if isinstance(event, InvoiceCredited):
            return _Credit(self, client, tenant, event).run()
        return _Document(self, client, tenant, event).run()


def _number_of(event: InvoiceEvent) -> str | None:
    if isinstance(event, CustomerUpserted):
        return None
    return event.data.invoice_number


def _claimed_by(entry: LedgerEntry, owner: str) -> bool:
    return entry.lease_owner == owner


class _Document:
    """One invoice, correction invoice or order, created once and updated while it can still change."""

    def __init__(
        self, exporter: InvoiceExporter, client: FortnoxClient, tenant: Tenant, event: InvoiceReady | CreditNoteReady
    ) -> None:
        self.x = exporter
        self.client = client
        self.tenant = tenant
        self.event = event
        self.data = event.data
        self.settings = tenant.settings.invoice_export
        self.kind: Document = "credit_note" if isinstance(event, CreditNoteReady) else "invoice"
        if self.kind == "invoice" and self.settings.create_orders:
            # Collective invoicing (seed 001): an order that someone turns into an invoice in Fortnox.
            self.kind = "order"
        self.owner = f"export-{uuid.uuid4()}"
        self.reference = export_reference(tenant.tenant_id, self.data.invoice_number)

    def run(self) -> Outcome:
        mapping = self.x._mappings.get(self.tenant.tenant_id)
        digest = hashlib.sha256(
            (self.data.model_dump_json() + mapping.model_dump_json() + self.settings.model_dump_json()).encode()
        ).hexdigest()
        entry = self.x._ledger.claim(
            self.tenant.tenant_id, self.kind, self.data.invoice_number, owner=self.owner, lease=LEASE, reopen=True
        )
        try:
            if entry.state is ExportState.CONFIRMED and entry.content_hash == digest and entry.fortnox_id:
                self.x._ledger.mark(entry, ExportState.CONFIRMED, owner=self.owner)
                return self._outcome(entry.fortnox_id, "unchanged")
            body = self._body(mapping)
            upsert_customer(self.client, self.x._hashes, self.tenant.tenant_id, self.data.customer)
            existing = entry.fortnox_id
            if existing is None and (entry.attempts > 1 or entry.state is ExportState.SENT):
                existing = self._find()
            if existing is not None:
                self._update(existing, body)
                action: Action = "updated"
            else:
                self.x._ledger.mark(entry, ExportState.SENT, owner=self.owner)
                existing = self._create(body)
                self._after_create(existing)
                action = "created"
            self.x._ledger.mark(
                entry, ExportState.CONFIRMED, owner=self.owner, fortnox_id=existing, content_hash=digest
            )
            return self._outcome(existing, action)
        except (NeedsTenantActionError, BadInputError) as error:
            state = ExportState.CONFIRMED if entry.fortnox_id else ExportState.FAILED
            self.x._ledger.mark(entry, state, owner=self.owner, error=str(error)[:1000])
            raise
        except RetryableError:
            self.x._ledger.release(entry, owner=self.owner)
            raise

    def _body(self, mapping: TenantMapping) -> InvoiceWrite | OrderWrite:
        if self.kind == "order" and isinstance(self.data, InvoiceData):
            return order_body(self.data, mapping, reference=self.reference)
        credits = self._credited_document()
        # With upstream numbering, Fortnox must never pick a correction invoice's number: it could be one upstream
        # uses later (seed 000). Such corrections go as manual ones, numbered upstream and not linked.
        manual = self.kind == "credit_note" and (
            self.settings.always_manual_correction or self.settings.numbering == "upstream"
        )
        upstream_number = self.settings.numbering == "upstream" and (self.kind == "invoice" or manual)
        return invoice_body(
            self.data,
            mapping,
            reference=self.reference,
            document_number=self.data.invoice_number if upstream_number else None,
            credits=None if manual else credits,
        )

    def _outcome(self, fortnox_id: str, action: Action) -> Outcome:
        return Outcome(self.kind, self.data.invoice_number, fortnox_id, action)

    def _credited_document(self) -> str | None:
        if not isinstance(self.event, CreditNoteReady):
            return None
        original = self.x._ledger.get(self.tenant.tenant_id, "invoice", self.event.data.credits_invoice_number)
        if original is None or original.fortnox_id is None:
            raise refusal(
                f"Faktura {self.event.data.credits_invoice_number} har aldrig exporterats till Fortnox, så "
                "kreditfakturan kan inte kopplas till den. Exportera fakturan först.",
                f"Invoice {self.event.data.credits_invoice_number} was never exported to Fortnox, so the credit "
                "note cannot be linked to it. Export the invoice first.",
            )
        return original.fortnox_id

    def _find(self) -> str | None:
        """Our marker, compared exactly: Fortnox searches references by substring."""
        listed: Iterable[InvoiceListItem | OrderListItem] = (
            self.client.orders.list(externalinvoicereference1=self.reference)
            if self.kind == "order"
            else self.client.invoices.list(externalinvoicereference1=self.reference)
        )
        matches = sorted(
            (
                row.DocumentNumber
                for row in listed
                if row.ExternalInvoiceReference1 == self.reference and row.DocumentNumber
            ),
            key=int,
        )
        if len(matches) > 1:
            logger.warning(
                "several Fortnox documents carry one export reference",
                extra={"tenant_id": self.tenant.tenant_id, "documents": matches},
            )
        return matches[0] if matches else None

    def _create(self, body: InvoiceWrite | OrderWrite) -> str:
        try:
            created = (
                self.client.orders.create(body) if isinstance(body, OrderWrite) else self.client.invoices.create(body)
            )
        except FortnoxTransportError:
            # The answer was lost; Fortnox may have created it. Look before anyone tries again.
            found = self._find()
            if found is None:
                raise
            return found
        except FortnoxBadRequest as error:
            if isinstance(body, OrderWrite) or body.DocumentNumber is None:
                raise
            return self._adopt_numbered(body.DocumentNumber, error)
        if not created.DocumentNumber:
            raise RetryableError("Fortnox created a document without a number")
        return created.DocumentNumber

    def _adopt_numbered(self, number: str, error: FortnoxBadRequest) -> str:
        """Upstream numbering: the number is taken. Ours from a lost attempt is adopted; anything else is refused."""
        try:
            existing = self.client.invoices.get(number)
        except FortnoxNotFound:
            raise error from None
        if existing.ExternalInvoiceReference1 == self.reference:
            return number
        raise refusal(
            f"Fortnox har redan en faktura med nummer {number} som inte kommer från den här exporten. Välj en "
            "nummerserie i Fortnox som inte krockar, eller låt Fortnox numrera fakturorna.",
            f"Fortnox already has an invoice numbered {number} that this export did not create. Choose a Fortnox "
            "number series that does not clash, or let Fortnox number the invoices.",
            code=error.code,
            fortnox_message=error.message,
        )

    def _update(self, number: str, body: InvoiceWrite | OrderWrite) -> None:
        if isinstance(body, OrderWrite):
            order = self.client.orders.get(number)
            if _credit_reference(order.InvoiceReference) is not None or order.Cancelled:
                raise refusal(
                    f"Ordern för {self.data.invoice_number} (nummer {number}) är redan fakturerad eller makulerad "
                    "i Fortnox och kan inte ändras.",
                    f"The order for {self.data.invoice_number} (number {number}) is already invoiced or cancelled "
                    "in Fortnox and cannot be changed.",
                )
            self.client.orders.update(number, body)
            return
        current = self.client.invoices.get(number)
        if current.Booked:
            raise refusal(
                f"Faktura {self.data.invoice_number} är bokförd i Fortnox (nummer {number}) och kan inte ändras. "
                "Rätta den med en kreditfaktura.",
                f"Invoice {self.data.invoice_number} is booked in Fortnox (number {number}) and cannot be changed. "
                "Correct it with a credit note.",
            )
        if current.Cancelled:
            raise refusal(
                f"Faktura {self.data.invoice_number} är makulerad i Fortnox (nummer {number}).",
                f"Invoice {self.data.invoice_number} is cancelled in Fortnox (number {number}).",
            )
        self.client.invoices.update(number, body.model_copy(update={"DocumentNumber": None}))

    def _after_create(self, number: str) -> None:
        order = self.kind == "order"
        if self.data.pdf is not None and self.settings.attach_pdf:
            pdf = self.x._read_pdf(self.data.pdf)
            uploaded = self.client.inbox.upload(
                f"{self.data.invoice_number}.pdf", pdf, folder="inbox_o" if order else "inbox_kf"
            )
            if uploaded.ArchiveFileId:
                attachment = AttachmentWrite(
                    entityId=int(number),
                    entityType="O" if order else "F",
                    fileId=uploaded.ArchiveFileId,
                    includeOnSend=True,
                )
                self.client.file_attachments.attach([attachment])
        if order:
            return
        if self.settings.bookkeep:
            self.client.invoices.bookkeep(number)
        if self.settings.send == "externalprint":
            self.client.invoices.external_print(number)
        elif self.settings.send == "email":
            self.client.invoices.email(number)


class _Credit:
    """A full credit with Fortnox's own /credit, once: the original then names its credit invoice."""

    def __init__(
        self, exporter: InvoiceExporter, client: FortnoxClient, tenant: Tenant, event: InvoiceCredited
    ) -> None:
        self.x = exporter
        self.client = client
        self.tenant = tenant
        self.event = event
        self.owner = f"credit-{uuid.uuid4()}"

    def run(self) -> Outcome:
        number = self.event.data.invoice_number
        original = self.x._ledger.get(self.tenant.tenant_id, "invoice", number)
        if original is None or original.fortnox_id is None:
            raise refusal(
                f"Faktura {number} har aldrig exporterats till Fortnox och kan inte krediteras där.",
                f"Invoice {number} was never exported to Fortnox and cannot be credited there.",
            )
        entry = self.x._ledger.claim(self.tenant.tenant_id, "credit", number, owner=self.owner, lease=LEASE)
        if entry.state is ExportState.CONFIRMED and not _claimed_by(entry, self.owner) and entry.fortnox_id:
            return Outcome("credit", number, entry.fortnox_id, "unchanged")
        try:
            credit_number = self._credit(original.fortnox_id, entry)
        except (NeedsTenantActionError, BadInputError) as error:
            self.x._ledger.mark(entry, ExportState.FAILED, owner=self.owner, error=str(error)[:1000])
            raise
        except RetryableError:
            self.x._ledger.release(entry, owner=self.owner)
            raise
        self.x._ledger.mark(entry, ExportState.CONFIRMED, owner=self.owner, fortnox_id=credit_number)
        return Outcome("credit", number, credit_number, "created")

    def _credit(self, fortnox_id: str, entry: LedgerEntry) -> str:
        already = _credit_reference(self.client.invoices.get(fortnox_id).CreditInvoiceReference)
        if already is not None:
            return already
        self.x._ledger.mark(entry, ExportState.SENT, owner=self.owner)
        try:
            credited = self.client.invoices.credit(fortnox_id)
        except FortnoxTransportError:
            found = _credit_reference(self.client.invoices.get(fortnox_id).CreditInvoiceReference)
            if found is None:
                raise
            return found
        made = _credit_reference(credited.CreditInvoiceReference)
        if made is None:
            raise RetryableError("Fortnox answered the credit without naming the credit invoice")
        return made


def _credit_reference(value: str | None) -> str | None:
    return value if value not in (None, "", "0") else None
