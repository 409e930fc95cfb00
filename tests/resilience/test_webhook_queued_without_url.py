"""A webhook URL often carries the receiver's token. Nothing queued for a webhook, and nothing dead-lettered, holds the
URL: the worker reads the tenant's webhook when it delivers, so an event queued before the tenant moved its webhook
goes to the new one. Through the outbox, the webhook queue, the delivery function and its dead-letter queue."""

import json
from datetime import UTC, datetime
from typing import Any

from fortnox_bridge.ids import TenantId
from fortnox_bridge.webhooks.delivery import delivery_for
from tests.webhook_receiver import WebhookTenant, payment_event

TOKEN = "hook-token-4711"


def _queued_bodies(webhooks: WebhookTenant) -> list[str]:
    """This tenant's messages on the webhook queue, read and left there."""
    found: dict[str, Any] = {}
    while messages := webhooks.sqs.receive_message(
        QueueUrl=webhooks.queue, MaxNumberOfMessages=10, VisibilityTimeout=60
    ).get("Messages"):
        found.update({message["MessageId"]: message for message in messages})
    for message in found.values():
        webhooks.sqs.change_message_visibility(
            QueueUrl=webhooks.queue, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
        )
    return [message["Body"] for message in found.values() if f'"{webhooks.tenant}"' in message["Body"]]


def test_a_queued_delivery_holds_no_url_and_goes_where_the_webhook_is_when_delivered(webhooks: WebhookTenant) -> None:
    # Given a webhook whose query carries the receiver's token, and an event queued for it
    webhooks.point_at(webhooks.receiver.url(webhooks.tenant, query=f"token={TOKEN}"))
    webhooks.enqueue(payment_event(webhooks.tenant))

    [queued] = _queued_bodies(webhooks)
    assert TOKEN not in queued and "/hooks/" not in queued and "url" not in json.loads(queued)

    # When the tenant moves its webhook to another host before the delivery runs
    webhooks.point_at(webhooks.receiver.url(webhooks.tenant, host="localhost"))
    webhooks.drain()

    # Then the event arrives once, signed, at the new host
    [received] = webhooks.receiver.for_tenant(webhooks.tenant)
    assert received.verified and received.host == f"localhost:{webhooks.receiver.port}"


def test_a_dead_letter_holds_no_url(webhooks: WebhookTenant) -> None:
    webhooks.point_at(webhooks.receiver.url(webhooks.tenant, query=f"token={TOKEN}"))
    webhooks.receiver.answer(410)

    webhooks.send(payment_event(webhooks.tenant))

    [dead] = webhooks.dead_letters()
    told = json.dumps(dead.body) + json.dumps(dead.attributes)
    assert dead.attributes["reason"] == "status_410"
    assert TOKEN not in told and "/hooks/" not in told and "url" not in dead.body["delivery"]


def test_a_delivery_queued_with_its_url_before_the_change_is_delivered_and_dead_lettered_without_it(
    webhooks: WebhookTenant,
) -> None:
    # A message the outbox wrote before the URL was left out, still on the queue when the new worker runs.
    queued = delivery_for(TenantId(webhooks.tenant), payment_event(webhooks.tenant), datetime.now(UTC))
    older = {**json.loads(queued.model_dump_json()), "url": webhooks.receiver.url(webhooks.tenant, query=TOKEN)}
    webhooks.receiver.answer(410)

    webhooks.sqs.send_message(QueueUrl=webhooks.queue, MessageBody=json.dumps(older))
    webhooks.drain()

    assert len(webhooks.receiver.for_tenant(webhooks.tenant)) == 1
    [dead] = webhooks.dead_letters()
    assert dead.attributes["reason"] == "status_410" and TOKEN not in json.dumps(dead.body)
