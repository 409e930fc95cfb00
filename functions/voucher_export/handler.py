"""SQS -> one closed sales day or ready-made journal per record -> one Fortnox voucher, exactly once. Partial batch
failures.

A record ends in one of four ways, as on the invoice queue: booked (remembered, so a redelivery changes nothing);
refused for a reason a person can fix (recorded in the export ledger with the event, explained, acknowledged, not
remembered as handled, so the same event works once the cause is fixed); refused for good (a bad body, an event id
reused for other content, a tenant nobody knows: kept with its reason); or failed for a passing reason (back to the
queue, and on its last delivery the failure is recorded and published before SQS moves it to the dead-letter queue).
"""

from dataclasses import dataclass
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
from fortnox_bridge.contracts.intake import RefusedBody, parse_voucher_event
from fortnox_bridge.contracts.sales import SalesDayClosed, VoucherReady
from fortnox_bridge.events import VoucherExportFailed
from fortnox_bridge.ids import TenantId
from fortnox_bridge.observability import logger, metrics, tracer
from fortnox_bridge.store.connections import Connection, ConnectionStore
from fortnox_bridge.store.idempotency import IDEMPOTENCY, EventRecords
from fortnox_bridge.store.rejections import RejectionStore
from fortnox_bridge.store.tenants import TenantStore
from fortnox_bridge.vouchers.exporter import business_key_of

settings.require(*settings.FORTNOX_CALLER, settings.QueueSettings)
processor = BatchProcessor(event_type=EventType.SQS)

ID_NAMESPACE = "voucher:"
"""Voucher event ids are remembered apart from invoice event ids in the same company partition: two upstream
systems (a till and an invoicing system) may each number their events from 1."""

VoucherEvent = SalesDayClosed | VoucherReady


class _Refused(Exception):
    """Raised inside the idempotent call when the export was refused, so Powertools deletes its record."""


@dataclass(frozen=True)
class _Rejection:
    """Why a message is refused for good (``reason``, kept with the body), in Swedish, and what it names validly."""

    reason: str
    sv: str
    tenant_id: str | None
    event_id: str | None
    business_key: str | None = None

    @property
    def en(self) -> str:
        return f"The event was refused: {self.reason}"


@cache
def _records() -> EventRecords:
    return EventRecords(aws.dynamodb_client(), settings.load(settings.TableSettings).table_name)


@cache
def _max_receive_count() -> int:
    return settings.load(settings.QueueSettings).max_receive_count


def _export(record: SQSRecord, event: VoucherEvent, connection: Connection | None) -> None:
    def export(**_: Any) -> dict[str, Any]:
        outcome = wiring.voucher_exporter().export(event, connection, body=record.body)
        if outcome.failure is not None:
            raise _Refused
        voucher = outcome.voucher
        return {"voucher": voucher.ledger_id if voucher else None, "action": outcome.action}

    if connection is None:
        # Never connected: the exporter refuses it, and there is no company whose records could hold it.
        wiring.voucher_exporter().export(event, body=record.body)
        return
    remembered = {**event.model_dump(mode="json"), "id": f"{ID_NAMESPACE}{event.id}"}
    _records().once(TenantId(event.tenant_id), connection.fortnox_tenant_id, remembered, export)


def _bad_body(refused: RefusedBody) -> _Rejection:
    return _Rejection(
        reason=refused.reason,
        sv=f"Händelsen avvisades (detaljerna på engelska): {refused.reason}",
        tenant_id=refused.tenant_id,
        event_id=refused.event_id,
    )


def _unknown_tenant(event: VoucherEvent) -> _Rejection:
    return _Rejection(
        reason=f"no tenant {event.tenant_id} is known to the bridge; check tenant_id",
        sv=f"Händelsen avvisades: ingen kund med tenant_id {event.tenant_id} finns i bryggan; kontrollera tenant_id.",
        tenant_id=event.tenant_id,
        event_id=event.id,
        business_key=business_key_of(event),
    )


def _reused_id(event: VoucherEvent) -> _Rejection:
    return _Rejection(
        reason=(
            f"event id {event.id} was already used for an event with other content; a changed or new day or journal "
            "needs a new event id"
        ),
        sv=(
            f"Händelsen avvisades: händelse-id {event.id} har redan använts för en händelse med annat innehåll; "
            "en ändrad eller ny dag eller verifikation behöver ett nytt händelse-id."
        ),
        tenant_id=event.tenant_id,
        event_id=event.id,
        business_key=business_key_of(event),
    )


def _reject(record: SQSRecord, rejection: _Rejection) -> None:
    RejectionStore(wiring.table()).record(
        source="voucher_export",
        message_id=record.message_id,
        tenant_id=rejection.tenant_id,
        body=record.body,
        reason=rejection.reason,
    )
    if rejection.tenant_id is not None:
        wiring.publisher().publish(
            VoucherExportFailed(
                tenant_id=TenantId(rejection.tenant_id),
                event_id=rejection.event_id or record.message_id,
                business_key=rejection.business_key,
                reason_sv=rejection.sv,
                reason_en=rejection.en,
            )
        )
    metrics.add_metric(name="VoucherEventRejected", unit="Count", value=1)
    logger.warning("voucher event rejected", extra={"message_id": record.message_id, "reason": rejection.reason})


def _last_delivery(record: SQSRecord) -> bool:
    return int(record.attributes.get("ApproximateReceiveCount") or 1) >= _max_receive_count()


def _give_up(record: SQSRecord, event: VoucherEvent, cause: Exception) -> None:
    """The last delivery failed: say so upstream before SQS moves the message to the dead-letter queue."""
    metrics.add_metric(name="VoucherEventGivenUp", unit="Count", value=1)
    logger.error(
        "voucher event failed on its last delivery",
        extra={"message_id": record.message_id, "event_id": event.id, "cause": type(cause).__name__},
    )
    try:
        wiring.voucher_exporter().give_up(event, cause, body=record.body)
    except Exception:  # the message still goes to the dead-letter queue; the first failure is the one to raise
        logger.exception("the failure of the last delivery could not be recorded", extra={"event_id": event.id})


@tracer.capture_method
def record_handler(record: SQSRecord) -> None:
    try:
        event = parse_voucher_event(record.body)
    except RefusedBody as refused:
        _reject(record, _bad_body(refused))
        return
    connection = ConnectionStore(wiring.table()).get(TenantId(event.tenant_id))
    # Only a tenant without a connection can be unknown: the check costs no read on the export path.
    if connection is None and TenantStore(wiring.table()).get(TenantId(event.tenant_id)) is None:
        _reject(record, _unknown_tenant(event))
        return
    try:
        _export(record, event, connection)
    except _Refused:
        return
    except IdempotencyValidationError:
        _reject(record, _reused_id(event))
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
