"""Issue 8, points 3 and 4 (what a careless upstream sends): each event is refused at the door with a reason that
fits on the bus and is kept where an operator finds it, or exported with upstream's amounts to the öre."""

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from tests.exporting import Export, rejected_by_event

pytestmark = pytest.mark.integration

EVENTBRIDGE_ENTRY_LIMIT = 256 * 1024
"""PutEvents refuses an entry larger than 256 KB; moto does not enforce it, so the size is asserted here."""


def _published(events_tap: Any, kind: str) -> list[dict[str, Any]]:
    return [event.detail for event in events_tap.received() if event.detail_type == kind]


def test_a_quantity_finer_than_fortnox_keeps_is_invoiced_at_upstreams_amount(export: Export) -> None:
    """Fortnox keeps DeliveredQuantity with two decimals: 0.125 h at 450 kr went as 0.12 h, 54.00 kr instead of
    56.25. A row alone in its group was sent as it is; it now goes as quantity 1 at its net, like a summed row."""
    export.send(
        export.event(
            "7200", rows=[{"description": "Väntetid", "quantity": "0.125", "unit_price": "450.00", "vat_rate": 25}]
        )
    )
    [invoice] = export.invoices()
    assert Decimal(str(invoice["Net"])) == Decimal("56.25")
    [row] = invoice["InvoiceRows"]
    assert (row["Description"], row["DeliveredQuantity"]) == ("Väntetid", "1")


def test_an_occurred_at_from_the_future_is_refused_and_freezes_nothing(
    export: Export, table: Any, events_tap: Any
) -> None:
    """An event stamped 2999 by a broken clock made every later change of its invoice 'superseded'."""
    skewed = {**export.event("7100", event_id="skewed"), "occurred_at": "2999-01-01T00:00:00Z"}
    export.send(skewed)
    assert export.invoices() == []
    assert "ahead of the bridge's clock" in rejected_by_event(table, export.tenant)["skewed"]["reason"]
    [failed] = _published(events_tap, "invoice.export_failed")
    assert (failed["event_id"], failed["invoice_number"]) == ("skewed", "7100")

    honest = {**export.event("7100", event_id="honest", our_reference="Rättad")}
    honest["occurred_at"] = datetime.now(UTC).isoformat()
    export.send(honest)

    assert [invoice["OurReference"] for invoice in export.invoices()] == ["Rättad"]
    assert [event["action"] for event in _published(events_tap, "invoice.exported")] == ["created"]


def test_an_event_id_reused_for_an_exported_invoice_names_the_fortnox_document(export: Export, events_tap: Any) -> None:
    """invoice.export_failed carries the Fortnox number when the document exists and only this event was refused:
    without it upstream reads 'invoice 100353 failed' about an invoice that is in Fortnox."""
    export.send(export.event("100353", event_id="evt-9"))
    [invoice] = export.invoices()
    events_tap.received()

    export.send(export.event("100353", event_id="evt-9", our_reference="Någon annan"))

    [failed] = _published(events_tap, "invoice.export_failed")
    assert (failed["invoice_number"], failed["fortnox_document_number"]) == ("100353", invoice["DocumentNumber"])
    assert "har redan använts" in failed["reason_sv"] and "was already used" in failed["reason_en"]


def test_a_redelivery_restamped_with_a_new_occurred_at_is_a_redelivery(
    export: Export, table: Any, events_tap: Any
) -> None:
    """An outbox that re-publishes stamps a new occurred_at on the same event (same id, type, tenant and data): it
    is the event that was exported, not an id reused for other content."""
    event = export.event("100353", event_id="evt-10")
    export.send(event)
    events_tap.received()
    calls = len(export.scene.control.requests(export.company))

    export.send({**event, "occurred_at": (datetime.now(UTC) - timedelta(minutes=1)).isoformat()})

    assert len(export.invoices()) == 1
    assert events_tap.received() == []
    assert rejected_by_event(table, export.tenant) == {}
    assert len(export.scene.control.requests(export.company)) == calls


