"""The registers the voucher export's preflight reads (accounts per financial year, cost centres, financial years,
the locked period) and the searches of those lists and of invoice payments.

Evidence: openapi.json (GET /3/accounts: lastmodified, sru, sortby=number; tag fortnox_CostCenters: lastmodified,
sort code; GET /3/financialyears: Date; GET /3/invoicepayments: invoicenumber, lastmodified, sortby=paymentdate),
FACTS.md 3.5 and 3.6 (global financialyear / financialyeardate; accounts carry Active per year), and the recorded
filter error (accodeing/fortnox-api spec/vcr_cassettes/invoices/filter_invalid.yml: 400, 2000587).
"""

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import httpx
import pytest

from tests.conftest import Scene

TODAY = date.today()
LAST_YEAR_DAY = TODAY.replace(year=TODAY.year - 1, month=6, day=30).isoformat()


@pytest.fixture
def fortnox(scene: Scene) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {scene.token()}", "Content-Type": "application/json"}
    with httpx.Client(base_url=scene.url, headers=headers) as client:
        yield client


def _year_id(fortnox: httpx.Client, day: str) -> int:
    [year] = fortnox.get("/3/financialyears", params={"date": day}).json()["FinancialYears"]
    return int(year["Id"])


def _code(answer: httpx.Response) -> tuple[int, int]:
    information = {key.lower(): value for key, value in answer.json()["ErrorInformation"].items()}
    return answer.status_code, int(information["code"])


def _cutoff() -> str:
    """A moment after the test's first writes and before the ones made after ``advance_clock(600)``."""
    return (datetime.now(UTC) + timedelta(minutes=5)).strftime("%Y-%m-%d %H:%M:%S")


def test_an_account_is_read_from_the_chart_of_the_year_asked_for(scene: Scene, fortnox: httpx.Client) -> None:
    this_year, last_year = _year_id(fortnox, TODAY.isoformat()), _year_id(fortnox, LAST_YEAR_DAY)
    scene.control.patch_account(scene.tenant_id, 3001, financialyear=this_year, Active=False)

    def active(**params: str | int) -> bool:
        return bool(fortnox.get("/3/accounts/3001", params=params).json()["Account"]["Active"])

    assert active() is False  # no parameter: the preselected year, today's
    assert active(financialyear=this_year) is False
    assert active(financialyear=last_year) is True
    assert active(financialyeardate=LAST_YEAR_DAY) is True
    listed = fortnox.get("/3/accounts", params={"financialyear": last_year}).json()["Accounts"]
    assert next(row for row in listed if row["Number"] == 3001)["Active"] is True
    assert {row["Year"] for row in listed} == {last_year}


def test_an_account_missing_from_a_year_is_not_found_in_that_year(scene: Scene, fortnox: httpx.Client) -> None:
    this_year = _year_id(fortnox, TODAY.isoformat())
    scene.control.patch_account(scene.tenant_id, 4903, Description="Övriga intäkter")
    scene.control.patch_account(scene.tenant_id, 4903, financialyear=this_year, delete=True)
    assert _code(fortnox.get("/3/accounts/4903")) == (404, 2000423)
    assert fortnox.get("/3/accounts/4903", params={"financialyeardate": LAST_YEAR_DAY}).status_code == 200


def test_accounts_carry_their_cost_centre_and_project_settings(scene: Scene, fortnox: httpx.Client) -> None:
    scene.control.patch_account(scene.tenant_id, 1930, CostCenterSettings="MANDATORY", ProjectSettings="NOTALLOWED")
    account = fortnox.get("/3/accounts/1930").json()["Account"]
    assert (account["CostCenterSettings"], account["ProjectSettings"]) == ("MANDATORY", "NOTALLOWED")
    assert not [key for key in account if key.startswith("_")]


