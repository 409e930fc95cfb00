"""Session 11's attack: Fortnox does the write, then answers 500 (``500_after_commit``). A 5xx on a write leaves it
in doubt just as a lost answer does; through the real handler and queue path, every write the bridge makes must end
with one document, customer, voucher or attachment per event, the right outcome once and an honest ledger."""

from typing import Any

import boto3
import pytest

from fortnox_bridge.fortnox.resources import Invoices, Vouchers
from fortnox_bridge.fortnox.retry import RetryPolicy
from infra.names import MAX_RECEIVE_COUNT
from local_stack.moto_server import REGION
from tests.bad_day import moment, no_retry_waits, published, redrive_and_drain
from tests.exporting import Export, VoucherExport, voucher_export

pytestmark = pytest.mark.integration
__all__ = ["no_retry_waits", "voucher_export"]  # the fixtures, imported so pytest finds them


def _done(export: Export | VoucherExport, method: str, path: str) -> int:
    """Requests Fortnox carried out (the sandbox logs what it did, whatever answer replaced it)."""
    return sum(
        1
        for row in export.scene.control.requests(export.company)
        if row["method"] == method and str(row["path"]).startswith(path) and 200 <= int(row["status"]) < 300
    )


# --- every write, its answer replaced by a 500 on the first delivery ---------------------------------------------

WRITES = [
    # (settings, method, the path the fault aims at); bookkeeping and externalprint are idempotent (the client
    # repeats them, and a repeat changes nothing), every other write must be carried out once
    pytest.param({}, "POST", "/3/invoices", id="invoice-create"),
    pytest.param({"numbering": "upstream"}, "POST", "/3/invoices", id="invoice-create-upstream-numbering"),
    pytest.param({"create_orders": True}, "POST", "/3/orders", id="order-create"),
    pytest.param({"bookkeep": True, "send": "externalprint"}, "PUT", "/3/invoices/1/bookkeep", id="bookkeep"),
    pytest.param({"bookkeep": True, "send": "externalprint"}, "PUT", "/3/invoices/1/externalprint", id="externalprint"),
    pytest.param({"send": "email"}, "GET", "/3/invoices/1/email", id="email"),
    pytest.param({"attach_pdf": True}, "POST", "/3/inbox", id="inbox-upload"),
    pytest.param({"attach_pdf": True}, "POST", "/api/fileattachments", id="file-attachment"),
    pytest.param({}, "POST", "/3/customers", id="customer-create"),
]


@pytest.mark.parametrize(("settings", "method", "path"), WRITES)
def test_a_write_answered_500_after_it_was_done_leaves_one_of_everything(
    export: Export, events_tap: Any, settings: dict[str, Any], method: str, path: str
) -> None:
    export.settings(**settings)
    export.scene.control.fault("500_after_commit", method=method, path_prefix=path)
    event = export.event("7001", pdf=export.put_pdf(f"{export.tenant}/7001.pdf"))
    export.send(event)

    company = export.scene.control.company(export.company)
    documents = company["orders"] if settings.get("create_orders") else len(export.ours("7001"))
    assert documents == 1
    assert company["customers"] == 1
    if not path.endswith(("/bookkeep", "/externalprint")):
        assert _done(export, method, path) == 1, f"{method} {path} was carried out more than once"
    if settings.get("bookkeep"):
        assert (export.invoices()[0]["Booked"], export.invoices()[0]["Sent"]) == (True, True)
    if settings.get("attach_pdf"):
        assert _done(export, "POST", "/3/inbox") == 1, "the PDF went into the Fortnox archive more than once"
        assert _done(export, "POST", "/api/fileattachments") == 1
    if method == "GET" and path.endswith("/email"):
        assert export.invoices()[0]["Sent"] is True
    assert published(events_tap, "invoice.export_failed", event["id"]) == []
    [exported] = published(events_tap, "invoice.exported", event["id"])
    assert exported["pending_steps"] == []
    entry = export.ledger_item("invoice", "7001")
    assert entry is not None and (entry["state"], entry["pending_steps"]) == ("confirmed", [])
    assert entry["fortnox_id"] == exported["fortnox_document_number"]


def test_an_update_answered_500_after_it_was_done_is_applied_once_and_reported_updated(
    export: Export, events_tap: Any
) -> None:
    first = export.event("7101", event_id="evt-7101-a")
    first["occurred_at"] = moment(-3600)
    export.send(first)
    second = export.event("7101", event_id="evt-7101-b", your_reference="Ändrad")
    second["occurred_at"] = moment()
    second["data"]["customer"]["name"] = "Nytt Namn AB"
    export.scene.control.fault("500_after_commit", method="PUT", path_prefix="/3/invoices/1")
    export.scene.control.fault("500_after_commit", method="PUT", path_prefix="/3/customers")
    export.send(second)
    [invoice] = export.invoices()
    assert invoice["YourReference"] == "Ändrad"
    assert export.scene.control.company(export.company)["customers"] == 1
    assert published(events_tap, "invoice.export_failed") == []
    [updated] = published(events_tap, "invoice.exported", second["id"])
    assert (updated["action"], updated["fortnox_document_number"]) == ("updated", "1")
    entry = export.ledger_item("invoice", "7101")
    assert entry is not None and (entry["state"], entry["fortnox_id"]) == ("confirmed", "1")


