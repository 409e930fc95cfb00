"""SQS -> one invoice, credit or customer event per record -> Fortnox, exactly once. Partial batch failures; two
records in flight (``export/in_flight.py``).

How a record ends (exported, refused for a fixable reason, refused for good, or failed for a passing reason) is the
same on every export queue: ``export/queue_work.py``. This module says what an invoice event is and whom it goes to.
"""

from typing import Any

from aws_lambda_powertools.utilities.batch import EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from fortnox_bridge import settings, wiring
from fortnox_bridge.contracts.intake import RefusedBody, parse_event
from fortnox_bridge.contracts.invoices import CreditNoteReady, CustomerUpserted, InvoiceCredited, InvoiceReady
from fortnox_bridge.events import InvoiceExportFailed, PublishedEvent
from fortnox_bridge.export.in_flight import InFlightBatchProcessor
from fortnox_bridge.export.queue_work import QueueWork, Rejection
from fortnox_bridge.ids import TenantId
from fortnox_bridge.observability import in_this_trace, logger, metrics, tracer
from fortnox_bridge.store.connections import Connection
from fortnox_bridge.store.idempotency import IDEMPOTENCY
from fortnox_bridge.store.tenant_reads import TenantReads

settings.require(*settings.FORTNOX_CALLER, settings.PdfSettings, settings.QueueSettings)
processor = InFlightBatchProcessor(event_type=EventType.SQS)
Invoice = InvoiceReady | CreditNoteReady | InvoiceCredited | CustomerUpserted


class InvoiceWork(QueueWork[Invoice]):
    source = "invoice_export"
    noun = "invoice"
    reused_hint = ("ett ändrat eller nytt dokument", "a changed or new document")

    def parse(self, body: str) -> Invoice:
        event: Invoice = parse_event(body)
        return event

    def read(self, event: Invoice) -> TenantReads:
        return wiring.invoice_exporter().read(event)

    def export(self, record: SQSRecord, event: Invoice, reads: TenantReads) -> dict[str, Any] | None:
        outcome = wiring.invoice_exporter().export(event, reads.connection, reads)
        if outcome.failure is not None:
            return None
        return {"fortnox_document_number": outcome.fortnox_document_number, "action": outcome.action}

    def give_up(self, record: SQSRecord, event: Invoice, cause: Exception) -> None:
        wiring.invoice_exporter().give_up(event, cause)

    def failed(self, rejection: Rejection, event_id: str) -> PublishedEvent:
        return InvoiceExportFailed(
            tenant_id=TenantId(rejection.tenant_id or ""),
            event_id=event_id,
            invoice_number=rejection.names.get("invoice_number"),
            reason_sv=rejection.sv,
            reason_en=rejection.en,
            fortnox_document_number=rejection.names.get("fortnox_document_number"),
        )

    def names(self, event: Invoice, connection: Connection | None) -> dict[str, str | None]:
        document = None if connection is None else wiring.invoice_exporter().known_document(event, connection)
        return {
            "invoice_number": getattr(getattr(event, "data", None), "invoice_number", None),
            "fortnox_document_number": document,
        }

    def names_of_body(self, refused: RefusedBody) -> dict[str, str | None]:
        return {"invoice_number": refused.invoice_number}


work = InvoiceWork()


@tracer.capture_method
def record_handler(record: SQSRecord) -> bool:
    """Whether the record's event is in Fortnox: a record that is not tells the lanes to plan again
    (``InFlightBatchProcessor``)."""
    return work.handle(record)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    wiring.lambda_context(context)
    IDEMPOTENCY.register_lambda_context(context)
    # Two records at a time, each after the earlier ones changing what it names (export/in_flight.py); each lane
    # traces under this invocation's handler.
    return process_partial_response(
        event=event, record_handler=in_this_trace(record_handler), processor=processor, context=context
    )
