"""The status page of a tenant whose Fortnox connection is gone: it says nothing is fetched, and does not also
promise a next poll (the fan-out skips the tenant until it reconnects), least of all one that is long past."""

from typing import Any

import pytest

from tests.integration.test_status_page_payments import Bookkeeper
from tests.paying import PaymentSync, payment_sync

__all__ = ["payment_sync"]  # the fixture, imported so pytest finds it


@pytest.fixture
def bookkeeper(gateway: Any) -> Bookkeeper:
    return Bookkeeper(gateway.url)


def test_a_disconnected_tenant_is_promised_no_next_poll(payment_sync: PaymentSync, bookkeeper: Bookkeeper) -> None:
    bookkeeper.switch_on(payment_sync.tenant)
    payment_sync.poll()
    link = bookkeeper.link(payment_sync.tenant)
    *_, page = bookkeeper.payments(link)
    assert 'id="payments-next-due"' in page
    assert bookkeeper.management.delete(f"/tenants/{payment_sync.tenant}/connection").status_code == 200

    state, seen, page = bookkeeper.payments(link)

    assert state == "not_connected"
    assert "Inget går förlorat" in seen.body
    assert 'id="payments-next-due"' not in page
    # The management API still tells the SaaS backend where the tenant sits on the schedule.
    shown = bookkeeper.management.get(f"/tenants/{payment_sync.tenant}/payment-sync").json()
    assert shown["state"] == "not_connected" and shown["next_due"] is not None
