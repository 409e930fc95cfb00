"""One invoice, correction invoice or order: created once, finished step by step, updated while it can change.

Whenever an earlier attempt may have reached Fortnox we look for our marker (``ExternalInvoiceReference1``) first of
all, so nothing refuses an event whose document is there; and after a create whose answer was lost or replaced by a
server error we look again at once. Before any update the document read from Fortnox must carry our marker. The
Fortnox number is recorded the moment the create answers; attaching the PDF, bookkeeping and sending are steps a retry
finishes.
"""

import hashlib
import uuid
from collections.abc import Callable, Iterable
from typing import Literal

from fortnox_bridge.contracts.invoices import (
    CreditNoteReady,
    InvoiceData,
    InvoiceReady,
    S3ObjectRef,
)
from fortnox_bridge.errors import BadInputError, NeedsTenantActionError, RetryableError
from fortnox_bridge.export.builder import invoice_body, order_body
from fortnox_bridge.export.customers import upsert_customer
from fortnox_bridge.export.explanations import (
    AwaitingInvoice,
    already_fully_credited,
    corrected_by_credit_notes,
    exported_as_order,
    not_ours,
    number_of_the_other_kind,
    other_currency,
    refusal,
)
from fortnox_bridge.export.instants import instant
from fortnox_bridge.export.outcome import Action, Document, Outcome, explanation_of
from fortnox_bridge.export.references import credit_reference, export_reference, is_ours
from fortnox_bridge.export.stores import LEASE, ExportStores
from fortnox_bridge.fortnox.client import FortnoxClient
from fortnox_bridge.fortnox.errors import (
    FortnoxBadRequest,
    FortnoxError,
    FortnoxNotFound,
    FortnoxRateLimited,
)
from fortnox_bridge.fortnox.models.files import AttachmentWrite
from fortnox_bridge.fortnox.models.invoices import Invoice, InvoiceListItem, InvoiceWrite
from fortnox_bridge.fortnox.models.orders import Order, OrderListItem, OrderWrite
from fortnox_bridge.fortnox.retry import IN_DOUBT
from fortnox_bridge.mapping.rules import TenantMapping
from fortnox_bridge.observability import logger
from fortnox_bridge.store.ledger import ExportScope, ExportState, Form, LedgerEntry, Step
from fortnox_bridge.store.tenants import Tenant

_DONE_OR_IN_DOUBT: tuple[type[FortnoxError], ...] = (FortnoxBadRequest, *IN_DOUBT)
"""How a step that may have taken effect fails: refused as already done (a repeat), or in doubt."""


def content_digest(body: InvoiceWrite | OrderWrite) -> str:
    """What an update would change in Fortnox: the body, without the number (an update never sends it) and the
    correction link (read from Fortnox, and fixed by the ledger). Settings that shape no body (PDF, bookkeeping,
    sending) are not in it, so switching them never makes an unchanged document look changed."""
    content = body.model_dump_json(exclude={"DocumentNumber", "CreditInvoiceReference"})
    return hashlib.sha256(f"{type(body).__name__}:{content}".encode()).hexdigest()


def _source(pdf: S3ObjectRef) -> str:
    return f"{pdf.bucket}/{pdf.key}"


