"""Address forms the first destination check let through: IPv6 site-local (fec0::/10), deprecated but still routed
inside some networks, which Python counts neither private nor reserved. Refused when saved and at delivery, as a
literal and as what a name resolves to."""

import socket
from typing import Any

import httpx
import pytest

from fortnox_bridge import wiring
from fortnox_bridge.ids import TenantId
from fortnox_bridge.store.tenants import PaymentSyncSettings, TenantSettings, TenantStore
from tests.conftest import LOCAL_API_KEY
from tests.webhook_receiver import WebhookTenant, payment_event, strict_runner

SITE_LOCAL_NAME = "inside.customer.example"


@pytest.fixture
def site_local_dns(monkeypatch: pytest.MonkeyPatch) -> None:
    real = socket.getaddrinfo

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host == SITE_LOCAL_NAME:
            return [(socket.AF_INET6, socket.SOCK_STREAM, 6, "", ("fec0::10", port, 0, 0))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


URLS = ["https://[fec0::1]/hook", "https://[feff::a9fe:a9fe]/hook", f"https://{SITE_LOCAL_NAME}/hook"]


@pytest.mark.parametrize("url", URLS)
def test_a_site_local_webhook_is_refused_when_saved(
    webhooks: WebhookTenant, gateway: Any, site_local_dns: None, url: str
) -> None:
    management = httpx.Client(base_url=gateway.url, headers={"x-api-key": LOCAL_API_KEY})
    settings = {"features": ["invoice_export", "payment_sync"], "payment_sync": {"webhook_url": url}}

    answer = management.put(f"/tenants/{webhooks.tenant}/settings", json=settings)

    assert answer.status_code == 400, answer.text
    assert "site-local" in answer.json()["message"]


@pytest.mark.parametrize("url", URLS)
def test_a_saved_site_local_webhook_gets_nothing_and_is_dead_lettered_with_the_reason(
    webhooks: WebhookTenant, runner: Any, deployed: Any, site_local_dns: None, url: str
) -> None:
    webhooks.runner = strict_runner(runner, deployed, webhooks.function)
    TenantStore(wiring.table()).put_settings(
        TenantId(webhooks.tenant),
        TenantSettings(features=["invoice_export", "payment_sync"], payment_sync=PaymentSyncSettings(webhook_url=url)),
    )

    webhooks.send(payment_event(webhooks.tenant))

    [dead] = webhooks.dead_letters()
    assert dead.attributes["reason"] == "destination_refused"
    assert dead.attributes["attempts"] == "1"
    assert "site-local" in dead.body["detail"]
