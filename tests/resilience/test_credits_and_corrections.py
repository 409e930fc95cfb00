"""Issue 8, point 3 (credits): a credit never takes back more than was invoiced, and a credit note corrects an
invoice that was exported, as an invoice, in its currency. Full credits, credit notes and changes after either are
refused with the reason; a manual correction waits for its invoice like a linked one; an upstream number shared by
an invoice and a credit note never makes one stand for the other."""

from decimal import Decimal
from typing import Any

import pytest

from tests.exporting import Export

pytestmark = pytest.mark.integration


def _published(events_tap: Any, kind: str) -> list[dict[str, Any]]:
    return [event.detail for event in events_tap.received() if event.detail_type == kind]


def _credited(invoices: list[dict[str, Any]]) -> Decimal:
    """What the company's credit documents take back in total, as a positive amount."""
    return -sum(
        (Decimal(str(invoice["Total"])) for invoice in invoices if Decimal(str(invoice["Total"])) < 0), Decimal(0)
    )


def _original(export: Export) -> dict[str, Any]:
    return next(invoice for invoice in export.invoices() if invoice["Credit"] == "false")


def test_a_credit_note_after_a_full_credit_is_refused(export: Export, events_tap: Any) -> None:
    export.send(export.event("100353"), export.credit("100353"))
    original, credit = export.invoices()
    events_tap.received()
    export.send(export.credit_note("100371", credits="100353"))
    assert len(export.invoices()) == 2
    assert _credited(export.invoices()) == Decimal(str(original["Total"]))
    [failed] = _published(events_tap, "invoice.export_failed")
    assert "helt krediterad" in failed["reason_sv"] and "fully credited" in failed["reason_en"]
    assert credit["DocumentNumber"] in failed["reason_en"]


def test_a_full_credit_after_a_credit_note_is_refused(export: Export, events_tap: Any) -> None:
    """Fortnox's handling of a full credit after a partial one is not documented (FACTS.md); a bookkeeper credits
    the rest with another credit note, which says how much."""
    export.send(export.event("100353"))
    export.send(export.credit_note("100371", credits="100353"))
    events_tap.received()
    outcomes = export.send(export.credit("100353"))
    assert [(outcome.received, outcome.failed) for outcome in outcomes] == [(1, 0)]
    assert len(export.invoices()) == 2
    assert _credited(export.invoices()) < Decimal(str(_original(export)["Total"]))
    [failed] = _published(events_tap, "invoice.export_failed")
    assert "100371" in failed["reason_en"] and "Credit the rest with a credit note" in failed["reason_en"]


def test_a_change_after_a_credit_note_is_refused(export: Export, events_tap: Any) -> None:
    """The credit note takes back rows of the invoice; changing the invoice afterwards makes it take back something
    the invoice no longer says."""
    export.send(export.event("100353", event_id="first"))
    export.send(export.credit_note("100371", credits="100353"))
    before = _original(export)
    events_tap.received()
    changed = export.event("100353", event_id="changed")
    changed["data"]["rows"] = changed["data"]["rows"][:2]
    export.send(changed)
    assert _original(export)["Total"] == before["Total"]
    [failed] = _published(events_tap, "invoice.export_failed")
    assert failed["fortnox_document_number"] == before["DocumentNumber"]
    assert "100371" in failed["reason_en"] and "rättad" in failed["reason_sv"]


def test_a_credit_note_in_another_currency_than_its_invoice_is_refused(export: Export, events_tap: Any) -> None:
    """A SEK invoice corrected by a EUR credit note at 11.5 would take back 11.5 times what the rows say."""
    export.send(export.event("100353"))
    note = export.credit_note("100371", credits="100353")
    note["data"].update(currency="EUR", currency_rate="11.5")
    events_tap.received()
    outcomes = export.send(note)
    assert [(outcome.received, outcome.failed) for outcome in outcomes] == [(1, 0)]
    assert [invoice["Credit"] for invoice in export.invoices()] == ["false"]
    [failed] = _published(events_tap, "invoice.export_failed")
    assert "EUR" in failed["reason_en"] and "SEK" in failed["reason_en"]


