"""Invoice export, exactly once, without idempotency keys from Fortnox.

Everything the export remembers is scoped to (tenant, Fortnox company): a tenant that reconnects to another company
starts clean there. The ledger holds one entry per upstream document under a lease. ``document`` creates, finishes
and updates invoices, correction invoices and orders; ``credit`` makes full credits. This module takes one event to
the right one and tells upstream what came of it.
"""

from collections.abc import Callable
from dataclasses import replace

from fortnox_bridge.contracts.invoices import (
    CreditNoteReady,
    CustomerUpserted,
    InvoiceCredited,
    InvoiceEvent,
    InvoiceReady,
    S3ObjectRef,
)
from fortnox_bridge.errors import BadInputError, NeedsTenantActionError, RetryableError
from fortnox_bridge.events import EventPublisher, InvoiceExported, InvoiceExportFailed
from fortnox_bridge.export.credit import FullCredit
from fortnox_bridge.export.customers import CustomerHashes, upsert_customer
from fortnox_bridge.export.document import DocumentExport
from fortnox_bridge.export.explanations import Explanation, gave_up, refusal
from fortnox_bridge.export.outcome import Document, Outcome, explanation_of
from fortnox_bridge.export.stores import ExportStores
from fortnox_bridge.fortnox.client import FortnoxClient
from fortnox_bridge.ids import TenantId
from fortnox_bridge.observability import logger
from fortnox_bridge.store.connections import Connection, ConnectionState, ConnectionStore
from fortnox_bridge.store.ledger import ExportLedger, ExportScope, ExportState, LedgerEntry
from fortnox_bridge.store.mappings import MappingStore
from fortnox_bridge.store.tenant_reads import TenantReader, TenantReads
from fortnox_bridge.store.tenants import Tenant, TenantStore, UnknownTenant


