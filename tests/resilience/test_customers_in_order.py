"""Issue 8, point 3 (customers): customer data is an update like any other, so data from an older event (by
``occurred_at``) never overwrites newer data in Fortnox, whether it comes in a customer.upserted redelivered late or
in an old invoice that carries the address the customer had then. The invoice itself still exports."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from fortnox_bridge.fortnox.models.customers import Customer
from tests.exporting import Export

pytestmark = pytest.mark.integration


def _fortnox_customer(export: Export, number: str = "1042") -> Customer:
    client = export.scene.client(token=export.scene.control.access_token(export.scene.app, export.company))
    with client:
        return client.customers.get(number)


def _ago(hours: int) -> str:
    return (datetime.now(UTC) - timedelta(hours=hours)).isoformat()


def test_an_older_customer_upsert_delivered_late_does_not_overwrite_the_newer(export: Export) -> None:
    newer = export.customer("cust-v2", city="Kiruna", address1="Ny gata 2")
    older = export.customer("cust-v1", city="Luleå", address1="Gammal gata 1")
    export.send({**newer, "occurred_at": "2026-11-20T10:00:00Z"})
    export.send({**older, "occurred_at": "2026-11-20T11:00:00+02:00"})  # 09:00Z: older, though later on its clock
    customer = _fortnox_customer(export)
    assert (customer.City, customer.Address1) == ("Kiruna", "Ny gata 2")


def test_a_late_invoice_with_an_old_address_exports_without_moving_the_customer_back(
    export: Export, events_tap: Any
) -> None:
    export.send({**export.customer("cust-new", city="Kiruna", address1="Ny gata 2"), "occurred_at": _ago(1)})
    events_tap.received()
    export.send({**export.event("7102", event_id="late-invoice"), "occurred_at": _ago(5)})  # made before the move
    assert _fortnox_customer(export).City == "Kiruna"
    [invoice] = export.invoices()
    assert invoice["CustomerNumber"] == "1042"
    [exported] = [event.detail for event in events_tap.received() if event.detail_type == "invoice.exported"]
    assert exported["action"] == "created"


def test_a_newer_invoice_still_updates_the_customer(export: Export) -> None:
    export.send({**export.customer("cust-old", city="Boden"), "occurred_at": _ago(5)})
    moved = export.event("7103", event_id="after-the-move")
    moved["data"]["customer"]["city"] = "Kiruna"
    export.send({**moved, "occurred_at": _ago(1)})
    assert _fortnox_customer(export).City == "Kiruna"


def test_an_unchanged_customer_in_a_newer_invoice_keeps_older_data_out(export: Export) -> None:
    """The invoice's unchanged customer data is known as of the invoice: an upsert older than that invoice, with
    other data, is older than what Fortnox holds."""
    export.send({**export.event("7104", event_id="first"), "occurred_at": _ago(5)})
    export.send({**export.event("7105", event_id="second"), "occurred_at": _ago(1)})
    export.send({**export.customer("cust-between", city="Boden"), "occurred_at": _ago(3)})
    assert _fortnox_customer(export).City == "Luleå"
