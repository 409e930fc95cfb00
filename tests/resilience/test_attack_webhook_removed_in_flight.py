"""A tenant removes its webhook while payment events are queued for it: the events are dropped, not dead-lettered
(there is nowhere to send them, and a dead letter would page an operator for a tenant's own choice) and not kept
for a webhook set later. Through the outbox, the webhook queue, the delivery function and its dead-letter queue."""

import json
import logging
from typing import Any

from tests.webhook_receiver import WebhookTenant, payment_event


def test_events_queued_for_a_webhook_removed_before_delivery_are_dropped_without_an_error(
    webhooks: WebhookTenant, log_capture: Any
) -> None:
    webhooks.point_at(webhooks.receiver.url(webhooks.tenant))
    logged_before = len(log_capture.lines)
    webhooks.enqueue(payment_event(webhooks.tenant, payment="1"), payment_event(webhooks.tenant, payment="2"))

    # When the tenant removes its webhook before the deliveries run
    webhooks.point_at(None)
    webhooks.drain()

    # Then nothing is sent, nothing is dead-lettered, nothing waits, and nothing is logged at ERROR
    assert webhooks.receiver.for_tenant(webhooks.tenant) == []
    assert webhooks.dead_letters() == []
    assert webhooks.waiting() == 0
    records = [json.loads(line) for line in log_capture.lines[logged_before:]]
    assert [record for record in records if record["levelno"] >= logging.ERROR] == []
    assert sum(str(record.get("message", "")).startswith("webhook delivery dropped") for record in records) == 2

    # and a webhook set again later does not get them
    webhooks.point_at(webhooks.receiver.url(webhooks.tenant))
    webhooks.drain()
    assert webhooks.receiver.for_tenant(webhooks.tenant) == []
