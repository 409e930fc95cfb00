"""SQS -> one invoice, credit or customer event per record -> Fortnox, exactly once. Partial batch failures.

A record ends in one of four ways: exported (remembered, so a redelivery changes nothing); refused for a reason a
person can fix (explained by the exporter and acknowledged, but not remembered, so the same event works once the
cause is fixed); refused for good (a bad body, or an event id reused for other content: kept with its reason); or
failed for a passing reason (back to the queue, and on its last delivery the failure is recorded and published
before SQS moves it to the dead-letter queue).
"""

from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyValidationError,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from fortnox_bridge import aws, settings, wiring
from fortnox_bridge.contracts.intake import RefusedBody, parse_event
from fortnox_bridge.contracts.invoices import InvoiceEvent
from fortnox_bridge.events import InvoiceExportFailed
from fortnox_bridge.ids import TenantId
from fortnox_bridge.observability import logger, metrics, tracer
from fortnox_bridge.store.connections import ConnectionStore
from fortnox_bridge.store.idempotency import IDEMPOTENCY, EventRecords
from fortnox_bridge.store.rejections import RejectionStore

settings.require(*settings.FORTNOX_CALLER, settings.PdfSettings, settings.QueueSettings)
processor = BatchProcessor(event_type=EventType.SQS)


class _Refused(Exception):
    """Raised inside the idempotent call when the export was refused, so Powertools deletes its record."""


@cache
def _records() -> EventRecords:
    return EventRecords(aws.dynamodb_client(), settings.load(settings.TableSettings).table_name)


@cache
def _max_receive_count() -> int:
    return settings.load(settings.QueueSettings).max_receive_count


def _export(event: InvoiceEvent) -> None:
    def export(**_: Any) -> dict[str, Any]:
        outcome = wiring.invoice_exporter().export(event)
        if outcome.failure is not None:
            raise _Refused
        return {"fortnox_document_number": outcome.fortnox_document_number, "action": outcome.action}

    connection = ConnectionStore(wiring.table()).get(TenantId(event.tenant_id))
    if connection is None:
        # Never connected: the exporter refuses it, and there is no company whose records could hold it.
        wiring.invoice_exporter().export(event)
        return
    _records().once(TenantId(event.tenant_id), connection.fortnox_tenant_id, event.model_dump(mode="json"), export)


def _reject(
    record: SQSRecord, reason: str, tenant_id: str | None, event_id: str | None, invoice_number: str | None = None
) -> None:
    RejectionStore(wiring.table()).record(
        source="invoice_export", message_id=record.message_id, tenant_id=tenant_id, body=record.body, reason=reason
    )
    if tenant_id is not None:
        wiring.publisher().publish(
            InvoiceExportFailed(
                tenant_id=TenantId(tenant_id),
                event_id=event_id or record.message_id,
                invoice_number=invoice_number,
                reason_sv=f"Händelsen avvisades: {reason}",
                reason_en=f"The event was refused: {reason}",
            )
        )
    metrics.add_metric(name="InvoiceEventRejected", unit="Count", value=1)
    logger.warning("invoice event rejected", extra={"message_id": record.message_id, "reason": reason})


def _last_delivery(record: SQSRecord) -> bool:
    return int(record.attributes.get("ApproximateReceiveCount") or 1) >= _max_receive_count()


def _give_up(record: SQSRecord, event: InvoiceEvent, cause: Exception) -> None:
    """The last delivery failed: say so upstream before SQS moves the message to the dead-letter queue."""
    metrics.add_metric(name="InvoiceEventGivenUp", unit="Count", value=1)
    logger.error(
        "invoice event failed on its last delivery",
        extra={"message_id": record.message_id, "event_id": event.id, "cause": type(cause).__name__},
    )
    try:
        wiring.invoice_exporter().give_up(event, cause)
    except Exception:  # the message still goes to the dead-letter queue; the first failure is the one to raise
        logger.exception("the failure of the last delivery could not be recorded", extra={"event_id": event.id})


@tracer.capture_method
def record_handler(record: SQSRecord) -> None:
    try:
        event = parse_event(record.body)
    except RefusedBody as refused:
        _reject(record, refused.reason, refused.tenant_id, refused.event_id)
        return
    try:
        _export(event)
    except _Refused:
        return
    except IdempotencyValidationError:
        reason = (
            f"event id {event.id} was already used for an event with other content; a changed or new document "
            "needs a new event id"
        )
        _reject(record, reason, event.tenant_id, event.id, getattr(event.data, "invoice_number", None))
    except IdempotencyAlreadyInProgressError:
        raise  # another worker holds it; its outcome is the one that counts
    except Exception as error:
        if _last_delivery(record):
            _give_up(record, event, error)
        raise


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    wiring.lambda_context(context)
    IDEMPOTENCY.register_lambda_context(context)
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
