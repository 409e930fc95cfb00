"""Payment events reach a tenant's webhook once, signed with the tenant's own secret, through the outbox, the webhook
queue and the webhook function (tests/webhook_receiver.py verifies each request as a receiver is told to)."""

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from fortnox_bridge.webhooks.signing import SignatureRefused, verify
from tests.webhook_receiver import WebhookTenant, payment_event


def test_a_payment_event_is_delivered_once_signed_and_verified(webhooks: WebhookTenant) -> None:
    event = payment_event(webhooks.tenant)

    webhooks.send(event)

    [received] = webhooks.receiver.for_tenant(webhooks.tenant)
    assert received.verified, received.refusal
    assert received.event_id == event.event_id
    assert received.event_type == "payment.received"
    assert received.payload["id"] == event.event_id
    assert received.payload["type"] == "payment.received"
    assert received.payload["data"]["payment_number"] == "1"
    assert received.payload["data"]["payment"]["amount_sek"] == "1250.00"
    assert received.payload["data"]["invoice_status"] == "fully_paid"
    assert webhooks.waiting() == 0
    assert webhooks.dead_letters() == []


def test_a_tampered_body_or_another_secret_fails_verification(webhooks: WebhookTenant) -> None:
    webhooks.send(payment_event(webhooks.tenant))
    [received] = webhooks.receiver.for_tenant(webhooks.tenant)
    assert received.signature is not None and webhooks.secret is not None
    now = datetime.now(UTC)

    verify(received.signature, received.body, webhooks.secret, now)
    tampered = received.body.replace('"1250.00"', '"12500.00"')
    assert tampered != received.body
    for signature, body, secret in [
        (received.signature, tampered, webhooks.secret),
        (received.signature, received.body, "whsec_someone-else"),
    ]:
        try:
            verify(signature, body, secret, now)
        except SignatureRefused:
            continue
        raise AssertionError("a tampered body or another secret was accepted")


def test_a_receiver_that_does_not_hold_the_secret_refuses_and_the_event_is_dead_lettered(
    webhooks: WebhookTenant,
) -> None:
    webhooks.receiver.trust(webhooks.tenant, "whsec_not-what-the-bridge-signs-with")

    webhooks.send(payment_event(webhooks.tenant))

    received = webhooks.receiver.for_tenant(webhooks.tenant)
    assert len(received) == 5 and not any(item.verified for item in received)
    [dead] = webhooks.dead_letters()
    assert dead.attributes["reason"] == "status_401"
    assert dead.attributes["attempts"] == "5"
    assert "current secret" in dead.body["detail"]


def test_a_receiver_that_refuses_while_it_switches_secrets_gets_the_event_on_a_retry(webhooks: WebhookTenant) -> None:
    """A rotation reaches the worker's signatures within five minutes; a receiver that switched sooner refuses
    once, and the retry after it has the new secret is delivered, not dead-lettered."""
    webhooks.receiver.trust(webhooks.tenant, "whsec_the-one-the-receiver-switched-to-early")
    event = payment_event(webhooks.tenant)
    webhooks.enqueue(event)

    webhooks.deliver_once()
    webhooks.receiver.trust(webhooks.tenant, webhooks.secret)
    webhooks.drain()

    first, second = webhooks.receiver.for_tenant(webhooks.tenant)
    assert (first.verified, second.verified) == (False, True)
    assert second.event_id == event.event_id
    assert webhooks.dead_letters() == []
    assert webhooks.waiting() == 0


def test_every_event_of_a_poll_arrives_once_in_batches_of_ten(webhooks: WebhookTenant) -> None:
    events = [payment_event(webhooks.tenant, payment=str(number)) for number in range(1, 24)]

    webhooks.send(*events)

    received = webhooks.receiver.for_tenant(webhooks.tenant)
    assert sorted(item.event_id or "" for item in received) == sorted(event.event_id for event in events)
    assert all(item.verified for item in received)


def test_a_redelivered_message_carries_the_same_event_id_and_body(webhooks: WebhookTenant) -> None:
    """SQS delivers at least once: a delivery sent again (here: the same event enqueued twice, as a poll that crashed
    before its cursor write does) reaches the receiver with the same id and bytes, so it can drop the second."""
    event = payment_event(webhooks.tenant)

    webhooks.send(event)
    webhooks.send(event)

    first, second = webhooks.receiver.for_tenant(webhooks.tenant)
    assert first.event_id == second.event_id == event.event_id
    assert first.body == second.body
    assert first.verified and second.verified


