"""Invoice export, exactly once, without idempotency keys from Fortnox.

Everything the export remembers is scoped to (tenant, Fortnox company): a tenant that reconnects to another company
starts clean there. The ledger holds one entry per upstream document under a lease. Before any create we look for
our marker (``ExternalInvoiceReference1``) whenever an earlier attempt may have reached Fortnox, and after a create
whose answer was lost we look again before trying anew. Before any update or credit, the document read from Fortnox
must carry our marker. The Fortnox number is recorded the moment the create answers; attaching the PDF, bookkeeping
and sending are steps a retry finishes. A document already in Fortnox is updated while it can still change, unless
the event is older than the one last applied; a change Fortnox or the customer has moved past (booked, credited,
sent) is refused with the reason.
"""

import hashlib
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
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
from fortnox_bridge.export.explanations import AwaitingInvoice, Explanation, ExportRefused, explain, gave_up, refusal
from fortnox_bridge.export.references import export_reference
from fortnox_bridge.fortnox.client import FortnoxClient
from fortnox_bridge.fortnox.errors import FortnoxBadRequest, FortnoxError, FortnoxNotFound, FortnoxTransportError
from fortnox_bridge.fortnox.models.files import AttachmentWrite
from fortnox_bridge.fortnox.models.invoices import Invoice, InvoiceListItem, InvoiceWrite
from fortnox_bridge.fortnox.models.orders import Order, OrderListItem, OrderWrite
from fortnox_bridge.ids import TenantId
from fortnox_bridge.mapping.rules import TenantMapping
from fortnox_bridge.observability import logger
from fortnox_bridge.store.connections import Connection, ConnectionState, ConnectionStore
from fortnox_bridge.store.ledger import ExportLedger, ExportScope, ExportState, Form, LedgerEntry, Step
from fortnox_bridge.store.mappings import MappingStore
from fortnox_bridge.store.tenants import Tenant, TenantStore

LEASE = timedelta(minutes=5)
Document = Literal["invoice", "credit_note", "credit", "order"]
Action = Literal["created", "updated", "unchanged", "superseded"]


@dataclass(frozen=True)
class Outcome:
    document: Document | None
    invoice_number: str | None
    fortnox_document_number: str | None
    action: Action | None
    failure: Explanation | None = None
    """Set whenever the event's work is not done: a refusal, or steps left on a document that exists."""
    pending_steps: tuple[Step, ...] = ()


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
            scope = ExportScope(tenant.tenant_id, connection.fortnox_tenant_id)
            with self._client_for(connection) as client:
                outcome = self._dispatch(client, tenant, scope, event)
        except RetryableError:
            raise
        except (NeedsTenantActionError, BadInputError) as error:
            outcome = Outcome(None, number, None, None, failure=_explanation(error))
        self._publish(event, outcome)
        return outcome

    def give_up(self, event: InvoiceEvent, cause: Exception) -> Outcome:
        """The last attempt of a message that kept failing in ways worth retrying: record the cause in the ledger
        and tell upstream, without calling Fortnox. A document that exists is reported with what is still pending,
        never as failed."""
        explanation = gave_up(cause)
        number = _number_of(event)
        kind = _ledger_kind(event)
        entry: LedgerEntry | None = None
        connection = self._connections.get(TenantId(event.tenant_id))
        if connection is not None and kind is not None and number is not None:
            scope = ExportScope(TenantId(event.tenant_id), connection.fortnox_tenant_id)
            entry = self._ledger.record_failure(scope, kind, number, str(cause)[:1000])
            if entry is None:
                logger.info(
                    "gave up while another worker holds the document",
                    extra={"tenant_id": event.tenant_id, "event_id": event.id},
                )
                return Outcome(None, number, None, None, failure=explanation)
        document = _document_of(event, entry)
        if entry is not None and entry.fortnox_id is not None and entry.pending_steps:
            outcome = Outcome(document, number, entry.fortnox_id, "created", explanation, tuple(entry.pending_steps))
        else:
            outcome = Outcome(document, number, entry.fortnox_id if entry else None, None, failure=explanation)
        self._publish(event, outcome)
        return outcome

    def _publish(self, event: InvoiceEvent, outcome: Outcome) -> None:
        tenant = TenantId(event.tenant_id)
        failure, document, number = outcome.failure, outcome.document, outcome.fortnox_document_number
        if failure is None:
            if document is not None and number is not None and outcome.action is not None:
                self._publisher.publish(
                    InvoiceExported(
                        tenant_id=tenant,
                        event_id=event.id,
                        invoice_number=outcome.invoice_number or "",
                        document=document,
                        fortnox_document_number=number,
                        action=outcome.action,
                    )
                )
            return
        logger.warning(
            "export not finished",
            extra={
                "tenant_id": event.tenant_id,
                "event_id": event.id,
                "code": failure.code,
                "reason": failure.en,
                "pending_steps": list(outcome.pending_steps),
            },
        )
        if document is not None and number is not None and outcome.pending_steps:
            self._publisher.publish(
                InvoiceExported(
                    tenant_id=tenant,
                    event_id=event.id,
                    invoice_number=outcome.invoice_number or "",
                    document=document,
                    fortnox_document_number=number,
                    action=outcome.action or "created",
                    pending_steps=list(outcome.pending_steps),
                    pending_reason_sv=failure.sv,
                    pending_reason_en=failure.en,
                    fortnox_code=failure.code,
                )
            )
            return
        self._publisher.publish(
            InvoiceExportFailed(
                tenant_id=tenant,
                event_id=event.id,
                invoice_number=outcome.invoice_number,
                reason_sv=failure.sv,
                reason_en=failure.en,
                fortnox_code=failure.code,
                fortnox_message=failure.fortnox_message or None,
                fortnox_document_number=number,
            )
        )

    def _dispatch(self, client: FortnoxClient, tenant: Tenant, scope: ExportScope, event: InvoiceEvent) -> Outcome:
        if isinstance(event, CustomerUpserted):
            upsert_customer(client, self._hashes, scope, event.data)
            return Outcome(None, None, None, None)
        if isinstance(event, InvoiceCredited):
            return _Credit(self, client, tenant, scope, event).run()
        return _Document(self, client, tenant, scope, event).run()


