"""A re-sync after the tenant loosened its filters: payments held back before go upstream, once."""

from datetime import date, timedelta

import pytest

from fortnox_bridge.ids import FortnoxTenantId, TenantId
from fortnox_bridge.store.ledger import ExportScope
from fortnox_bridge.store.payment_sync import PaymentSyncStore
from tests.paying import PaymentSync

pytestmark = pytest.mark.integration


def _resync(payment_sync: PaymentSync, since: date) -> None:
    scope = ExportScope(TenantId(payment_sync.tenant), FortnoxTenantId(payment_sync.company))
    PaymentSyncStore(payment_sync.table).request_resync(scope, since)


def test_a_resync_after_taking_all_invoices_sends_the_payments_held_back_before(payment_sync: PaymentSync) -> None:
    foreign = payment_sync.foreign_invoice()
    held_back = payment_sync.pay(foreign, "100.00")
    assert payment_sync.poll() == []
    payment_sync.settings(only_exported_invoices=False)

    _resync(payment_sync, date.today() - timedelta(days=1))
    [event] = payment_sync.poll()

    assert (event["type"], event["payment_number"]) == ("payment.received", held_back)
    assert payment_sync.poll() == []


def test_a_resync_after_lowering_the_date_filter_sends_the_older_payment(payment_sync: PaymentSync) -> None:
    today = date.today()
    payment_sync.settings(ignore_payments_before=today)
    invoice = payment_sync.exported_invoice("110200")
    older = payment_sync.pay(invoice, "100.00", PaymentDate=(today - timedelta(days=1)).isoformat())
    assert payment_sync.poll() == []
    payment_sync.settings(ignore_payments_before=today - timedelta(days=7))

    _resync(payment_sync, today - timedelta(days=1))
    [event] = payment_sync.poll()

    assert (event["type"], event["payment_number"]) == ("payment.received", older)