def test_a_manual_correction_for_an_invoice_that_never_comes_fails_with_the_reason(
    export: Export, events_tap: Any
) -> None:
    """Manual corrections are not linked in Fortnox, but they correct an invoice all the same: they wait for it."""
    export.settings(numbering="upstream", always_manual_correction=True)
    outcomes = export.send(export.credit_note("4712", credits="4711"))
    assert sum(outcome.received for outcome in outcomes) == 5
    assert export.invoices() == []
    [failed] = _published(events_tap, "invoice.export_failed")
    assert "4711" in failed["reason_en"] and "not been exported" in failed["reason_en"]


def test_a_manual_correction_that_arrives_before_its_invoice_waits_for_it(export: Export, events_tap: Any) -> None:
    export.settings(numbering="upstream", always_manual_correction=True)
    first = export.deliver_once(export.credit_note("4712", credits="4711"))
    assert (first.received, first.failed) == (1, 1)
    export.send(export.event("4711"))
    assert sorted(invoice["DocumentNumber"] for invoice in export.invoices()) == ["4711", "4712"]
    assert _published(events_tap, "invoice.export_failed") == []


def test_a_credit_of_a_credit_note_is_refused_at_once(export: Export, events_tap: Any) -> None:
    """The credit note was exported; waiting for 'the invoice' and then saying it was never exported is wrong."""
    export.send(export.event("100353"), export.credit_note("100371", credits="100353"))
    events_tap.received()
    outcomes = export.send(export.credit("100371"))
    assert sum(outcome.received for outcome in outcomes) == 1
    [failed] = _published(events_tap, "invoice.export_failed")
    assert "is a credit note" in failed["reason_en"] and "not been exported" not in failed["reason_en"]
    assert len(export.invoices()) == 2


def test_an_invoice_reusing_a_credit_notes_number_is_refused_not_taken_for_it(export: Export, events_tap: Any) -> None:
    """Upstream numbering: credit note 7002 is Fortnox document 7002 and carries the marker of number 7002. An
    invoice 7002 is not that document: a document is ours only when its marker and its kind match."""
    export.settings(numbering="upstream", always_manual_correction=True)
    export.send(export.event("7001"))
    export.send(export.credit_note("7002", credits="7001"))
    events_tap.received()
    export.send(export.event("7002", event_id="reused-number"))
    assert sorted(invoice["DocumentNumber"] for invoice in export.invoices()) == ["7001", "7002"]
    correction = next(invoice for invoice in export.invoices() if invoice["DocumentNumber"] == "7002")
    assert Decimal(str(correction["Total"])) < 0
    [(kind, failed)] = [(event.detail_type, event.detail) for event in events_tap.received()]
    assert kind == "invoice.export_failed"
    assert failed["event_id"] == "reused-number" and "different numbers" in failed["reason_en"]


def test_a_lost_create_of_an_invoice_sharing_a_credit_notes_number_finds_the_invoice(
    export: Export, events_tap: Any
) -> None:
    """With Fortnox numbering the credit note of upstream number 7002 carries the marker of number 7002 too: the
    look for a create whose answer was lost must find the invoice, not the credit note made before it."""
    export.send(export.event("7001"))
    export.send(export.credit_note("7002", credits="7001"))
    note = next(invoice for invoice in export.invoices() if invoice["Credit"] == "true")
    export.scene.control.fault("drop_after_commit", method="POST", path_prefix="/3/invoices")
    events_tap.received()
    export.send(export.event("7002", event_id="shared-number"))
    invoice = next(invoice for invoice in export.invoices() if invoice["Remarks"].startswith("Faktura 7002"))
    assert len(export.invoices()) == 3
    [exported] = _published(events_tap, "invoice.exported")
    assert exported["fortnox_document_number"] == invoice["DocumentNumber"] != note["DocumentNumber"]
