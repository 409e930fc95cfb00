"""A bad day at Fortnox: faults on every step of an export, through the real handler and queue path."""

from typing import Any

import pytest

from fortnox_bridge.fortnox.resources import Invoices
from fortnox_bridge_cli.redrive import redrive
from infra.names import MAX_RECEIVE_COUNT
from tests.bad_day import moment, no_retry_waits, published, redrive_and_drain
from tests.exporting import Export

pytestmark = pytest.mark.integration
__all__ = ["no_retry_waits"]  # the fixture, imported so pytest finds it


def _calls(export: Export, method: str, path: str, status: int | None = None) -> int:
    return sum(
        1
        for row in export.scene.control.requests(export.company)
        if row["method"] == method and row["path"] == path and (status is None or row["status"] == status)
    )


# --- single faults on every step -------------------------------------------------------------------------------

STEP_FAULTS = [
    ("500", "GET", "/3/customers"),
    ("500", "POST", "/3/customers"),
    ("drop_after_commit", "POST", "/3/customers"),
    ("timeout", "POST", "/3/customers"),
    ("429", "POST", "/3/customers"),
    ("500", "POST", "/3/invoices"),
    ("drop_after_commit", "POST", "/3/invoices"),
    ("timeout", "POST", "/3/invoices"),
    ("429", "POST", "/3/invoices"),
    ("500", "PUT", "/3/invoices/1/bookkeep"),
    # drop_after_commit on bookkeep: see the dedicated test below
    ("timeout", "PUT", "/3/invoices/1/bookkeep"),
    ("drop_after_commit", "PUT", "/3/invoices/1/externalprint"),
    ("500", "POST", "/3/inbox"),
    ("drop_after_commit", "POST", "/3/inbox"),
    ("timeout", "POST", "/3/inbox"),
    ("500", "POST", "/api/fileattachments"),
    ("drop_after_commit", "POST", "/api/fileattachments"),
    ("timeout", "POST", "/api/fileattachments"),
]


@pytest.mark.parametrize(("kind", "method", "prefix"), STEP_FAULTS, ids=["-".join(f) for f in STEP_FAULTS])
def test_one_fault_on_any_step_gives_one_finished_invoice(
    export: Export, events_tap: Any, kind: str, method: str, prefix: str
) -> None:
    export.settings(bookkeep=True, send="externalprint")
    export.scene.control.fault(kind, method=method, path_prefix=prefix, delay_seconds=0.05)
    event = export.event("5001", pdf=export.put_pdf(f"{export.tenant}/5001.pdf"))
    export.send(event)
    [invoice] = export.invoices()
    assert (invoice["Booked"], invoice["Sent"]) == (True, True)
    assert _calls(export, "POST", "/3/invoices", 200) + _calls(export, "POST", "/3/invoices", 201) == 1
    assert _calls(export, "PUT", f"/3/invoices/{invoice['DocumentNumber']}") == 0
    inbox_ok = [
        r
        for r in export.scene.control.requests(export.company)
        if r["path"] == "/3/inbox" and r["status"] in (200, 201)
    ]
    assert len(inbox_ok) == 1, "the PDF went into the Fortnox archive more than once"
    attached = [
        r
        for r in export.scene.control.requests(export.company)
        if r["method"] == "POST" and r["path"].startswith("/api/fileattachments") and r["status"] in (200, 201)
    ]
    assert len(attached) == 1
    assert published(events_tap, "invoice.export_failed") == []
    [exported] = published(events_tap, "invoice.exported", event["id"])
    assert (exported["fortnox_document_number"], exported["pending_steps"]) == (invoice["DocumentNumber"], [])
    entry = export.ledger_item("invoice", "5001")
    assert entry is not None
    assert (entry["state"], entry["fortnox_id"], entry["pending_steps"]) == ("confirmed", invoice["DocumentNumber"], [])


# --- the last delivery, the dead-letter queue and the redrive ----------------------------------------------------


