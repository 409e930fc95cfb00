"""Payment sync against the sandbox and the local stack: every Fortnox payment goes upstream once, through the poll
queue and its handler, with the figures and the invoice's standing the seeds ask for."""

import json
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest

from fortnox_bridge.ids import FortnoxTenantId, TenantId
from fortnox_bridge.store.ledger import ExportScope
from fortnox_bridge.store.payment_sync import PaymentSyncStore, PollOutcome
from tests.paying import PaymentSync

pytestmark = pytest.mark.integration


def _kinds(events: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(event["type"], event["payment_number"]) for event in events]


def test_a_registered_payment_goes_upstream_once(payment_sync: PaymentSync) -> None:
    invoice = payment_sync.exported_invoice("100353")
    total = Decimal(str(payment_sync.invoice(invoice)["Total"]))
    number = payment_sync.pay(invoice, str(total), PaymentDate=date.today().isoformat())

    [event] = payment_sync.poll()

    assert event["type"] == "payment.received"
    assert event["payment_number"] == number
    assert event["fortnox_invoice_number"] == invoice
    assert event["upstream_invoice_number"] == "100353"
    assert event["export_id"] == "invoice.MTAwMzUz"  # export_id("invoice", "100353"): GET /tenants/{id}/exports/...
    assert Decimal(event["payment"]["amount_sek"]) == total
    assert Decimal(event["payment"]["amount_in_currency"]) == total
    assert event["payment"]["currency"] == "SEK"
    assert event["payment"]["payment_date"] == date.today().isoformat()
    assert event["invoice_status"] == "fully_paid"
    assert Decimal(event["invoice_balance"]) == 0
    assert payment_sync.poll() == []
    status = payment_sync.status()
    assert status is not None and status.last_outcome is PollOutcome.OK and status.cursor is not None


def test_a_partial_then_a_final_payment_give_two_events_and_the_final_standing(payment_sync: PaymentSync) -> None:
    invoice = payment_sync.exported_invoice("100360")
    total = Decimal(str(payment_sync.invoice(invoice)["Total"]))
    first = payment_sync.pay(invoice, "1000.00")
    [partial] = payment_sync.poll()
    final = payment_sync.pay(invoice, str(total - Decimal("1000.00")))
    [rest] = payment_sync.poll()

    assert _kinds([partial, rest]) == [("payment.received", first), ("payment.received", final)]
    assert partial["invoice_status"] == "partly_paid"
    assert Decimal(partial["invoice_balance"]) == total - Decimal("1000.00")
    assert rest["invoice_status"] == "fully_paid"
    assert partial["event_id"] != rest["event_id"]


def test_an_overpaid_invoice_says_so(payment_sync: PaymentSync) -> None:
    invoice = payment_sync.exported_invoice("100361")
    total = Decimal(str(payment_sync.invoice(invoice)["Total"]))
    payment_sync.pay(invoice, str(total + Decimal("50.00")))
    [event] = payment_sync.poll()
    assert event["invoice_status"] == "overpaid"
    assert Decimal(event["invoice_balance"]) == Decimal("-50.00")


def test_an_edited_payment_is_a_change_with_what_it_was(payment_sync: PaymentSync) -> None:
    invoice = payment_sync.exported_invoice("100362")
    number = payment_sync.pay(invoice, "500.00", PaymentDate=date.today().isoformat())
    [received] = payment_sync.poll()
    later = (date.today() + timedelta(days=1)).isoformat()
    payment_sync.change(number, Amount="700.00", PaymentDate=later)

    [changed] = payment_sync.poll()

    assert changed["type"] == "payment.changed"
    assert changed["payment_number"] == number
    assert Decimal(changed["payment"]["amount_sek"]) == Decimal("700.00")
    assert changed["payment"]["payment_date"] == later
    assert Decimal(changed["previous"]["amount_sek"]) == Decimal("500.00")
    assert changed["previous"] == received["payment"]
    assert changed["event_id"] != received["event_id"]
    assert (received["sequence"], changed["sequence"]) == (1, 2)
    assert payment_sync.poll() == []


def test_a_payment_changed_back_and_forth_is_never_taken_for_a_resend(payment_sync: PaymentSync) -> None:
    invoice = payment_sync.exported_invoice("100363")
    number = payment_sync.pay(invoice, "500.00")
    payment_sync.poll()
    ids = set()
    for amount in ("600.00", "500.00", "600.00"):
        payment_sync.change(number, Amount=amount)
        [changed] = payment_sync.poll()
        ids.add(changed["event_id"])
    assert len(ids) == 3


def test_a_deleted_payment_is_removed_upstream(payment_sync: PaymentSync) -> None:
    invoice = payment_sync.exported_invoice("100364")
    kept = payment_sync.pay(invoice, "300.00")
    gone = payment_sync.pay(invoice, "200.00")
    assert len(payment_sync.poll()) == 2
    payment_sync.delete(gone)

    [removed] = payment_sync.poll()

    assert removed["type"] == "payment.removed"
    assert removed["payment_number"] == gone
    assert Decimal(removed["payment"]["amount_sek"]) == Decimal("200.00")
    total = Decimal(str(payment_sync.invoice(invoice)["Total"]))
    assert Decimal(removed["invoice_balance"]) == total - Decimal("300.00")
    assert removed["invoice_status"] == "partly_paid"
    assert removed["sequence"] == 2
    assert payment_sync.poll() == []
    assert kept != gone