def test_a_body_with_hundreds_of_errors_is_refused_with_a_reason_eventbridge_can_carry(
    export: Export, table: Any, events_tap: Any
) -> None:
    """500 rows wrong in a dozen fields listed every issue twice (sv, en): an 889 KB export_failed, which the real
    EventBridge refuses, so the refusal failed and the message went to the dead-letter queue with nothing said."""
    row = {
        "description": "x",
        "quantity": "q",
        "unit_price": "p",
        "vat_rate": 7,
        "discount_percent": "d",
        "unit": "u" * 21,
        "article": "!",
        "service_type": "!",
        "product_group": "!",
        "cost_center": "!",
        "project": "!",
        "account": 1,
    }
    hostile = export.event("7310", event_id="thousand-errors", rows=[row] * 500)

    outcomes = export.send(hostile, export.event("7311"))

    assert sum(outcome.failed for outcome in outcomes) == 0
    [failed] = _published(events_tap, "invoice.export_failed")
    assert len(json.dumps(failed).encode()) < 8 * 1024 < EVENTBRIDGE_ENTRY_LIMIT
    kept = rejected_by_event(table, export.tenant)["thousand-errors"]["reason"]
    assert kept.endswith(" more") and failed["reason_en"] == f"The event was refused: {kept}"
    assert len(export.invoices()) == 1  # the good neighbour


def test_an_unknown_tenants_event_is_kept_with_its_reason(export: Export, table: Any, events_tap: Any) -> None:
    """A typo in tenant_id was refused by the exporter and published to a tenant nobody listens to; the body was
    kept nowhere, so nobody who runs the bridge could see or redrive it."""
    stranger = {**export.event("7400", event_id="stranger"), "tenant_id": f"{export.tenant}-typo"}

    outcomes = export.send(stranger)

    assert sum(outcome.failed for outcome in outcomes) == 0
    kept = rejected_by_event(table, f"{export.tenant}-typo")["stranger"]
    assert f"no tenant {export.tenant}-typo is known to the bridge" in kept["reason"]
    assert json.loads(kept["body"])["data"]["invoice_number"] == "7400"
    [failed] = _published(events_tap, "invoice.export_failed")
    assert (failed["tenant_id"], failed["event_id"]) == (f"{export.tenant}-typo", "stranger")


def test_c1_control_and_bidi_characters_are_refused_like_other_control_characters(export: Export, table: Any) -> None:
    """U+0085 (NEL, a C1 control) and U+202E (right-to-left override: 'Frakt 00.0001' shows as 'Frakt 1000.00')
    reached Fortnox; the text fields promise printable text."""
    bidi = export.event(
        "7201",
        event_id="bidi",
        rows=[{"description": "Frakt \u202e00.0001", "quantity": "1", "unit_price": "100.00", "vat_rate": 25}],
    )
    nel = export.event("7202", event_id="nel", our_reference="Anna\u0085Lind")
    isolate = export.event("7203", event_id="isolate", customer={**bidi["data"]["customer"], "city": "\u2067Kiruna"})

    export.send(bidi, nel, isolate)

    assert export.invoices() == []
    reasons = {event_id: item["reason"] for event_id, item in rejected_by_event(table, export.tenant).items()}
    assert "U+202E" in reasons["bidi"] and "U+0085" in reasons["nel"] and "U+2067" in reasons["isolate"]


@pytest.mark.parametrize("kind", ["invoice", "credit_note"])
def test_a_zero_quantity_text_row_is_exported_as_a_text_row(export: Export, table: Any, kind: str) -> None:
    """A row with quantity 0 explains; Fortnox takes rows without a quantity (2003977 is about rows with one and no
    description). The whole document was refused for it; now it goes in its place, with its words, charging
    nothing."""
    export.send(export.event("100353"))
    document = export.credit_note("100371", credits="100353") if kind == "credit_note" else export.event("100354")
    text = "Kreditering enligt överenskommelse"
    document["data"]["rows"].append({"description": text, "quantity": "0", "unit_price": "0", "vat_rate": 25})

    export.send(document)

    assert rejected_by_event(table, export.tenant) == {}
    _, made = export.invoices()
    rows = made["InvoiceRows"]
    assert (rows[-1]["Description"], rows[-1]["DeliveredQuantity"]) == (text, "0")
    charged = sum(Decimal(str(row["Price"])) * Decimal(row["DeliveredQuantity"]) for row in rows)
    assert charged == Decimal(str(made["Net"]))


def test_a_refused_body_says_in_swedish_that_the_details_are_in_english_and_names_its_invoice(
    export: Export, events_tap: Any
) -> None:
    event = export.event(
        "7500", event_id="odd-vat", rows=[{"description": "Frakt", "quantity": "1", "unit_price": "100", "vat_rate": 8}]
    )

    export.send(event)

    [failed] = _published(events_tap, "invoice.export_failed")
    assert failed["invoice_number"] == "7500"
    assert failed["reason_sv"].startswith(
        "Händelsen avvisades (detaljerna på engelska): invoice.ready.data.rows.0.vat_rate"
    )
