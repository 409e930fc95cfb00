"""A webhook host name no DNS can hold (a label over 63 characters, an empty label): refused when the settings are
saved, with the reason, and dead-lettered with the reason if one is already saved; never an error that leaves the
delivery to fail until SQS drops it without saying why."""

from typing import Any

import httpx
import pytest

from fortnox_bridge import wiring
from fortnox_bridge.ids import TenantId
from fortnox_bridge.store.tenants import PaymentSyncSettings, TenantSettings, TenantStore
from tests.conftest import LOCAL_API_KEY
from tests.webhook_receiver import WebhookTenant, payment_event

UNHOLDABLE = [
    "https://" + "a" * 64 + ".customer.example/hook",
    "https://hooks..customer.example/hook",
]


@pytest.mark.parametrize("url", UNHOLDABLE)
def test_a_host_name_dns_cannot_hold_is_refused_when_saved(webhooks: WebhookTenant, gateway: Any, url: str) -> None:
    management = httpx.Client(base_url=gateway.url, headers={"x-api-key": LOCAL_API_KEY})
    settings = {"features": ["invoice_export", "payment_sync"], "payment_sync": {"webhook_url": url}}

    answer = management.put(f"/tenants/{webhooks.tenant}/settings", json=settings)

    assert answer.status_code == 400, answer.text
    assert answer.json()["error"] == "bad_input"
    assert "host name" in answer.json()["message"]
    assert "customer.example" not in answer.text
    saved = TenantStore(wiring.table()).require(TenantId(webhooks.tenant)).settings.payment_sync.webhook_url
    assert saved == webhooks.receiver.url(webhooks.tenant)


@pytest.mark.parametrize("url", UNHOLDABLE)
def test_a_saved_host_name_dns_cannot_hold_is_dead_lettered_with_the_reason_at_once(
    webhooks: WebhookTenant, url: str
) -> None:
    TenantStore(wiring.table()).put_settings(
        TenantId(webhooks.tenant),
        TenantSettings(features=["invoice_export", "payment_sync"], payment_sync=PaymentSyncSettings(webhook_url=url)),
    )

    webhooks.send(payment_event(webhooks.tenant))

    [dead] = webhooks.dead_letters()
    assert dead.attributes["reason"] == "destination_refused"
    assert dead.attributes["attempts"] == "1"
    assert "host name" in dead.body["detail"]
    assert webhooks.waiting() == 0
