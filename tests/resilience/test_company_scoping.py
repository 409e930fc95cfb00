"""Issue 8, point 1: export state belongs to (tenant, Fortnox company). A tenant that reconnects to another company
starts clean there and never touches a document the bridge did not make there; before an update or a credit, the
document read from Fortnox must carry our marker."""

from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest

from fortnox_bridge import wiring
from fortnox_bridge.fortnox.client import FortnoxClient
from fortnox_bridge.fortnox.models.customers import CustomerWrite
from fortnox_bridge.fortnox.models.invoices import InvoiceRowWrite, InvoiceWrite
from fortnox_bridge.ids import TenantId
from fortnox_bridge.store.connections import ConnectionStore
from tests.exporting import Export

pytestmark = pytest.mark.integration


def _client(export: Export, company: int) -> FortnoxClient:
    """A person's access to a company the tenant has not connected yet (it would replace a service-account consent)."""
    return export.scene.client(token=export.scene.control.access_token(export.scene.app, company))


def _own_invoices(export: Export, company: int, count: int) -> list[str]:
    """What the company's bookkeeper made by hand before the tenant connected it: a customer and invoices 1..count."""
    with _client(export, company) as client:
        client.customers.create(CustomerWrite(CustomerNumber="77", Name="Egen Kund AB"))
        numbers = [
            client.invoices.create(
                InvoiceWrite(
                    CustomerNumber="77",
                    InvoiceDate=date.today(),
                    DueDate=date.today() + timedelta(days=30),
                    InvoiceRows=[
                        InvoiceRowWrite(
                            AccountNumber=3001,
                            Description=f"Egen rad {index}",
                            DeliveredQuantity=Decimal(1),
                            Price=Decimal(100 * index),
                        )
                    ],
                )
            ).DocumentNumber
            for index in range(1, count + 1)
        ]
    return [number for number in numbers if number]


def _by_number(export: Export, company: int) -> dict[str, dict[str, Any]]:
    invoices: list[dict[str, Any]] = export.scene.control.company(company)["invoices"]
    return {invoice["DocumentNumber"]: invoice for invoice in invoices}


def _writes_to(export: Export, company: int, numbers: list[str]) -> list[tuple[str, str]]:
    """Every call that changed one of ``numbers`` in the company: an update, a credit, a bookkeeping, ..."""
    return [
        (row["method"], row["path"])
        for row in export.scene.control.requests(company)
        if row["method"] in {"PUT", "POST"}
        and row["path"].startswith("/3/invoices/")
        and row["path"].split("/")[3] in numbers
    ]


def _published(events_tap: Any, kind: str) -> list[dict[str, Any]]:
    return [event.detail for event in events_tap.received() if event.detail_type == kind]


def test_a_reconnect_to_a_company_with_its_own_invoices_never_touches_them(export: Export, events_tap: Any) -> None:
    export.send(export.event("100353"), export.event("100354"), export.event("100355"))
    assert sorted(_by_number(export, export.company)) == ["1", "2", "3"]
    second = export.scene.new_company("Andra Bolaget AB")
    own = _own_invoices(export, second, 3)
    assert own == ["1", "2", "3"]  # the same numbers the bridge's invoices have in the first company
    before = _by_number(export, second)
    export.reconnect(second)
    events_tap.received()

    export.send(
        export.event("100353", event_id="changed-100353", our_reference="Ändrad"),  # was "1" in the first company
        export.event("100355"),  # the same event as in the first company, where it is "3"
        export.event("100356"),  # a new invoice for a customer the first company already has
    )
    export.send(export.credit("100354"))  # "2" in the first company; never exported to this one

    after = _by_number(export, second)
    assert {number: after[number] for number in own} == before  # B's own invoices, every field as it was
    assert _writes_to(export, second, own) == []  # no PUT /3/invoices/1, no credit of 2, nothing on 3
    bridge = {
        invoice["ExternalInvoiceReference1"].rsplit(":", 1)[1]: number
        for number, invoice in after.items()
        if number not in own
    }
    assert sorted(bridge) == ["100353", "100355", "100356"]
    assert after[bridge["100353"]]["OurReference"] == "Ändrad"
    exported = {event["invoice_number"]: event for event in _published(events_tap, "invoice.exported")}
    assert exported["100355"]["action"] == "created"  # not "unchanged, document 3"
    assert exported["100355"]["fortnox_document_number"] == bridge["100355"]
    assert export.scene.control.company(second)["customers"] == 2  # its own and ours: upserted here too