def test_a_create_committed_whose_lookups_keep_failing_is_not_reported_as_never_exported(
    export: Export, events_tap: Any
) -> None:
    """The create went through (answer lost); every later look for our marker fails until the message dies. The
    ledger knows a create was sent: it must not end as a plain 'failed' with no document, and the redrive must find
    the invoice rather than make a second one."""
    export.scene.control.fault("drop_after_commit", method="POST", path_prefix="/3/invoices")
    export.scene.control.fault("500", method="GET", path_prefix="/3/invoices", count=1000)
    event = export.event("5101")
    outcomes = export.send(event)
    assert [(o.received, o.failed) for o in outcomes] == [(1, 1)] * MAX_RECEIVE_COUNT
    assert len(export.ours("5101")) == 1
    assert len(export.dead_letters()) == 1
    given_up = export.ledger_item("invoice", "5101")
    [failed] = published(events_tap, "invoice.export_failed", event["id"])

    assert redrive_and_drain(export) == 1
    assert len(export.ours("5101")) == 1
    assert len(published(events_tap, "invoice.exported", event["id"])) == 1
    entry = export.ledger_item("invoice", "5101")
    assert entry is not None and (entry["state"], entry["fortnox_id"]) == (
        "confirmed",
        export.ours("5101")[0]["DocumentNumber"],
    )
    # The create was sent and may have landed: the entry must still say so (a retry and a reader of the ledger
    # need to know to look before creating), not "failed" as if nothing exists; and upstream must not be told
    # plainly that the export failed when the invoice may well be in Fortnox.
    assert given_up is not None and given_up["state"] != "failed", given_up
    assert "may" in failed["reason_en"].lower() or "might" in failed["reason_en"].lower(), failed


def test_a_429_storm_on_bookkeeping_across_five_receives_is_reported_pending_then_finished_once(
    export: Export, events_tap: Any
) -> None:
    export.settings(bookkeep=True, send="externalprint")
    export.scene.control.fault("429", method="PUT", path_prefix="/3/invoices/1/bookkeep", count=5 * MAX_RECEIVE_COUNT)
    event = export.event("5201")
    outcomes = export.send(event)
    assert [(o.received, o.failed) for o in outcomes] == [(1, 1)] * MAX_RECEIVE_COUNT
    [invoice] = export.invoices()
    assert (invoice["Booked"], invoice["Sent"]) == (False, False)
    assert published(events_tap, "invoice.export_failed", event["id"]) == []
    [pending] = published(events_tap, "invoice.exported", event["id"])
    assert (pending["fortnox_document_number"], pending["pending_steps"]) == ("1", ["bookkeep", "send"])
    entry = export.ledger_item("invoice", "5201")
    assert entry is not None
    assert (entry["state"], entry["fortnox_id"], entry["pending_steps"]) == ("created", "1", ["bookkeep", "send"])
    assert "429" in (entry.get("last_error") or "") or "many" in (entry.get("last_error") or "").lower()
    assert len(export.dead_letters()) == 1

    assert redrive_and_drain(export) == 1
    [invoice] = export.invoices()
    assert (invoice["Booked"], invoice["Sent"]) == (True, True)
    assert _calls(export, "POST", "/3/invoices") == 1
    assert _calls(export, "PUT", "/3/invoices/1") == 0
    finished = published(events_tap, "invoice.exported", event["id"])
    assert [e["pending_steps"] for e in finished] == [["bookkeep", "send"], []]
    entry = export.ledger_item("invoice", "5201")
    assert entry is not None and (entry["state"], entry["pending_steps"]) == ("confirmed", [])
    assert export.dead_letters() == []


def test_a_429_storm_on_every_call_across_five_receives_then_redrive_gives_one_invoice(
    export: Export, events_tap: Any
) -> None:
    export.settings(bookkeep=True, send="externalprint")
    export.scene.control.fault("429", path_prefix="/3/", count=1000)
    event = export.event("5301")
    export.send(event)
    assert export.invoices() == []
    [failed] = published(events_tap, "invoice.export_failed", event["id"])
    assert failed["fortnox_document_number"] is None
    entry = export.ledger_item("invoice", "5301")
    assert entry is not None and entry["state"] == "failed" and entry.get("fortnox_id") is None
    assert redrive_and_drain(export) == 1
    [invoice] = export.invoices()
    assert (invoice["Booked"], invoice["Sent"]) == (True, True)
    assert len(published(events_tap, "invoice.exported", event["id"])) == 1
    entry = export.ledger_item("invoice", "5301")
    assert entry is not None and (entry["state"], entry["fortnox_id"]) == ("confirmed", "1")