def test_a_foreign_currency_payment_carries_both_amounts_and_the_rate(payment_sync: PaymentSync) -> None:
    invoice = payment_sync.exported_invoice("100365", currency="EUR", currency_rate="11.5")
    total = Decimal(str(payment_sync.invoice(invoice)["Total"]))
    sek = (total * Decimal("11.20")).quantize(Decimal("0.01"))
    payment_sync.pay(invoice, str(sek), AmountCurrency=str(total), CurrencyRate="11.20")

    [event] = payment_sync.poll()

    figures = event["payment"]
    assert figures["currency"] == "EUR"
    assert Decimal(figures["amount_sek"]) == sek
    assert Decimal(figures["amount_in_currency"]) == total
    assert Decimal(figures["currency_rate"]) == Decimal("11.20")
    assert Decimal(figures["currency_unit"]) == 1
    assert event["invoice_status"] == "fully_paid"
    # An unchanged foreign-currency payment costs no read of its own on the next poll.
    before = len(payment_sync.calls())
    assert payment_sync.poll() == []
    assert len(payment_sync.calls()) - before == 2


def test_an_idle_tenant_costs_two_fortnox_calls_per_poll(payment_sync: PaymentSync) -> None:
    invoice = payment_sync.exported_invoice("100366")
    payment_sync.pay(invoice, "100.00")
    payment_sync.poll()
    for _ in range(3):
        before = len(payment_sync.calls())
        assert payment_sync.poll() == []
        made = payment_sync.calls()[before:]
        assert sorted(row["path"] for row in made) == ["/3/invoicepayments", "/3/invoices"]


def test_a_redelivered_poll_job_publishes_nothing_twice(payment_sync: PaymentSync) -> None:
    invoice = payment_sync.exported_invoice("100367")
    payment_sync.pay(invoice, "100.00")
    payment_sync.request_poll()
    payment_sync.request_poll()
    payment_sync.request_poll()
    outcomes = payment_sync.drain()
    assert sum(outcome.received for outcome in outcomes) == 3
    assert sum(outcome.failed for outcome in outcomes) == 0
    assert len(payment_sync.events()) == 1


def test_a_poll_under_way_makes_an_overlapping_one_return_quietly(payment_sync: PaymentSync) -> None:
    from datetime import UTC, datetime

    from fortnox_bridge.payments.poller import LEASE

    invoice = payment_sync.exported_invoice("100368")
    payment_sync.pay(invoice, "100.00")
    scope = ExportScope(TenantId(payment_sync.tenant), FortnoxTenantId(payment_sync.company))
    PaymentSyncStore(payment_sync.table).acquire(scope, "another-poll", datetime.now(UTC), LEASE)
    before = len(payment_sync.calls())

    assert payment_sync.poll() == []

    assert len(payment_sync.calls()) == before


def test_each_filter_holds_back_what_the_tenant_ignores(payment_sync: PaymentSync) -> None:
    old = payment_sync.exported_invoice("100370")
    low = payment_sync.exported_invoice("100371")
    fresh = payment_sync.exported_invoice("100372")
    payment_sync.settings(ignore_payments_before=date.today().isoformat(), ignore_invoice_numbers_below=int(fresh))
    yesterday = (date.today() - timedelta(days=1)).isoformat()
    payment_sync.pay(old, "100.00", PaymentDate=yesterday)
    payment_sync.pay(low, "100.00")
    kept = payment_sync.pay(fresh, "100.00")

    assert _kinds(payment_sync.poll()) == [("payment.received", kept)]
    assert payment_sync.poll() == []


def test_only_exported_invoices_unless_the_tenant_takes_all_matched_on_ocr(payment_sync: PaymentSync) -> None:
    ours = payment_sync.exported_invoice("100380")
    theirs = payment_sync.foreign_invoice()
    payment_sync.pay(theirs, "100.00")
    mine = payment_sync.pay(ours, "100.00")
    assert _kinds(payment_sync.poll()) == [("payment.received", mine)]

    payment_sync.settings(only_exported_invoices=False, match_on="ocr")
    other = payment_sync.pay(theirs, "50.00")
    [event] = payment_sync.poll()
    assert event["payment_number"] == other
    assert event["export_id"] is None
    assert event["ocr"] == payment_sync.invoice(theirs)["OCR"]
    assert event["upstream_invoice_number"] == payment_sync.invoice(theirs)["OCR"]


def test_another_tenants_payments_never_reach_this_tenant(payment_sync: PaymentSync, unique: str) -> None:
    mine = payment_sync.exported_invoice("100390")
    neighbour = payment_sync.neighbour(f"{unique}-n")
    theirs = neighbour.exported_invoice("100390")
    neighbour.pay(theirs, "100.00")
    payment_sync.pay(mine, "10.00")
    own = payment_sync.poll()
    assert [event["tenant_id"] for event in own] == [payment_sync.tenant]
    assert [event["fortnox_tenant_id"] for event in own] == [payment_sync.company]
    assert [event["tenant_id"] for event in neighbour.poll()] == [neighbour.tenant]


