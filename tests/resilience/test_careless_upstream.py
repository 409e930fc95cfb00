"""A careless upstream: a batch of bad neighbours, the edges of the date window, credits sent twice, customers that
move and times in other zones, through the real handler and queue path."""

from datetime import date
from typing import Any

import boto3
import pytest

from tests.exporting import Export, rejected_by_event

pytestmark = pytest.mark.integration


def _published(events_tap: Any, kind: str) -> list[dict[str, Any]]:
    return [event.detail for event in events_tap.received() if event.detail_type == kind]


def _at(event: dict[str, Any], occurred_at: str) -> dict[str, Any]:
    return {**event, "occurred_at": occurred_at}


def test_a_batch_of_ten_with_seven_bad_neighbours_accounts_for_every_message(
    export: Export, table: Any, events_tap: Any
) -> None:
    good = export.event("7300", event_id="good")
    negative = export.event("7301", event_id="negative")
    negative["data"]["rows"] = [{"description": "Rabatt", "quantity": "1", "unit_price": "-10.00", "vat_rate": 25}]
    bad_currency = export.event("7302", event_id="currency", currency="XYZ", currency_rate="1.5")
    reused = export.event("7300", event_id="good", our_reference="Annat innehåll")
    same_again = export.event("7300", event_id="good-again")
    unknown_tenant = {**export.event("7303", event_id="stranger"), "tenant_id": f"{export.tenant}-nobody"}
    orphan_credit = export.credit("7399")
    customer = export.customer("cust", city="Kiruna")
    odd_vat = export.event(
        "7304",
        event_id="odd-vat",
        rows=[{"description": "Frakt", "quantity": "1", "unit_price": "100.00", "vat_rate": 8}],
    )
    batch: list[dict[str, Any] | str] = [
        good,
        "{not json",
        negative,
        bad_currency,
        reused,
        same_again,
        unknown_tenant,
        orphan_credit,
        customer,
        odd_vat,
    ]
    export.send(*batch)

    [invoice] = export.invoices()
    assert invoice["ExternalInvoiceReference1"] == f"FB:{export.tenant}:7300"
    assert invoice["OurReference"] == "Anna Lind"
    published = events_tap.received()
    exported = {e.detail["event_id"]: e.detail for e in published if e.detail_type == "invoice.exported"}
    failed: dict[str, list[dict[str, Any]]] = {}
    for e in published:
        if e.detail_type == "invoice.export_failed":
            failed.setdefault(e.detail["event_id"], []).append(e.detail)
    assert exported["good"]["action"] == "created"
    assert exported["good-again"]["action"] == "unchanged"
    rejected_ids = set(rejected_by_event(table, export.tenant))
    assert rejected_ids == {"negative", "good", "odd-vat"}  # "good": the reuse with other content
    # The unknown tenant's refusal is published under the id it named (the exporter refuses it, nothing is kept).
    assert set(failed) == {"negative", "good", "odd-vat", "currency", "evt-credit-7399", "stranger"}
    assert failed["currency"][0]["fortnox_code"] == 2000427
    assert all(len(reasons) == 1 for reasons in failed.values()), failed
    assert [letter["id"] for letter in export.dead_letters()] == ["evt-credit-7399"]
    not_json = table.query(KeyConditionExpression=boto3.dynamodb.conditions.Key("PK").eq("REJECTED#unknown"))
    assert any(item["body"] == "{not json" for item in not_json["Items"])


def test_dates_on_the_edges_of_the_window_export(export: Export, table: Any) -> None:
    """Pin: the oldest day kept (1 January seven years back) and a year ahead are inside the window."""
    today = date.today()
    oldest = date(today.year - 7, 1, 1).isoformat()
    export.send(
        export.event("7205", event_id="oldest", invoice_date=oldest, due_date=oldest),
        export.event("7206", event_id="oldest-1", invoice_date=date(today.year - 8, 12, 31).isoformat()),
    )
    assert [invoice["InvoiceDate"] for invoice in export.invoices()] == [oldest]
    assert "outside" in rejected_by_event(table, export.tenant)["oldest-1"]["reason"]


def test_a_second_full_credit_with_a_new_event_id_makes_no_second_credit(export: Export, events_tap: Any) -> None:
    export.send(export.event("8812"), export.credit("8812", event_id="credit-a"))
    events_tap.received()
    export.send(export.credit("8812", event_id="credit-b"))
    original, credit = export.invoices()
    assert original["CreditInvoiceReference"] == credit["DocumentNumber"]
    [again] = _published(events_tap, "invoice.exported")
    assert (again["document"], again["action"], again["fortnox_document_number"]) == (
        "credit",
        "unchanged",
        credit["DocumentNumber"],
    )


def test_an_invoice_moved_to_another_customer_mid_stream_follows_upstream(export: Export) -> None:
    """Pin: the same upstream invoice re-sent for another customer number updates the customer on the invoice
    (the new customer is created first)."""
    export.send(export.event("7500", event_id="first"))
    moved = export.event("7500", event_id="moved")
    moved["data"]["customer"] = {"customer_number": "2001", "name": "Ny Kund AB"}
    export.send(moved)
    [invoice] = export.invoices()
    assert (invoice["CustomerNumber"], invoice["CustomerName"]) == ("2001", "Ny Kund AB")


def test_zones_are_compared_as_instants_not_as_text(export: Export, events_tap: Any) -> None:
    """10:00+02:00 is 08:00Z, older than 09:00Z: the 09:00Z change delivered second is the newer one and is applied;
    then a naive 08:30 (read as UTC) is older than both and superseded."""
    export.send(_at(export.event("7101", event_id="cest"), "2026-11-20T10:00:00+02:00"))
    export.send(_at(export.event("7101", event_id="utc", our_reference="Nyare"), "2026-11-20T09:00:00Z"))
    events_tap.received()
    export.send(_at(export.event("7101", event_id="naive", our_reference="Äldst"), "2026-11-20T08:30:00"))
    [invoice] = export.invoices()
    assert invoice["OurReference"] == "Nyare"
    [superseded] = _published(events_tap, "invoice.exported")
    assert (superseded["event_id"], superseded["action"]) == ("naive", "superseded")