def test_a_full_credit_answered_500_after_it_was_done_makes_one_credit_invoice(export: Export, events_tap: Any) -> None:
    export.send(export.event("7201"))
    export.scene.control.fault("500_after_commit", method="PUT", path_prefix="/3/invoices/1/credit")
    credit = export.credit("7201")
    export.send(credit)
    original, made = export.invoices()
    assert original["CreditInvoiceReference"] == made["DocumentNumber"]
    assert _done(export, "PUT", "/3/invoices/1/credit") == 1
    assert published(events_tap, "invoice.export_failed") == []
    [done] = published(events_tap, "invoice.exported", credit["id"])
    assert (done["document"], done["fortnox_document_number"]) == ("credit", made["DocumentNumber"])
    entry = export.ledger_item("credit", "7201")
    assert entry is not None and (entry["state"], entry["fortnox_id"]) == ("confirmed", made["DocumentNumber"])


@pytest.mark.parametrize("numbering", ["fortnox", "upstream"])
def test_a_credit_note_answered_500_after_it_was_done_makes_one_credit_note(
    export: Export, events_tap: Any, numbering: str
) -> None:
    export.settings(numbering=numbering)
    export.send(export.event("7301"))
    export.scene.control.fault("500_after_commit", method="POST", path_prefix="/3/invoices")
    note = export.credit_note("7302", credits="7301")
    export.send(note)
    _, made = export.invoices()  # with upstream numbering a manual correction, not linked (seed 000)
    assert published(events_tap, "invoice.export_failed") == []
    [done] = published(events_tap, "invoice.exported", note["id"])
    assert (done["document"], done["fortnox_document_number"]) == ("credit_note", made["DocumentNumber"])
    entry = export.ledger_item("credit_note", "7302")
    assert entry is not None and (entry["state"], entry["fortnox_id"]) == ("confirmed", made["DocumentNumber"])


@pytest.mark.parametrize("event", ["day", "journal"])
def test_a_voucher_answered_500_after_it_was_done_is_booked_once(
    voucher_export: VoucherExport, events_tap: Any, event: str
) -> None:
    voucher_export.scene.control.fault("500_after_commit", method="POST", path_prefix="/3/vouchers")
    sent = voucher_export.day() if event == "day" else voucher_export.journal()
    voucher_export.send(sent)
    [voucher] = voucher_export.vouchers()
    assert _done(voucher_export, "POST", "/3/vouchers") == 1
    assert published(events_tap, "voucher.export_failed", sent["id"]) == []
    [exported] = published(events_tap, "voucher.exported", sent["id"])
    assert (exported["series"], exported["number"]) == (voucher.VoucherSeries, voucher.VoucherNumber)


# --- a create in doubt, and a retry that cannot finish -------------------------------------------------------------


def test_a_create_in_doubt_whose_retry_is_refused_before_it_looked_is_not_reported_as_never_exported(
    export: Export, events_tap: Any
) -> None:
    """The create lands and Fortnox answers 500, and the look for it fails too; before the retry, upstream's PDF is
    gone from the bucket. The retry refused the event for the unreadable PDF before it looked for the invoice it had
    sent: the ledger said 'failed', and upstream heard the export failed with no document, while the invoice sat in
    Fortnox without its PDF."""
    export.settings(attach_pdf=True)
    pdf = export.put_pdf(f"{export.tenant}/7401.pdf")
    export.scene.control.fault("500_after_commit", method="POST", path_prefix="/3/invoices")
    export.scene.control.fault("500", method="GET", path_prefix="/3/invoices", count=RetryPolicy().max_attempts)
    event = export.event("7401", pdf=pdf)
    first = export.deliver_once(event)
    assert (first.received, first.failed) == (1, 1)
    boto3.client("s3", region_name=REGION).delete_object(Bucket=pdf["bucket"], Key=pdf["key"])

    export.send()

    [invoice] = export.ours("7401")
    assert published(events_tap, "invoice.export_failed", event["id"]) == []
    [exported] = published(events_tap, "invoice.exported", event["id"])
    assert (exported["fortnox_document_number"], exported["pending_steps"]) == (
        invoice["DocumentNumber"],
        ["attach_pdf"],
    )
    assert "PDF" in exported["pending_reason_en"]
    entry = export.ledger_item("invoice", "7401")
    assert entry is not None
    assert (entry["state"], entry["fortnox_id"], entry["pending_steps"]) == (
        "created",
        invoice["DocumentNumber"],
        ["attach_pdf"],
    )


