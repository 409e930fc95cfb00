"""Invoice payments as payment sync meets them: every change to a payment moves its invoice's balance and its
``lastmodified``, so the invoice list of a poll's window names every invoice whose payments changed, deletions
included (the removal check rests on it: docs/decisions.md).

Evidence: FACTS.md 3.6 (the list has no AmountCurrency, ``lastmodified`` and ``invoicenumber`` are its search
parameters) and 3.2 (Balance, Total and lastmodified on the invoice list). That Fortnox moves the invoice's
lastmodified when a payment on it is deleted is the assumption this test pins in the sandbox's model; no public
recording shows it either way.
"""

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest

from tests.conftest import Scene


@pytest.fixture
def fortnox(scene: Scene) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {scene.token()}", "Content-Type": "application/json"}
    with httpx.Client(base_url=scene.url, headers=headers) as client:
        yield client


def _booked_invoice(fortnox: httpx.Client, price: int = 1000) -> dict[str, Any]:
    customer = fortnox.post("/3/customers", json={"Customer": {"Name": "Betalande Kund AB"}}).json()["Customer"]
    row = {"AccountNumber": 3041, "DeliveredQuantity": "1", "Price": price, "Description": "Frakt"}
    invoice = fortnox.post(
        "/3/invoices", json={"Invoice": {"CustomerNumber": customer["CustomerNumber"], "InvoiceRows": [row]}}
    ).json()["Invoice"]
    assert fortnox.put(f"/3/invoices/{invoice['DocumentNumber']}/bookkeep").status_code == 200
    return dict(invoice)


def _modified_since(fortnox: httpx.Client, since: str) -> dict[str, dict[str, Any]]:
    listed = fortnox.get("/3/invoices", params={"lastmodified": since}).json()["Invoices"]
    return {str(row["DocumentNumber"]): row for row in listed}


def _later(scene: Scene) -> str:
    """Move the sandbox's clock a minute on; a ``lastmodified`` between what was changed before and what is changed
    from now (the sandbox stamps in seconds, by its own clock)."""
    offset = float(scene.control._call("POST", "/clock", {"seconds": Decimal(60)})["offset_seconds"])
    return datetime.fromtimestamp(time.time() + offset - 30, UTC).strftime("%Y-%m-%d %H:%M:%S")


def _pay(fortnox: httpx.Client, invoice: str, amount: str) -> dict[str, Any]:
    body = {"InvoicePayment": {"InvoiceNumber": int(invoice), "Amount": amount}}
    answer = fortnox.post("/3/invoicepayments", json=body)
    assert answer.status_code == 201, answer.text
    return dict(answer.json()["InvoicePayment"])


def test_deleting_a_payment_moves_the_invoices_lastmodified_and_balance(scene: Scene, fortnox: httpx.Client) -> None:
    invoice = _booked_invoice(fortnox)
    number = str(invoice["DocumentNumber"])
    total = Decimal(str(invoice["Total"]))
    payment = _pay(fortnox, number, "400.00")
    since = _later(scene)
    assert number not in _modified_since(fortnox, since)

    assert fortnox.delete(f"/3/invoicepayments/{payment['Number']}").status_code == 204

    changed = _modified_since(fortnox, since)
    assert Decimal(str(changed[number]["Balance"])) == total
    assert Decimal(str(changed[number]["Total"])) == total
    listed = fortnox.get("/3/invoicepayments", params={"lastmodified": since}).json()["InvoicePayments"]
    assert listed == []  # the payment is gone from every list: only its invoice tells
    on_invoice = fortnox.get("/3/invoicepayments", params={"invoicenumber": number}).json()["InvoicePayments"]
    assert on_invoice == []


def test_registering_and_changing_a_payment_move_the_invoice_too(scene: Scene, fortnox: httpx.Client) -> None:
    invoice = _booked_invoice(fortnox)
    number = str(invoice["DocumentNumber"])
    total = Decimal(str(invoice["Total"]))
    since = _later(scene)
    payment = _pay(fortnox, number, "400.00")
    assert Decimal(str(_modified_since(fortnox, since)[number]["Balance"])) == total - Decimal("400.00")

    since = _later(scene)
    answer = fortnox.put(f"/3/invoicepayments/{payment['Number']}", json={"InvoicePayment": {"Amount": "500.00"}})
    assert answer.status_code == 200

    assert Decimal(str(_modified_since(fortnox, since)[number]["Balance"])) == total - Decimal("500.00")
    [item] = fortnox.get("/3/invoicepayments", params={"lastmodified": since}).json()["InvoicePayments"]
    assert "AmountCurrency" not in item  # the list item lacks it (FACTS 3.6): only the payment itself has it
