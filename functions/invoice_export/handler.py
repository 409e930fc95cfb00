"""SQS -> one invoice, credit or customer event per record -> Fortnox, exactly once. Partial batch failures."""

import json
import re
from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import TypeAdapter, ValidationError

from fortnox_bridge import aws, settings, wiring
from fortnox_bridge.contracts.invoices import InvoiceEvent
from fortnox_bridge.events import InvoiceExportFailed
from fortnox_bridge.ids import TENANT_ID_PATTERN, TenantId
from fortnox_bridge.observability import logger, metrics, tracer
from fortnox_bridge.store.rejections import RejectionStore

settings.require(*settings.FORTNOX_CALLER, settings.PdfSettings)
processor = BatchProcessor(event_type=EventType.SQS)
TENANT_ID = re.compile(TENANT_ID_PATTERN)
EVENTS: TypeAdapter[Any] = TypeAdapter(InvoiceEvent)
IDEMPOTENCY = IdempotencyConfig(event_key_jmespath="[tenant_id, id]", expires_after_seconds=7 * 24 * 3600)


@cache
def _export_once() -> Any:
    """Powertools idempotency on (tenant, event id), on the state table, built on first use (no client at import)."""
    persistence = DynamoDBPersistenceLayer(
        table_name=settings.load(settings.TableSettings).table_name,
        key_attr="PK",
        sort_key_attr="SK",
        boto3_client=aws.dynamodb_client(),
    )

    def export(event: dict[str, Any]) -> dict[str, Any]:
        outcome = wiring.invoice_exporter().export(EVENTS.validate_python(event))
        return {
            "fortnox_document_number": outcome.fortnox_document_number,
            "action": outcome.action,
            "failed": outcome.failure is not None,
        }

    return idempotent_function(data_keyword_argument="event", config=IDEMPOTENCY, persistence_store=persistence)(export)


def _reject(record: SQSRecord, reason: str, tenant_id: str | None, event_id: str | None) -> None:
    RejectionStore(wiring.table()).record(
        source="invoice_export", message_id=record.message_id, tenant_id=tenant_id, body=record.body, reason=reason
    )
    if tenant_id is not None:
        wiring.publisher().publish(
            InvoiceExportFailed(
                tenant_id=TenantId(tenant_id),
                event_id=event_id or record.message_id,
                invoice_number=None,
                reason_sv=f"Händelsen avvisades: {reason}",
                reason_en=f"The event was refused: {reason}",
            )
        )
    metrics.add_metric(name="InvoiceEventRejected", unit="Count", value=1)
    logger.warning("invoice event rejected", extra={"message_id": record.message_id, "reason": reason})


def _reason(error: ValidationError) -> str:
    return "; ".join(f"{'.'.join(map(str, issue['loc']))}: {issue['msg']}" for issue in error.errors())


MAX_BODY_BYTES = 256 * 1024
"""What one SQS message can carry; a larger body means something tried to inline a PDF or the like."""


@tracer.capture_method
def record_handler(record: SQSRecord) -> None:
    size = len(record.body.encode())
    if size > MAX_BODY_BYTES:
        reason = f"the body is {size // 1024} KB; events are at most 256 KB (put PDFs in S3 and send bucket and key)"
        _reject(record, reason, None, None)
        return
    try:
        raw = json.loads(record.body)
    except ValueError as error:
        _reject(record, f"the body is not JSON ({error})", None, None)
        return
    tenant = raw.get("tenant_id") if isinstance(raw, dict) else None
    known_tenant = tenant if isinstance(tenant, str) and TENANT_ID.fullmatch(tenant) else None
    try:
        event = EVENTS.validate_python(raw)
    except ValidationError as error:
        event_id = raw.get("id") if isinstance(raw, dict) and isinstance(raw.get("id"), str) else None
        _reject(record, _reason(error), known_tenant, event_id)
        return
    _export_once()(event=event.model_dump(mode="json"))


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    wiring.lambda_context(context)
    IDEMPOTENCY.register_lambda_context(context)
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
