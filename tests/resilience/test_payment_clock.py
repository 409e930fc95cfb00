"""Fortnox's clock ahead of or behind ours: ``lastmodified`` is Fortnox's own time, the cursor is ours. A payment
stamped before our cursor is still read by the next poll, and one stamped far ahead goes upstream once, however
often it is read again. Through the poll queue and its handler, the sandbox (its clock moved) and moto."""

from collections.abc import Iterator
from datetime import date

import pytest

from tests.paying import PaymentSync

pytestmark = pytest.mark.integration

AN_HOUR = 3600
TWO_DAYS = 2 * 24 * 3600


@pytest.fixture
def fortnox_clock(payment_sync: PaymentSync) -> Iterator[list[float]]:
    """Seconds the sandbox's clock is moved by in the test; put back afterwards."""
    moved: list[float] = []
    yield moved
    payment_sync.scene.control.advance_clock(-sum(moved))


def _move(payment_sync: PaymentSync, moved: list[float], seconds: float) -> None:
    payment_sync.scene.control.advance_clock(seconds)
    moved.append(seconds)


def test_a_payment_stamped_by_a_fortnox_clock_an_hour_behind_ours_is_not_skipped(
    payment_sync: PaymentSync, fortnox_clock: list[float]
) -> None:
    invoice = payment_sync.exported_invoice("110700")
    assert payment_sync.poll() == []
    _move(payment_sync, fortnox_clock, -AN_HOUR)

    number = payment_sync.pay(invoice, "100.00", PaymentDate=date.today().isoformat())
    [event] = payment_sync.poll()

    assert (event["type"], event["payment_number"]) == ("payment.received", number)
    assert payment_sync.poll() == []


def test_a_payment_stamped_by_a_fortnox_clock_days_ahead_goes_upstream_once(
    payment_sync: PaymentSync, fortnox_clock: list[float]
) -> None:
    invoice = payment_sync.exported_invoice("110701")
    _move(payment_sync, fortnox_clock, TWO_DAYS)

    number = payment_sync.pay(invoice, "100.00", PaymentDate=date.today().isoformat())
    [event] = payment_sync.poll()

    assert (event["type"], event["payment_number"]) == ("payment.received", number)
    assert payment_sync.poll() == []
    payment_sync.change(number, Amount="120.00")
    [changed] = payment_sync.poll()
    assert (changed["type"], changed["payment"]["amount_sek"]) == ("payment.changed", "120.00")
    assert payment_sync.poll() == []
