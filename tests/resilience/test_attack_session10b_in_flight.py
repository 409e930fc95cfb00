"""Attacks on the invoice export's lanes after a record of the batch did not get its event into Fortnox
(``export/in_flight.py``, the re-plan, session 10b): the first invoice to name a new customer refused before any
call, an invoice that changed the customer and then failed, two failures in a row beside a customer event and a
hostile body, through the real handler and queue path and the sandbox.

Interleavings are forced at the sandbox's dispatch: a customer write is held until a second one arrives beside it,
bounded, so a correct run (which never sends two side by side) only waits out the bound.
"""

import threading
from typing import Any

import pytest
from werkzeug.wrappers import Request, Response

from fortnox_sandbox.http_util import json_response
from tests.exporting import Export
from tests.sandbox_front import Dispatch, in_front, is_create, to_customer

pytestmark = pytest.mark.integration
__all__ = ["in_front"]  # the fixture, imported so pytest finds it

PAIR_SECONDS = 2.0
"""How long a held customer write waits for a second one beside it; only bounds the test."""


class CustomerWrites:
    """In front of the sandbox: every customer create and update, counted, each held until a second arrives beside
    it (or ``PAIR_SECONDS`` pass)."""

    def __init__(self) -> None:
        self._pair = threading.Barrier(2, timeout=PAIR_SECONDS)
        self._lock = threading.Lock()
        self.seen: list[tuple[str, bytes]] = []

    def __call__(self, request: Request, dispatch: Dispatch) -> Response:
        if request.path.startswith("/3/customers") and request.method in ("POST", "PUT"):
            with self._lock:
                self.seen.append((request.method, request.get_data()))
            try:
                self._pair.wait()
            except threading.BrokenBarrierError:
                self._pair.reset()
        return dispatch(request)


def test_when_the_first_invoice_to_a_new_customer_is_refused_the_customer_is_still_created_once(
    export: Export, in_front: Any
) -> None:
    # Given a batch of three invoices to one customer new to the company, the first of them with a negative amount
    # (the export refuses it before any call), so it never creates the customer
    refused = to_customer("8500", export.event("500", event_id="evt-neg-500"))
    for row in refused["data"]["rows"]:
        row["unit_price"] = f"-{row['unit_price']}"
    others = [to_customer("8500", export.event(number, event_id=f"evt-next-{number}")) for number in ("501", "502")]
    writes = CustomerWrites()
    in_front(writes)

    # When the batch is delivered once
    outcome = export.deliver_once(refused, *others)

    # Then the two others are exported, and the customer cost one create: the second record is the first to name it
    # now, and the third waits for it (the re-plan), not a refused create and an update besides
    assert (outcome.received, outcome.failed) == (3, 0)
    assert sorted(invoice["ExternalInvoiceReference1"] for invoice in export.invoices()) == [
        f"FB:{export.tenant}:501",
        f"FB:{export.tenant}:502",
    ]
    assert [method for method, _ in writes.seen] == ["POST"]


