"""A hostile tenant's webhook: the bridge never sends a payment event (or anything) to its own cloud's metadata
service, a private network, loopback or a name that resolves there, whatever the URL looks like. Checked when each
delivery is sent, so a name that resolved elsewhere when the URL was saved changes nothing."""

import socket
from pathlib import Path
from typing import Any

import pytest

from fortnox_bridge import wiring
from fortnox_bridge.ids import TenantId
from fortnox_bridge.store.tenants import PaymentSyncSettings, TenantSettings, TenantStore
from tests.webhook_receiver import WebhookReceiver, WebhookTenant, payment_event, self_signed, strict_runner

PUBLIC = "93.184.216.34"
NAMES = {
    "hooks.customer.example": ["127.0.0.1"],
    "rebinding.customer.example": [PUBLIC, "10.0.0.5"],
    "metadata.customer.example": ["169.254.169.254"],
    "v6.customer.example": ["::1"],
    "public.customer.example": [PUBLIC],
}
"""What the hostile tenant's DNS answers; no test resolves or reaches anything beyond 127.0.0.1."""


@pytest.fixture
def hostile_dns(monkeypatch: pytest.MonkeyPatch) -> None:
    real = socket.getaddrinfo

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host in NAMES:
            return [
                (socket.AF_INET6 if ":" in address else socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))
                for address in NAMES[host]
            ]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


@pytest.fixture
def strict(webhooks: WebhookTenant, runner: Any, deployed: Any, hostile_dns: None) -> WebhookTenant:
    """The tenant's deliveries run as in AWS: no loopback, no http."""
    webhooks.runner = strict_runner(runner, deployed, webhooks.function)
    return webhooks


def saved(hooks: WebhookTenant, url: str) -> None:
    """The URL as the tenant's settings hold it (written to the table: what it resolves to may change after any
    check made when it was saved)."""
    TenantStore(wiring.table()).put_settings(
        TenantId(hooks.tenant),
        TenantSettings(features=["invoice_export", "payment_sync"], payment_sync=PaymentSyncSettings(webhook_url=url)),
    )


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("https://169.254.169.254/latest/meta-data/iam/security-credentials/", "link-local"),
        ("https://metadata.customer.example/latest/meta-data/", "link-local"),
        ("https://10.0.0.1/hook", "private"),
        ("https://localhost/hook", "loopback"),
        ("https://[::1]/hook", "loopback"),
        ("https://[::ffff:127.0.0.1]/hook", "loopback"),
        ("https://[::ffff:a9fe:a9fe]/hook", "link-local"),
        ("https://2130706433/hook", "loopback"),
        ("https://hooks.customer.example/hook", "loopback"),
        ("https://v6.customer.example/hook", "loopback"),
        ("https://rebinding.customer.example/hook", "private"),
        ("https://[fd00::1]/hook", "private"),
        ("https://224.0.0.1/hook", "multicast"),
        ("https://100.64.0.1/hook", "non-global"),
        ("https://public.customer.example:22/hook", "port"),
        ("https://hook:secret@public.customer.example/hook", "credentials"),
        ("http://public.customer.example/hook", "https"),
    ],
)
def test_a_hostile_destination_is_refused_and_dead_lettered_with_the_reason(
    strict: WebhookTenant, url: str, why: str
) -> None:
    saved(strict, url)

    outcomes = strict.send(payment_event(strict.tenant))

    assert [outcome.failed for outcome in outcomes] == [0]
    [dead] = strict.dead_letters()
    assert dead.attributes["reason"] == "destination_refused"
    assert dead.attributes["attempts"] == "1"
    assert why in dead.body["detail"]
    assert "secret@" not in dead.body["detail"]
    assert strict.receiver.received == []


def test_the_receiver_itself_is_refused_without_the_local_flag(strict: WebhookTenant) -> None:
    """The test receiver on 127.0.0.1 works only because the test stack allows loopback; as deployed it is refused."""
    strict.send(payment_event(strict.tenant))

    assert strict.receiver.received == []
    [dead] = strict.dead_letters()
    assert "https" in dead.body["detail"]


@pytest.mark.parametrize("url", ["http://169.254.169.254/latest/meta-data/", "http://10.0.0.1/hook"])
def test_the_local_flag_allows_loopback_and_nothing_else(webhooks: WebhookTenant, url: str) -> None:
    saved(webhooks, url)

    webhooks.send(payment_event(webhooks.tenant))

    [dead] = webhooks.dead_letters()
    assert dead.attributes["reason"] == "destination_refused"


def test_the_request_goes_to_the_address_checked_not_to_a_second_lookup(
    webhooks: WebhookTenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DNS rebinding: the name answers a permitted address to the check and a private one to every later lookup. The
    request is made to the checked address, with the name as ``Host``, so the second answer is never used."""
    real = socket.getaddrinfo
    lookups: list[str] = []

    def rebinding(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host != "rebind.customer.example":
            return real(host, port, *args, **kwargs)
        lookups.append(host)
        address = "127.0.0.1" if len(lookups) == 1 else "10.0.0.7"
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    port = webhooks.receiver.port
    saved(webhooks, f"http://rebind.customer.example:{port}/hooks/{webhooks.tenant}")

    webhooks.send(payment_event(webhooks.tenant))

    [received] = webhooks.receiver.for_tenant(webhooks.tenant)
    assert received.verified
    assert received.host == f"rebind.customer.example:{port}"
    assert lookups == ["rebind.customer.example"]


def test_a_receiver_whose_certificate_no_ca_signed_gets_nothing(
    webhooks: WebhookTenant, tmp_path: Path, hostile_dns: None
) -> None:
    """TLS is checked even on the local stack: a self-signed receiver (reached by name, as a tenant's would be) is
    tried until the limit and dead-lettered, and never sees the event."""
    tls = WebhookReceiver(self_signed(tmp_path, "hooks.customer.example")).start()
    try:
        tls.trust(webhooks.tenant, webhooks.secret or "")
        saved(webhooks, tls.url(webhooks.tenant, host="hooks.customer.example"))

        webhooks.send(payment_event(webhooks.tenant))

        assert tls.received == []
        [dead] = webhooks.dead_letters()
        assert dead.attributes["reason"] == "ConnectError"
    finally:
        tls.stop()
