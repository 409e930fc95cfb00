"""Invoice export against the sandbox and the local stack: right invoices, exactly once, failures explained."""

import json
import threading
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import boto3
import pytest

from fortnox_bridge import wiring
from fortnox_bridge.contracts.invoices import InvoiceEvent
from fortnox_bridge.errors import RetryableError
from fortnox_bridge.ids import TenantId
from infra.names import ROOT
from local_stack.moto_server import REGION
from tests.exporting import Export, export

pytestmark = pytest.mark.integration
__all__ = ["export"]  # the fixture, imported so pytest finds it
EVENTS: Any = __import__("pydantic").TypeAdapter(InvoiceEvent)


def test_an_invoice_arrives_as_the_seeds_describe(export: Export, events_tap: Any) -> None:
    outcomes = export.send(export.event())
    assert [(outcome.received, outcome.failed) for outcome in outcomes] == [(1, 0)]
    [invoice] = export.invoices()
    assert invoice["Remarks"] == "Faktura 100353, 4555, 2024-09-04"
    assert invoice["ExternalInvoiceReference1"] == f"FB:{export.tenant}:100353"
    assert invoice["CustomerNumber"] == "1042" and invoice["CustomerName"] == "Byggvaror i Norr AB"
    rows = [
        (row["AccountNumber"], row["Description"], row["CostCenter"], Decimal(str(row["Total"])))
        for row in invoice["InvoiceRows"]
    ]
    assert rows == [(3041, "Frakt", "STHLM", Decimal("2646.00")), (3001, "Väntetid", "STHLM", Decimal("675.00"))]
    assert Decimal(str(invoice["Total"])) == Decimal(4151)  # 3321.00 + 25 % VAT, rounded to whole kronor
    published = [event for event in events_tap.received() if event.detail_type == "invoice.exported"]
    assert published[0].detail["fortnox_document_number"] == invoice["DocumentNumber"]


def test_english_interest_and_foreign_currency(export: Export) -> None:
    export.send(
        export.event(
            "100360",
            kind="interest",
            language="en",
            currency="EUR",
            currency_rate="11.4523",
            rows=[
                {
                    "description": "Late payment interest",
                    "quantity": "1",
                    "unit_price": "48.50",
                    "vat_rate": 0,
                    "service_type": "INTEREST",
                }
            ],
        )
    )
    [invoice] = export.invoices()
    assert (invoice["InvoiceType"], invoice["Language"], invoice["Currency"]) == ("INTRESTINVOICE", "EN", "EUR")
    assert invoice["CurrencyRate"] == Decimal("11.4523")
    assert invoice["Remarks"].startswith("Invoice 100360, 4555")
    assert invoice["InvoiceRows"][0]["AccountNumber"] == 8310


def test_the_same_event_three_times_makes_one_invoice(export: Export) -> None:
    event = export.event()
    export.send(event, event, event)
    assert len(export.invoices()) == 1


def test_the_same_invoice_in_a_new_event_with_the_same_content_costs_no_call(export: Export) -> None:
    export.send(export.event(event_id="first"))
    before = len(export.scene.control.requests(export.company))
    export.send(export.event(event_id="second"))
    assert len(export.invoices()) == 1
    assert len(export.scene.control.requests(export.company)) == before


def test_two_workers_at_once_make_one_invoice(export: Export) -> None:
    event = EVENTS.validate_python(export.event())
    results: list[str] = []

    def work() -> None:
        try:
            outcome = wiring.invoice_exporter().export(event)
            results.append(outcome.action or "")
        except RetryableError:
            results.append("busy")

    threads = [threading.Thread(target=work) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) in (["busy", "created"], ["created", "unchanged"])
    assert wiring.invoice_exporter().export(event).action == "unchanged"  # the retry of the busy one
    assert len(export.invoices()) == 1


