"""Payment sync among careless neighbours: another tenant's invoices in a shared Fortnox company, a marker that only
looks like ours, and a bus that refuses entries. Each tenant hears of its own payments only, each exactly once."""

from decimal import Decimal
from typing import Any

import botocore.client
import pytest

from fortnox_bridge.fortnox.models.customers import CustomerWrite
from fortnox_bridge.fortnox.models.invoices import InvoiceRowWrite, InvoiceWrite
from fortnox_bridge.fortnox.oauth import TokenEndpoint
from fortnox_bridge.ids import FortnoxTenantId, TenantId
from fortnox_bridge.store.connections import Connection, ConnectionStore
from fortnox_bridge.store.mappings import MappingStore
from fortnox_bridge.store.payment_sync import PollOutcome
from fortnox_bridge.store.tenants import Tenant, TenantStore
from fortnox_sandbox.control_client import ALL_SCOPES
from tests.exporting import freight_mapping
from tests.paying import PaymentSync

pytestmark = pytest.mark.integration


def _sharing_neighbour(payment_sync: PaymentSync, tenant: str) -> PaymentSync:
    """Another tenant connected to the same Fortnox company, which it allowed to share (seed 003's agencies)."""
    scene = payment_sync.scene
    code = scene.control.consent(scene.app, payment_sync.company, ALL_SCOPES, service_account=True)
    endpoint = TokenEndpoint(auth_url=scene.url, client_id=scene.app.client_id, client_secret=lambda: "test-secret")
    granted = endpoint.exchange_code(code, redirect_uri=None)
    TenantStore(payment_sync.table).put(Tenant(tenant_id=TenantId(tenant), display_name="Grannen"))
    ConnectionStore(payment_sync.table).bind(
        Connection(
            tenant_id=TenantId(tenant),
            fortnox_tenant_id=FortnoxTenantId(payment_sync.company),
            company_name="Sandlådan Åkeri AB",
            service_account=True,
            scopes=sorted(granted.scopes),
        ),
        allow_shared=True,
    )
    MappingStore(payment_sync.table).put(TenantId(tenant), freight_mapping())
    neighbour = PaymentSync(
        payment_sync.runner,
        payment_sync.deployed,
        scene,
        payment_sync.table,
        payment_sync.tap,
        tenant,
        payment_sync.company,
    )
    neighbour.settings()
    return neighbour


def test_in_a_shared_company_each_tenant_hears_of_payments_on_its_own_invoices(
    payment_sync: PaymentSync, unique: str
) -> None:
    neighbour = _sharing_neighbour(payment_sync, f"{unique}-grannen")
    # The same upstream number in both tenants: only the marker tells whose invoice is whose.
    mine = payment_sync.exported_invoice("100600")
    theirs = neighbour.exported_invoice("100600")
    assert mine != theirs
    my_payment = payment_sync.pay(mine, "100.00")
    their_payment = neighbour.pay(theirs, "200.00")

    own = payment_sync.poll()
    their_own = neighbour.poll()

    assert [(event["payment_number"], event["fortnox_invoice_number"]) for event in own] == [(my_payment, mine)]
    assert [(event["payment_number"], event["fortnox_invoice_number"]) for event in their_own] == [
        (their_payment, theirs)
    ]
    assert own[0]["event_id"] != their_own[0]["event_id"]
    assert their_own[0]["tenant_id"] == neighbour.tenant


def test_an_invoice_made_by_hand_with_a_marker_like_ours_is_not_taken_for_ours(payment_sync: PaymentSync) -> None:
    """Someone copies our marker with another tenant id, or with ours and a twist: neither is an export of ours."""
    with payment_sync.fortnox() as client:
        customer = client.customers.create(CustomerWrite(Name="Kopierad Markör AB"))
        numbers = []
        for marker in (f"FB:{payment_sync.tenant}x:100700", f"fb:{payment_sync.tenant}:100700"):
            made = client.invoices.create(
                InvoiceWrite(
                    CustomerNumber=customer.CustomerNumber,
                    ExternalInvoiceReference1=marker,
                    InvoiceRows=[InvoiceRowWrite(AccountNumber=3041, DeliveredQuantity=Decimal(1), Price=Decimal(500))],
                )
            )
            client.invoices.bookkeep(str(made.DocumentNumber))
            numbers.append(str(made.DocumentNumber))
    for number in numbers:
        payment_sync.pay(number, "100.00")

    assert payment_sync.poll() == []


def test_a_bus_refusing_entries_gets_them_again_and_upstream_hears_once(
    payment_sync: PaymentSync, monkeypatch: pytest.MonkeyPatch
) -> None:
    invoice = payment_sync.exported_invoice("100601")
    payment_sync.pay(invoice, "100.00")
    payment_sync.pay(invoice, "150.00")
    real = botocore.client.BaseClient._make_api_call
    refused: list[int] = []

    def throttled_once(client: Any, name: str, params: dict[str, Any]) -> Any:
        if name == "PutEvents" and not refused and "payment.received" in str(params):
            # EventBridge takes the first entry and throttles the second: only the second is sent again.
            entries = params["Entries"]
            refused.append(len(entries))
            real(client, name, {**params, "Entries": entries[:1]})
            return {
                "FailedEntryCount": 1,
                "Entries": [{"EventId": "taken"}, {"ErrorCode": "ThrottlingException", "ErrorMessage": "slow down"}],
            }
        return real(client, name, params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", throttled_once)

    events = payment_sync.poll()

    assert refused == [2]
    assert len(events) == 2 and len({event["event_id"] for event in events}) == 2


def test_a_bus_that_keeps_refusing_fails_the_poll_and_nothing_is_lost(
    payment_sync: PaymentSync, monkeypatch: pytest.MonkeyPatch
) -> None:
    invoice = payment_sync.exported_invoice("100602")
    payment_sync.pay(invoice, "100.00")
    real = botocore.client.BaseClient._make_api_call

    def refusing(client: Any, name: str, params: dict[str, Any]) -> Any:
        if name == "PutEvents" and "payment.received" in str(params):
            return {"FailedEntryCount": 1, "Entries": [{"ErrorCode": "InternalFailure", "ErrorMessage": "down"}]}
        return real(client, name, params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", refusing)
    failed = payment_sync.deliver_once()
    assert failed is not None and failed.failed == 1
    status = payment_sync.status()
    assert status is not None and status.last_outcome is PollOutcome.FAILED and status.cursor is None
    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", real)

    payment_sync.drain()

    [event] = payment_sync.events()
    assert event["type"] == "payment.received"
    assert payment_sync.poll() == []