class InvoiceExporter:
    def __init__(
        self,
        *,
        tenants: TenantStore,
        connections: ConnectionStore,
        ledger: ExportLedger,
        hashes: CustomerHashes,
        mappings: MappingStore,
        reader: TenantReader,
        publisher: EventPublisher,
        client_for: Callable[[Connection], FortnoxClient],
        read_pdf: Callable[[S3ObjectRef], bytes],
    ) -> None:
        self._tenants = tenants
        self._connections = connections
        self._reader = reader
        self._ledger = ledger
        self._stores = ExportStores(ledger, hashes, mappings, read_pdf)
        self._publisher = publisher
        self._client_for = client_for

    def read(self, event: InvoiceEvent) -> TenantReads:
        """What the event's export needs of its tenant, in one read (``store/tenant_reads.py``)."""
        return self._reader.read(TenantId(event.tenant_id), _customer_of(event))

    def export(
        self, event: InvoiceEvent, connection: Connection | None = None, reads: TenantReads | None = None
    ) -> Outcome:
        """Export one event. Retryable failures raise; everything a person must fix is recorded, published and
        returned as a failed outcome, so the message is not retried in vain.

        ``connection`` is the one the caller filed the event under (its idempotency record): the export goes to
        that company or nowhere, so a reconnect landing in between cannot send it to one company while it is
        remembered as done in the other. ``reads``, when the caller has them, is the tenant as read at the start
        of the record (``read``), with that same connection: nothing of it is read again."""
        number = _number_of(event)
        scope: ExportScope | None = None
        stores = self._stores
        try:
            if reads is not None and reads.mapping_read:
                if reads.profile is None:
                    raise UnknownTenant(f"no tenant {event.tenant_id}")
                tenant, connection = reads.profile, reads.connection
                stores = self._read_ahead(reads)
            else:
                tenant = self._tenants.require(TenantId(event.tenant_id))
                connection = connection or self._connections.get(tenant.tenant_id)
            if connection is None or connection.state is not ConnectionState.CONNECTED:
                raise refusal(
                    "Fortnox är inte anslutet för den här kunden. Anslut via länken från tjänsten.",
                    "Fortnox is not connected for this tenant. Connect it through the link from the service.",
                )
            scope = ExportScope(tenant.tenant_id, connection.fortnox_tenant_id)
            with self._client_for(connection) as client:
                outcome = self._dispatch(client, stores, tenant, scope, event)
        except RetryableError:
            raise
        except (NeedsTenantActionError, BadInputError) as error:
            outcome = Outcome(None, number, None, None, failure=explanation_of(error))
        if scope is not None and outcome.failure is not None and outcome.fortnox_document_number is None:
            self._keep_refusal(scope, event, outcome.failure)
        self._publish(event, outcome)
        return outcome

    def _read_ahead(self, reads: TenantReads) -> ExportStores:
        stores = self._stores
        hashes = stores.hashes if reads.customer is None else stores.hashes.read_ahead(reads.tenant_id, reads.customer)
        mappings = stores.mappings.read_ahead(reads.tenant_id, reads.mapping)
        return replace(stores, hashes=hashes, mappings=mappings)

    def _keep_refusal(self, scope: ExportScope, event: InvoiceEvent, failure: Explanation) -> None:
        """A refused document not in Fortnox is kept failed with its explanation and the event, so the bookkeeper
        sees the fix and can send it again (``export/review.py``)."""
        kind, number = _ledger_kind(event), _number_of(event)
        if kind is not None and number is not None:
            self._ledger.record_refusal(
                scope, kind, number, explanation=failure, event_body=event.model_dump_json(by_alias=True)
            )

    def give_up(self, event: InvoiceEvent, cause: Exception) -> Outcome:
        """The last attempt of a message that kept failing in ways worth retrying: record the cause in the ledger
        and tell upstream, without calling Fortnox. A document that exists is reported with what is still pending,
        never as failed."""
        number = _number_of(event)
        kind = _ledger_kind(event)
        entry: LedgerEntry | None = None
        connection = self._connections.get(TenantId(event.tenant_id))
        if connection is not None and kind is not None and number is not None:
            scope = ExportScope(TenantId(event.tenant_id), connection.fortnox_tenant_id)
            entry = self._ledger.record_failure(scope, kind, number, str(cause)[:1000])
            if entry is None:
                # Another worker holds the document and will report its own event; this one is still told about,
                # or it would reach the dead-letter queue with nobody knowing.
                logger.info(
                    "gave up while another worker holds the document",
                    extra={"tenant_id": event.tenant_id, "event_id": event.id},
                )
                entry = self._ledger.get(scope, kind, number)
        explanation = gave_up(cause, may_exist=entry is not None and entry.state is ExportState.SENT)
        if connection is not None and entry is not None and entry.state is ExportState.FAILED:
            self._keep_refusal(entry.scope, event, explanation)
        document = _document_of(event, entry)
        if entry is not None and entry.fortnox_id is not None and entry.pending_steps:
            outcome = Outcome(document, number, entry.fortnox_id, "created", explanation, tuple(entry.pending_steps))
        else:
            outcome = Outcome(document, number, entry.fortnox_id if entry else None, None, failure=explanation)
        self._publish(event, outcome)
        return outcome

    def known_document(self, event: InvoiceEvent, connection: Connection) -> str | None:
        """The Fortnox number of the document the event is about, as the ledger knows it in the connection's
        company: a refusal of an event whose document exists must say that it exists."""
        kind, number = _ledger_kind(event), _number_of(event)
        if kind is None or number is None:
            return None
        entry = self._ledger.get(ExportScope(TenantId(event.tenant_id), connection.fortnox_tenant_id), kind, number)
        return entry.fortnox_id if entry is not None else None

    def _publish(self, event: InvoiceEvent, outcome: Outcome) -> None:
        """A document that exists is ``invoice.exported`` (with what is still pending and why, if anything is);
        anything else not done is ``invoice.export_failed``."""
        tenant = TenantId(event.tenant_id)
        failure, document, number = outcome.failure, outcome.document, outcome.fortnox_document_number
        if failure is not None:
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
        pending = failure if outcome.pending_steps else None
        if document is not None and number is not None and (failure is None or pending is not None):
            if outcome.action is None and pending is None:
                return
            self._publisher.publish(
                InvoiceExported(
                    tenant_id=tenant,
                    event_id=event.id,
                    invoice_number=outcome.invoice_number or "",
                    document=document,
                    fortnox_document_number=number,
                    action=outcome.action or "created",
                    pending_steps=list(outcome.pending_steps),
                    pending_reason_sv=pending.sv if pending else None,
                    pending_reason_en=pending.en if pending else None,
                    fortnox_code=pending.code if pending else None,
                )
            )
        elif failure is not None:
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

    def _dispatch(
        self, client: FortnoxClient, stores: ExportStores, tenant: Tenant, scope: ExportScope, event: InvoiceEvent
    ) -> Outcome:
        if isinstance(event, CustomerUpserted):
            upsert_customer(client, stores.hashes, scope, event.data, event.occurred_at)
            return Outcome(None, None, None, None)
        if isinstance(event, InvoiceCredited):
            return FullCredit(stores, client, tenant, scope, event).run()
        return DocumentExport(stores, client, tenant, scope, event).run()


def _number_of(event: InvoiceEvent) -> str | None:
    if isinstance(event, CustomerUpserted):
        return None
    return event.data.invoice_number


def _customer_of(event: InvoiceEvent) -> str | None:
    """The customer whose hash the export compares, read with the tenant; a full credit names none."""
    if isinstance(event, CustomerUpserted):
        return event.data.customer_number
    if isinstance(event, InvoiceReady | CreditNoteReady):
        return event.data.customer.customer_number
    return None


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