def test_after_an_invoice_that_moved_the_customer_fails_the_customer_is_moved_back_once(
    export: Export, in_front: Any
) -> None:
    # Given a customer already in Fortnox at Första gatan, and a batch of four invoices to it: the first at that
    # address, the second moving it to Andra gatan, the last two (newer) at Första gatan again. Fortnox takes the
    # second's customer update and then fails its invoice (500, every time), so that record fails after it moved
    # the customer.
    def at(event: dict[str, Any], address: str, hour: int) -> dict[str, Any]:
        event["data"]["customer"].update(customer_number="8520", address1=address)
        event["occurred_at"] = f"2026-11-20T{hour:02d}:00:00Z"
        return event

    export.send(at(export.event("519", event_id="evt-prime-519"), "Första gatan 1", 7))
    moving = f"FB:{export.tenant}:521".encode()
    fortnox_fails_521 = [True]
    writes = CustomerWrites()

    def moving_invoice_fails(request: Request, dispatch: Dispatch) -> Response:
        if fortnox_fails_521[0] and is_create(request) and moving in request.get_data():
            return json_response({"ErrorInformation": {"Error": 1, "Message": "Internal error", "Code": 0}}, 500)
        return writes(request, dispatch)

    in_front(moving_invoice_fails)
    batch = [
        at(export.event("520", event_id="evt-m-520"), "Första gatan 1", 8),
        at(export.event("521", event_id="evt-m-521"), "Andra gatan 2", 9),
        at(export.event("522", event_id="evt-m-522"), "Första gatan 1", 10),
        at(export.event("523", event_id="evt-m-523"), "Första gatan 1", 10),
    ]

    # When the batch is delivered once
    outcome = export.deliver_once(*batch)

    # Then the moving invoice failed alone, the others are exported, the customer is back at Första gatan, and
    # moving it back cost one update, as when the batch went one record at a time (the third updates it, the fourth
    # finds it as it carries it)
    assert (outcome.received, outcome.failed) == (4, 1)
    exported = {invoice["ExternalInvoiceReference1"] for invoice in export.invoices()}
    assert {f"FB:{export.tenant}:{number}" for number in ("520", "522", "523")} <= exported
    assert f"FB:{export.tenant}:521" not in exported
    client = export.scene.client(token=export.scene.control.access_token(export.scene.app, export.company))
    with client:
        assert client.customers.get("8520").Address1 == "Första gatan 1"
    back = [method for method, body in writes.seen if "Första".encode() in body or b"F\\u00f6rsta" in body]
    assert len(back) == 1, writes.seen

    # When Fortnox is well again, the moving invoice comes back and is exported, once
    fortnox_fails_521[0] = False
    export.send()
    references = [invoice["ExternalInvoiceReference1"] for invoice in export.invoices()]
    assert references.count(f"FB:{export.tenant}:521") == 1


def test_a_batch_with_two_failures_in_a_row_ends_every_record_and_the_redelivery_keeps_the_order(
    export: Export, in_front: Any
) -> None:
    # Given a batch mixing: an invoice whose create Fortnox fails (500, every time), a credit note of it (which must
    # wait for it, so it fails too: two failures in a row), a customer event for the invoice's customer, a hostile
    # body, another invoice to that customer and one to a customer of its own
    failing = f"FB:{export.tenant}:600".encode()
    fortnox_down_for_600 = [True]

    def creates_of_600_fail(request: Request, dispatch: Dispatch) -> Response:
        if fortnox_down_for_600[0] and is_create(request) and failing in request.get_data():
            return json_response({"ErrorInformation": {"Error": 1, "Message": "Internal error", "Code": 0}}, 500)
        return dispatch(request)

    in_front(creates_of_600_fail)
    invoice = to_customer("8600", export.event("600", event_id="evt-b-600"))
    note = export.credit_note("601", credits="600", event_id="evt-b-601")
    customer = export.customer(event_id="evt-b-k", customer_number="8600", name="Kund 8600 AB")
    hostile = '{"type": "invoice.ready", "tenant_id": ' + "[" * 5000 + "]" * 5000 + "}"
    same_customer = to_customer("8600", export.event("602", event_id="evt-b-602"))
    own_customer = to_customer("8603", export.event("603", event_id="evt-b-603"))

    # When the batch is delivered once
    outcome = export.deliver_once(invoice, note, customer, hostile, same_customer, own_customer)

    # Then every record ended in that delivery (none waits forever on a failed one), and exactly the invoice and
    # its credit note failed
    assert (outcome.received, outcome.failed) == (6, 2)
    references = sorted(entry["ExternalInvoiceReference1"] for entry in export.invoices())
    assert references == [f"FB:{export.tenant}:602", f"FB:{export.tenant}:603"]

    # When Fortnox is well again and the two come back
    fortnox_down_for_600[0] = False
    export.send()

    # Then each document is in Fortnox once, and the credit note credits the invoice
    by_reference: dict[str, list[dict[str, Any]]] = {}
    for entry in export.invoices():
        by_reference.setdefault(entry["ExternalInvoiceReference1"], []).append(entry)
    assert {reference: len(found) for reference, found in by_reference.items()} == {
        f"FB:{export.tenant}:{number}": 1 for number in ("600", "601", "602", "603")
    }
    [credited] = by_reference[f"FB:{export.tenant}:600"]
    [correction] = by_reference[f"FB:{export.tenant}:601"]
    assert correction["InvoiceReference"] == credited["DocumentNumber"]
