"""Issue 8, point 2: the Fortnox number is kept the moment the create answers, and attaching the PDF, bookkeeping and
sending are steps a retry finishes. A document that exists is never reported as failed."""

from datetime import date
from typing import Any

import pytest

from tests.exporting import Export

pytestmark = pytest.mark.integration


def _published(events_tap: Any, kind: str) -> list[dict[str, Any]]:
    return [event.detail for event in events_tap.received() if event.detail_type == kind]


def _calls(export: Export, method: str, path: str) -> int:
    return sum(
        1 for row in export.scene.control.requests(export.company) if row["method"] == method and row["path"] == path
    )


def test_bookkeeping_refused_after_the_create_is_reported_pending_and_finished_by_a_redelivery(
    export: Export, events_tap: Any
) -> None:
    export.settings(bookkeep=True)
    export.scene.control.lock_period(export.company, date.today().isoformat())
    event = export.event("100353")
    export.send(event)
    [invoice] = export.invoices()
    assert invoice["Booked"] is False
    published = events_tap.received()
    assert [item.detail_type for item in published] == ["invoice.exported"]  # never "failed": it exists
    [exported] = [item.detail for item in published]
    assert (exported["fortnox_document_number"], exported["action"]) == (invoice["DocumentNumber"], "created")
    assert exported["pending_steps"] == ["bookkeep"]
    assert exported["fortnox_code"] == 2000401 and "låst" in exported["pending_reason_sv"]

    export.scene.control.lock_period(export.company, None)
    export.send(event)  # the same event again, once the tenant unlocked the period
    [invoice] = export.invoices()
    assert invoice["Booked"] is True
    assert _calls(export, "PUT", f"/3/invoices/{invoice['DocumentNumber']}") == 0  # finished, not "updated"
    [finished] = _published(events_tap, "invoice.exported")
    assert (finished["action"], finished["pending_steps"]) == ("created", [])


def test_a_credit_after_a_failed_step_finds_the_invoice(export: Export, events_tap: Any) -> None:
    export.settings(bookkeep=True)
    export.scene.control.lock_period(export.company, date.today().isoformat())
    export.send(export.event("8812"))
    export.send(
        {
            "type": "invoice.credited",
            "id": "credit-8812",
            "tenant_id": export.tenant,
            "occurred_at": "2024-10-01T08:00:00Z",
            "data": {"invoice_number": "8812"},
        }
    )
    original, credit = export.invoices()
    assert original["CreditInvoiceReference"] == credit["DocumentNumber"]
    assert _published(events_tap, "invoice.export_failed") == []


def test_an_upload_that_fails_after_the_create_is_retried_and_every_step_done_once(
    export: Export, events_tap: Any
) -> None:
    export.settings(bookkeep=True, send="externalprint")
    export.scene.control.fault("500", method="POST", path_prefix="/3/inbox")
    outcomes = export.send(export.event("100353", pdf=export.put_pdf(f"{export.tenant}/100353.pdf")))
    assert [(outcome.received, outcome.failed) for outcome in outcomes] == [(1, 1), (1, 0)]
    [invoice] = export.invoices()
    number = invoice["DocumentNumber"]
    assert (invoice["Booked"], invoice["Sent"]) == (True, True)
    assert _calls(export, "POST", "/3/invoices") == 1
    assert _calls(export, "PUT", f"/3/invoices/{number}") == 0
    assert _calls(export, "POST", "/api/fileattachments/attachments-v1") == 1
    [exported] = _published(events_tap, "invoice.exported")
    assert (exported["fortnox_document_number"], exported["action"], exported["pending_steps"]) == (
        number,
        "created",
        [],
    )


@pytest.mark.parametrize("step", ["bookkeep", "externalprint"])
def test_a_step_fortnox_fails_after_the_create_is_finished_by_the_retry(
    export: Export, events_tap: Any, step: str
) -> None:
    export.settings(bookkeep=True, send="externalprint")
    # Five 500s: the client's own retries of this idempotent action all fail, so the message is retried.
    export.scene.control.fault("500", method="PUT", path_prefix=f"/3/invoices/1/{step}", count=5)
    export.send(export.event("100353"))
    [invoice] = export.invoices()
    assert (invoice["DocumentNumber"], invoice["Booked"], invoice["Sent"]) == ("1", True, True)
    assert _calls(export, "POST", "/3/invoices") == 1
    assert _calls(export, "PUT", "/3/invoices/1") == 0
    [exported] = _published(events_tap, "invoice.exported")
    assert (exported["action"], exported["pending_steps"]) == ("created", [])


def test_an_attachment_that_fails_is_retried_without_uploading_the_pdf_again(export: Export) -> None:
    export.scene.control.fault("500", method="POST", path_prefix="/api/fileattachments")
    export.send(export.event("100353", pdf=export.put_pdf(f"{export.tenant}/100353-b.pdf")))
    [invoice] = export.invoices()
    assert _calls(export, "POST", "/3/inbox") == 1
    assert _calls(export, "POST", "/api/fileattachments/attachments-v1") == 2  # the failed one and its retry
    assert _calls(export, "PUT", f"/3/invoices/{invoice['DocumentNumber']}") == 0


