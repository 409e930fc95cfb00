"""SQS -> one signed POST per payment event to the tenant's webhook. Partial batch failures.

What ends a delivery (delivered, dropped, tried again later, dead-lettered with the reason) is
``webhooks/deliverer.py``; a record reported failed here has already been hidden for its retry delay.
"""

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from fortnox_bridge import settings, wiring
from fortnox_bridge.observability import logger, metrics, tracer
from fortnox_bridge.webhooks.deliverer import QueuedMessage

settings.require(
    settings.AwsSettings,
    settings.TableSettings,
    settings.WebhookSettings,
    settings.WebhookDestinationSettings,
    settings.QueueSettings,
)
processor = BatchProcessor(event_type=EventType.SQS)


@tracer.capture_method(capture_response=False)
def record_handler(record: SQSRecord, lambda_context: LambdaContext) -> None:
    wiring.webhook_deliverer().deliver(
        QueuedMessage(
            message_id=record.message_id,
            body=record.body,
            receive_count=int(record.attributes.approximate_receive_count or 1),
            receipt_handle=record.receipt_handle,
        ),
        remaining_seconds=lambda_context.get_remaining_time_in_millis() / 1000,
    )


@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
