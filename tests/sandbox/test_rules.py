"""Fortnox's bookkeeping rules, each answered with Fortnox's own code."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from tests.conftest import Scene


class Api:
    def __init__(self, scene: Scene) -> None:
        self.http = httpx.Client(
            base_url=scene.url, headers={"Authorization": f"Bearer {scene.token()}", "Content-Type": "application/json"}
        )

    def post(self, path: str, body: Any) -> httpx.Response:
        return self.http.post(path, json=body)

    def put(self, path: str, body: Any = None) -> httpx.Response:
        return self.http.put(path, json=body) if body is not None else self.http.put(path, content=b"")


@pytest.fixture
def api(scene: Scene) -> Api:
    api = Api(scene)
    api.post("/3/customers", {"Customer": {"Name": "Kund AB"}}).raise_for_status()
    return api


def _code(answer: httpx.Response) -> int:
    information = answer.json()["ErrorInformation"]
    return int(information.get("code") or information.get("Code"))


def _voucher(*rows: dict[str, Any], series: str = "A", day: str | None = None) -> dict[str, Any]:
    return {
        "Voucher": {
            "Description": "Dagskassa",
            "TransactionDate": day or date.today().isoformat(),
            "VoucherSeries": series,
            "VoucherRows": list(rows),
        }
    }


def _row(account: int, debit: str = "0", credit: str = "0", **extra: Any) -> dict[str, Any]:
    return {"Account": account, "Debit": float(debit), "Credit": float(credit), **extra}


BALANCED = (_row(1930, debit="100"), _row(3001, credit="100"))


def test_a_balanced_voucher_in_a_manual_series_is_created_and_numbered(api: Api) -> None:
    first = api.post("/3/vouchers", _voucher(*BALANCED))
    second = api.post("/3/vouchers", _voucher(*BALANCED))
    assert (first.status_code, second.status_code) == (201, 201)
    assert [first.json()["Voucher"]["VoucherNumber"], second.json()["Voucher"]["VoucherNumber"]] == [1, 2]


@pytest.mark.parametrize(
    ("rows", "series", "code"),
    [
        ((_row(4903, debit="100"), _row(3001, credit="100")), "A", 2001798),  # account missing
        ((_row(1950, debit="100"), _row(3001, credit="100")), "A", 2000550),  # account inactive
        ((_row(1930, debit="100", CostCenter="36"), _row(3001, credit="100")), "A", 2000548),  # cost centre missing
        ((_row(1930, debit="100", CostCenter="UND"), _row(3001, credit="100")), "A", 2002821),  # cost centre inactive
        (BALANCED, "F", 2001940),  # series not manual
    ],
)
def test_voucher_setup_errors_carry_fortnox_codes(api: Api, rows: tuple[Any, ...], series: str, code: int) -> None:
    answer = api.post("/3/vouchers", _voucher(*rows, series=series))
    assert answer.status_code == 400
    assert _code(answer) == code


def test_messages_read_as_fortnox_writes_them(api: Api) -> None:
    answer = api.post("/3/vouchers", _voucher(_row(4903, debit="1"), _row(3001, credit="1")))
    assert answer.json() == {
        "ErrorInformation": {"error": 1, "message": "Konto 4903 saknas i kontoplanen.", "code": 2001798}
    }
    answer = api.post("/3/vouchers", _voucher(*BALANCED, series="F"))
    assert answer.json()["ErrorInformation"]["message"] == "Verifikationsserien är inte manuell (F)."


def test_mandatory_cost_centre(scene: Scene, api: Api) -> None:
    scene.control.patch_account(scene.tenant_id, 1930, CostCenterSettings="MANDATORY")
    answer = api.post("/3/vouchers", _voucher(*BALANCED))
    assert _code(answer) == 2000946
    assert answer.json()["ErrorInformation"]["message"] == "Kostnadsställe är obligatoriskt på konto: 1930"


def test_unbalanced_voucher_is_refused(api: Api) -> None:
    answer = api.post("/3/vouchers", _voucher(_row(1930, debit="100"), _row(3001, credit="99.99")))
    assert answer.status_code == 400


def test_locked_period_refuses_vouchers_and_bookkeeping(scene: Scene, api: Api) -> None:
    today = date.today().isoformat()
    invoice = api.post(
        "/3/invoices",
        {
            "Invoice": {
                "CustomerNumber": "1",
                "InvoiceDate": today,
                "InvoiceRows": [{"AccountNumber": 3001, "DeliveredQuantity": "1", "Price": 10}],
            }
        },
    )
    scene.control.lock_period(scene.tenant_id, today)
    assert _code(api.post("/3/vouchers", _voucher(*BALANCED))) == 2000401
    assert _code(api.put(f"/3/invoices/{invoice.json()['Invoice']['DocumentNumber']}/bookkeep")) == 2000401


def test_a_voucher_outside_every_financial_year_is_refused(api: Api) -> None:
    answer = api.post("/3/vouchers", _voucher(*BALANCED, day="1999-06-30"))
    assert answer.status_code == 400


def test_vouchers_cannot_be_changed_or_deleted(api: Api) -> None:
    created = api.post("/3/vouchers", _voucher(*BALANCED)).json()["Voucher"]
    path = f"/3/vouchers/A/{created['VoucherNumber']}"
    assert api.http.put(path, json={"Voucher": {"Description": "x"}}).status_code in {404, 405}
    assert api.http.delete(path).status_code in {404, 405}


def test_unknown_currency_and_customer(api: Api) -> None:
    assert _code(api.post("/3/invoices", {"Invoice": {"CustomerNumber": "1", "Currency": "XYZ"}})) == 2000427
    assert _code(api.post("/3/invoices", {"Invoice": {"CustomerNumber": "77"}})) == 2000433


def test_invoice_not_found_by_number(api: Api) -> None:
    answer = api.http.get("/3/invoices/4711")
    assert answer.status_code == 404
    assert answer.json() == {"ErrorInformation": {"Error": 1, "Message": "Kan inte hitta fakturan.", "Code": 2000434}}


def test_unknown_field_names_are_refused(api: Api) -> None:
    answer = api.post("/3/invoices", {"Invoice": {"CustomerNumber": "1", "Titel": "x"}})
    assert _code(answer) == 2001399


def test_a_booked_invoice_cannot_be_updated_but_can_be_credited(api: Api) -> None:
    rows = [{"AccountNumber": 3001, "DeliveredQuantity": "2", "Price": 100, "VAT": 25}]
    number = api.post("/3/invoices", {"Invoice": {"CustomerNumber": "1", "InvoiceRows": rows}}).json()["Invoice"][
        "DocumentNumber"
    ]
    booked = api.put(f"/3/invoices/{number}/bookkeep").json()["Invoice"]
    assert booked["Booked"] is True and booked["VoucherSeries"] == "B"
    refused = api.put(f"/3/invoices/{number}", {"Invoice": {"Remarks": "ändrad"}})
    assert refused.status_code == 400
    original = api.put(f"/3/invoices/{number}/credit").json()["Invoice"]
    credit = api.http.get(f"/3/invoices/{original['CreditInvoiceReference']}").json()["Invoice"]
    assert credit["InvoiceReference"] == number
    assert credit["Credit"] == "true"
    assert Decimal(str(credit["Total"])) == -Decimal(str(booked["Total"]))
    assert api.put(f"/3/invoices/{number}/credit").status_code == 400  # not twice


def test_an_unbooked_invoice_is_updated_and_its_rows_renumbered(api: Api) -> None:
    rows = [{"AccountNumber": 3001, "DeliveredQuantity": "1", "Price": 100}]
    created = api.post("/3/invoices", {"Invoice": {"CustomerNumber": "1", "InvoiceRows": rows}}).json()["Invoice"]
    row_id = created["InvoiceRows"][0]["RowId"]
    updated = api.put(
        f"/3/invoices/{created['DocumentNumber']}",
        {
            "Invoice": {
                "InvoiceRows": [
                    {"RowId": row_id, "Price": 200},
                    {"AccountNumber": 3002, "DeliveredQuantity": "1", "Price": 10, "VAT": 12},
                ]
            }
        },
    ).json()["Invoice"]
    assert [row["Price"] for row in updated["InvoiceRows"]] == [200, 10]
    assert row_id not in {row["RowId"] for row in updated["InvoiceRows"]}
    assert updated["Total"] == 261  # 250 + 11.20, rounded to whole kronor


def test_document_numbers_chosen_by_the_caller_are_unique(api: Api) -> None:
    body = {"Invoice": {"CustomerNumber": "1", "DocumentNumber": "100353"}}
    assert api.post("/3/invoices", body).status_code == 201
    assert api.post("/3/invoices", body).status_code == 400
    assert api.post("/3/invoices", {"Invoice": {"CustomerNumber": "1"}}).json()["Invoice"]["DocumentNumber"] == "1"


def test_external_reference_search_is_a_substring_match(api: Api) -> None:
    for reference in ("bridge:t:10", "bridge:t:100"):
        api.post("/3/invoices", {"Invoice": {"CustomerNumber": "1", "ExternalInvoiceReference1": reference}})
    found = api.http.get("/3/invoices", params={"externalinvoicereference1": "bridge:t:10"}).json()["Invoices"]
    assert sorted(row["ExternalInvoiceReference1"] for row in found) == ["bridge:t:10", "bridge:t:100"]


def test_an_order_becomes_one_invoice(api: Api) -> None:
    order = api.post(
        "/3/orders",
        {
            "Order": {
                "CustomerNumber": "1",
                "OrderRows": [{"AccountNumber": 3001, "OrderedQuantity": "2", "DeliveredQuantity": "2", "Price": 50}],
            }
        },
    ).json()["Order"]
    invoice = api.put(f"/3/orders/{order['DocumentNumber']}/createinvoice").json()["Invoice"]
    assert invoice["OrderReference"] == order["DocumentNumber"]
    assert invoice["Total"] == 125
    assert api.put(f"/3/orders/{order['DocumentNumber']}/createinvoice").status_code == 400


def test_attachments_only_pdf_only_from_invoice_inboxes(scene: Scene, api: Api) -> None:
    number = api.post("/3/invoices", {"Invoice": {"CustomerNumber": "1"}}).json()["Invoice"]["DocumentNumber"]
    upload = httpx.Client(base_url=scene.url, headers={"Authorization": api.http.headers["Authorization"]})
    pdf = upload.post(
        "/3/inbox", params={"path": "inbox_kf"}, files={"file": ("a.pdf", b"%PDF-1.4 x", "application/pdf")}
    )
    voucher_pdf = upload.post(
        "/3/inbox", params={"path": "inbox_v"}, files={"file": ("v.pdf", b"%PDF-1.4 x", "application/pdf")}
    )
    png = upload.post("/3/inbox", params={"path": "inbox_kf"}, files={"file": ("a.png", b"\x89PNG", "image/png")})
    attach = "/api/fileattachments/attachments-v1"

    def attach_file(file_id: str, include: bool = True) -> httpx.Response:
        return api.http.post(
            attach, json=[{"entityId": int(number), "entityType": "F", "fileId": file_id, "includeOnSend": include}]
        )

    assert attach_file(png.json()["File"]["ArchiveFileId"]).json()["error"] == "wrong_file_type"
    assert attach_file(voucher_pdf.json()["File"]["ArchiveFileId"]).json()["error"] == "wrong_file_location"
    for _ in range(5):
        assert attach_file(pdf.json()["File"]["ArchiveFileId"]).status_code == 201
    sixth = attach_file(pdf.json()["File"]["ArchiveFileId"])
    assert (sixth.status_code, sixth.json()["error"]) == (400, "attachment_files_max_count_exceeded")
    assert set(sixth.json()) == {"error", "id", "message"}


def test_an_inbox_folder_lists_its_files_by_name_and_size_and_a_file_id_gives_its_content(
    scene: Scene, api: Api
) -> None:
    upload = httpx.Client(base_url=scene.url, headers={"Authorization": api.http.headers["Authorization"]})
    kept = upload.post(
        "/3/inbox", params={"path": "inbox_kf"}, files={"file": ("100353.pdf", b"%PDF-1.4 x", "application/pdf")}
    ).json()["File"]
    upload.post("/3/inbox", params={"path": "inbox_v"}, files={"file": ("v.pdf", b"%PDF-1.4 y", "application/pdf")})

    folder = api.http.get("/3/inbox/inbox_kf").json()["Folder"]

    assert folder["Id"] == "inbox_kf"
    assert [(row["Name"], row["Size"], row["ArchiveFileId"]) for row in folder["Files"]] == [
        ("100353.pdf", 10, kept["ArchiveFileId"])
    ]
    assert upload.get(f"/3/inbox/{kept['Id']}").content == b"%PDF-1.4 x"
    assert api.http.get("/3/inbox/no-such-file").status_code == 404


def test_payments_settle_the_invoice_balance(scene: Scene, api: Api) -> None:
    rows = [{"AccountNumber": 3001, "DeliveredQuantity": "1", "Price": 800, "VAT": 25}]
    number = api.post("/3/invoices", {"Invoice": {"CustomerNumber": "1", "InvoiceRows": rows}}).json()["Invoice"][
        "DocumentNumber"
    ]
    assert scene.control.company(scene.tenant_id)["invoices"][0]["Balance"] == 1000
    with pytest.raises(httpx.HTTPStatusError):
        scene.control.register_payment(scene.tenant_id, number, Decimal(400))  # not booked yet
    api.put(f"/3/invoices/{number}/bookkeep")
    payment = scene.control.register_payment(scene.tenant_id, number, Decimal(400))
    assert api.http.get(f"/3/invoices/{number}").json()["Invoice"]["Balance"] == 600
    scene.control.change_payment(scene.tenant_id, payment["Number"], Amount=1000)
    assert api.http.get(f"/3/invoices/{number}").json()["Invoice"]["FinalPayDate"] == date.today().isoformat()
    scene.control.delete_payment(scene.tenant_id, payment["Number"])
    assert api.http.get("/3/invoicepayments").json()["InvoicePayments"] == []
    assert api.http.get(f"/3/invoices/{number}").json()["Invoice"]["Balance"] == 1000


def test_payments_listed_by_last_modified(scene: Scene, api: Api) -> None:
    rows = [{"AccountNumber": 3001, "DeliveredQuantity": "1", "Price": 100}]
    number = api.post("/3/invoices", {"Invoice": {"CustomerNumber": "1", "InvoiceRows": rows}}).json()["Invoice"][
        "DocumentNumber"
    ]
    api.put(f"/3/invoices/{number}/bookkeep")
    scene.control.register_payment(scene.tenant_id, number, Decimal(50))
    scene.control.advance_clock(600)
    later = scene.control.register_payment(scene.tenant_id, number, Decimal(75))
    cutoff = (datetime.now(UTC) + timedelta(minutes=5)).strftime("%Y-%m-%d %H:%M:%S")
    since = api.http.get("/3/invoicepayments", params={"lastmodified": cutoff}).json()["InvoicePayments"]
    assert [row["Number"] for row in since] == [later["Number"]]
    assert len(api.http.get("/3/invoicepayments").json()["InvoicePayments"]) == 2