def test_a_tenant_that_removed_its_webhook_gets_nothing_and_nothing_is_dead_lettered(webhooks: WebhookTenant) -> None:
    webhooks.enqueue(payment_event(webhooks.tenant))
    webhooks.point_at(None)

    webhooks.drain()

    assert webhooks.receiver.for_tenant(webhooks.tenant) == []
    assert webhooks.waiting() == 0
    assert webhooks.dead_letters() == []


def test_a_tenant_that_moved_its_webhook_gets_queued_events_at_the_new_address(webhooks: WebhookTenant) -> None:
    webhooks.enqueue(payment_event(webhooks.tenant))
    webhooks.point_at(webhooks.receiver.url(webhooks.tenant, query="moved=yes"))

    webhooks.drain()

    [received] = webhooks.receiver.for_tenant(webhooks.tenant)
    assert received.verified


def test_the_secret_is_shown_once_and_a_rotation_keeps_deliveries_verifiable(webhooks: WebhookTenant) -> None:
    old = webhooks.secret
    assert old is not None and old.startswith("whsec_")

    rotated = webhooks.issue_secret(receiver_switches=False)
    webhooks.send(payment_event(webhooks.tenant, payment="1"))
    webhooks.receiver.trust(webhooks.tenant, rotated["secret"])
    webhooks.send(payment_event(webhooks.tenant, payment="2"))

    assert rotated["rotated"] is True
    assert rotated["secret"] != old
    until = datetime.fromisoformat(rotated["previous_signs_until"])
    assert timedelta(hours=23) < until - datetime.now(UTC) <= timedelta(hours=24)
    before_switch, after_switch = webhooks.receiver.for_tenant(webhooks.tenant)
    assert before_switch.verified, "a receiver still holding the old secret lost an event"
    assert after_switch.verified
    assert before_switch.signature is not None and before_switch.signature.count("v1=") == 2
    settings = webhooks.management.get(f"/tenants/{webhooks.tenant}/settings").json()
    assert rotated["secret"] not in json.dumps(settings)


def test_tenant_a_rotating_its_secret_leaves_tenant_b_alone(
    webhooks: WebhookTenant, runner: Any, deployed: Any, gateway: Any, unique: str
) -> None:
    other = WebhookTenant(runner, deployed, gateway, webhooks.receiver, f"{unique}-b").create()
    other.issue_secret()

    webhooks.issue_secret()
    # The secret's name is made of the tenant id alone, so an id that is not a plain identifier names no secret.
    for path in [
        f"/tenants/{webhooks.tenant}%2F..%2F{other.tenant}/webhook-secret",
        f"/tenants/{other.tenant}%0A/webhook-secret",
        f"/tenants/{webhooks.tenant}%2F{other.tenant}/webhook-secret",
    ]:
        answer = webhooks.management.post(path)
        assert answer.status_code in (404, 422), (path, answer.status_code)
    unknown = webhooks.management.post(f"/tenants/{unique}-nobody/webhook-secret")
    assert unknown.status_code == 404
    other.send(payment_event(other.tenant))

    [received] = webhooks.receiver.for_tenant(other.tenant)
    assert received.verified
    # One signature: tenant B's secret was never rotated by anything tenant A did.
    assert received.signature is not None and received.signature.count("v1=") == 1


def test_a_payment_registered_in_fortnox_reaches_the_webhook_once_as_it_reached_the_bus(
    payment_sync: Any, webhook_receiver: Any, runner: Any, deployed: Any, gateway: Any
) -> None:
    hooks = WebhookTenant(runner, deployed, gateway, webhook_receiver, payment_sync.tenant)
    payment_sync.settings(webhook_url=webhook_receiver.url(payment_sync.tenant))
    hooks.issue_secret()
    invoice = payment_sync.exported_invoice("100353")
    payment_sync.pay(invoice, "500.00")

    [published] = payment_sync.poll()
    hooks.drain()
    assert payment_sync.poll() == []
    hooks.drain()

    [received] = webhook_receiver.for_tenant(payment_sync.tenant)
    assert received.verified, received.refusal
    assert received.event_id == published["event_id"]
    assert received.event_type == published["type"] == "payment.received"
    assert received.payload["data"] == {key: value for key, value in published.items() if key != "type"}