def test_a_create_whose_answer_was_dropped_is_found_not_repeated(export: Export) -> None:
    export.scene.control.fault("drop_after_commit", method="POST", path_prefix="/3/invoices")
    outcomes = export.send(export.event())
    assert [(outcome.received, outcome.failed) for outcome in outcomes] == [(1, 0)]
    assert len(export.invoices()) == 1


def test_a_failed_create_is_retried_and_still_makes_one(export: Export) -> None:
    export.scene.control.fault("500", method="POST", path_prefix="/3/invoices")
    outcomes = export.send(export.event())
    assert [(outcome.received, outcome.failed) for outcome in outcomes] == [(1, 1), (1, 0)]
    assert len(export.invoices()) == 1


def test_a_re_export_updates_an_unbooked_invoice(export: Export) -> None:
    export.send(export.event())
    export.send(
        export.event(
            event_id="again",
            our_reference="Bo Ek",
            rows=[{"description": "Frakt", "quantity": "1", "unit_price": "100.00", "vat_rate": 25}],
        )
    )
    [invoice] = export.invoices()
    assert invoice["OurReference"] == "Bo Ek"
    assert Decimal(str(invoice["Total"])) == Decimal(125)


def test_a_re_export_of_a_booked_invoice_is_refused_with_the_reason(export: Export, events_tap: Any) -> None:
    export.send(export.event())
    client = wiring.fortnox_client(wiring.ConnectionStore(export.table).get(TenantId(export.tenant)))  # type: ignore[arg-type]
    client.invoices.bookkeep(export.invoices()[0]["DocumentNumber"])
    outcomes = export.send(export.event(event_id="changed", our_reference="Ny"))
    assert [(outcome.received, outcome.failed) for outcome in outcomes] == [(1, 0)]  # not retried in vain
    assert export.invoices()[0]["OurReference"] == "Anna Lind"
    failed = [event.detail for event in events_tap.received() if event.detail_type == "invoice.export_failed"]
    assert "bokförd" in failed[0]["reason_sv"] and "booked" in failed[0]["reason_en"]


def test_setup_errors_are_explained_with_fortnox_code_and_not_retried(export: Export, events_tap: Any) -> None:
    export.scene.control.patch_account(export.company, 3041, Active=False)
    outcomes = export.send(export.event())
    assert [(outcome.received, outcome.failed) for outcome in outcomes] == [(1, 0)]
    assert export.invoices() == []
    failed = [event.detail for event in events_tap.received() if event.detail_type == "invoice.export_failed"]
    assert failed[0]["fortnox_code"] == 2000550
    assert "Aktivera" in failed[0]["reason_sv"] and "Activate" in failed[0]["reason_en"]


def test_a_batch_of_ten_with_three_bad_events(export: Export, events_tap: Any, table: Any) -> None:
    good = [export.event(str(200 + index)) for index in range(7)]
    markup = export.event("300")
    markup["data"]["rows"][0]["description"] = "<script>alert(1)</script>"
    stranger = export.event("301")
    stranger["tenant_id"] = "nobody-we-know"
    outcomes = export.send(*good[:3], "{not json", *good[3:5], markup, *good[5:], stranger)
    assert sum(outcome.received for outcome in outcomes) == 10
    assert sorted(invoice["ExternalInvoiceReference1"].rsplit(":", 1)[1] for invoice in export.invoices()) == [
        str(200 + index) for index in range(7)
    ]
    rejected = table.query(KeyConditionExpression=boto3.dynamodb.conditions.Key("PK").eq(f"REJECTED#{export.tenant}"))[
        "Items"
    ]
    assert [item["reason"] for item in rejected] == [
        "invoice.ready.data.rows.0.description: Value error, markup (< or >) is not allowed in text fields"
    ]
    unknown = [
        event.detail
        for event in events_tap.received()
        if event.detail_type == "invoice.export_failed" and event.detail["tenant_id"] == "nobody-we-know"
    ]
    assert "no tenant nobody-we-know" in unknown[0]["reason_en"]
    assert export.dead_letters() == []


