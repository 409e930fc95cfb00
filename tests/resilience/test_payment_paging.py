"""The payment list shifting while a poll pages through it: a payment edited between two page reads moves to
another page, and the list Fortnox returns then skips one payment and names another twice, with the count it
announced. A poll that sees that reads again; nothing is skipped and nothing goes upstream twice. Through the poll
queue and its handler, the sandbox and moto; the edit is made at the HTTP boundary, between two pages."""

from datetime import date, timedelta
from typing import Any

import httpx
import pytest

from fortnox_bridge.fortnox.pagination import MAX_PAGE_SIZE
from fortnox_bridge.fortnox.retry import RetryPolicy
from tests.paying import PaymentSync

pytestmark = pytest.mark.integration

A_DAY_AGO = 20 * 3600
"""Registered long enough ago that the next poll's window, a little over half a day back, no longer holds them: a
poll after a pause or a re-sync reads such a window once."""


@pytest.fixture(autouse=True)
def _no_waits(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(RetryPolicy, "backoff", lambda self, attempt: 0.0)


class _EditedBetweenPages:
    """After the first page of the first payment listing, a Fortnox user moves a payment of that page to a later
    date: the rest of the list shifts up by one."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, sync: PaymentSync, payment: str, day: date) -> None:
        self.done = False
        real = httpx.Client.send

        def send(client: httpx.Client, request: httpx.Request, **kwargs: Any) -> httpx.Response:
            response = real(client, request, **kwargs)
            params = request.url.params
            listing = request.url.path == "/3/invoicepayments" and "lastmodified" in params
            if not self.done and listing and params.get("page") == "1":
                self.done = True
                sync.change(payment, PaymentDate=day.isoformat())
            return response

        monkeypatch.setattr(httpx.Client, "send", send)


def test_a_payment_list_that_shifts_between_pages_is_read_again_and_nothing_is_skipped(
    payment_sync: PaymentSync, monkeypatch: pytest.MonkeyPatch
) -> None:
    today = date.today().isoformat()
    ours = payment_sync.exported_invoice("110600")
    # A page of payments on an invoice someone else made: read, held back by the filter, never sent (which keeps
    # the bus quiet); the one on our invoice comes last in the list, first on the second page.
    theirs = payment_sync.foreign_invoice()
    payment_sync.scene.control.advance_clock(-A_DAY_AGO)
    try:
        page = [payment_sync.pay(theirs, "1.00", PaymentDate=today) for _ in range(MAX_PAGE_SIZE)]
        last = payment_sync.pay(ours, "100.00", PaymentDate=today)
    finally:
        payment_sync.scene.control.advance_clock(A_DAY_AGO)
    edit = _EditedBetweenPages(monkeypatch, payment_sync, page[0], date.today() + timedelta(days=1))

    payment_sync.request_poll()
    payment_sync.drain()
    payment_sync.poll()

    assert edit.done
    assert [(event["type"], event["payment_number"]) for event in payment_sync.published] == [
        ("payment.received", last)
    ]