def test_an_email_that_fails_after_the_create_is_sent_by_the_retry(export: Export, events_tap: Any) -> None:
    export.settings(send="email")
    # The e-mail action is a GET that is not repeated blindly; the create path reads no invoice before it.
    export.scene.control.fault("500", method="GET", path_prefix="/3/invoices/")
    export.send(export.event("100353"))
    [invoice] = export.invoices()
    number = invoice["DocumentNumber"]
    assert invoice["Sent"] is True
    assert _calls(export, "GET", f"/3/invoices/{number}/email") == 2  # the failed one and its retry
    assert _calls(export, "PUT", f"/3/invoices/{number}") == 0
    [exported] = _published(events_tap, "invoice.exported")
    assert (exported["action"], exported["pending_steps"]) == ("created", [])


def test_a_step_that_keeps_failing_is_reported_pending_on_the_last_delivery(export: Export, events_tap: Any) -> None:
    export.scene.control.fault("500", method="POST", path_prefix="/3/inbox", count=20)
    export.send(export.event("100353", pdf=export.put_pdf(f"{export.tenant}/100353-c.pdf")))
    [invoice] = export.invoices()
    published = events_tap.received()
    assert "invoice.export_failed" not in [item.detail_type for item in published]
    [exported] = [item.detail for item in published if item.detail_type == "invoice.exported"]
    assert exported["fortnox_document_number"] == invoice["DocumentNumber"]
    assert exported["pending_steps"] == ["attach_pdf"] and "500" in exported["pending_reason_en"]
    assert _calls(export, "POST", "/3/invoices") == 1


@pytest.mark.parametrize(
    "where",
    [
        pytest.param({"key": "{tenant}/never-uploaded.pdf"}, id="missing-object"),
        pytest.param({"bucket": "someone-elses-bucket", "key": "{tenant}/100353.pdf"}, id="wrong-bucket"),
        pytest.param({"key": "another-tenant/100353.pdf", "put": "yes"}, id="another-tenants-pdf"),
    ],
)
def test_a_pdf_that_cannot_be_read_is_found_before_the_create(
    export: Export, events_tap: Any, where: dict[str, str]
) -> None:
    key = where["key"].format(tenant=export.tenant)
    if where.get("put"):
        export.put_pdf(key)  # it exists, and is still not this tenant's to attach
    pdf = {"bucket": where.get("bucket", export.bucket), "key": key}
    export.send(export.event("100353", pdf=pdf))
    assert export.invoices() == []
    assert _calls(export, "POST", "/3/invoices") == 0
    [failed] = _published(events_tap, "invoice.export_failed")
    assert "PDF" in failed["reason_sv"] and "cannot be read" in failed["reason_en"]
    assert failed["fortnox_document_number"] is None


def test_a_changed_invoice_with_a_new_pdf_attaches_the_new_pdf(export: Export, events_tap: Any) -> None:
    """A changed invoice comes with its regenerated PDF: it is uploaded and attached, so Fortnox never sends the
    customer only the PDF with the old amounts."""
    export.send(export.event("7203", event_id="v1", pdf=export.put_pdf(f"{export.tenant}/7203-a.pdf")))
    events_tap.received()
    changed = export.event("7203", event_id="v2", pdf=export.put_pdf(f"{export.tenant}/7203-b.pdf"))
    changed["data"]["rows"] = changed["data"]["rows"][:2]
    export.send(changed)
    [updated] = _published(events_tap, "invoice.exported")
    assert (updated["action"], updated["pending_steps"]) == ("updated", [])
    assert _calls(export, "POST", "/3/inbox") == 2
    [invoice] = export.invoices()
    client = export.scene.client(token=export.scene.control.access_token(export.scene.app, export.company))
    with client:
        attached = client.file_attachments.for_entity(int(invoice["DocumentNumber"]), "F")
    assert len(attached) == 2  # beside the old one: the client cannot turn an attachment's includeOnSend off yet


def test_the_same_invoice_with_a_new_pdf_only_attaches_it(export: Export, events_tap: Any) -> None:
    export.send(export.event("7207", event_id="v1", pdf=export.put_pdf(f"{export.tenant}/7207-a.pdf")))
    events_tap.received()
    export.send(export.event("7207", event_id="v2", pdf=export.put_pdf(f"{export.tenant}/7207-b.pdf")))
    [updated] = _published(events_tap, "invoice.exported")
    assert updated["action"] == "updated"
    assert _calls(export, "POST", "/3/inbox") == 2
    assert _calls(export, "PUT", f"/3/invoices/{export.invoices()[0]['DocumentNumber']}") == 0
