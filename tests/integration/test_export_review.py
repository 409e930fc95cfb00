"""Failures a bookkeeper can fix, through the management API and the export queues: each failed export listed with
its fix, sent again once fixed, marked as exported by hand, or taken as an SIE file; nothing of another tenant's."""

import json
from typing import Any

import httpx
import pytest

from fortnox_bridge.contracts.intake import parse_voucher_event
from fortnox_bridge.export.review import export_id
from fortnox_bridge.ids import TenantId
from fortnox_bridge.vouchers.journal import journal_for
from local_stack.onboarding import connect_service_account
from tests import sie_reader
from tests.conftest import LOCAL_API_KEY, Scene
from tests.exporting import Export, VoucherExport, cafe_mapping, export, voucher_export

pytestmark = pytest.mark.integration
__all__ = ["export", "voucher_export"]  # the fixtures, imported so pytest finds them


class Review:
    """The management API's export routes for one tenant."""

    def __init__(self, gateway: Any, tenant: str) -> None:
        self.http = httpx.Client(base_url=gateway.url, headers={"x-api-key": LOCAL_API_KEY}, timeout=60)
        self.tenant = tenant

    def failed(self, **params: Any) -> dict[str, Any]:
        answer = self.http.get(f"/tenants/{self.tenant}/exports", params={"status": "failed", **params})
        assert answer.status_code == 200, answer.text
        page: dict[str, Any] = answer.json()
        return page

    def get(self, export: str) -> httpx.Response:
        return self.http.get(f"/tenants/{self.tenant}/exports/{export}")

    def retry(self, export: str) -> httpx.Response:
        return self.http.post(f"/tenants/{self.tenant}/exports/{export}/retry")

    def retry_failed(self) -> list[str]:
        answer = self.http.post(f"/tenants/{self.tenant}/exports/retry-failed")
        assert answer.status_code == 200, answer.text
        replayed: list[str] = answer.json()["replayed"]
        return replayed

    def mark(self, export: str, body: Any) -> httpx.Response:
        return self.http.post(f"/tenants/{self.tenant}/exports/{export}/mark-exported", json=body)

    def sie(self, export: str) -> httpx.Response:
        return self.http.get(f"/tenants/{self.tenant}/exports/{export}/sie")


def _fail_on_an_inactive_account(export: Export, number: str = "100353") -> str:
    export.scene.control.patch_account(export.company, 3041, Active=False)
    export.send(export.event(number))
    assert not [i for i in export.invoices() if i["ExternalInvoiceReference1"].endswith(f":{number}")]
    return export_id("invoice", number)


def _drain(export: Export) -> None:
    export.send()


def test_a_failed_invoice_is_listed_with_its_fix_and_a_retry_after_the_fix_exports_it_once(
    export: Export, gateway: Any
) -> None:
    review = Review(gateway, export.tenant)
    failed = _fail_on_an_inactive_account(export)

    [listed] = review.failed()["exports"]
    assert (listed["export_id"], listed["kind"], listed["business_key"]) == (failed, "invoice", "100353")
    assert (listed["status"], listed["retryable"]) == ("failed", True)
    failure = listed["failure"]
    assert (failure["code"], failure["fortnox_message"]) == (2000550, "Konto 3041 är inte aktivt.")
    assert "Aktivera" in failure["sv"] and "Kontoplan" in failure["sv"]
    assert "Activate" in failure["en"] and "Chart of accounts" in failure["en"]
    assert failure["tenant_fixable"] is True

    # Retried before the fix: refused again, still one failure, nothing in Fortnox.
    assert review.retry(failed).status_code == 202
    _drain(export)
    assert export.invoices() == [] and [item["export_id"] for item in review.failed()["exports"]] == [failed]

    export.scene.control.patch_account(export.company, 3041, Active=True)
    assert review.retry(failed).status_code == 202
    _drain(export)
    assert len(export.invoices()) == 1
    assert review.failed()["exports"] == []
    done = review.get(failed).json()
    assert (done["status"], done["fortnox_id"]) == ("confirmed", export.invoices()[0]["DocumentNumber"])

    # Done is done: a retry now is refused, and a click twice makes no second invoice.
    again = review.retry(failed)
    assert again.status_code == 409 and again.json()["error"] == "conflict"
    _drain(export)
    assert len(export.invoices()) == 1


