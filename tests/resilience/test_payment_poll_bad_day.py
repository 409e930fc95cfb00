"""A bad day for payment sync: Fortnox refusing or failing mid-poll, a crash between publishing and the cursor, a
connection without the payment permission. Nothing is skipped, nothing is sent under a new id."""

from collections.abc import Iterator

import pytest

from fortnox_bridge.fortnox.oauth import TokenEndpoint
from fortnox_bridge.fortnox.retry import RetryPolicy
from fortnox_bridge.ids import FortnoxTenantId, TenantId
from fortnox_bridge.store.connections import Connection, ConnectionStore
from fortnox_bridge.store.payment_sync import PollOutcome
from fortnox_bridge.store.tenants import Tenant, TenantStore
from fortnox_sandbox.control_client import ALL_SCOPES
from tests.paying import DynamoDbFault, PaymentSync

pytestmark = pytest.mark.integration


@pytest.fixture(autouse=True)
def _no_waits(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(RetryPolicy, "backoff", lambda self, attempt: 0.0)


@pytest.fixture
def no_faults(payment_sync: PaymentSync) -> Iterator[None]:
    yield
    payment_sync.scene.control._call("DELETE", "/faults")


def test_a_crash_before_the_cursor_write_resends_with_the_same_ids(
    payment_sync: PaymentSync, monkeypatch: pytest.MonkeyPatch
) -> None:
    invoice = payment_sync.exported_invoice("100500")
    payment_sync.pay(invoice, "100.00")
    payment_sync.pay(invoice, "250.00")
    fault = DynamoDbFault(monkeypatch, "UpdateItem", "SET #cursor = :cursor")

    crashed = payment_sync.deliver_once()
    sent = payment_sync.events()

    assert crashed is not None and crashed.failed == 1 and fault.hits == 1
    assert len(sent) == 2
    status = payment_sync.status()
    assert status is not None and status.cursor is None and status.last_outcome is PollOutcome.FAILED
    fault.heal()

    payment_sync.drain()
    again = payment_sync.events()

    assert sorted(event["event_id"] for event in again) == sorted(event["event_id"] for event in sent)
    assert again == sorted(again, key=lambda e: [e["event_id"] for e in sent].index(e["event_id"]))
    assert payment_sync.poll() == []
    status = payment_sync.status()
    assert status is not None and status.cursor is not None and status.last_outcome is PollOutcome.OK


def test_a_crash_before_the_snapshots_are_written_finds_the_same_changes_again(
    payment_sync: PaymentSync, monkeypatch: pytest.MonkeyPatch
) -> None:
    invoice = payment_sync.exported_invoice("100501")
    number = payment_sync.pay(invoice, "100.00")
    payment_sync.poll()
    payment_sync.change(number, Amount="150.00")
    fault = DynamoDbFault(monkeypatch, "PutItem", "PAYMENT#")

    crashed = payment_sync.deliver_once()
    # The snapshots are written before anything is published (attack11b): the crashed poll sent nothing.
    assert payment_sync.events() == []
    fault.heal()
    payment_sync.drain()
    [again] = payment_sync.events()

    assert crashed is not None and crashed.failed == 1
    assert again["type"] == "payment.changed"
    assert payment_sync.poll() == []


def test_fortnox_failing_mid_poll_is_retried_and_the_cursor_stays(payment_sync: PaymentSync, no_faults: None) -> None:
    invoice = payment_sync.exported_invoice("100502")
    payment_sync.pay(invoice, "100.00")
    payment_sync.poll()
    cursor = payment_sync.status().cursor  # type: ignore[union-attr]
    payment_sync.pay(invoice, "50.00")
    payment_sync.scene.control.fault("500", count=50, path_prefix="/3/invoices", method="GET")

    failed = payment_sync.deliver_once()

    assert failed is not None and failed.failed == 1
    status = payment_sync.status()
    assert status is not None and status.cursor == cursor and status.last_outcome is PollOutcome.FAILED
    assert status.last_reason_en is not None and "retried" in status.last_reason_en
    assert payment_sync.events() == []
    payment_sync.scene.control._call("DELETE", "/faults")

    payment_sync.drain()

    [event] = payment_sync.events()
    assert event["type"] == "payment.received"
    status = payment_sync.status()
    assert status is not None and status.cursor is not None and cursor is not None and status.cursor > cursor


def test_fortnox_refusing_for_a_moment_costs_nothing_but_time(payment_sync: PaymentSync, no_faults: None) -> None:
    invoice = payment_sync.exported_invoice("100503")
    payment_sync.pay(invoice, "100.00")
    payment_sync.scene.control.fault("429", count=2, path_prefix="/3/invoicepayments")

    [event] = payment_sync.poll()

    assert event["type"] == "payment.received"
    assert [row["status"] for row in payment_sync.calls() if row["path"] == "/3/invoicepayments"][:3] == [
        429,
        429,
        200,
    ]


def test_a_connection_without_the_payment_permission_is_told_to_reconnect(payment_sync: PaymentSync) -> None:
    scene = payment_sync.scene
    company = scene.new_company("Utan Betalningar AB")
    tenant = TenantId(f"{payment_sync.tenant}-np")
    scopes = " ".join(scope for scope in ALL_SCOPES.split() if scope != "payment")
    code = scene.control.consent(scene.app, company, scopes, service_account=True)
    endpoint = TokenEndpoint(auth_url=scene.url, client_id=scene.app.client_id, client_secret=lambda: "test-secret")
    granted = endpoint.exchange_code(code, redirect_uri=None)
    TenantStore(payment_sync.table).put(Tenant(tenant_id=tenant, display_name="Utan"))
    ConnectionStore(payment_sync.table).bind(
        Connection(
            tenant_id=tenant,
            fortnox_tenant_id=FortnoxTenantId(company),
            company_name="Utan Betalningar AB",
            service_account=True,
            scopes=sorted(granted.scopes),
        )
    )
    limited = PaymentSync(
        payment_sync.runner, payment_sync.deployed, scene, payment_sync.table, payment_sync.tap, tenant, company
    )
    limited.settings()

    limited.request_poll()
    outcomes = limited.drain()

    assert [(outcome.received, outcome.failed) for outcome in outcomes] == [(1, 0)]
    status = limited.status()
    assert status is not None and status.last_outcome is PollOutcome.FAILED
    assert status.last_reason_en is not None and "Reconnect" in status.last_reason_en
    assert status.last_reason_sv is not None and "Anslut Fortnox igen" in status.last_reason_sv
    assert status.cursor is None