def test_accounts_are_searched_by_sru_and_last_modified_and_sorted_by_number(
    scene: Scene, fortnox: httpx.Client
) -> None:
    numbers = [row["Number"] for row in fortnox.get("/3/accounts").json()["Accounts"]]
    assert numbers == sorted(numbers)
    by_sru = fortnox.get("/3/accounts", params={"sru": 7281}).json()["Accounts"]
    assert [row["Number"] for row in by_sru] == [1910, 1920, 1930, 1940, 1950]
    descending = fortnox.get("/3/accounts", params={"sortby": "number", "sortorder": "descending"}).json()
    assert [row["Number"] for row in descending["Accounts"]] == sorted(numbers, reverse=True)

    scene.control.advance_clock(600)
    scene.control.patch_account(scene.tenant_id, 3041, Description="Tjänster 25 %")
    changed = fortnox.get("/3/accounts", params={"lastmodified": _cutoff()}).json()["Accounts"]
    assert [row["Number"] for row in changed] == [3041]


def test_cost_centres_are_searched_by_last_modified_and_show_whether_they_are_active(
    scene: Scene, fortnox: httpx.Client
) -> None:
    centres = fortnox.get("/3/costcenters").json()["CostCenters"]
    assert {row["Code"]: row["Active"] for row in centres}["UND"] is False
    assert [row["Code"] for row in centres] == sorted(row["Code"] for row in centres)

    scene.control.advance_clock(600)
    scene.control.put_cost_center(scene.tenant_id, "UPS", Description="Uppsala", Active=False)
    changed = fortnox.get("/3/costcenters", params={"lastmodified": _cutoff()}).json()["CostCenters"]
    assert [(row["Code"], row["Active"]) for row in changed] == [("UPS", False)]
    assert set(fortnox.get("/3/costcenters/UPS").json()["CostCenter"]) == {
        "@url",
        "Active",
        "Code",
        "Description",
        "Note",
    }


def test_financial_years_are_found_by_date_and_an_invalid_date_is_an_invalid_parameter(
    fortnox: httpx.Client,
) -> None:
    [year] = fortnox.get("/3/financialyears", params={"date": LAST_YEAR_DAY}).json()["FinancialYears"]
    assert year["FromDate"] <= LAST_YEAR_DAY <= year["ToDate"]
    assert fortnox.get("/3/financialyears", params={"date": "1999-01-01"}).json()["FinancialYears"] == []
    assert _code(fortnox.get("/3/financialyears", params={"date": "igår"})) == (400, 2000588)


@pytest.mark.parametrize("path", ["/3/accounts", "/3/costcenters", "/3/financialyears", "/3/invoicepayments"])
def test_registers_and_payments_have_no_filter_so_any_filter_is_invalid(fortnox: httpx.Client, path: str) -> None:
    assert _code(fortnox.get(path, params={"filter": "active"})) == (400, 2000587)


def test_invoice_payments_are_searched_by_invoice_number_and_sorted_by_payment_date(
    scene: Scene, fortnox: httpx.Client
) -> None:
    fortnox.post("/3/customers", json={"Customer": {"Name": "Kund AB"}}).raise_for_status()
    rows = [{"AccountNumber": 3001, "DeliveredQuantity": "1", "Price": 100}]
    invoiced = (TODAY - timedelta(days=5)).isoformat()  # before either payment
    invoices = []
    for _ in range(2):
        body = {"Invoice": {"CustomerNumber": "1", "InvoiceDate": invoiced, "InvoiceRows": rows}}
        created = fortnox.post("/3/invoices", json=body)
        number = created.json()["Invoice"]["DocumentNumber"]
        fortnox.put(f"/3/invoices/{number}/bookkeep", content=b"").raise_for_status()
        invoices.append(number)
    early = (TODAY - timedelta(days=3)).isoformat()
    first = scene.control.register_payment(scene.tenant_id, invoices[0], Decimal(40), PaymentDate=TODAY.isoformat())
    second = scene.control.register_payment(scene.tenant_id, invoices[1], Decimal(30), PaymentDate=early)

    def numbers(**params: str) -> list[str]:
        return [row["Number"] for row in fortnox.get("/3/invoicepayments", params=params).json()["InvoicePayments"]]

    assert numbers() == [second["Number"], first["Number"]]  # on payment date, oldest first
    assert numbers(sortby="paymentdate", sortorder="descending") == [first["Number"], second["Number"]]
    assert numbers(invoicenumber=invoices[1]) == [second["Number"]]
