"""One queued webhook delivery, from the queue message to its end: delivered, dropped, tried again later, or put on
the webhook dead-letter queue with the reason.

SQS's own receive count is the attempt number. A failure that may pass (5xx, 408, 429, timeout, no connection, and
401/403: a receiver switching to a rotated secret refuses until it holds the one we sign with) hides the message for
a growing delay and leaves it on the queue; on the last attempt, or for a failure that will not pass (any other 4xx,
a redirect, a refused destination), the worker itself puts the delivery on the dead-letter queue with why, and lets
the original go.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import httpx
from pydantic import BaseModel, ValidationError

from fortnox_bridge.observability import logger, metrics
from fortnox_bridge.store.tenants import TenantStore
from fortnox_bridge.webhooks.delivery import WebhookDelivery
from fortnox_bridge.webhooks.destination import Destination, DestinationRefused, HostNotFound
from fortnox_bridge.webhooks.secrets import NoWebhookSecret, SecretReader
from fortnox_bridge.webhooks.signing import EVENT_ID_HEADER, EVENT_TYPE_HEADER, SIGNATURE_HEADER, signature_header

if TYPE_CHECKING:
    from mypy_boto3_sqs.client import SQSClient
    from mypy_boto3_sqs.type_defs import MessageAttributeValueTypeDef

RETRY_DELAYS = (timedelta(seconds=30), timedelta(minutes=5), timedelta(hours=1), timedelta(hours=6))
"""How long a delivery waits after its n-th failed attempt; with the queue's five deliveries (``MAX_RECEIVE_COUNT``) a
receiver may be down for about seven and a half hours without losing an event. The last delay repeats if the count
is raised; SQS's ceiling for a message's visibility is 12 hours."""
USER_AGENT = "fortnox-bridge-webhooks/1"
TIME_NEEDED_SECONDS = 30.0
"""What one delivery may take at worst: a name lookup (the resolver's own retries), the secret, and a POST of at most
``posting.TIMEOUT_SECONDS``, with room left. A record reached with less time left in the invocation is put back on the
queue instead of attempted, so a slow receiver early in a batch never runs the function into Lambda's timeout, which
would fail every other tenant's delivery in the batch and count an attempt against each."""


@dataclass(frozen=True)
class QueuedMessage:
    message_id: str
    body: str
    receive_count: int
    receipt_handle: str


class RetryLater(Exception):
    """The delivery failed for a reason that may pass; SQS offers it again after the delay set on the message."""


@dataclass(frozen=True)
class Failure:
    reason: str
    """``status_503``, ``timeout``, ``ConnectError``, ``destination_refused``, ...: what went wrong, by kind."""
    detail: str
    """A sentence a person reads: never the URL, a secret or a signature."""
    retry: bool
    status_code: int | None = None


class DeadDelivery(BaseModel):
    """A webhook dead letter: the delivery as it was queued, and why it ended here. Put back on the work queue as it
    is (``fortnox-bridge redrive``), the worker unwraps it and starts counting attempts again."""

    delivery: WebhookDelivery
    reason: str
    detail: str
    status_code: int | None
    attempts: int
    last_attempt_at: datetime


Post = Callable[[Destination, str, Mapping[str, str]], int]
CheckDestination = Callable[[str], Destination]


@dataclass(frozen=True)
class WebhookQueues:
    sqs: "SQSClient"
    work_url: str
    dead_letter_url: str
    max_attempts: int


class WebhookDeliverer:
    def __init__(
        self,
        *,
        tenants: TenantStore,
        secrets: SecretReader,
        queues: WebhookQueues,
        check: CheckDestination,
        post: Post,
        clock: Callable[[], datetime],
    ) -> None:
        self._tenants = tenants
        self._secrets = secrets
        self._queues = queues
        self._check = check
        self._post = post
        self._clock = clock

    def deliver(self, message: QueuedMessage, remaining_seconds: float | None = None) -> None:
        """``remaining_seconds``: what is left of the invocation, when it runs in one."""
        if remaining_seconds is not None and remaining_seconds < TIME_NEEDED_SECONDS:
            self._put_back(message)
            return
        delivery = _parse(message.body)
        if delivery is None:
            self._dead_letter_unreadable(message)
            return
        tenant = self._tenants.get(delivery.tenant_id)
        url = tenant.settings.payment_sync.webhook_url if tenant is not None else None
        if url is None:
            metrics.add_metric(name="WebhookDropped", unit="Count", value=1)
            logger.info(
                "webhook delivery dropped: the tenant has no webhook any more",
                extra={"tenant_id": delivery.tenant_id, "event_id": delivery.event_id},
            )
            return
        attempted_at = self._clock()
        failure = self._attempt(delivery, url, attempted_at, message.receive_count)
        if failure is None:
            return
        if failure.retry and message.receive_count < self._queues.max_attempts:
            self._hide_for_a_while(message, delivery, failure)
            raise RetryLater(failure.reason)
        self._dead_letter(delivery, failure, message.receive_count, attempted_at)

    def _attempt(self, delivery: WebhookDelivery, url: str, now: datetime, attempt: int) -> Failure | None:
        """Deliver to the tenant's webhook as it is set now: a tenant that moved its endpoint gets what was queued
        for the old one at the new one."""
        try:
            destination = self._check(url)
        except DestinationRefused as refused:
            return Failure("destination_refused", str(refused), retry=False)
        except HostNotFound as missing:
            return Failure("host_not_found", str(missing), retry=True)
        try:
            secrets = self._secrets.signing(delivery.tenant_id, now)
        except NoWebhookSecret as missing:
            return Failure("no_webhook_secret", missing.message, retry=True)
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            EVENT_ID_HEADER: delivery.event_id,
            EVENT_TYPE_HEADER: delivery.detail_type,
            SIGNATURE_HEADER: signature_header(secrets, int(now.timestamp()), delivery.body),
        }
        try:
            status = self._post(destination, delivery.body, headers)
        except httpx.TimeoutException:
            return Failure("timeout", "the webhook did not answer in time", retry=True)
        except httpx.TransportError as error:
            kind = type(error).__name__
            return Failure(kind, f"the webhook could not be reached ({kind})", retry=True)
        failure = _judge(status)
        if failure is None:
            metrics.add_metric(name="WebhookDelivered", unit="Count", value=1)
            logger.info(
                "webhook delivered",
                extra={
                    "tenant_id": delivery.tenant_id,
                    "event_id": delivery.event_id,
                    "destination": destination.origin,
                    "status_code": status,
                    "attempt": attempt,
                },
            )
        return failure

    def _put_back(self, message: QueuedMessage) -> None:
        """Not attempted: a fresh copy goes on the queue (at once, and with no attempt counted against it) and this
        one is let go. Letting it fail instead would count a receive, and on the last one SQS's own redrive would
        dead-letter it without a reason."""
        self._queues.sqs.send_message(QueueUrl=self._queues.work_url, MessageBody=message.body)
        metrics.add_metric(name="WebhookPutBack", unit="Count", value=1)
        logger.info(
            "webhook delivery put back: the invocation is short of time", extra={"message_id": message.message_id}
        )

    def _hide_for_a_while(self, message: QueuedMessage, delivery: WebhookDelivery, failure: Failure) -> None:
        delay = RETRY_DELAYS[min(message.receive_count, len(RETRY_DELAYS)) - 1]
        self._queues.sqs.change_message_visibility(
            QueueUrl=self._queues.work_url,
            ReceiptHandle=message.receipt_handle,
            VisibilityTimeout=int(delay.total_seconds()),
        )
        metrics.add_metric(name="WebhookRetried", unit="Count", value=1)
        logger.warning(
            "webhook delivery failed; tried again later",
            extra={
                "tenant_id": delivery.tenant_id,
                "event_id": delivery.event_id,
                "reason": failure.reason,
                "attempt": message.receive_count,
                "retry_in_seconds": int(delay.total_seconds()),
            },
        )

    def _dead_letter(self, delivery: WebhookDelivery, failure: Failure, attempts: int, at: datetime) -> None:
        dead = DeadDelivery(
            delivery=delivery,
            reason=failure.reason,
            detail=failure.detail,
            status_code=failure.status_code,
            attempts=attempts,
            last_attempt_at=at,
        )
        attributes: dict[str, MessageAttributeValueTypeDef] = {
            "reason": _text(failure.reason),
            "attempts": {"DataType": "Number", "StringValue": str(attempts)},
            "last_attempt_at": _text(at.isoformat()),
            "tenant_id": _text(delivery.tenant_id),
            "event_id": _text(delivery.event_id),
        }
        if failure.status_code is not None:
            attributes["status_code"] = {"DataType": "Number", "StringValue": str(failure.status_code)}
        self._queues.sqs.send_message(
            QueueUrl=self._queues.dead_letter_url, MessageBody=dead.model_dump_json(), MessageAttributes=attributes
        )
        metrics.add_metric(name="WebhookDeadLettered", unit="Count", value=1)
        logger.error(
            "webhook delivery given up",
            extra={
                "tenant_id": delivery.tenant_id,
                "event_id": delivery.event_id,
                "reason": failure.reason,
                "detail": failure.detail,
                "attempts": attempts,
            },
        )

    def _dead_letter_unreadable(self, message: QueuedMessage) -> None:
        """Only a bug puts an unreadable message on the bridge's own queue: kept as it is, for a person."""
        self._queues.sqs.send_message(
            QueueUrl=self._queues.dead_letter_url,
            MessageBody=message.body,
            MessageAttributes={
                "reason": _text("unreadable"),
                "attempts": {"DataType": "Number", "StringValue": str(message.receive_count)},
                "last_attempt_at": _text(self._clock().isoformat()),
            },
        )
        metrics.add_metric(name="WebhookDeadLettered", unit="Count", value=1)
        logger.error("webhook message unreadable; dead-lettered", extra={"message_id": message.message_id})