def test_a_fault_on_the_create_and_on_each_following_step(export: Export, events_tap: Any) -> None:
    export.settings(bookkeep=True, send="externalprint")
    c = export.scene.control
    c.fault("timeout", method="POST", path_prefix="/3/invoices", delay_seconds=0.05)  # not committed
    c.fault("drop_after_commit", method="POST", path_prefix="/3/invoices")  # committed, answer lost
    c.fault("drop_after_commit", method="POST", path_prefix="/3/inbox")
    c.fault("drop_after_commit", method="POST", path_prefix="/api/fileattachments")
    c.fault("500", method="PUT", path_prefix="/3/invoices/1/bookkeep", count=5)
    c.fault("drop_after_commit", method="PUT", path_prefix="/3/invoices/1/externalprint")
    event = export.event("5401", pdf=export.put_pdf(f"{export.tenant}/5401.pdf"))
    export.send(event)
    [invoice] = export.invoices()
    assert (invoice["Booked"], invoice["Sent"]) == (True, True)
    stored = [r for r in c.requests(export.company) if r["path"] == "/3/inbox" and r["status"] in (200, 201)]
    assert len(stored) == 1, "the PDF went into the Fortnox inbox more than once"
    attached = [
        r
        for r in c.requests(export.company)
        if r["method"] == "POST" and r["path"].startswith("/api/fileattachments") and r["status"] in (200, 201)
    ]
    assert len(attached) == 1
    assert published(events_tap, "invoice.export_failed") == []
    [exported] = published(events_tap, "invoice.exported", event["id"])
    assert exported["pending_steps"] == []
    entry = export.ledger_item("invoice", "5401")
    assert entry is not None and (entry["state"], entry["fortnox_id"]) == ("confirmed", "1")


# --- the credit ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("follow", ["none", "get-500s", "get-drop"])
def test_a_credit_committed_then_dropped_makes_one_credit_invoice(export: Export, events_tap: Any, follow: str) -> None:
    export.send(export.event("5501"))
    c = export.scene.control
    c.fault("drop_after_commit", method="PUT", path_prefix="/3/invoices/1/credit")
    if follow == "get-500s":
        c.fault("500", method="GET", path_prefix="/3/invoices/1", count=5)
    elif follow == "get-drop":
        c.fault("drop_after_commit", method="GET", path_prefix="/3/invoices/1", count=2)
    credit = export.credit("5501")
    export.send(credit)
    original, made = export.invoices()
    assert original["CreditInvoiceReference"] == made["DocumentNumber"]
    assert _calls(export, "PUT", "/3/invoices/1/credit") == 1
    [done] = published(events_tap, "invoice.exported", credit["id"])
    assert (done["document"], done["fortnox_document_number"]) == ("credit", made["DocumentNumber"])
    assert published(events_tap, "invoice.export_failed") == []
    entry = export.ledger_item("credit", "5501")
    assert entry is not None and (entry["state"], entry["fortnox_id"]) == ("confirmed", made["DocumentNumber"])