class DocumentExport:
    """One invoice, correction invoice or order: created once, finished step by step, updated while it can change."""

    def __init__(
        self,
        stores: ExportStores,
        client: FortnoxClient,
        tenant: Tenant,
        scope: ExportScope,
        event: InvoiceReady | CreditNoteReady,
    ) -> None:
        self.stores = stores
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
        self.occurred_at = instant(event.occurred_at)
        self.number: str | None = None
        """The Fortnox document, once known."""
        self.pending: list[Step] = []
        self.action: Action | None = None
        self.pdf: bytes | None = None
        self.pdf_file_id: str | None = None
        """The PDF's file in the Fortnox archive, once uploaded."""
        self.pdf_source = _source(self.data.pdf) if self.data.pdf is not None and self.settings.attach_pdf else None
        """The PDF this event asks to attach."""
        self.credit_notes: list[str] = []
        """On an invoice: the upstream credit notes that correct it."""

    @property
    def document(self) -> Document:
        return "order" if self.form == "order" else self.kind

    def run(self) -> Outcome:
        mapping = self.stores.mappings.get(self.tenant.tenant_id)
        entry = self.stores.ledger.claim(
            self.scope, self.kind, self.data.invoice_number, owner=self.owner, lease=LEASE, reopen=True
        )
        self.number = entry.fortnox_id
        self.pending = list(entry.pending_steps)
        self.pdf_file_id = entry.pdf_file_id
        self.form = self._form(entry)
        self.credit_notes = [note.business_key for note in self.stores.ledger.live_credit_notes(entry)]
        try:
            return self._settle(entry, mapping)
        except (NeedsTenantActionError, BadInputError) as error:
            return self._refused(entry, error)
        except Exception:
            # Whatever else stopped this worker (worth retrying, or not known to be: our own credentials, an AWS
            # fault, a bug), it acts on the document no more, and the entry already says what may have happened
            # (``sent`` before a create): the next attempt need not wait out the lease.
            self.stores.ledger.release(entry, owner=self.owner)
            raise

    def _form(self, entry: LedgerEntry) -> Form:
        """A document keeps the form it was created in: turning orders on or off never makes it again in the other
        form (that would invoice it twice); the setting decides for documents not yet sent."""
        if self.kind == "credit_note":
            return "invoice"
        if entry.form is not None and (entry.fortnox_id or entry.state in {ExportState.SENT, ExportState.CREATED}):
            return entry.form
        return "order" if self.settings.create_orders else "invoice"

    def _settle(self, entry: LedgerEntry, mapping: TenantMapping) -> Outcome:
        current: Invoice | Order | None = None
        applied_hash = entry.content_hash
        looked = self.number is None and (entry.attempts > 1 or entry.state is ExportState.SENT)
        if looked:
            # Before anything can refuse the event (its PDF gone, its mapping changed since): a document an earlier
            # attempt made is reported as existing, with what is left to do, never as failed.
            current, applied_hash = self._look_back(entry)
        body = self._body(mapping)
        digest = content_digest(body)
        new_pdf = entry.fortnox_id is not None and self.pdf_source is not None and entry.pdf_source != self.pdf_source
        if self.number and entry.state is ExportState.CONFIRMED and entry.content_hash == digest and not new_pdf:
            self._upsert_customer()
            self.stores.ledger.mark(entry, ExportState.CONFIRMED, owner=self.owner)
            return self._outcome("unchanged")
        if self.number and entry.applied_at is not None and self.occurred_at < instant(entry.applied_at):
            return self._superseded(entry)
        if isinstance(body, InvoiceWrite) and isinstance(self.event, CreditNoteReady):
            body = self._correcting(body)
        planned = self._planned_steps()
        if self._needs_pdf(planned) or new_pdf:
            self._read_pdf()
        self._upsert_customer()
        if self.number is not None and not looked:
            current = self._read_ours(self.number)
            if current is None:
                self._forget(entry)
                current, applied_hash = self._look_back(entry)
        if self.number is None:
            self.stores.ledger.mark(
                entry,
                ExportState.SENT,
                owner=self.owner,
                form=self.form,
                content_hash=digest,
                pending_steps=planned,
                pdf_source=self.pdf_source if "attach_pdf" in planned else None,
            )
            try:
                self.number = self._create(body)
            except FortnoxRateLimited:
                # Refused before Fortnox did anything: nothing was sent after all, and the ledger must not say so.
                self.stores.ledger.mark(entry, ExportState.CLAIMED, owner=self.owner)
                raise
            self.pending = planned
            self.action = "created"
            self._record(entry, digest, final=not self.pending)
        else:
            if applied_hash != digest:
                self._update(self.number, body, current)
                self.action = self.action or "updated"
            if new_pdf:
                self._attach_again()
            if applied_hash != digest or new_pdf or not self.pending:
                self._record(entry, digest, final=not self.pending)
        if self.pending:
            self._finish(entry, current)
            self.stores.ledger.mark(entry, ExportState.CONFIRMED, owner=self.owner, pending_steps=[])
        return self._outcome(self.action or ("created" if entry.state is ExportState.CREATED else "unchanged"))

    def _look_back(self, entry: LedgerEntry) -> tuple[Invoice | Order | None, str | None]:
        """The document an earlier create made without our hearing of it, as read, and the content it was made with
        (known when the entry says what was sent); none of its steps ran."""
        self.number = self._find()
        if self.number is None:
            return None, None
        current = self._read_ours(self.number)
        self.pending = self._planned_steps()
        self.action = "created"
        applied_hash = entry.content_hash if entry.state is ExportState.SENT else None
        self._record(entry, applied_hash, final=False)
        return current, applied_hash

    def _upsert_customer(self) -> None:
        upsert_customer(self.client, self.stores.hashes, self.scope, self.data.customer, self.occurred_at)

    def _attach_again(self) -> None:
        """The event names another PDF than the one attached (a changed invoice comes with its regenerated PDF): it
        is uploaded and attached too, as the first pending step, so the document never goes out with only the old
        one and a retry still finishes it."""
        self.pdf_file_id = None
        self.pending = ["attach_pdf", *(step for step in self.pending if step != "attach_pdf")]
        self.action = self.action or "updated"

    def _record(self, entry: LedgerEntry, content_hash: str | None, *, final: bool) -> None:
        """The document is in Fortnox: its number is written the moment it is known, before any step can fail."""
        self.stores.ledger.mark(
            entry,
            ExportState.CONFIRMED if final else ExportState.CREATED,
            owner=self.owner,
            fortnox_id=self.number,
            form=self.form,
            content_hash=content_hash,
            applied_at=self.occurred_at if content_hash is not None else None,
            pending_steps=self.pending,
            pdf_source=self.pdf_source if "attach_pdf" in self.pending else None,
            forget_pdf_file=self.pdf_file_id is None,
        )

    def _superseded(self, entry: LedgerEntry) -> Outcome:
        logger.info(
            "older event superseded",
            extra={"tenant_id": self.tenant.tenant_id, "event_id": self.event.id, "document": self.number},
        )
        if self.pending and self.number is not None:
            self._finish(entry, self._read_ours(self.number))
        self.stores.ledger.mark(
            entry, ExportState.CONFIRMED, owner=self.owner, superseded_event_id=self.event.id, pending_steps=[]
        )
        return self._outcome("superseded")

    def _refused(self, entry: LedgerEntry, error: NeedsTenantActionError | BadInputError) -> Outcome:
        explanation = explanation_of(error)
        if self.number is None:
            state = ExportState.FAILED
        else:
            state = ExportState.CREATED if self.pending else ExportState.CONFIRMED
        self.stores.ledger.mark(
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
        own = f"{self.tenant.tenant_id}/"
        try:
            if not self.data.pdf.key.startswith(own):
                # The bucket is shared by every tenant: one tenant's event must never put another's PDF on its
                # invoice, so each reads under its own prefix only.
                raise BadInputError(f"a tenant's PDFs are read under {own} only, not {self.data.pdf.key}")
            self.pdf = self.stores.read_pdf(self.data.pdf)
        except BadInputError as error:
            raise refusal(
                # The detail (where it was looked for, what S3 said) is English and stays in the English text.
                f"PDF-filen för faktura {self.data.invoice_number} kan inte läsas där händelsen säger att den finns. "
                "Lägg filen där och skicka händelsen igen.",
                f"The PDF of invoice {self.data.invoice_number} cannot be read ({error.message}). Put the file "
                "where the event says and send the event again.",
            ) from None
        return self.pdf

    @property
    def _manual(self) -> bool:
        """With upstream numbering, Fortnox must never pick a correction invoice's number: it could be one upstream
        uses later (seed 000). Such corrections go as manual ones, numbered upstream and not linked."""
        return self.kind == "credit_note" and (
            self.settings.always_manual_correction or self.settings.numbering == "upstream"
        )

    def _body(self, mapping: TenantMapping) -> InvoiceWrite | OrderWrite:
        """The body as the event and mapping shape it; a correction's link to its invoice is added before writing."""
        if self.form == "order" and isinstance(self.data, InvoiceData):
            return order_body(self.data, mapping, reference=self.reference)
        upstream_number = self.settings.numbering == "upstream" and (self.kind == "invoice" or self._manual)
        return invoice_body(
            self.data,
            mapping,
            reference=self.reference,
            document_number=self.data.invoice_number if upstream_number else None,
        )

    def _correcting(self, body: InvoiceWrite) -> InvoiceWrite:
        """A credit note, linked or manual, corrects an invoice that must allow it; a linked one names it."""
        corrected = self._corrected_invoice()
        return body if self._manual else body.model_copy(update={"CreditInvoiceReference": corrected})

    def _corrected_invoice(self) -> str:
        """The Fortnox invoice a credit note corrects: exported in this company, as an invoice, ours, not credited in
        full, and in the credit note's currency; a credit note for an invoice not exported yet waits for it. The
        credit note is recorded on the invoice's entry before it is made, so a later full credit or change of the
        invoice sees it."""
        assert isinstance(self.event, CreditNoteReady)
        credited = self.event.data.credits_invoice_number
        original = self.stores.ledger.get(self.scope, "invoice", credited)
        if original is not None and original.form == "order" and original.fortnox_id:
            raise exported_as_order(credited, original.fortnox_id)
        if original is None or original.fortnox_id is None:
            raise AwaitingInvoice(credited)
        invoice = self.client.invoices.get(original.fortnox_id)
        if not is_ours(invoice, export_reference(self.tenant.tenant_id, credited), credit=False):
            raise not_ours(credited, original.fortnox_id)
        full_credit = credit_reference(invoice.CreditInvoiceReference)
        if full_credit is not None and full_credit not in self._own_credit_documents(original):
            raise already_fully_credited(credited, original.fortnox_id, full_credit)
        if invoice.Currency is not None and invoice.Currency != self.data.currency:
            raise other_currency(self.data.invoice_number, self.data.currency, credited, invoice.Currency)
        self.stores.ledger.link_credit_note(self.scope, credited, self.data.invoice_number)
        return original.fortnox_id

    def _own_credit_documents(self, original: LedgerEntry) -> set[str]:
        """The Fortnox numbers of the credit notes that correct the invoice, this one among them: Fortnox may name
        a correction invoice in the original's CreditInvoiceReference (not verified), and that is no full credit."""
        notes = self.stores.ledger.live_credit_notes(original)
        return {number for number in (self.number, *(note.fortnox_id for note in notes)) if number}

    def _read_ours(self, number: str) -> Invoice | Order | None:
        """The document as Fortnox has it, or None when it is not ours: without our marker (made by someone else, or
        in another company), or of the other kind (an invoice and a credit note may share an upstream number)."""
        try:
            current: Invoice | Order = (
                self.client.orders.get(number) if self.form == "order" else self.client.invoices.get(number)
            )
        except FortnoxNotFound:
            return None
        if isinstance(current, Invoice):
            return current if is_ours(current, self.reference, credit=self.kind == "credit_note") else None
        return current if current.ExternalInvoiceReference1 == self.reference else None

    def _forget(self, entry: LedgerEntry) -> None:
        logger.warning(
            "the ledger named a Fortnox document without our marker; treated as not exported",
            extra={"tenant_id": self.tenant.tenant_id, "document": self.number},
        )
        self.stores.ledger.mark(entry, ExportState.CLAIMED, owner=self.owner, forget_fortnox_id=True)
        self.number = None
        self.pending = []
        self.pdf_file_id = None

    def _find(self) -> str | None:
        """Our marker, compared exactly (Fortnox searches references by substring), on a document of our kind: an
        upstream invoice and credit note may share a number, and a full credit carries its invoice's marker. The
        list does not say which kind a document is, so each match is read; this runs only when an earlier attempt
        may have created the document."""
        listed: Iterable[InvoiceListItem | OrderListItem] = (
            self.client.orders.list(externalinvoicereference1=self.reference)
            if self.form == "order"
            else self.client.invoices.list(externalinvoicereference1=self.reference)
        )
        marked = sorted(
            (
                row.DocumentNumber
                for row in listed
                if row.ExternalInvoiceReference1 == self.reference and row.DocumentNumber
            ),
            key=int,
        )
        matches = marked if self.form == "order" else [number for number in marked if self._read_ours(number)]
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
        except IN_DOUBT:
            # Fortnox may have created it (the answer was lost, or a server error took its place). Look before
            # anyone tries again: on the last delivery nobody else would.
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
        if is_ours(existing, self.reference, credit=self.kind == "credit_note"):
            return number
        if existing.ExternalInvoiceReference1 == self.reference:
            raise number_of_the_other_kind(self.data.invoice_number, number, credit=self.kind == "credit_note")
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
            if credit_reference(order.InvoiceReference) is not None or order.Cancelled:
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
        if self.credit_notes:
            raise corrected_by_credit_notes(upstream, number, self.credit_notes)
        credit = credit_reference(invoice.CreditInvoiceReference)
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
                self._unless_done(lambda: self.client.invoices.bookkeep(self.number or ""), "Booked")
            elif step == "send" and not (isinstance(current, Invoice) and current.Sent):
                self._unless_done(self._send, "Sent")
            self.pending.remove(step)
            if self.pending:
                self.stores.ledger.mark(entry, ExportState.CREATED, owner=self.owner, pending_steps=self.pending)

    def _unless_done(self, step: Callable[[], object], flag: Literal["Booked", "Sent"]) -> None:
        """Take a step, and when Fortnox refuses it, look whether it took effect after all: the client repeats a
        bookkeep or send whose answer was lost, and the repeat is refused as already done (in words no public source
        pins down, so the invoice is read rather than the code trusted). A step left in doubt (an e-mail is not
        repeated) is looked at the same way."""
        try:
            step()
        except _DONE_OR_IN_DOUBT:
            if not getattr(self.client.invoices.get(self.number or ""), flag):
                raise

    def _attach(self, entry: LedgerEntry, *, resumed: bool) -> None:
        """Upload once (the file id is kept), then attach, included when Fortnox sends the invoice."""
        assert self.number is not None
        order = self.form == "order"
        entity_type = "O" if order else "F"
        if self.pdf_file_id is None:
            # An earlier attempt of this very PDF may have uploaded it and failed to find out: look first then (a new
            # PDF, or the first attempt, has nothing to find and costs no listing).
            tried = resumed and entry.pdf_source is not None and entry.pdf_source == self.pdf_source
            self.pdf_file_id = self._stored_pdf("inbox_o" if order else "inbox_kf", entity_type, look_first=tried)
            if self.pdf_file_id is None:
                return
            self.stores.ledger.mark(entry, ExportState.CREATED, owner=self.owner, pdf_file_id=self.pdf_file_id)
        elif resumed and self._attached(entity_type):
            return
        try:
            self.client.file_attachments.attach(
                [
                    AttachmentWrite(
                        entityId=int(self.number), entityType=entity_type, fileId=self.pdf_file_id, includeOnSend=True
                    )
                ]
            )
        except IN_DOUBT:
            if not self._attached(entity_type):
                raise

    def _stored_pdf(self, folder: str, entity_type: str, *, look_first: bool) -> str | None:
        """The archive file id of the PDF in the folder, not yet attached to the document. An upload answered with
        a server error or not at all may have stored the file, and so may an earlier attempt whose look failed
        (``look_first``); uploading again would leave the tenant's inbox a second copy."""
        name, pdf = f"{self.data.invoice_number}.pdf", self._read_pdf()
        found = self._unattached_copy(folder, name, pdf, entity_type) if look_first else None
        if found is not None:
            return found
        try:
            uploaded = self.client.inbox.upload(name, pdf, folder=folder)
        except IN_DOUBT:
            found = self._unattached_copy(folder, name, pdf, entity_type)
            if found is None:
                raise
            return found
        return uploaded.ArchiveFileId or None

    def _unattached_copy(self, folder: str, name: str, pdf: bytes, entity_type: str) -> str | None:
        """A file of the folder with this PDF's name and bytes that the document does not have attached yet (a
        file row has no date; a regenerated PDF of the same invoice has the same name and may have the same size,
        so the bytes decide, and a copy already attached is the PDF before this one, not the upload in doubt)."""
        assert self.number is not None
        attached = {row.fileId for row in self.client.file_attachments.for_entity(int(self.number), entity_type)}
        candidates = [
            row
            for row in self.client.inbox.folder(folder).Files
            if row.Name == name and row.Size == len(pdf) and row.Id and row.ArchiveFileId not in (None, *attached)
        ]
        return next((row.ArchiveFileId for row in candidates if self.client.inbox.content(row.Id or "") == pdf), None)

    def _attached(self, entity_type: str) -> bool:
        assert self.number is not None
        return any(
            attachment.fileId == self.pdf_file_id
            for attachment in self.client.file_attachments.for_entity(int(self.number), entity_type)
        )

    def _send(self) -> None:
        assert self.number is not None
        if self.settings.send == "externalprint":
            self.client.invoices.external_print(self.number)
        elif self.settings.send == "email":
            self.client.invoices.email(self.number)
