"""A careless receiver: down, failing, slow, refusing, redirecting. Deliveries that may still succeed are tried again
later, up to the queue's limit; then, or at once for a failure that will not pass, the worker puts the delivery on
the webhook dead-letter queue with the reason, and nothing is lost or delivered twice by the bridge itself."""

import json
from typing import Any

import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

from fortnox_bridge.webhooks import posting
from fortnox_bridge.webhooks.deliverer import RETRY_DELAYS
from local_stack.runner import BatchOutcome
from tests.webhook_receiver import WebhookTenant, payment_event, sqs_record

ATTEMPTS = 5
"""The webhook queue's deliveries (``MAX_RECEIVE_COUNT``): the worker dead-letters on the last one itself."""


def test_a_receiver_that_is_down_gets_every_retry_then_the_event_is_dead_lettered_with_the_reason(
    webhooks: WebhookTenant,
) -> None:
    event = payment_event(webhooks.tenant)
    webhooks.receiver.down()

    outcomes = webhooks.send(event)

    assert [outcome.failed for outcome in outcomes] == [1] * (ATTEMPTS - 1) + [0]
    [dead] = webhooks.dead_letters()
    assert dead.attributes["reason"] == "ConnectError"
    assert dead.attributes["attempts"] == str(ATTEMPTS)
    assert dead.attributes["event_id"] == event.event_id
    assert "last_attempt_at" in dead.attributes
    assert "status_code" not in dead.attributes
    assert dead.body["reason"] == "ConnectError"
    assert dead.body["attempts"] == ATTEMPTS
    assert dead.body["delivery"]["event_id"] == event.event_id
    assert webhooks.waiting() == 0


def test_a_receiver_failing_with_500_is_tried_the_limit_with_the_same_event_id(webhooks: WebhookTenant) -> None:
    event = payment_event(webhooks.tenant)
    webhooks.receiver.answer(500)

    webhooks.send(event)

    received = webhooks.receiver.for_tenant(webhooks.tenant)
    assert [item.event_id for item in received] == [event.event_id] * ATTEMPTS
    assert len({item.body for item in received}) == 1
    [dead] = webhooks.dead_letters()
    assert dead.attributes["reason"] == "status_500"
    assert dead.attributes["status_code"] == "500"
    assert dead.body["status_code"] == 500


@pytest.mark.parametrize("status", [500, 503, 408, 429])
def test_a_receiver_that_recovers_gets_the_event_on_a_retry(webhooks: WebhookTenant, status: int) -> None:
    webhooks.receiver.answer(status)
    webhooks.enqueue(payment_event(webhooks.tenant))

    first = webhooks.deliver_once()
    webhooks.receiver.answer(200)
    webhooks.drain()

    assert first == BatchOutcome(received=1, failed=1)
    received = webhooks.receiver.for_tenant(webhooks.tenant)
    assert len(received) == 2
    assert webhooks.dead_letters() == []
    assert webhooks.waiting() == 0


def test_a_failed_attempt_hides_the_delivery_for_its_retry_delay(webhooks: WebhookTenant, runner: Any) -> None:
    """Lambda leaves a failed record's visibility alone, so the worker sets it: the first retry waits 30 s. (The
    local runner shows a failed message again at once, so this invokes the function with the batch itself.)"""
    webhooks.receiver.answer(503)
    webhooks.enqueue(payment_event(webhooks.tenant))
    [message] = webhooks.sqs.receive_message(
        QueueUrl=webhooks.queue, AttributeNames=["All"], MaxNumberOfMessages=1, WaitTimeSeconds=0
    )["Messages"]

    # A batch whose every record failed fails the invocation (Powertools), and Lambda returns it to the queue.
    with pytest.raises(BatchProcessingError):
        runner.invoke(webhooks.function, {"Records": [sqs_record(message)]})

    assert RETRY_DELAYS[0].total_seconds() == 30
    hidden = webhooks.sqs.receive_message(QueueUrl=webhooks.queue, MaxNumberOfMessages=10, WaitTimeSeconds=0)
    assert hidden.get("Messages", []) == []
    assert webhooks.waiting() == 1
    webhooks.sqs.change_message_visibility(
        QueueUrl=webhooks.queue, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
    )
    webhooks.receiver.answer(204)
    webhooks.drain()
    assert len(webhooks.receiver.for_tenant(webhooks.tenant)) == 2