def test_reconnecting_another_company_starts_fresh(payment_sync: PaymentSync) -> None:
    first = payment_sync.exported_invoice("100400")
    number = payment_sync.pay(first, "100.00")
    payment_sync.poll()
    payment_sync.reconnect(payment_sync.scene.new_company("Nya Åkeri AB"))
    second = payment_sync.exported_invoice("100400")
    again = payment_sync.pay(second, "100.00")

    [event] = payment_sync.poll()

    # The new company numbers its payments from the start too: the same number is a new payment there.
    assert (event["type"], event["payment_number"], event["fortnox_tenant_id"]) == (
        "payment.received",
        again,
        payment_sync.company,
    )
    assert again == number


def test_a_resync_sends_what_it_finds_again_with_the_same_ids(payment_sync: PaymentSync) -> None:
    invoice = payment_sync.exported_invoice("100410")
    payment_sync.pay(invoice, "100.00")
    payment_sync.pay(invoice, "200.00")
    first = payment_sync.poll()
    scope = ExportScope(TenantId(payment_sync.tenant), FortnoxTenantId(payment_sync.company))
    asked = PaymentSyncStore(payment_sync.table).request_resync(scope, date.today())
    assert asked.resync_from == date.today()

    again = payment_sync.poll()

    assert sorted(event["event_id"] for event in again) == sorted(event["event_id"] for event in first)
    status = payment_sync.status()
    assert status is not None and status.resync_from is None
    assert payment_sync.poll() == []


def test_a_tenant_that_is_not_connected_costs_no_fortnox_call(payment_sync: PaymentSync) -> None:
    from fortnox_bridge.store.connections import ConnectionState, ConnectionStore

    ConnectionStore(payment_sync.table).mark(TenantId(payment_sync.tenant), ConnectionState.NEEDS_RECONNECT, "lost")
    before = len(payment_sync.calls())

    assert payment_sync.poll() == []

    assert len(payment_sync.calls()) == before
    status = payment_sync.status()
    assert status is not None and status.last_outcome is PollOutcome.NOT_CONNECTED
    assert status.last_reason_en is not None and "Reconnect" in status.last_reason_en


def test_a_bad_poll_job_fails_alone_with_its_reason(payment_sync: PaymentSync) -> None:
    payment_sync.request_poll('{"tenant_id": "../etc", "due_at": "2026-01-01T00:00:00Z"}')
    spec = payment_sync.runner.function(payment_sync.POLLER)
    outcome = payment_sync.runner.deliver_batch(spec, spec.event_sources[0])
    payment_sync.discard_poll_jobs()
    assert outcome is not None and (outcome.received, outcome.failed) == (1, 1)
    status = payment_sync.status()
    assert status is None


def test_a_tenant_with_a_webhook_gets_the_same_events_in_its_outbox(payment_sync: PaymentSync) -> None:
    url = "https://hooks.example.com/opter/payments"
    payment_sync.settings(webhook_url=url)
    invoice = payment_sync.exported_invoice("100420")
    payment_sync.pay(invoice, "100.00")

    [event] = payment_sync.poll()

    [delivery] = payment_sync.webhook_deliveries()
    assert (delivery["event_id"], delivery["detail_type"]) == (event["event_id"], event["type"])
    assert url not in json.dumps(delivery)  # the worker reads the webhook when it delivers
    assert json.loads(delivery["body"])["data"]["payment_number"] == event["payment_number"]


def test_a_tenant_without_a_webhook_puts_nothing_in_the_outbox(payment_sync: PaymentSync) -> None:
    invoice = payment_sync.exported_invoice("100421")
    payment_sync.pay(invoice, "100.00")
    assert len(payment_sync.poll()) == 1
    assert payment_sync.webhook_deliveries() == []


def test_a_poll_job_for_a_tenant_nobody_knows_or_without_payment_sync_goes_quietly(
    payment_sync: PaymentSync, unique: str
) -> None:
    from datetime import UTC, datetime

    from fortnox_bridge.payments.poll_request import PollRequested
    from fortnox_bridge.store.tenants import TenantSettings, TenantStore

    nobody = PollRequested(tenant_id=TenantId(f"{unique}-gone"), due_at=datetime.now(UTC)).model_dump_json()
    payment_sync.request_poll(nobody)
    assert [(outcome.received, outcome.failed) for outcome in payment_sync.drain()] == [(1, 0)]

    invoice = payment_sync.exported_invoice("100430")
    payment_sync.pay(invoice, "100.00")
    TenantStore(payment_sync.table).put_settings(TenantId(payment_sync.tenant), TenantSettings())
    before = len(payment_sync.calls())
    assert payment_sync.poll() == []
    assert len(payment_sync.calls()) == before
    assert payment_sync.status() is None
