"""Where payment events go: the product's EventBridge bus, and the tenant's webhook when it has one."""

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Protocol

from fortnox_bridge.events import SOURCE, PaymentEvent
from fortnox_bridge.ids import TenantId

if TYPE_CHECKING:
    from mypy_boto3_events.client import EventBridgeClient
    from mypy_boto3_events.type_defs import PutEventsRequestEntryTypeDef

    from fortnox_bridge.webhooks.outbox import WebhookOutbox

PUT_EVENTS_BATCH = 10
"""EventBridge's most entries per PutEvents."""
RESEND_ROUNDS = 3


class PaymentPublisher(Protocol):
    def publish(self, events: Sequence[PaymentEvent]) -> None: ...


class PublishFailed(RuntimeError):
    """EventBridge kept refusing some entries: the poll fails, its cursor stays, and the next poll sends again."""


class BusPublisher:
    """Payment events on the bus, ten per PutEvents; entries EventBridge refuses are sent again a few times."""

    def __init__(self, client: "EventBridgeClient", bus_name: str) -> None:
        self._client = client
        self._bus = bus_name

    def publish(self, events: Sequence[PaymentEvent]) -> None:
        for start in range(0, len(events), PUT_EVENTS_BATCH):
            self._put(events[start : start + PUT_EVENTS_BATCH])

    def _put(self, batch: Sequence[PaymentEvent]) -> None:
        pending: list[PutEventsRequestEntryTypeDef] = [
            {
                "Source": SOURCE,
                "DetailType": event.detail_type,
                "Detail": event.model_dump_json(),
                "EventBusName": self._bus,
            }
            for event in batch
        ]
        for _ in range(RESEND_ROUNDS):
            answer = self._client.put_events(Entries=pending)
            if not answer.get("FailedEntryCount"):
                return
            # Entries answer in the order sent; a failed one carries an ErrorCode.
            pending = [
                entry for entry, result in zip(pending, answer["Entries"], strict=True) if result.get("ErrorCode")
            ]
        raise PublishFailed(f"EventBridge refused {len(pending)} payment events")


class TenantPaymentPublisher:
    """The bus, then the tenant's webhook outbox when it has a webhook: both get every event, with the same id.
    ``webhook_url`` decides only whether the outbox gets them; where they go is read when each is delivered."""

    def __init__(
        self, bus: PaymentPublisher, tenant: TenantId, webhook_url: str | None, outbox: Callable[[], "WebhookOutbox"]
    ) -> None:
        self._bus = bus
        self._tenant = tenant
        self._webhook_url = webhook_url
        self._outbox = outbox

    def publish(self, events: Sequence[PaymentEvent]) -> None:
        if not events:
            return
        self._bus.publish(events)
        if self._webhook_url is not None:
            self._outbox().enqueue(self._tenant, events)