def test_retry_failed_replays_only_what_the_tenant_can_fix(export: Export, gateway: Any) -> None:
    review = Review(gateway, export.tenant)
    export.send(export.event("100400"))
    in_euro = export.credit_note("100401", credits="100400")
    in_euro["data"].update(currency="EUR", currency_rate="11.45")
    export.send(in_euro)  # a credit note in another currency than its invoice: nothing in Fortnox will fix that
    fixable = _fail_on_an_inactive_account(export, "100402")
    listed = {item["export_id"]: item["failure"]["tenant_fixable"] for item in review.failed()["exports"]}
    assert listed == {export_id("credit_note", "100401"): False, fixable: True}

    export.scene.control.patch_account(export.company, 3041, Active=True)
    assert review.retry_failed() == [fixable]
    _drain(export)

    numbers = sorted(invoice["ExternalInvoiceReference1"].rsplit(":", 1)[1] for invoice in export.invoices())
    assert numbers == ["100400", "100402"]
    assert [item["export_id"] for item in review.failed()["exports"]] == [export_id("credit_note", "100401")]
    assert review.retry_failed() == []


def test_a_failure_marked_as_exported_is_never_exported_again(export: Export, gateway: Any, events_tap: Any) -> None:
    review = Review(gateway, export.tenant)
    failed = _fail_on_an_inactive_account(export)

    assert review.mark(failed, {}).status_code == 422
    assert review.mark(failed, {"reason": ""}).status_code == 422
    # A reason is shown as typed to the next bookkeeper: nothing that would make it read otherwise is kept.
    for unprintable in ("ver A 17\u202e71 A rev", "ver A\u200b17", "ver A 17\nand more", "ver\x00A 17"):
        assert review.mark(failed, {"reason": unprintable}).status_code == 422
    marked = review.mark(failed, {"reason": "Inlagd för hand i Fortnox, ver A 17"})
    assert marked.status_code == 200, marked.text
    assert marked.json()["status"] == "marked_exported" and marked.json()["fortnox_id"] is None
    assert marked.json()["marked_exported"]["reason"] == "Inlagd för hand i Fortnox, ver A 17"
    assert review.failed()["exports"] == []

    # The cause is fixed and upstream sends the invoice again: it stays as the bookkeeper left it.
    export.scene.control.patch_account(export.company, 3041, Active=True)
    export.send(export.event("100353", event_id="redelivered"))
    assert export.invoices() == []
    told = [e.detail for e in events_tap.received() if e.detail_type == "invoice.export_failed"]
    assert "för hand" in told[-1]["reason_sv"] and "by hand" in told[-1]["reason_en"]
    assert review.retry(failed).status_code == 409
    assert review.mark(failed, {"reason": "igen"}).status_code == 409
    assert review.retry_failed() == []
    _drain(export)
    assert export.invoices() == []


def test_an_exported_invoice_cannot_be_marked_or_taken_as_sie(export: Export, gateway: Any) -> None:
    review = Review(gateway, export.tenant)
    export.send(export.event())
    done = export_id("invoice", "100353")
    assert review.mark(done, {"reason": "by mistake"}).status_code == 409
    sie = review.sie(done)
    assert sie.status_code == 409 and "voucher" in sie.json()["message"]
    assert len(export.invoices()) == 1


def test_another_tenants_export_and_garbage_ids_are_not_found(
    export: Export, gateway: Any, scene: Scene, table: Any, unique: str
) -> None:
    failed = _fail_on_an_inactive_account(export)
    other = f"{unique}-other"
    connect_service_account(
        table,
        scene.control,
        scene.app,
        tenant_id=TenantId(other),
        fortnox_tenant_id=scene.new_company("Grannen AB"),
        display_name="Grannen",
    )
    stranger = Review(gateway, other)
    for answer in (
        stranger.get(failed),
        stranger.retry(failed),
        stranger.mark(failed, {"reason": "not mine"}),
        stranger.sie(failed),
    ):
        assert answer.status_code == 404 and answer.json()["error"] == "unknown_export", answer.text
        assert "100353" not in answer.text
    assert stranger.failed()["exports"] == [] and stranger.retry_failed() == []

    owner = Review(gateway, export.tenant)
    for garbage in (
        "invoice.",
        "invoice.!!",
        "INVOICE.MTAwMzUz",
        "invoice.MTAwMzUz=",
        "a.b",
        "voucher.%2F%2E%2E",
        "x" * 700,
    ):
        answer = owner.get(garbage)
        # Not found, by the route or (an encoded slash makes another path) by the gateway: never a 500 or a leak.
        assert answer.status_code == 404 and "100353" not in answer.text, (garbage, answer.text)
    assert owner.retry("invoice.MTAwMzU0").status_code == 404  # a well-formed id of nothing
    assert owner.get(failed).status_code == 200
    _drain(export)
    assert export.invoices() == []
    assert owner.http.get("/tenants/nobody-at-all/exports").status_code == 404


