"""Differences the replay of real Fortnox traffic found (python -m fortnox_sandbox.replay), pinned.

Evidence: accodeing/fortnox-api spec/vcr_cassettes/invoices/filter_hit.yml and all.yml (extracted in
tests/sandbox/recorded/): invoices 32 and 33 have a total of 0, are booked, and carry FinalPayDate
"2023-01-30", their invoice date; invoices 1-31 and 34, the same but not booked, carry null.
"""

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import Scene

RECORDED = Path(__file__).parent / "recorded"


def _recorded(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((RECORDED / f"{name}.json").read_text())
    return loaded


@pytest.fixture
def http(scene: Scene) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=scene.url, headers={"Authorization": f"Bearer {scene.token()}", "Content-Type": "application/json"}
    ) as client:
        client.post("/3/customers", json={"Customer": {"CustomerNumber": "1", "Name": "Updated name"}})
        yield client


def _invoice_of_nothing(http: httpx.Client) -> dict[str, Any]:
    answer = http.post("/3/invoices", json={"Invoice": {"CustomerNumber": "1"}})
    assert answer.status_code == 201, answer.text
    invoice: dict[str, Any] = answer.json()["Invoice"]
    return invoice


def test_a_booked_invoice_of_nothing_is_fully_paid_on_its_invoice_date(http: httpx.Client) -> None:
    invoice = _invoice_of_nothing(http)
    number = invoice["DocumentNumber"]
    assert http.put(f"/3/invoices/{number}/bookkeep").status_code == 200

    found = http.get("/3/invoices", params={"filter": "fullypaid"}).json()["Invoices"]
    recorded = _recorded("invoices__filter_hit")["response"]["body"]["Invoices"][0]
    assert [item["DocumentNumber"] for item in found] == [number]
    assert (found[0]["Balance"], found[0]["FinalPayDate"]) == (0, invoice["InvoiceDate"])
    assert {key: type(value) for key, value in found[0].items()} == {
        key: type(value) for key, value in recorded.items()
    }
    assert http.get(f"/3/invoices/{number}").json()["Invoice"]["FinalPayDate"] == invoice["InvoiceDate"]


def test_an_invoice_of_nothing_not_yet_booked_has_no_final_pay_date(http: httpx.Client) -> None:
    number = _invoice_of_nothing(http)["DocumentNumber"]

    unbooked = next(
        item
        for item in _recorded("invoices__all")["response"]["body"]["Invoices"]
        if not item["Booked"] and item["Total"] == 0
    )
    assert unbooked["FinalPayDate"] is None
    assert http.get(f"/3/invoices/{number}").json()["Invoice"]["FinalPayDate"] is None
    assert http.get("/3/invoices", params={"filter": "fullypaid"}).json()["Invoices"] == []
