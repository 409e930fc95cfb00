"""A payment poll failing for a reason a person must fix, at a tenant that has no address for the failure digest yet:
the address the tenant adds while the failure lasts is told of it, once, and an address added after the failure was
told somewhere is not told it again. Through the poll queue and its handler, the management API's settings route,
the scheduled digest function, the sandbox and moto's SES."""

from typing import Any

import httpx
import pytest
from moto.ses.models import ses_backends

from fortnox_bridge.fortnox.oauth import TokenEndpoint
from fortnox_bridge.ids import FortnoxTenantId, TenantId
from fortnox_bridge.store.connections import Connection, ConnectionStore
from fortnox_bridge.store.mappings import MappingStore
from fortnox_bridge.store.payment_sync import PollOutcome
from fortnox_bridge.store.tenants import Tenant, TenantStore
from fortnox_sandbox.control_client import ALL_SCOPES
from local_stack.moto_server import ACCOUNT_ID, REGION
from tests.conftest import LOCAL_API_KEY
from tests.digest_interval import an_interval_passes
from tests.exporting import freight_mapping
from tests.paying import PaymentSync

pytestmark = pytest.mark.integration

WITHOUT_PAYMENTS = " ".join(scope for scope in ALL_SCOPES.split() if scope != "payment")
SUBJECT = "Betalningar hämtas inte från Fortnox"


def _emails_to(address: str) -> list[Any]:
    sent = ses_backends[ACCOUNT_ID][REGION].sent_messages
    return [message for message in sent if address in message.destinations.get("ToAddresses", [])]


def _poll_fails(sync: PaymentSync) -> None:
    sync.request_poll()
    assert [(outcome.received, outcome.failed) for outcome in sync.drain()] == [(1, 0)]
    status = sync.status()
    assert status is not None and status.last_outcome is PollOutcome.FAILED


def _run_digest(sync: PaymentSync) -> None:
    sync.runner.run_scheduled(sync.runner.function("FailureDigestFunction"))


class Settings:
    """The tenant's settings as the SaaS backend saves them: payment sync on, a digest address or none."""

    def __init__(self, gateway: Any, tenant: str) -> None:
        self.gateway = gateway
        self.tenant = tenant

    def save(self, address: str | None) -> None:
        body: dict[str, Any] = {"features": ["invoice_export", "payment_sync"], "invoice_export": {"bookkeep": True}}
        if address is not None:
            body["notifications"] = {"email": address, "interval_minutes": 60, "language": "sv"}
        with httpx.Client(base_url=self.gateway.url, headers={"x-api-key": LOCAL_API_KEY}, timeout=60) as http:
            answer = http.put(f"/tenants/{self.tenant}/settings", json=body)
        assert answer.status_code == 200, answer.text


@pytest.fixture
def unpaid_access(payment_sync: PaymentSync, unique: str) -> PaymentSync:
    """A tenant whose company was connected without Fortnox's payment permission, payment sync on, and no address
    for the failure digest."""
    scene = payment_sync.scene
    tenant = f"{unique}-na"
    sync = PaymentSync(
        payment_sync.runner,
        payment_sync.deployed,
        scene,
        payment_sync.table,
        payment_sync.tap,
        tenant,
        scene.new_company("Utan Adress AB"),
    )
    TenantStore(sync.table).put(Tenant(tenant_id=TenantId(tenant), display_name="Utan adress"))
    code = scene.control.consent(scene.app, sync.company, WITHOUT_PAYMENTS, service_account=True)
    endpoint = TokenEndpoint(auth_url=scene.url, client_id=scene.app.client_id, client_secret=lambda: "test-secret")
    granted = endpoint.exchange_code(code, redirect_uri=None)
    ConnectionStore(sync.table).bind(
        Connection(
            tenant_id=TenantId(tenant),
            fortnox_tenant_id=FortnoxTenantId(sync.company),
            company_name="Utan Adress AB",
            service_account=True,
            scopes=sorted(granted.scopes),
        )
    )
    MappingStore(sync.table).put(TenantId(tenant), freight_mapping())
    sync.settings()
    return sync


def test_an_address_added_while_a_payment_failure_lasts_is_told_of_it_once(
    unpaid_access: PaymentSync, gateway: Any, unique: str
) -> None:
    sync = unpaid_access
    settings = Settings(gateway, sync.tenant)
    first, second = f"bokforing-{unique}@example.se", f"ekonomi-{unique}@example.se"

    # Given a poll refused for want of the payment permission, and a digest that had nobody to tell
    _poll_fails(sync)
    _run_digest(sync)

    # When the tenant adds an address while the polls go on failing
    _poll_fails(sync)
    settings.save(first)
    _poll_fails(sync)
    _run_digest(sync)

    # Then that address learns that payments stopped, once
    [mail] = _emails_to(first)
    assert mail.subject == SUBJECT
    assert "Anslut Fortnox igen och godkänn Betalningar och Faktura." in mail.body
    _poll_fails(sync)
    an_interval_passes(sync.table, sync.tenant, 60)
    _run_digest(sync)
    assert len(_emails_to(first)) == 1

    # And an address that replaces it after the address was taken away is not told the same failure again
    settings.save(None)
    _run_digest(sync)
    settings.save(second)
    _poll_fails(sync)
    an_interval_passes(sync.table, sync.tenant, 60)
    _run_digest(sync)
    assert _emails_to(second) == [] and len(_emails_to(first)) == 1