CREATES = [
    # (id, settings, the create, the look the retry makes); upstream numbering looks the same way (the last-delivery
    # test below has it), and every failing look here costs the shared limiter's window some seconds
    ("invoice", {}, ("POST", "/3/invoices"), ("GET", "/3/invoices")),
    ("order", {"create_orders": True}, ("POST", "/3/orders"), ("GET", "/3/orders")),
]


@pytest.mark.parametrize(("settings", "create", "look"), [c[1:] for c in CREATES], ids=[c[0] for c in CREATES])
def test_a_create_answered_500_whose_lookups_fail_until_the_dead_letter_queue_is_found_by_the_redrive(
    export: Export, events_tap: Any, settings: dict[str, Any], create: tuple[str, str], look: tuple[str, str]
) -> None:
    export.settings(**settings)
    export.scene.control.fault("500_after_commit", method=create[0], path_prefix=create[1])
    export.scene.control.fault("500", method=look[0], path_prefix=look[1], count=1000)
    event = export.event("7501")
    outcomes = export.send(event)
    assert [(o.received, o.failed) for o in outcomes] == [(1, 1)] * MAX_RECEIVE_COUNT
    assert len(export.dead_letters()) == 1
    given_up = export.ledger_item("invoice", "7501")
    [failed] = published(events_tap, "invoice.export_failed", event["id"])
    assert given_up is not None and given_up["state"] == "sent", given_up
    assert "may" in failed["reason_en"].lower(), failed

    assert redrive_and_drain(export) == 1
    company = export.scene.control.company(export.company)
    assert (company["orders"] if settings.get("create_orders") else len(export.ours("7501"))) == 1
    assert _done(export, *create) == 1
    [exported] = published(events_tap, "invoice.exported", event["id"])
    entry = export.ledger_item("invoice", "7501")
    assert entry is not None
    assert (entry["state"], entry["fortnox_id"]) == ("confirmed", exported["fortnox_document_number"])


