"""A hostile tenant's company holds documents that look like the bridge's: the bridge must touch only its own.

Through the real handler and queue path (``export.send``) against the sandbox and moto.
"""

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest

from fortnox_bridge import wiring
from fortnox_bridge.export.references import export_reference
from fortnox_bridge.fortnox.models.customers import CustomerWrite
from fortnox_bridge.fortnox.models.invoices import InvoiceRowWrite, InvoiceWrite
from fortnox_bridge.ids import TenantId
from fortnox_bridge.store.connections import ConnectionStore
from tests.exporting import Export

pytestmark = pytest.mark.integration


def _manual_invoices(export: Export, markers: list[str]) -> list[str]:
    """Invoices a bookkeeper made by hand in the tenant's own company, each carrying one of ``markers``."""
    connection = ConnectionStore(export.table).get(TenantId(export.tenant))
    assert connection is not None
    with wiring.fortnox_client(connection) as client:
        client.customers.create(CustomerWrite(CustomerNumber="77", Name="Egen Kund AB"))
        made = [
            client.invoices.create(
                InvoiceWrite(
                    CustomerNumber="77",
                    InvoiceDate=date.today(),
                    DueDate=date.today() + timedelta(days=30),
                    ExternalInvoiceReference1=marker,
                    InvoiceRows=[
                        InvoiceRowWrite(
                            AccountNumber=3001, Description="Egen rad", DeliveredQuantity=Decimal(1), Price=Decimal(10)
                        )
                    ],
                )
            ).DocumentNumber
            for marker in markers
        ]
    return [number for number in made if number]


def _by_number(export: Export) -> dict[str, dict[str, Any]]:
    return {invoice["DocumentNumber"]: invoice for invoice in export.invoices()}


def _writes_to(export: Export, numbers: list[str]) -> list[tuple[str, str]]:
    return [
        (row["method"], row["path"])
        for row in export.scene.control.requests(export.company)
        if row["method"] in {"PUT", "POST"}
        and row["path"].startswith("/3/invoices/")
        and row["path"].split("/")[3] in numbers
    ]


def test_a_look_alike_marker_is_never_taken_for_our_lost_create(export: Export, events_tap: Any) -> None:
    # Given the tenant's company holds hand-made invoices whose marker Fortnox's substring search also finds for
    # upstream invoice 100 ("FB:{tenant}:100"): a longer number, a suffix, another case, a prefix
    ours = export_reference(TenantId(export.tenant), "100")
    look_alikes = [f"{ours}0", f"{ours}-2", f"{ours}/1", ours.lower(), f"x{ours}", ours.upper()]
    theirs = _manual_invoices(export, look_alikes)
    before = _by_number(export)
    events_tap.received()

    # When the first create of invoice 100 fails (so the retry must look for our marker before creating)
    export.scene.control.fault("500", method="POST", path_prefix="/3/invoices", count=1)
    export.send(export.event("100", event_id="lookalike-100"))

    # Then the retry did search (and Fortnox's substring search found the look-alikes), yet the bridge made its own
    # invoice and never adopted, changed, booked or credited a look-alike
    searches = [
        row
        for row in export.scene.control.requests(export.company)
        if row["method"] == "GET" and row["path"] == "/3/invoices" and "externalinvoicereference1" in row["query"]
    ]
    assert searches
    after = _by_number(export)
    assert {number: after[number] for number in theirs} == {number: before[number] for number in theirs}
    assert _writes_to(export, theirs) == []
    [mine] = [invoice for number, invoice in after.items() if number not in theirs]
    assert mine["ExternalInvoiceReference1"] == ours
    exported = [event.detail for event in events_tap.received() if event.detail_type == "invoice.exported"]
    assert [(event["action"], event["fortnox_document_number"]) for event in exported] == [
        ("created", mine["DocumentNumber"])
    ]