def test_a_full_credit_uses_fortnox_credit_once(export: Export) -> None:
    export.send(export.event("8812"))
    credit = {
        "type": "invoice.credited",
        "id": "credit-1",
        "tenant_id": export.tenant,
        "occurred_at": "2024-10-01T08:00:00Z",
        "data": {"invoice_number": "8812"},
    }
    export.send(credit, {**credit, "id": "credit-2"})
    original, credit_invoice = export.invoices()
    assert original["CreditInvoiceReference"] == credit_invoice["DocumentNumber"]
    assert credit_invoice["InvoiceReference"] == original["DocumentNumber"]


def test_a_credit_note_is_a_linked_correction_invoice(export: Export) -> None:
    export.send(export.event("100353"))
    note = _credit_note(export)
    export.send(note)
    original, correction = export.invoices()
    assert correction["InvoiceReference"] == original["DocumentNumber"] and correction["Credit"] == "true"
    assert Decimal(str(correction["Total"])) == Decimal(-844)  # -675.00 + 25 % VAT, rounded
    assert correction["Remarks"].startswith("Kreditfaktura 100371")


def test_upstream_numbering_and_manual_corrections(export: Export) -> None:
    export.settings(numbering="upstream")
    export.send(export.event("100353"))
    note = _credit_note(export)
    export.send(note)
    numbers = sorted(invoice["DocumentNumber"] for invoice in export.invoices())
    assert numbers == ["100353", "100371"]  # Fortnox never picks a number that upstream will use later
    correction = next(invoice for invoice in export.invoices() if invoice["DocumentNumber"] == "100371")
    assert correction["InvoiceReference"] == "0"  # manual correction: not linked, as the seed says


def _credit_note(export: Export) -> dict[str, Any]:
    note: dict[str, Any] = json.loads((ROOT / "events" / "credit_note.ready.json").read_text())
    note["tenant_id"] = export.tenant
    note["data"]["invoice_date"] = date.today().isoformat()
    note["data"]["due_date"] = (date.today() + timedelta(days=30)).isoformat()
    return note


def test_an_unchanged_customer_costs_no_call(export: Export) -> None:
    export.send(export.event("1"))
    before = len(
        [row for row in export.scene.control.requests(export.company) if row["path"].startswith("/3/customers")]
    )
    export.send(export.event("2"))
    after = len(
        [row for row in export.scene.control.requests(export.company) if row["path"].startswith("/3/customers")]
    )
    assert after == before


def test_the_pdf_is_attached_and_included_when_sent(export: Export) -> None:
    boto3.client("s3", region_name=REGION).put_object(
        Bucket=export.bucket, Key=f"{export.tenant}/100353.pdf", Body=b"%PDF-1.4 faktura"
    )
    export.send(export.event(pdf={"bucket": export.bucket, "key": f"{export.tenant}/100353.pdf"}))
    [invoice] = export.invoices()
    client = wiring.fortnox_client(wiring.ConnectionStore(export.table).get(TenantId(export.tenant)))  # type: ignore[arg-type]
    attachments = client.file_attachments.for_entity(int(invoice["DocumentNumber"]), "F")
    assert [attachment.includeOnSend for attachment in attachments] == [True]


def test_bookkeep_and_mark_sent_when_the_tenant_asks(export: Export) -> None:
    export.settings(bookkeep=True, send="externalprint")
    export.send(export.event())
    [invoice] = export.invoices()
    assert invoice["Booked"] is True and invoice["Sent"] is True


def test_a_currency_fortnox_does_not_have_is_explained(export: Export, events_tap: Any) -> None:
    export.send(export.event(currency="XBT", currency_rate="1"))
    failed = [event.detail for event in events_tap.received() if event.detail_type == "invoice.export_failed"]
    assert failed[0]["fortnox_code"] == 2000427 and "Valutor" in failed[0]["reason_sv"]
    assert export.invoices() == []