def test_a_credit_answered_500_whose_reads_fail_until_the_dead_letter_queue_is_found_by_the_redrive(
    export: Export, events_tap: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    export.send(export.event("7601"))
    c = export.scene.control
    real_credit = Invoices.credit

    def credit_then_fortnox_fails_every_read(self: Any, number: str) -> Any:
        try:
            return real_credit(self, number)
        finally:
            c.fault("500", method="GET", path_prefix="/3/invoices/1", count=1000)

    monkeypatch.setattr(Invoices, "credit", credit_then_fortnox_fails_every_read)
    c.fault("500_after_commit", method="PUT", path_prefix="/3/invoices/1/credit")
    credit = export.credit("7601")
    outcomes = export.send(credit)
    assert [(o.received, o.failed) for o in outcomes] == [(1, 1)] * MAX_RECEIVE_COUNT
    given_up = export.ledger_item("credit", "7601")
    [failed] = published(events_tap, "invoice.export_failed", credit["id"])
    assert given_up is not None and given_up["state"] == "sent", given_up
    assert "may" in failed["reason_en"].lower(), failed

    monkeypatch.setattr(Invoices, "credit", real_credit)
    assert redrive_and_drain(export) == 1
    original, made = export.invoices()
    assert original["CreditInvoiceReference"] == made["DocumentNumber"]
    assert _done(export, "PUT", "/3/invoices/1/credit") == 1
    [done] = published(events_tap, "invoice.exported", credit["id"])
    assert done["fortnox_document_number"] == made["DocumentNumber"]
    entry = export.ledger_item("credit", "7601")
    assert entry is not None and (entry["state"], entry["fortnox_id"]) == ("confirmed", made["DocumentNumber"])


def test_a_voucher_answered_500_whose_lookups_fail_until_the_dead_letter_queue_is_found_by_the_redrive(
    voucher_export: VoucherExport, events_tap: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    c = voucher_export.scene.control
    real_create = Vouchers.create

    def create_then_fortnox_fails_every_listing(self: Any, voucher: Any, *, financial_year: int) -> Any:
        try:
            return real_create(self, voucher, financial_year=financial_year)
        finally:
            c.fault("500", method="GET", path_prefix="/3/vouchers", count=1000)

    monkeypatch.setattr(Vouchers, "create", create_then_fortnox_fails_every_listing)
    c.fault("500_after_commit", method="POST", path_prefix="/3/vouchers")
    day = voucher_export.day()
    outcomes = voucher_export.send(day)
    assert [(o.received, o.failed) for o in outcomes] == [(1, 1)] * MAX_RECEIVE_COUNT
    given_up = voucher_export.ledger(f"{day['data']['business_day']}#kassa-1")
    [failed] = published(events_tap, "voucher.export_failed", day["id"])
    assert given_up is not None and given_up.state.value == "sent", given_up
    assert "may" in failed["reason_en"].lower(), failed

    monkeypatch.setattr(Vouchers, "create", real_create)
    assert redrive_and_drain(voucher_export) == 1
    [voucher] = voucher_export.vouchers()
    assert _done(voucher_export, "POST", "/3/vouchers") == 1
    [exported] = published(events_tap, "voucher.exported", day["id"])
    assert (exported["series"], exported["number"]) == (voucher.VoucherSeries, voucher.VoucherNumber)


# --- the 500 after the work on the last delivery ---------------------------------------------------------------------

LAST_DELIVERY = [
    # (id, settings, what the event is, the write): Fortnox fails the write outright on every delivery but the last,
    # which it carries out and answers 500
    ("invoice", {}, "invoice", ("POST", "/3/invoices")),
    ("invoice-upstream-numbering", {"numbering": "upstream"}, "invoice", ("POST", "/3/invoices")),
    ("order", {"create_orders": True}, "invoice", ("POST", "/3/orders")),
    ("credit-note", {}, "credit_note", ("POST", "/3/invoices")),
    ("credit", {}, "credit", ("PUT", "/3/invoices/1/credit")),
    ("email", {"send": "email"}, "invoice", ("GET", "/3/invoices/1/email")),
    ("file-attachment", {"attach_pdf": True}, "invoice", ("POST", "/api/fileattachments")),
    ("customer-create", {}, "invoice", ("POST", "/3/customers")),
]


@pytest.mark.parametrize(
    ("settings", "kind", "write"), [w[1:] for w in LAST_DELIVERY], ids=[w[0] for w in LAST_DELIVERY]
)
def test_a_write_done_and_answered_500_on_the_last_delivery_is_found_at_once_not_dead_lettered(
    export: Export, events_tap: Any, settings: dict[str, Any], kind: str, write: tuple[str, str]
) -> None:
    """A lost answer is looked for at once; a 500 after the work was left to a next delivery, and on the last one
    there is none: the event went to the dead-letter queue and upstream heard 'failed' (or 'pending') about a
    document, credit or step Fortnox had done."""
    export.settings(**settings)
    if kind in {"credit_note", "credit"}:
        export.send(export.event("7701"))
    if kind == "credit_note":
        event = export.credit_note("7702", credits="7701")
    elif kind == "credit":
        event = export.credit("7701")
    else:
        event = export.event("7701", pdf=export.put_pdf(f"{export.tenant}/7701.pdf"))
    before = _done(export, *write)
    export.scene.control.fault("500", method=write[0], path_prefix=write[1], count=MAX_RECEIVE_COUNT - 1)
    export.scene.control.fault("500_after_commit", method=write[0], path_prefix=write[1])

    outcomes = export.send(event)

    assert [o.failed for o in outcomes] == [1] * (MAX_RECEIVE_COUNT - 1) + [0]
    assert export.dead_letters() == []
    assert _done(export, *write) == before + 1
    assert published(events_tap, "invoice.export_failed", event["id"]) == []
    [exported] = published(events_tap, "invoice.exported", event["id"])
    assert exported["pending_steps"] == []
    ledger_kind = {"invoice": "invoice", "credit_note": "credit_note", "credit": "credit"}[kind]
    entry = export.ledger_item(ledger_kind, "7702" if kind == "credit_note" else "7701")
    assert entry is not None
    assert (entry["state"], entry["fortnox_id"]) == ("confirmed", exported["fortnox_document_number"])


def test_a_voucher_booked_and_answered_500_on_the_last_delivery_is_found_at_once_not_dead_lettered(
    voucher_export: VoucherExport, events_tap: Any
) -> None:
    voucher_export.scene.control.fault("500", method="POST", path_prefix="/3/vouchers", count=MAX_RECEIVE_COUNT - 1)
    voucher_export.scene.control.fault("500_after_commit", method="POST", path_prefix="/3/vouchers")
    day = voucher_export.day()
    outcomes = voucher_export.send(day)
    assert [o.failed for o in outcomes] == [1] * (MAX_RECEIVE_COUNT - 1) + [0]
    [voucher] = voucher_export.vouchers()
    assert _done(voucher_export, "POST", "/3/vouchers") == 1
    assert published(events_tap, "voucher.export_failed", day["id"]) == []
    [exported] = published(events_tap, "voucher.exported", day["id"])
    assert (exported["series"], exported["number"]) == (voucher.VoucherSeries, voucher.VoucherNumber)
