"""Issue 8, point 3 (the export's part): an older update never overwrites a newer one, a credit waits for its
invoice for a bounded time, a document keeps the one form it was created in, and changes Fortnox or the customer
has moved past (credited, sent) are refused with the reason."""

from typing import Any

import pytest

from tests.exporting import Export

pytestmark = pytest.mark.integration


def _published(events_tap: Any, kind: str) -> list[dict[str, Any]]:
    return [event.detail for event in events_tap.received() if event.detail_type == kind]


def _at(event: dict[str, Any], occurred_at: str) -> dict[str, Any]:
    return {**event, "occurred_at": occurred_at}


def test_an_older_update_delivered_after_a_newer_one_is_superseded(export: Export, events_tap: Any) -> None:
    export.send(_at(export.event("100353", event_id="v1"), "2026-11-20T08:00:00Z"))
    export.send(_at(export.event("100353", event_id="v3", our_reference="Version 3"), "2026-11-20T10:00:00Z"))
    events_tap.received()
    export.send(_at(export.event("100353", event_id="v2", our_reference="Version 2"), "2026-11-20T09:00:00Z"))
    [invoice] = export.invoices()
    assert invoice["OurReference"] == "Version 3"
    [superseded] = _published(events_tap, "invoice.exported")
    assert (superseded["event_id"], superseded["action"]) == ("v2", "superseded")
    assert superseded["fortnox_document_number"] == invoice["DocumentNumber"]


def test_a_credit_that_arrives_before_its_invoice_waits_for_it(export: Export, events_tap: Any) -> None:
    first = export.deliver_once(export.credit("8812"))
    assert (first.received, first.failed) == (1, 1)  # waits: back to the queue, not refused for good
    export.send(export.event("8812"))  # the invoice arrives; the credit's next delivery finds it
    original, credit = export.invoices()
    assert original["CreditInvoiceReference"] == credit["DocumentNumber"]
    assert _published(events_tap, "invoice.export_failed") == []


def test_a_credit_note_that_arrives_before_its_invoice_waits_for_it(export: Export, events_tap: Any) -> None:
    first = export.deliver_once(export.credit_note("100371", credits="100353"))
    assert (first.received, first.failed) == (1, 1)
    export.send(export.event("100353"))
    original, correction = export.invoices()
    assert correction["InvoiceReference"] == original["DocumentNumber"] and correction["Credit"] == "true"
    assert _published(events_tap, "invoice.export_failed") == []


def test_a_credit_whose_invoice_never_comes_fails_with_the_reason_on_its_last_delivery(
    export: Export, events_tap: Any
) -> None:
    outcomes = export.send(export.credit("4711"))
    assert sum(outcome.received for outcome in outcomes) == 5  # the queue's redrive count bounds the wait
    assert [letter["id"] for letter in export.dead_letters()] == ["evt-credit-4711"]
    [failed] = _published(events_tap, "invoice.export_failed")
    assert failed["invoice_number"] == "4711"
    assert "4711" in failed["reason_en"] and "not been exported" in failed["reason_en"]
    assert export.invoices() == []


def test_turning_orders_on_never_makes_an_order_of_an_exported_invoice(export: Export, events_tap: Any) -> None:
    export.send(export.event("500", event_id="first"))
    export.settings(create_orders=True)
    export.send(export.event("500", event_id="changed", our_reference="Ändrad"))
    assert export.scene.control.company(export.company)["orders"] == 0
    [invoice] = export.invoices()
    assert invoice["OurReference"] == "Ändrad"
    updated = [event for event in _published(events_tap, "invoice.exported") if event["event_id"] == "changed"]
    assert [(event["document"], event["action"]) for event in updated] == [("invoice", "updated")]


def test_turning_orders_off_never_makes_an_invoice_of_an_exported_order(export: Export, events_tap: Any) -> None:
    export.settings(create_orders=True)
    export.send(export.event("501", event_id="first"))
    export.settings(create_orders=False)
    export.send(export.event("501", event_id="changed", our_reference="Ändrad"))
    assert export.invoices() == []
    assert export.scene.control.company(export.company)["orders"] == 1
    updated = [event for event in _published(events_tap, "invoice.exported") if event["event_id"] == "changed"]
    assert [(event["document"], event["action"]) for event in updated] == [("order", "updated")]


def test_a_change_after_a_full_credit_is_refused_with_the_reason(export: Export, events_tap: Any) -> None:
    export.send(export.event("8812", event_id="first"), export.credit("8812"))
    events_tap.received()
    outcomes = export.send(export.event("8812", event_id="changed", our_reference="Ändrad"))
    assert [(outcome.received, outcome.failed) for outcome in outcomes] == [(1, 0)]  # not retried in vain
    original, credit = export.invoices()
    assert original["OurReference"] == "Anna Lind"
    [failed] = _published(events_tap, "invoice.export_failed")
    assert "krediterad" in failed["reason_sv"] and "credited" in failed["reason_en"]
    assert credit["DocumentNumber"] in failed["reason_en"]
    assert failed["fortnox_document_number"] == original["DocumentNumber"]


def test_a_change_after_fortnox_sent_the_invoice_is_refused_unless_the_tenant_allows_it(
    export: Export, events_tap: Any
) -> None:
    export.settings(send="externalprint")
    export.send(export.event("9001", event_id="first"))
    events_tap.received()
    changed = export.event("9001", event_id="changed", our_reference="Ändrad")
    export.send(changed)
    [invoice] = export.invoices()
    assert (invoice["Sent"], invoice["OurReference"]) == (True, "Anna Lind")
    [failed] = _published(events_tap, "invoice.export_failed")
    assert "skickad" in failed["reason_sv"] and "update_sent_invoices" in failed["reason_en"]

    export.settings(send="externalprint", update_sent_invoices=True)
    export.send(changed)  # the same event, once the tenant allows it
    [invoice] = export.invoices()
    assert invoice["OurReference"] == "Ändrad"
    [updated] = _published(events_tap, "invoice.exported")
    assert updated["action"] == "updated"


def test_an_unchanged_resend_after_an_unrelated_setting_changed_is_unchanged(export: Export, events_tap: Any) -> None:
    """Only what shapes the Fortnox body decides whether a document changed: turning PDF attachment off (or
    bookkeeping, sending, update_sent_invoices) does not send a sent invoice down the update path."""
    export.settings(send="externalprint")
    export.send(export.event("7204", event_id="first"))
    export.settings(send="externalprint", attach_pdf=False, update_sent_invoices=True)
    events_tap.received()
    export.send(export.event("7204", event_id="resync"))
    assert _published(events_tap, "invoice.export_failed") == []
    assert sum(1 for row in export.scene.control.requests(export.company) if row["method"] == "PUT") == 1