def _parse(body: str) -> WebhookDelivery | None:
    for shape in (WebhookDelivery, DeadDelivery):
        try:
            parsed = shape.model_validate_json(body)
        except ValidationError:
            continue
        return parsed.delivery if isinstance(parsed, DeadDelivery) else parsed
    return None


def _judge(status: int) -> Failure | None:
    if 200 <= status < 300:
        return None
    if status in (408, 429) or status >= 500:
        return Failure(f"status_{status}", f"the webhook answered {status}", retry=True, status_code=status)
    if status in (401, 403):
        # During a rotation the worker's five-minute secret cache and the receiver's switch need not line up.
        detail = f"the webhook refused the signature ({status}): give the receiver the tenant's current secret"
        return Failure(f"status_{status}", detail, retry=True, status_code=status)
    if 300 <= status < 400:
        detail = f"the webhook answered {status}, a redirect: redirects are not followed, set the final URL"
        return Failure(f"status_{status}", detail, retry=False, status_code=status)
    if 400 <= status < 500:
        return Failure(f"status_{status}", f"the webhook refused the event ({status})", retry=False, status_code=status)
    return Failure(f"status_{status}", f"the webhook answered {status}", retry=True, status_code=status)


def _text(value: str) -> "MessageAttributeValueTypeDef":
    return {"DataType": "String", "StringValue": value}
