"""Payment events handed to the webhook queue, one message per event and tenant, ten per SQS call."""

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from fortnox_bridge.events import PaymentEvent
from fortnox_bridge.ids import TenantId
from fortnox_bridge.webhooks.delivery import WebhookDelivery, delivery_for

if TYPE_CHECKING:
    from mypy_boto3_sqs.client import SQSClient
    from mypy_boto3_sqs.type_defs import SendMessageBatchRequestEntryTypeDef

SQS_BATCH = 10
RESEND_ROUNDS = 3
"""SendMessageBatch can refuse single entries (throttling); they are sent again a few times before the poll fails,
so the cursor stays where it was and the next poll enqueues them again."""


class WebhookOutboxError(RuntimeError):
    pass


class WebhookOutbox:
    def __init__(
        self, sqs: "SQSClient", queue_url: str, clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    ) -> None:
        self._sqs = sqs
        self._queue_url = queue_url
        self._clock = clock

    def enqueue(self, tenant: TenantId, events: Sequence[PaymentEvent]) -> None:
        """For the tenant's webhook as it is set when each is delivered (``deliverer``), not as it is now."""
        now = self._clock()
        deliveries = [delivery_for(tenant, event, now) for event in events]
        for start in range(0, len(deliveries), SQS_BATCH):
            self._send(deliveries[start : start + SQS_BATCH])

    def _send(self, batch: Sequence[WebhookDelivery]) -> None:
        pending: list[SendMessageBatchRequestEntryTypeDef] = [
            {"Id": str(index), "MessageBody": delivery.model_dump_json()} for index, delivery in enumerate(batch)
        ]
        for _ in range(RESEND_ROUNDS):
            answer = self._sqs.send_message_batch(QueueUrl=self._queue_url, Entries=pending)
            refused = {failure["Id"] for failure in answer.get("Failed", [])}
            pending = [entry for entry in pending if entry["Id"] in refused]
            if not pending:
                return
        events = ", ".join(batch[int(entry["Id"])].event_id for entry in pending)
        raise WebhookOutboxError(f"the webhook queue refused events {events}")