def _explanation(error: Exception) -> Explanation:
    if isinstance(error, ExportRefused):
        return error.explanation
    if isinstance(error, FortnoxError):
        return explain(error)
    message = getattr(error, "message", str(error))
    return Explanation(None, "", f"Exporten avvisades: {message}", f"The export was refused: {message}")


def _number_of(event: InvoiceEvent) -> str | None:
    if isinstance(event, CustomerUpserted):
        return None
    return event.data.invoice_number


def _ledger_kind(event: InvoiceEvent) -> str | None:
    if isinstance(event, InvoiceReady):
        return "invoice"  # in whichever form it went: the entry records it
    if isinstance(event, CreditNoteReady):
        return "credit_note"
    if isinstance(event, InvoiceCredited):
        return "credit"
    return None


def _document_of(event: InvoiceEvent, entry: LedgerEntry | None) -> Document | None:
    if isinstance(event, InvoiceReady):
        return "order" if entry is not None and entry.form == "order" else "invoice"
    if isinstance(event, CreditNoteReady):
        return "credit_note"
    if isinstance(event, InvoiceCredited):
        return "credit"
    return None


def _claimed_by(entry: LedgerEntry, owner: str) -> bool:
    return entry.lease_owner == owner


def _instant(moment: datetime) -> datetime:
    """Event times compare as instants; one sent without a zone is taken as UTC rather than failing the compare."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _credit_reference(value: str | None) -> str | None:
    return value if value not in (None, "", "0") else None


class _Document:
    """One invoice, correction invoice or order: created once, finished step by step, updated while it can change."""

    def __init__(
        self,
        exporter: InvoiceExporter,
        client: FortnoxClient,
        tenant: Tenant,
        scope: ExportScope,
        event: InvoiceReady | CreditNoteReady,
    ) -> None:
        self.x = exporter
        self.client = client
        self.tenant = tenant
        self.scope = scope
        self.event = event
        self.data = event.data
        self.settings = tenant.settings.invoice_export
        self.kind: Literal["invoice", "credit_note"] = (
            "credit_note" if isinstance(event, CreditNoteReady) else "invoice"
        )
        self.form: Form = "invoice"
        self.owner = f"export-{uuid.uuid4()}"
        self.reference = export_reference(tenant.tenant_id, self.data.invoice_number)
        self.occurred_at = _instant(event.occurred_at)
        self.number: str | None = None
        """The Fortnox document, once known."""
        self.pending: list[Step] = []
        self.action: Action | None = None
        self.pdf: bytes | None = None
        self.pdf_file_id: str | None = None
        """The PDF's file in the Fortnox archive, once uploaded."""

    @property
    def document(self) -> Document:
        return "order" if self.form == "order" else self.kind

    def run(self) -> Outcome:
        mapping = self.x._mappings.get(self.tenant.tenant_id)
        digest = hashlib.sha256(
            (self.data.model_dump_json() + mapping.model_dump_json() + self.settings.model_dump_json()).encode()
        ).hexdigest()
        entry = self.x._ledger.claim(
            self.scope, self.kind, self.data.invoice_number, owner=self.owner, lease=LEASE, reopen=True
        )
        self.number = entry.fortnox_id
        self.pending = list(entry.pending_steps)
        self.pdf_file_id = entry.pdf_file_id
        self.form = self._form(entry)
        try:
            return self._settle(entry, mapping, digest)
        except RetryableError:
            self.x._ledger.release(entry, owner=self.owner)
            raise
        except (NeedsTenantActionError, BadInputError) as error:
            return self._refused(entry, error)

    def _form(self, entry: LedgerEntry) -> Form:
        """A document keeps the form it was created in: turning orders on or off never makes it again in the other
        form (that would invoice it twice); the setting decides for documents not yet sent."""
        if self.kind == "credit_note":
            return "invoice"
        if entry.form is not None and (entry.fortnox_id or entry.state in {ExportState.SENT, ExportState.CREATED}):
            return entry.form
        return "order" if self.settings.create_orders else "invoice"

    def _settle(self, entry: LedgerEntry, mapping: TenantMapping, digest: str) -> Outcome:
        if self.number and entry.state is ExportState.CONFIRMED and entry.content_hash == digest:
            self.x._ledger.mark(entry, ExportState.CONFIRMED, owner=self.owner)
            return self._outcome("unchanged")
        if self.number and entry.applied_at is not None and self.occurred_at < _instant(entry.applied_at):
            return self._superseded(entry)
        body = self._body(mapping)
        planned = self._planned_steps()
        if self._needs_pdf(planned):
            self._read_pdf()
        upsert_customer(self.client, self.x._hashes, self.scope, self.data.customer)
        current: Invoice | Order | None = None
        applied_hash = entry.content_hash
        look = entry.attempts > 1 or entry.state is ExportState.SENT
        if self.number is not None:
            current = self._read_ours(self.number)
            if current is None:
                self._forget(entry)
                applied_hash, look = None, True
        if self.number is None and look:
            self.number = self._find()
            if self.number is not None:
                # An earlier create went through without our hearing of it, so none of its steps ran.
                current = self._read_ours(self.number)
                self.pending = planned
                self.action = "created"
                applied_hash = entry.content_hash if entry.state is ExportState.SENT else None
                self._record(entry, applied_hash, final=False)
        if self.number is None:
            self.x._ledger.mark(
                entry, ExportState.SENT, owner=self.owner, form=self.form, content_hash=digest, pending_steps=planned
            )
            self.number = self._create(body)
            self.pending = planned
            self.action = "created"
            self._record(entry, digest, final=not self.pending)
        elif applied_hash != digest:
            self._update(self.number, body, current)
            self.action = self.action or "updated"
            self._record(entry, digest, final=not self.pending)
        elif not self.pending:
            self._record(entry, digest, final=True)
        if self.pending:
            self._finish(entry, current)
            self.x._ledger.mark(entry, ExportState.CONFIRMED, owner=self.owner, pending_steps=[])
        return self._outcome(self.action or ("created" if entry.state is ExportState.CREATED else "unchanged"))

    def _record(self, entry: LedgerEntry, content_hash: str | None, *, final: bool) -> None:
        """The document is in Fortnox: its number is written the moment it is known, before any step can fail."""
        self.x._ledger.mark(
            entry,
            ExportState.CONFIRMED if final else ExportState.CREATED,
            owner=self.owner,
            fortnox_id=self.number,
            form=self.form,
            content_hash=content_hash,
            applied_at=self.occurred_at if content_hash is not None else None,
            pending_steps=self.pending,
        )

    def _superseded(self, entry: LedgerEntry) -> Outcome:
        logger.info(
            "older event superseded",
            extra={"tenant_id": self.tenant.tenant_id, "event_id": self.event.id, "document": self.number},
        )
        if self.pending and self.number is not None:
            self._finish(entry, self._read_ours(self.number))
        self.x._ledger.mark(
            entry, ExportState.CONFIRMED, owner=self.owner, superseded_event_id=self.event.id, pending_steps=[]
        )
        return self._outcome("superseded")

    def _refused(self, entry: LedgerEntry, error: NeedsTenantActionError | BadInputError) -> Outcome:
        explanation = _explanation(error)
        if self.number is None:
            state = ExportState.FAILED
        else:
            state = ExportState.CREATED if self.pending else ExportState.CONFIRMED
        self.x._ledger.mark(
            entry, state, owner=self.owner, error=explanation.en[:1000], pending_steps=self.pending, release=True
        )
        return Outcome(
            self.document,
            self.data.invoice_number,
            self.number,
            (self.action or "created") if self.pending else None,
            failure=explanation,
            pending_steps=tuple(self.pending),
        )

    def _outcome(self, action: Action) -> Outcome:
        return Outcome(self.document, self.data.invoice_number, self.number, action)

    def _planned_steps(self) -> list[Step]:
        steps: list[Step] = []
        if self.data.pdf is not None and self.settings.attach_pdf:
            steps.append("attach_pdf")
        if self.form == "order":
            return steps
        if self.settings.bookkeep:
            steps.append("bookkeep")
        if self.settings.send != "none":
            steps.append("send")
        return steps

    def _needs_pdf(self, steps: list[Step]) -> bool:
        return "attach_pdf" in steps and (self.number is None or "attach_pdf" in self.pending) and not self.pdf_file_id

    def _read_pdf(self) -> bytes:
        """Read before anything is created: a PDF that cannot be read stops the export while nothing exists yet."""
        if self.pdf is not None:
            return self.pdf
        assert self.data.pdf is not None  # only a planned attach reads it
        try:
            self.pdf = self.x._read_pdf(self.data.pdf)
        except BadInputError as error:
            raise refusal(
                f"PDF-filen för faktura {self.data.invoice_number} kan inte läsas ({error.message}). Lägg filen där "
                "händelsen säger och skicka händelsen igen.",
                f"The PDF of invoice {self.data.invoice_number} cannot be read ({error.message}). Put the file "
                "where the event says and send the event again.",
            ) from None
        return self.pdf

    def _body(self, mapping: TenantMapping) -> InvoiceWrite | OrderWrite:
        if self.form == "order" and isinstance(self.data, InvoiceData):
            return order_body(self.data, mapping, reference=self.reference)
        # With upstream numbering, Fortnox must never pick a correction invoice's number: it could be one upstream
        # uses later (seed 000). Such corrections go as manual ones, numbered upstream and not linked.
        manual = self.kind == "credit_note" and (
            self.settings.always_manual_correction or self.settings.numbering == "upstream"
        )
        credits = None if manual else self._credited_document()
        upstream_number = self.settings.numbering == "upstream" and (self.kind == "invoice" or manual)
        return invoice_body(
            self.data,
            mapping,
            reference=self.reference,
            document_number=self.data.invoice_number if upstream_number else None,
            credits=credits,
        )

    def _credited_document(self) -> str | None:
        """The invoice a linked correction invoice corrects: exported in this company, as an invoice, and ours."""
        if not isinstance(self.event, CreditNoteReady):
            return None
        credited = self.event.data.credits_invoice_number
        original = self.x._ledger.get(self.scope, "invoice", credited)
        if original is not None and original.form == "order" and original.fortnox_id:
            raise _exported_as_order(credited, original.fortnox_id)
        if original is None or original.fortnox_id is None:
            raise AwaitingInvoice(credited)
        invoice = self.client.invoices.get(original.fortnox_id)
        if invoice.ExternalInvoiceReference1 != export_reference(self.tenant.tenant_id, credited):
            raise _not_ours(credited, original.fortnox_id)
        return original.fortnox_id

    def _read_ours(self, number: str) -> Invoice | Order | None:
        """The document as Fortnox has it, or None when it does not carry our marker (not ours in this company)."""
        try:
            current: Invoice | Order = (
                self.client.orders.get(number) if self.form == "order" else self.client.invoices.get(number)
            )
        except FortnoxNotFound:
            return None
        return current if current.ExternalInvoiceReference1 == self.reference else None

    def _forget(self, entry: LedgerEntry) -> None:
        logger.warning(
            "the ledger named a Fortnox document without our marker; treated as not exported",
            extra={"tenant_id": self.tenant.tenant_id, "document": self.number},
        )
        self.x._ledger.mark(entry, ExportState.CLAIMED, owner=self.owner, forget_fortnox_id=True)
        self.number = None
        self.pending = []
        self.pdf_file_id = None

    def _find(self) -> str | None:
        """Our marker, compared exactly: Fortnox searches references by substring."""
        listed: Iterable[InvoiceListItem | OrderListItem] = (
            self.client.orders.list(externalinvoicereference1=self.reference)
            if self.form == "order"
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

    def _update(self, number: str, body: InvoiceWrite | OrderWrite, current: Invoice | Order | None) -> None:
        upstream = self.data.invoice_number
        if isinstance(body, OrderWrite):
            order = current if isinstance(current, Order) else self.client.orders.get(number)
            if _credit_reference(order.InvoiceReference) is not None or order.Cancelled:
                raise refusal(
                    f"Ordern för {upstream} (nummer {number}) är redan fakturerad eller makulerad i Fortnox och kan "
                    "inte ändras.",
                    f"The order for {upstream} (number {number}) is already invoiced or cancelled in Fortnox and "
                    "cannot be changed.",
                )
            self.client.orders.update(number, body)
            return
        invoice = current if isinstance(current, Invoice) else self.client.invoices.get(number)
        if invoice.Cancelled:
            raise refusal(
                f"Faktura {upstream} är makulerad i Fortnox (nummer {number}).",
                f"Invoice {upstream} is cancelled in Fortnox (number {number}).",
            )
        credit = _credit_reference(invoice.CreditInvoiceReference)
        if credit is not None:
            raise refusal(
                f"Faktura {upstream} (nummer {number}) är krediterad i Fortnox med kreditfaktura {credit} och kan "
                "inte ändras. Skicka ändringen som en ny faktura.",
                f"Invoice {upstream} (number {number}) is credited in Fortnox by credit invoice {credit} and cannot "
                "be changed. Send the change as a new invoice.",
            )
        if invoice.Booked:
            raise refusal(
                f"Faktura {upstream} är bokförd i Fortnox (nummer {number}) och kan inte ändras. Rätta den med en "
                "kreditfaktura.",
                f"Invoice {upstream} is booked in Fortnox (number {number}) and cannot be changed. Correct it with "
                "a credit note.",
            )
        if invoice.Sent and not self.settings.update_sent_invoices:
            raise refusal(
                f"Faktura {upstream} (nummer {number}) är redan skickad till kunden från Fortnox, så ändringen görs "
                "inte: kunden har den skickade versionen. Rätta den med en kreditfaktura, eller tillåt ändring av "
                "skickade fakturor i inställningarna (update_sent_invoices).",
                f"Invoice {upstream} (number {number}) was already sent to the customer from Fortnox, so the change "
                "is not made: the customer holds the version that was sent. Correct it with a credit note, or allow "
                "changes to sent invoices in the settings (update_sent_invoices).",
            )
        self.client.invoices.update(number, body.model_copy(update={"DocumentNumber": None}))

    def _finish(self, entry: LedgerEntry, current: Invoice | Order | None) -> None:
        """Do the steps still pending, in order, recording each as it is done. ``current`` is the document as read
        on a retry (None right after the create), so a step that took effect before its answer was lost is not done
        twice."""
        assert self.number is not None
        for step in list(self.pending):
            if step == "attach_pdf":
                self._attach(entry, resumed=current is not None)
            elif step == "bookkeep" and not (isinstance(current, Invoice) and current.Booked):
                self.client.invoices.bookkeep(self.number)
            elif step == "send" and not (isinstance(current, Invoice) and current.Sent):
                self._send()
            self.pending.remove(step)
            if self.pending:
                self.x._ledger.mark(entry, ExportState.CREATED, owner=self.owner, pending_steps=self.pending)

    def _attach(self, entry: LedgerEntry, *, resumed: bool) -> None:
        """Upload once (the file id is kept), then attach, included when Fortnox sends the invoice."""
        assert self.number is not None
        order = self.form == "order"
        entity_type = "O" if order else "F"
        if self.pdf_file_id is None:
            uploaded = self.client.inbox.upload(
                f"{self.data.invoice_number}.pdf", self._read_pdf(), folder="inbox_o" if order else "inbox_kf"
            )
            if not uploaded.ArchiveFileId:
                return
            self.pdf_file_id = uploaded.ArchiveFileId
            self.x._ledger.mark(entry, ExportState.CREATED, owner=self.owner, pdf_file_id=self.pdf_file_id)
        elif resumed and any(
            attachment.fileId == self.pdf_file_id
            for attachment in self.client.file_attachments.for_entity(int(self.number), entity_type)
        ):
            return
        self.client.file_attachments.attach(
            [
                AttachmentWrite(
                    entityId=int(self.number), entityType=entity_type, fileId=self.pdf_file_id, includeOnSend=True
                )
            ]
        )

    def _send(self) -> None:
        assert self.number is not None
        if self.settings.send == "externalprint":
            self.client.invoices.external_print(self.number)
        elif self.settings.send == "email":
            self.client.invoices.email(self.number)


def _exported_as_order(upstream: str, order: str) -> ExportRefused:
    return refusal(
        f"Faktura {upstream} exporterades som order {order} i Fortnox. Kreditera fakturan som Fortnox gjorde av "
        "ordern direkt i Fortnox.",
        f"Invoice {upstream} was exported as order {order} in Fortnox. Credit the invoice Fortnox made from the order "
        "in Fortnox itself.",
    )


def _not_ours(upstream: str, number: str) -> ExportRefused:
    return refusal(
        f"Dokument {number} i det anslutna Fortnox-företaget kommer inte från exporten av faktura {upstream}, så "
        "det ändras och krediteras inte.",
        f"Document {number} in the connected Fortnox company was not made by the export of invoice {upstream}, so "
        "it is neither changed nor credited.",
    )


class _Credit:
    """A full credit with Fortnox's own /credit, once: the original then names its credit invoice."""

    def __init__(
        self,
        exporter: InvoiceExporter,
        client: FortnoxClient,
        tenant: Tenant,
        scope: ExportScope,
        event: InvoiceCredited,
    ) -> None:
        self.x = exporter
        self.client = client
        self.tenant = tenant
        self.scope = scope
        self.event = event
        self.owner = f"credit-{uuid.uuid4()}"

    def run(self) -> Outcome:
        number = self.event.data.invoice_number
        original = self.x._ledger.get(self.scope, "invoice", number)
        if original is not None and original.form == "order" and original.fortnox_id:
            raise _exported_as_order(number, original.fortnox_id)
        if original is None or original.fortnox_id is None:
            raise AwaitingInvoice(number)
        entry = self.x._ledger.claim(self.scope, "credit", number, owner=self.owner, lease=LEASE)
        if entry.state is ExportState.CONFIRMED and not _claimed_by(entry, self.owner) and entry.fortnox_id:
            return Outcome("credit", number, entry.fortnox_id, "unchanged")
        try:
            credit_number = self._credit(number, original.fortnox_id, entry)
        except (NeedsTenantActionError, BadInputError) as error:
            self.x._ledger.mark(entry, ExportState.FAILED, owner=self.owner, error=str(error)[:1000])
            raise
        except RetryableError:
            self.x._ledger.release(entry, owner=self.owner)
            raise
        self.x._ledger.mark(entry, ExportState.CONFIRMED, owner=self.owner, fortnox_id=credit_number)
        return Outcome("credit", number, credit_number, "created")

    def _credit(self, upstream: str, fortnox_id: str, entry: LedgerEntry) -> str:
        invoice = self.client.invoices.get(fortnox_id)
        if invoice.ExternalInvoiceReference1 != export_reference(self.tenant.tenant_id, upstream):
            raise _not_ours(upstream, fortnox_id)
        already = _credit_reference(invoice.CreditInvoiceReference)
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
