"""Removals on a bad day: a payment deleted while another of the same amount is registered on the same invoice
leaves the balance where it was, and upstream must still hear of both. Through the poll queue and its handler,
the sandbox and moto."""

import pytest

from tests.paying import PaymentSync

pytestmark = pytest.mark.integration


def _seen(events: list[dict[str, object]]) -> list[tuple[object, object]]:
    return sorted((event["type"], event["payment_number"]) for event in events)


def test_a_payment_swapped_for_one_of_the_same_amount_is_removed_even_after_an_earlier_removal(
    payment_sync: PaymentSync,
) -> None:
    invoice = payment_sync.exported_invoice("110100")
    first = payment_sync.pay(invoice, "300.00")
    second = payment_sync.pay(invoice, "200.00")
    payment_sync.poll()
    payment_sync.delete(second)
    assert _seen(payment_sync.poll()) == [("payment.removed", second)]

    # The balance ends where it was: only the payment list of the invoice tells the two apart.
    payment_sync.delete(first)
    third = payment_sync.pay(invoice, "300.00")

    assert _seen(payment_sync.poll()) == [("payment.received", third), ("payment.removed", first)]
    assert payment_sync.poll() == []


def test_a_payment_swapped_for_one_of_the_same_amount_is_removed(payment_sync: PaymentSync) -> None:
    invoice = payment_sync.exported_invoice("110101")
    first = payment_sync.pay(invoice, "300.00")
    payment_sync.poll()
    payment_sync.delete(first)
    second = payment_sync.pay(invoice, "300.00")

    assert _seen(payment_sync.poll()) == [("payment.received", second), ("payment.removed", first)]


def test_a_payment_moved_to_another_invoice_is_changed_there_and_never_removed(payment_sync: PaymentSync) -> None:
    first = payment_sync.exported_invoice("110500")
    second = payment_sync.exported_invoice("110501")
    number = payment_sync.pay(first, "100.00")
    payment_sync.poll()

    payment_sync.change(number, InvoiceNumber=int(second))
    [moved] = payment_sync.poll()

    assert (moved["type"], moved["payment_number"]) == ("payment.changed", number)
    assert (moved["fortnox_invoice_number"], moved["upstream_invoice_number"]) == (second, "110501")
    assert moved["invoice_status"] == "partly_paid"
    assert payment_sync.poll() == []
    payment_sync.delete(number)
    [removed] = payment_sync.poll()
    assert (removed["type"], removed["payment_number"], removed["fortnox_invoice_number"]) == (
        "payment.removed",
        number,
        second,
    )