def test_a_change_and_a_credit_never_reach_an_invoice_whose_marker_became_a_look_alike(
    export: Export, events_tap: Any
) -> None:
    # Given invoice 100 exported, then a bookkeeper edits its marker into one that only looks like ours
    export.send(export.event("100", event_id="first-100"))
    [invoice] = export.invoices()
    number = invoice["DocumentNumber"]
    connection = ConnectionStore(export.table).get(TenantId(export.tenant))
    assert connection is not None
    ours = export_reference(TenantId(export.tenant), "100")
    with wiring.fortnox_client(connection) as client:
        client.invoices.update(number, InvoiceWrite(ExternalInvoiceReference1=f"{ours}0"))
    writes = len(_writes_to(export, [number]))
    events_tap.received()

    # When a credit and a change of invoice 100 arrive
    export.send(export.credit("100", event_id="credit-lookalike"))
    export.send(export.event("100", event_id="changed-lookalike", our_reference="Ändrad"))

    # Then the look-alike is neither credited nor changed; the change goes to a new invoice with our marker
    assert len(_writes_to(export, [number])) == writes
    kept = _by_number(export)[number]
    assert (kept["OurReference"], kept["CreditInvoiceReference"]) == ("Anna Lind", "0")
    published = events_tap.received()
    [refused] = [event.detail for event in published if event.detail_type == "invoice.export_failed"]
    assert refused["event_id"] == "credit-lookalike" and "not made by the export" in refused["reason_en"]
    [exported] = [event.detail for event in published if event.detail_type == "invoice.exported"]
    assert exported["action"] == "created" and exported["fortnox_document_number"] != number


def test_upstream_numbers_never_take_over_a_reconnected_companys_own_invoice(export: Export, events_tap: Any) -> None:
    # Given a tenant numbering upstream, whose invoice "2" went to its first company as number 2
    export.settings(numbering="upstream")
    export.send(export.event("2", event_id="upstream-2"))
    assert [invoice["DocumentNumber"] for invoice in export.invoices()] == ["2"]
    # and a second company whose bookkeeper made invoices 1-3 by hand
    second = export.scene.new_company("Andra Bolaget AB")
    export.reconnect(second)
    export.settings(numbering="upstream")
    theirs = _manual_invoices(export, ["", "", ""])
    assert theirs == ["1", "2", "3"]
    before = _by_number(export)
    events_tap.received()

    # When the tenant's invoice "2" is replayed into the second company
    export.send(export.event("2", event_id="upstream-2"))

    # Then the company's own invoice 2 is not adopted, changed or reported as the tenant's
    assert _by_number(export) == before
    assert _writes_to(export, theirs) == []
    published = events_tap.received()
    assert [event.detail for event in published if event.detail_type == "invoice.exported"] == []
    [refused] = [event.detail for event in published if event.detail_type == "invoice.export_failed"]
    assert "did not create" in refused["reason_en"]


def test_a_credit_invoice_carrying_our_copied_marker_is_never_taken_for_the_invoice(
    export: Export, events_tap: Any
) -> None:
    # Given invoice 100 exported and fully credited: Fortnox copies the marker onto the credit invoice it makes
    export.send(export.event("100", event_id="credited-100"), export.credit("100", event_id="credited-credit"))
    original, credit = export.invoices()
    ours = export_reference(TenantId(export.tenant), "100")
    assert credit["Credit"] == "true" and credit["ExternalInvoiceReference1"] == ours
    # and a bookkeeper reuses the original's reference field for a note of their own
    connection = ConnectionStore(export.table).get(TenantId(export.tenant))
    assert connection is not None
    with wiring.fortnox_client(connection) as client:
        client.invoices.update(original["DocumentNumber"], InvoiceWrite(ExternalInvoiceReference1="Manuell 2026-11"))
    credit_before = _by_number(export)[credit["DocumentNumber"]]
    events_tap.received()

    # When a change of invoice 100 arrives
    export.send(export.event("100", event_id="credited-changed", our_reference="Ändrad"))

    # Then the credit invoice is not overwritten with the invoice's content, nor reported as invoice 100
    assert _writes_to(export, [credit["DocumentNumber"]]) == []
    assert _by_number(export)[credit["DocumentNumber"]] == credit_before
    reported = [
        event.detail.get("fortnox_document_number")
        for event in events_tap.received()
        if event.detail_type in {"invoice.exported", "invoice.export_failed"}
    ]
    assert credit["DocumentNumber"] not in reported