@pytest.mark.parametrize("status", [400, 404, 410, 422])
def test_a_permanent_refusal_is_dead_lettered_at_once(webhooks: WebhookTenant, status: int) -> None:
    webhooks.receiver.answer(status)

    outcomes = webhooks.send(payment_event(webhooks.tenant))

    assert [outcome.failed for outcome in outcomes] == [0]
    assert len(webhooks.receiver.for_tenant(webhooks.tenant)) == 1
    [dead] = webhooks.dead_letters()
    assert dead.attributes["reason"] == f"status_{status}"
    assert dead.attributes["attempts"] == "1"


def test_a_redirect_is_not_followed(webhooks: WebhookTenant) -> None:
    webhooks.receiver.answer(302)

    webhooks.send(payment_event(webhooks.tenant))

    assert len(webhooks.receiver.for_tenant(webhooks.tenant)) == 1
    [dead] = webhooks.dead_letters()
    assert dead.attributes["reason"] == "status_302"
    assert "redirect" in dead.body["detail"]


def test_a_slow_receiver_times_out_and_is_tried_again(webhooks: WebhookTenant, monkeypatch: pytest.MonkeyPatch) -> None:
    # The receiver holds every request until the test ends; a short timeout keeps the test short.
    monkeypatch.setattr(posting, "TIMEOUT_SECONDS", 0.2)
    webhooks.receiver.slow()

    webhooks.send(payment_event(webhooks.tenant))

    assert len(webhooks.receiver.for_tenant(webhooks.tenant)) == ATTEMPTS
    [dead] = webhooks.dead_letters()
    assert dead.attributes["reason"] == "timeout"


def test_a_dead_letter_sent_back_to_the_queue_is_delivered_once_the_receiver_is_back(
    webhooks: WebhookTenant,
) -> None:
    event = payment_event(webhooks.tenant)
    webhooks.receiver.answer(503)
    webhooks.send(event)
    [dead] = webhooks.dead_letters()

    # What ``fortnox-bridge redrive`` does: the dead letter's body, as it is, back on the work queue.
    webhooks.receiver.answer(204)
    webhooks.sqs.send_message(QueueUrl=webhooks.queue, MessageBody=json.dumps(dead.body))
    webhooks.drain()

    received = webhooks.receiver.for_tenant(webhooks.tenant)
    assert len(received) == ATTEMPTS + 1
    assert received[-1].event_id == event.event_id
    assert received[-1].verified


def test_a_tenant_without_a_secret_gets_nothing_unsigned(
    runner: Any, deployed: Any, gateway: Any, webhooks: WebhookTenant, unique: str
) -> None:
    unsigned = WebhookTenant(runner, deployed, gateway, webhooks.receiver, f"{unique}-nosecret").create()

    unsigned.send(payment_event(unsigned.tenant))

    assert webhooks.receiver.for_tenant(unsigned.tenant) == []
    [dead] = unsigned.dead_letters()
    assert dead.attributes["reason"] == "no_webhook_secret"
    assert "webhook-secret" in dead.body["detail"]


def test_no_secret_signature_or_query_string_reaches_a_log_line(webhooks: WebhookTenant, log_capture: Any) -> None:
    webhooks.point_at(webhooks.receiver.url(webhooks.tenant, query="token=query-secret-1234"))
    webhooks.receiver.answer(500)
    first = len(log_capture.lines)

    webhooks.send(payment_event(webhooks.tenant))
    webhooks.issue_secret()

    lines = log_capture.lines[first:]
    assert any("webhook delivery given up" in line for line in lines)
    received = webhooks.receiver.for_tenant(webhooks.tenant)
    signatures = [part for item in received for part in (item.signature or "").split(",") if part.startswith("v1=")]
    assert signatures
    assert webhooks.secret is not None
    for secret in [webhooks.secret, "query-secret-1234", *(part.removeprefix("v1=") for part in signatures)]:
        assert not any(secret in line for line in lines), "a secret reached a log line"
