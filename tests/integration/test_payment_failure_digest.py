"""A payment poll that keeps failing for a reason a person must fix reaches the bookkeeper who reads only the failure
digest: told once in the next e-mail, in the tenant's language, not again at every tick, and not any more once a poll
succeeds. Through the poll queue and its handler, the scheduled digest function, the sandbox and moto's SES."""

from typing import Any

import pytest
from moto.ses.models import ses_backends

from fortnox_bridge.fortnox.oauth import TokenEndpoint
from fortnox_bridge.ids import FortnoxTenantId, TenantId
from fortnox_bridge.store.connections import Connection, ConnectionStore
from fortnox_bridge.store.mappings import MappingStore
from fortnox_bridge.store.payment_sync import PollOutcome
from fortnox_bridge.store.tenants import NotificationSettings, Tenant, TenantStore
from fortnox_sandbox.control_client import ALL_SCOPES
from local_stack.moto_server import ACCOUNT_ID, REGION
from tests.digest_interval import an_interval_passes
from tests.exporting import freight_mapping
from tests.paying import PaymentSync

pytestmark = pytest.mark.integration


def _emails_to(address: str) -> list[Any]:
    sent = ses_backends[ACCOUNT_ID][REGION].sent_messages
    return [message for message in sent if address in message.destinations.get("ToAddresses", [])]


def _connect(sync: PaymentSync, scopes: str) -> None:
    """The tenant's company consents to the bridge with ``scopes``, as a service account."""
    scene = sync.scene
    code = scene.control.consent(scene.app, sync.company, scopes, service_account=True)
    endpoint = TokenEndpoint(auth_url=scene.url, client_id=scene.app.client_id, client_secret=lambda: "test-secret")
    granted = endpoint.exchange_code(code, redirect_uri=None)
    ConnectionStore(sync.table).bind(
        Connection(
            tenant_id=TenantId(sync.tenant),
            fortnox_tenant_id=FortnoxTenantId(sync.company),
            company_name="Utan Betalningar AB",
            service_account=True,
            scopes=sorted(granted.scopes),
        )
    )


def _poll(sync: PaymentSync) -> PollOutcome | None:
    sync.request_poll()
    assert [(outcome.received, outcome.failed) for outcome in sync.drain()] == [(1, 0)]
    status = sync.status()
    return status.last_outcome if status is not None else None


def _run_digest(sync: PaymentSync) -> None:
    sync.runner.run_scheduled(sync.runner.function("FailureDigestFunction"))


@pytest.fixture
def unpaid_access(payment_sync: PaymentSync, unique: str) -> PaymentSync:
    """A tenant whose company was connected without Fortnox's payment permission, payment sync on, and a bookkeeper
    who reads the digest in Swedish."""
    scene = payment_sync.scene
    tenant = f"{unique}-np"
    sync = PaymentSync(
        payment_sync.runner,
        payment_sync.deployed,
        scene,
        payment_sync.table,
        payment_sync.tap,
        tenant,
        scene.new_company("Utan Betalningar AB"),
    )
    TenantStore(sync.table).put(Tenant(tenant_id=TenantId(tenant), display_name="Utan"))
    _connect(sync, " ".join(scope for scope in ALL_SCOPES.split() if scope != "payment"))
    MappingStore(sync.table).put(TenantId(tenant), freight_mapping())
    sync.settings()
    stores = TenantStore(sync.table)
    settings = stores.require(TenantId(tenant)).settings
    notified = NotificationSettings(email=f"bokforing-{unique}@example.se", interval_minutes=60, language="sv")
    stores.put_settings(TenantId(tenant), settings.model_copy(update={"notifications": notified}))
    return sync


def test_a_failing_poll_is_emailed_once_and_not_after_a_poll_succeeds(unpaid_access: PaymentSync) -> None:
    sync = unpaid_access
    address = f"bokforing-{sync.tenant.removesuffix('-np')}@example.se"

    # Given two scheduled polls refused by Fortnox for want of the payment permission
    assert _poll(sync) is PollOutcome.FAILED
    assert _poll(sync) is PollOutcome.FAILED

    # When the digest runs
    _run_digest(sync)

    # Then the bookkeeper reads, in Swedish, that payments stopped and how to fix it
    [mail] = _emails_to(address)
    assert mail.subject == "Betalningar hämtas inte från Fortnox"
    assert "Betalningar från Fortnox hämtas inte längre" in mail.body
    assert "Anslut Fortnox igen och godkänn Betalningar och Faktura." in mail.body
    assert "Statussidan: " in mail.body and "Fortnox refused" not in mail.body

    # A poll failing the same way at each later tick is not news: no second e-mail, however many intervals pass.
    assert _poll(sync) is PollOutcome.FAILED
    an_interval_passes(sync.table, sync.tenant, 60)
    _run_digest(sync)
    assert len(_emails_to(address)) == 1

    # Once the tenant grants the permission, the next poll succeeds, and a later digest about an export failure
    # says nothing of payments.
    _connect(sync, ALL_SCOPES)
    assert _poll(sync) is PollOutcome.OK
    sync.scene.control.patch_account(sync.company, 3041, Active=False)
    sync.export.send(sync.export.event("100700"))
    an_interval_passes(sync.table, sync.tenant, 60)
    _run_digest(sync)
    second = _emails_to(address)[1]
    assert second.subject == "1 export till Fortnox behöver åtgärdas"
    assert "Faktura 100700" in second.body and "Betalningar" not in second.body


def test_a_poll_that_heals_before_the_digest_runs_is_not_emailed(unpaid_access: PaymentSync) -> None:
    sync = unpaid_access
    address = f"bokforing-{sync.tenant.removesuffix('-np')}@example.se"
    assert _poll(sync) is PollOutcome.FAILED

    _connect(sync, ALL_SCOPES)
    assert _poll(sync) is PollOutcome.OK
    _run_digest(sync)

    assert _emails_to(address) == []