def test_replaying_every_event_kind_in_a_second_company_adds_exactly_the_bridges_documents(
    export: Export, events_tap: Any
) -> None:
    history = [
        export.customer(),
        export.event("100353"),
        export.event("100354"),
        export.credit_note("100371", credits="100353"),
        export.credit("100354"),
    ]
    export.send(*history)
    in_first = _by_number(export, export.company)
    assert len(in_first) == 4  # two invoices, a correction invoice and a credit invoice
    second = export.scene.new_company("Andra Bolaget AB")
    own = _own_invoices(export, second, 3)
    before = _by_number(export, second)
    customers_before = export.scene.control.company(second)["customers"]
    export.reconnect(second)
    events_tap.received()

    outcomes = export.send(*history)  # the same events, ids and all

    assert [(outcome.received, outcome.failed) for outcome in outcomes] == [(5, 0)]
    after = _by_number(export, second)
    assert {number: after[number] for number in own} == before
    assert _writes_to(export, second, own) == []
    gained = [invoice for number, invoice in after.items() if number not in own]
    assert len(gained) == len(in_first)
    assert sorted(invoice["ExternalInvoiceReference1"] for invoice in gained) == sorted(
        invoice["ExternalInvoiceReference1"] for invoice in in_first.values()
    )
    assert sorted(Decimal(str(invoice["Total"])) for invoice in gained) == sorted(
        Decimal(str(invoice["Total"])) for invoice in in_first.values()
    )
    linked = {invoice["InvoiceReference"] for invoice in gained if invoice["Credit"] == "true"}
    assert linked and linked.isdisjoint(own)  # the correction and the credit name the bridge's own invoices
    assert export.scene.control.company(second)["customers"] == customers_before + 1
    assert _published(events_tap, "invoice.export_failed") == []


def test_a_document_without_our_marker_is_neither_changed_nor_credited(export: Export, events_tap: Any) -> None:
    export.send(export.event("100353", event_id="first"))
    [invoice] = export.invoices()
    number = invoice["DocumentNumber"]
    connection = ConnectionStore(export.table).get(TenantId(export.tenant))
    assert connection is not None
    with wiring.fortnox_client(connection) as client:  # a bookkeeper reuses the field for something of their own
        client.invoices.update(number, InvoiceWrite(ExternalInvoiceReference1="Manuell 2026-11"))
    writes = len(_writes_to(export, export.company, [number]))
    events_tap.received()

    export.send(export.credit("100353"))
    export.send(export.event("100353", event_id="changed", our_reference="Ändrad"))

    assert len(_writes_to(export, export.company, [number])) == writes
    mine = _by_number(export, export.company)[number]
    assert (mine["OurReference"], mine["CreditInvoiceReference"]) == ("Anna Lind", "0")
    published = events_tap.received()
    [refused] = [event.detail for event in published if event.detail_type == "invoice.export_failed"]
    assert (refused["event_id"], refused["fortnox_document_number"]) == ("evt-credit-100353", None)
    assert "not made by the export" in refused["reason_en"]
    # The change is exported as if never before: a document with our marker, not the one that lost it.
    [exported] = [event.detail for event in published if event.detail_type == "invoice.exported"]
    assert (exported["action"], exported["fortnox_document_number"]) == ("created", str(int(number) + 1))


def test_an_event_in_flight_during_a_reconnect_goes_to_the_company_it_is_remembered_in(
    export: Export, events_tap: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = export.company
    second = export.scene.new_company("Andra Bolaget AB")
    real: Callable[[], Any] = wiring.invoice_exporter
    moved: list[int] = []

    def reconnect_while_the_event_is_in_flight() -> Any:
        # The handler has read the connection (company A) and filed the event's idempotency record there; the
        # tenant's reconnect to company B lands before the exporter runs.
        exporter = real()
        run = exporter.export

        def export_after_a_reconnect(*args: Any, **kwargs: Any) -> Any:
            if not moved:
                moved.append(second)
                export.reconnect(second)
            return run(*args, **kwargs)

        exporter.export = export_after_a_reconnect
        return exporter

    monkeypatch.setattr(wiring, "invoice_exporter", reconnect_while_the_event_is_in_flight)
    export.send(export.event("100", event_id="in-flight"))
    monkeypatch.setattr(wiring, "invoice_exporter", real)
    # It went where it is remembered as done: company A, and nothing to B
    assert len(export.scene.control.company(first)["invoices"]) == 1
    assert export.scene.control.company(second)["invoices"] == []

    # Replayed while connected to B, B gets it; back on A, A keeps its one invoice and is not given a second
    export.send(export.event("100", event_id="in-flight"))
    assert len(export.scene.control.company(second)["invoices"]) == 1
    export.reconnect(first)
    events_tap.received()
    export.send(export.event("100", event_id="in-flight"))
    assert len(export.scene.control.company(first)["invoices"]) == 1
    assert [event.detail_type for event in events_tap.received()] == []