def test_a_body_over_what_sqs_carries_is_refused_alone(export: Export, table: Any) -> None:
    huge = export.event("400", comments="x")
    huge["data"]["comments"] = "x" * 1000
    body = json.dumps(huge).replace("x" * 1000, "x" * (300 * 1024))
    record = {
        "messageId": "m-huge",
        "receiptHandle": "r",
        "body": body,
        "attributes": {},
        "messageAttributes": {},
        "md5OfBody": "",
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:eu-north-1:123456789012:q",
        "awsRegion": REGION,
    }
    good = {**record, "messageId": "m-good", "body": json.dumps(export.event("401"))}
    result = export.runner.invoke(export.runner.function("InvoiceExportExporter"), {"Records": [record, good]})
    assert result == {"batchItemFailures": []}
    rejected = table.query(KeyConditionExpression=boto3.dynamodb.conditions.Key("PK").eq("REJECTED#unknown"))["Items"]
    assert any(item["message_id"] == "m-huge" and "at most 256 KB" in item["reason"] for item in rejected)
    assert [invoice["ExternalInvoiceReference1"] for invoice in export.invoices()] == [f"FB:{export.tenant}:401"]


def test_orders_instead_of_invoices_for_collective_invoicing(export: Export) -> None:
    export.settings(create_orders=True)
    export.send(export.event("500"))
    assert export.invoices() == []
    assert export.scene.control.company(export.company)["orders"] == 1
    export.send(export.event("500", event_id="again", our_reference="Ändrad"))
    assert export.scene.control.company(export.company)["orders"] == 1


def test_an_order_keeps_its_comments_and_hands_its_title_and_row_terms_to_its_invoice(export: Export) -> None:
    """Collective invoicing: the bookkeeper turns the bridge's orders into invoices in Fortnox, and Fortnox copies
    an order's Remarks (the invoice title) only when the order asks it to."""
    export.settings(create_orders=True)
    event = export.event("502", comments="Levereras vid grind 3")
    event["data"]["rows"][2].update(discount_percent="10", unit="tim")
    export.send(event)
    client = wiring.fortnox_client(wiring.ConnectionStore(export.table).get(TenantId(export.tenant)))  # type: ignore[arg-type]
    with client:
        [listed] = client.orders.list()
        order = client.orders.get(listed.DocumentNumber)
        invoice = client.orders.create_invoice(listed.DocumentNumber)
    assert order.Comments == "Levereras vid grind 3"
    assert invoice.Remarks == "Faktura 502, 4555, 2024-09-04"
    [waiting] = [row for row in invoice.InvoiceRows if row.Description == "Väntetid"]
    assert (waiting.Discount, waiting.DiscountType, waiting.Unit) == (Decimal(10), "PERCENT", "tim")


def test_fortnox_emails_the_invoice_when_the_tenant_asks(export: Export) -> None:
    export.settings(send="email")
    export.send(export.event())
    [invoice] = export.invoices()
    assert invoice["Sent"] is True
    assert invoice["EmailInformation"]["EmailAddressTo"] == "faktura@byggvarorinorr.se"


def test_a_changed_customer_is_updated_once(export: Export) -> None:
    export.send(export.event("1"))
    renamed = export.event("2")
    renamed["data"]["customer"]["name"] = "Byggvaror i Norr AB (nytt namn)"
    before = len(
        [row for row in export.scene.control.requests(export.company) if row["path"].startswith("/3/customers")]
    )
    export.send(renamed)
    calls = [row for row in export.scene.control.requests(export.company) if row["path"].startswith("/3/customers")]
    assert [(row["method"], row["path"]) for row in calls[before:]] == [("PUT", "/3/customers/1042")]
    assert export.invoices()[-1]["CustomerName"] == "Byggvaror i Norr AB (nytt namn)"