def test_the_failed_list_is_paged(export: Export, gateway: Any) -> None:
    review = Review(gateway, export.tenant)
    export.scene.control.patch_account(export.company, 3041, Active=False)
    export.send(*(export.event(f"1005{index}") for index in range(3)))
    first = review.failed(limit=2)
    assert len(first["exports"]) == 2 and first["next"] is not None
    second = review.failed(limit=2, start=first["next"])
    assert second["next"] is None
    seen = [item["business_key"] for item in first["exports"] + second["exports"]]
    assert seen == ["10050", "10051", "10052"]
    assert review.http.get(f"/tenants/{export.tenant}/exports", params={"start": "nonsense"}).status_code == 400
    assert review.http.get(f"/tenants/{export.tenant}/exports", params={"limit": 0}).status_code == 422


def test_a_failed_voucher_comes_as_an_sie_file_of_the_same_rows(voucher_export: VoucherExport, gateway: Any) -> None:
    till = voucher_export
    review = Review(gateway, till.tenant)
    till.scene.control.put_cost_center(till.company, "STHLM", Active=False)
    day = till.day()
    till.send(day)
    assert till.vouchers() == []
    [failed] = review.failed()["exports"]
    assert failed["kind"] == "voucher"
    assert [finding["code"] for finding in failed["failure"]["findings"]] == ["cost_center_inactive"]

    answer = review.sie(failed["export_id"])
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/octet-stream"
    disposition = answer.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="voucher-') and disposition.endswith('.se"')
    parsed = sie_reader.read(answer.content)
    assert parsed.header["#FORMAT"] == ["PC8"] and parsed.header["#SIETYP"] == ["4"] and parsed.crlf
    [verification] = parsed.verifications
    journal = journal_for(parse_voucher_event(json.dumps(day)), cafe_mapping())
    assert [(t.account, t.amount) for t in verification.transactions] == [
        (row.account, row.debit - row.credit) for row in journal.rows
    ]
    assert sum(t.amount for t in verification.transactions) == 0

    # The SIE file is a way out, not an export: the day is still failed until it is marked or retried.
    assert review.failed()["exports"][0]["export_id"] == failed["export_id"]
    till.scene.control.put_cost_center(till.company, "STHLM", Active=True)
    assert review.retry_failed() == [failed["export_id"]]
    till.send()
    assert len(till.vouchers()) == 1
    assert review.failed()["exports"] == []


def test_a_voucher_marked_as_exported_after_its_sie_import_is_not_booked_again(
    voucher_export: VoucherExport, gateway: Any
) -> None:
    till = voucher_export
    review = Review(gateway, till.tenant)
    till.scene.control.put_cost_center(till.company, "STHLM", Active=False)
    till.send(till.day())
    [failed] = review.failed()["exports"]
    assert review.sie(failed["export_id"]).status_code == 200
    assert review.mark(failed["export_id"], {"reason": "Importerad som SIE"}).status_code == 200
    till.scene.control.put_cost_center(till.company, "STHLM", Active=True)
    till.send(till.day(event_id="sent-again"))
    assert till.vouchers() == []
    assert review.retry(failed["export_id"]).status_code == 409


def test_a_tenant_without_exports_or_connection(gateway: Any, unique: str) -> None:
    review = Review(gateway, unique)
    assert review.http.get(f"/tenants/{unique}/exports").status_code == 404  # no such tenant
    assert review.http.put(f"/tenants/{unique}", json={"display_name": "Ny"}).status_code == 201
    assert review.failed() == {"exports": [], "next": None}
    assert review.retry_failed() == []
    assert review.get(export_id("invoice", "1")).status_code == 404