def test_a_credit_committed_whose_answer_is_lost_on_the_last_delivery_is_not_reported_failed(
    export: Export, events_tap: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    export.send(export.event("5601"))
    c = export.scene.control
    real_credit = Invoices.credit

    def credit_then_fortnox_goes_dark(self: Any, number: str) -> Any:
        try:
            return real_credit(self, number)
        except Exception:
            c.fault("500", method="GET", path_prefix="/3/invoices/1", count=1000)
            raise

    monkeypatch.setattr(Invoices, "credit", credit_then_fortnox_goes_dark)
    credit = export.credit("5601")
    spec = export.runner.function("InvoiceExportExporter")
    export._enqueue((credit,))
    for _ in range(MAX_RECEIVE_COUNT - 1):  # four deliveries fail reading the invoice
        c.fault("500", method="GET", path_prefix="/3/invoices/1", count=5)
        outcome = export.runner.deliver_batch(spec, spec.event_sources[0])
        assert (outcome.received, outcome.failed) == (1, 1)
    # The last: the credit lands, its answer is lost and nothing can be read afterwards.
    c.fault("drop_after_commit", method="PUT", path_prefix="/3/invoices/1/credit")
    outcome = export.runner.deliver_batch(spec, spec.event_sources[0])
    assert (outcome.received, outcome.failed) == (1, 1)
    export.send()  # moves it to the dead-letter queue
    original, made = export.invoices()
    assert original["CreditInvoiceReference"] == made["DocumentNumber"]
    given_up = export.ledger_item("credit", "5601")
    failed = published(events_tap, "invoice.export_failed", credit["id"])
    assert len(export.dead_letters()) == 1

    assert redrive_and_drain(export) == 1
    assert len(export.invoices()) == 2
    assert _calls(export, "PUT", "/3/invoices/1/credit") == 1
    assert len(published(events_tap, "invoice.exported", credit["id"])) == 1
    entry = export.ledger_item("credit", "5601")
    assert entry is not None and (entry["state"], entry["fortnox_id"]) == ("confirmed", made["DocumentNumber"])
    # The credit was sent and landed: the ledger said 'failed' and upstream was told it failed.
    assert given_up is not None and given_up["state"] != "failed", given_up
    assert len(failed) == 1 and ("may" in failed[0]["reason_en"] or "might" in failed[0]["reason_en"]), failed


# --- e-mail, orders, updates -------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["drop_after_commit", "timeout", "429"])
def test_an_email_fault_sends_one_email(export: Export, events_tap: Any, kind: str) -> None:
    export.settings(send="email")
    export.scene.control.fault(kind, method="GET", path_prefix="/3/invoices/1/email", delay_seconds=0.05)
    event = export.event("5701")
    export.send(event)
    [invoice] = export.invoices()
    assert invoice["Sent"] is True
    assert _calls(export, "GET", "/3/invoices/1/email", 200) == 1, "the customer got the e-mail twice"
    [exported] = published(events_tap, "invoice.exported", event["id"])
    assert exported["pending_steps"] == []


@pytest.mark.parametrize("kind", ["500", "drop_after_commit", "timeout"])
def test_an_order_create_fault_makes_one_order(export: Export, events_tap: Any, kind: str) -> None:
    export.settings(create_orders=True)
    export.scene.control.fault(kind, method="POST", path_prefix="/3/orders", delay_seconds=0.05)
    event = export.event("5801")
    export.send(event)
    assert export.scene.control.company(export.company)["orders"] == 1 and export.invoices() == []
    assert (
        sum(
            1
            for r in export.scene.control.requests(export.company)
            if r["method"] == "POST" and r["path"] == "/3/orders" and r["status"] in (200, 201)
        )
        == 1
    )
    [exported] = published(events_tap, "invoice.exported", event["id"])
    assert exported["document"] == "order"
    entry = export.ledger_item("invoice", "5801")
    assert entry is not None and (entry["state"], entry["form"]) == ("confirmed", "order")


@pytest.mark.parametrize("kind", ["500", "drop_after_commit", "timeout"])
def test_an_update_fault_applies_the_update_once(export: Export, events_tap: Any, kind: str) -> None:
    first = export.event("5901", event_id="evt-5901-a")
    first["occurred_at"] = moment(-3600)
    export.send(first)
    second = export.event("5901", event_id="evt-5901-b", your_reference="Ändrad")
    second["occurred_at"] = moment()
    export.scene.control.fault(kind, method="PUT", path_prefix="/3/invoices/1", delay_seconds=0.05)
    export.send(second)
    [invoice] = export.invoices()
    assert invoice["YourReference"] == "Ändrad"
    [exported] = published(events_tap, "invoice.exported", second["id"])
    assert exported["action"] == "updated"
    entry = export.ledger_item("invoice", "5901")
    assert entry is not None and entry["state"] == "confirmed"


@pytest.mark.parametrize("kind", ["drop_after_commit", "timeout", "500"])
def test_a_credit_note_create_fault_makes_one_linked_credit_note(export: Export, events_tap: Any, kind: str) -> None:
    export.send(export.event("100353"))
    export.scene.control.fault(kind, method="POST", path_prefix="/3/invoices", delay_seconds=0.05)
    note = export.credit_note("100371", credits="100353")
    export.send(note)
    original, made = export.invoices()
    assert made["InvoiceReference"] == original["DocumentNumber"] and made["Credit"] == "true"
    [done] = published(events_tap, "invoice.exported", note["id"])
    assert (done["document"], done["fortnox_document_number"]) == ("credit_note", made["DocumentNumber"])
    entry = export.ledger_item("credit_note", "100371")
    assert entry is not None and (entry["state"], entry["fortnox_id"]) == ("confirmed", made["DocumentNumber"])


def test_a_429_storm_over_a_batch_of_five_dead_letters_each_with_its_reason_and_redrives_each_once(
    export: Export, events_tap: Any
) -> None:
    export.settings(bookkeep=True)
    export.scene.control.fault("429", method="POST", path_prefix="/3/invoices", count=1000)
    events = [export.event(str(5900 + n), event_id=f"evt-storm-{n}") for n in range(5)]
    export.send(*events)
    assert export.invoices() == []
    failed = published(events_tap, "invoice.export_failed")
    assert sorted(f["event_id"] for f in failed) == sorted(e["id"] for e in events)
    for n in range(5):
        entry = export.ledger_item("invoice", str(5900 + n))
        assert entry is not None and entry["state"] == "failed" and entry.get("last_error")
    assert len(export.dead_letters()) == 5
    assert redrive_and_drain(export) == 5
    invoices = export.invoices()
    assert sorted(i["ExternalInvoiceReference1"] for i in invoices) == sorted(
        f"FB:{export.tenant}:{5900 + n}" for n in range(5)
    )
    assert all(i["Booked"] for i in invoices)
    exported = published(events_tap, "invoice.exported")
    assert sorted(e["event_id"] for e in exported) == sorted(e["id"] for e in events)
    assert redrive(export.sqs, export.queue, tenant=export.tenant) == 0


def test_a_bookkeeping_whose_answer_is_lost_is_not_refused_as_already_booked_and_the_send_still_happens(
    export: Export, events_tap: Any
) -> None:
    """Fortnox books the invoice, the answer is lost; the client sends the (idempotent) bookkeep again and Fortnox
    answers 2000700 "already booked". The invoice is booked: that step is done, and sending must follow."""
    export.settings(bookkeep=True, send="externalprint")
    export.scene.control.fault("drop_after_commit", method="PUT", path_prefix="/3/invoices/1/bookkeep")
    event = export.event("6501")
    export.send(event)
    [invoice] = export.invoices()
    exported = published(events_tap, "invoice.exported", event["id"])
    entry = export.ledger_item("invoice", "6501")
    assert entry is not None
    assert (entry["state"], entry["pending_steps"]) == ("confirmed", []), entry
    assert [p["pending_steps"] for p in exported] == [[]], exported
    assert (invoice["Booked"], invoice["Sent"]) == (True, True)


@pytest.mark.parametrize("kind", ["500", "drop_after_commit", "timeout", "429"])
def test_a_customer_update_fault_updates_the_customer_once_and_exports(
    export: Export, events_tap: Any, kind: str
) -> None:
    export.send(export.event("6701"))
    event = export.event("6702")
    event["data"]["customer"]["name"] = "Nytt Namn AB"
    export.scene.control.fault(kind, method="PUT", path_prefix="/3/customers", delay_seconds=0.05)
    export.send(event)
    assert len(export.invoices()) == 2
    assert published(events_tap, "invoice.export_failed") == []
    assert export.scene.control.company(export.company)["customers"] == 1


def test_an_update_that_fails_on_every_receive_is_reported_with_its_document_and_redriven_once(
    export: Export, events_tap: Any
) -> None:
    first = export.event("6801", event_id="evt-6801-a")
    first["occurred_at"] = moment(-3600)
    export.send(first)
    second = export.event("6801", event_id="evt-6801-b", your_reference="Ändrad")
    second["occurred_at"] = moment()
    export.scene.control.fault("500", method="PUT", path_prefix="/3/invoices/1", count=1000)
    export.send(second)
    [failed] = published(events_tap, "invoice.export_failed", second["id"])
    assert failed["fortnox_document_number"] == "1"
    entry = export.ledger_item("invoice", "6801")
    assert entry is not None and (entry["state"], entry["fortnox_id"]) == ("confirmed", "1") and entry["last_error"]
    assert redrive_and_drain(export) == 1
    [invoice] = export.invoices()
    assert invoice["YourReference"] == "Ändrad"
    [updated] = published(events_tap, "invoice.exported", second["id"])
    assert updated["action"] == "updated"
    # The older content, arriving again under a new id afterwards, is superseded, not applied.
    export.send({**first, "id": "evt-6801-c"})
    [invoice] = export.invoices()
    assert invoice["YourReference"] == "Ändrad"


def test_an_invoice_whose_create_landed_before_the_dead_letter_is_not_made_again_as_an_order(
    export: Export, events_tap: Any
) -> None:
    """The create lands, its answer is lost, every look for it fails until the message dies. The tenant then turns
    on orders and the message is redriven: the invoice exists, so no order may be made for it (issue 8, point 3:
    a document that exists in one form is never created again in the other)."""
    export.scene.control.fault("drop_after_commit", method="POST", path_prefix="/3/invoices")
    export.scene.control.fault("500", method="GET", path_prefix="/3/invoices", count=1000)
    event = export.event("6901")
    export.send(event)
    assert len(export.ours("6901")) == 1
    export.settings(create_orders=True)
    assert redrive_and_drain(export) == 1
    assert export.scene.control.company(export.company)["orders"] == 0, "the invoice now also exists as an order"
    assert len(export.invoices()) == 1
    entry = export.ledger_item("invoice", "6901")
    assert entry is not None and (entry["state"], entry["form"], entry["fortnox_id"]) == ("confirmed", "invoice", "1")
