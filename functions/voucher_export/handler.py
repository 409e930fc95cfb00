"""SQS -> one closed sales day or ready-made journal per record -> one Fortnox voucher, exactly once. Partial batch
failures.

A record ends as on the invoice queue (``export/queue_work.py``): booked; refused for a reason a person can fix
(recorded in the export ledger with the event, so the same event works once the cause is fixed); refused for good;
or failed for a passing reason, recorded and published on its last delivery.
"""

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from fortnox_bridge import settings, wiring
from fortnox_bridge.contracts.intake import parse_voucher_event
from fortnox_bridge.contracts.sales import SalesDayClosed, VoucherReady
from fortnox_bridge.events import PublishedEvent, VoucherExportFailed
from fortnox_bridge.export.queue_work import QueueWork, Rejection
from fortnox_bridge.ids import TenantId
from fortnox_bridge.observability import logger, metrics, tracer
from fortnox_bridge.store.connections import Connection
from fortnox_bridge.store.idempotency import IDEMPOTENCY
from fortnox_bridge.store.tenant_reads import TenantReads
from fortnox_bridge.vouchers.exporter import business_key_of

settings.require(*settings.FORTNOX_CALLER, settings.QueueSettings)
processor = BatchProcessor(event_type=EventType.SQS)
VoucherEvent = SalesDayClosed | VoucherReady


class VoucherWork(QueueWork[VoucherEvent]):
    source = "voucher_export"
    noun = "voucher"
    id_namespace = "voucher:"
    """Voucher event ids are remembered apart from invoice event ids in the same company partition: two upstream
    systems (a till and an invoicing system) may each number their events from 1."""
    reused_hint = ("en ändrad eller ny dag eller verifikation", "a changed or new day or journal")

    def parse(self, body: str) -> VoucherEvent:
        return parse_voucher_event(body)

    def export(self, record: SQSRecord, event: VoucherEvent, reads: TenantReads) -> dict[str, Any] | None:
        outcome = wiring.voucher_exporter().export(event, reads.connection, body=record.body)
        if outcome.failure is not None:
            return None
        voucher = outcome.voucher
        return {"voucher": voucher.ledger_id if voucher else None, "action": outcome.action}

    def give_up(self, record: SQSRecord, event: VoucherEvent, cause: Exception) -> None:
        wiring.voucher_exporter().give_up(event, cause, body=record.body)

    def failed(self, rejection: Rejection, event_id: str) -> PublishedEvent:
        return VoucherExportFailed(
            tenant_id=TenantId(rejection.tenant_id or ""),
            event_id=event_id,
            business_key=rejection.names.get("business_key"),
            reason_sv=rejection.sv,
            reason_en=rejection.en,
        )

    def names(self, event: VoucherEvent, connection: Connection | None) -> dict[str, str | None]:
        return {"business_key": business_key_of(event)}


work = VoucherWork()


@tracer.capture_method
def record_handler(record: SQSRecord) -> None:
    work.handle(record)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    wiring.lambda_context(context)
    IDEMPOTENCY.register_lambda_context(context)
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
