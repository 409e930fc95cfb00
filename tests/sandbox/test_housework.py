"""Housework (ROT/RUT) rows are refused where real Fortnox refuses them, with Fortnox's code and message.

Evidence: accodeing/fortnox-api spec/vcr_cassettes/orders/housework_*.yml (live Fortnox, 2023), a few of them in
tests/sandbox/recorded/. The sandbox answered 201 to all of them and dropped the housework from the order.
"""

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import Scene

RECORDED = Path(__file__).parent / "recorded"


def recorded(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((RECORDED / f"{name}.json").read_text())
    return loaded


@pytest.fixture
def http(scene: Scene) -> Iterator[httpx.Client]:
    client = httpx.Client(
        base_url=scene.url, headers={"Authorization": f"Bearer {scene.token()}", "Content-Type": "application/json"}
    )
    client.post("/3/customers", json={"Customer": {"Name": "Updated name"}}).raise_for_status()
    yield client
    client.close()


def order(reduction: str, housework: bool, kind: str) -> dict[str, Any]:
    """The recordings' request, without their article 101 (its VAT and account do not matter here)."""
    row = {"Description": "Hammer", "HouseWork": housework, "HouseWorkType": kind, "OrderedQuantity": 1.0}
    return {"Order": {"CustomerNumber": "1", "TaxReductionType": reduction, "OrderRows": [row]}}


@pytest.mark.parametrize(
    "recording",
    [
        "orders__housework_invalid_tax_reduction_type",  # rut document, rot type: 2004021
        "orders__housework_othercoses_invalid",  # OTHERCOSTS marked as housework: 2002980
        "orders__housework_type_cooking",  # a type whose reduction has ended: 2003157
    ],
)
def test_fortnox_refuses_these_housework_rows_with_its_own_answer(http: httpx.Client, recording: str) -> None:
    real = recorded(recording)
    sent = real["request"]["body"]["Order"]
    row = sent["OrderRows"][0]
    answer = http.post("/3/orders", json=order(sent["TaxReductionType"], row["HouseWork"], row["HouseWorkType"]))
    assert (answer.status_code, answer.json()) == (real["response"]["status"]["code"], real["response"]["body"])
    assert http.get("/3/orders").json()["Orders"] == []


@pytest.mark.parametrize(
    ("reduction", "housework", "kind"),
    [
        ("rut", True, "TUTORING"),  # housework_type_tutoring.yml
        ("rot", True, "COOKING"),
        ("rot", True, "CLEANING"),
        ("rut", True, "HVAC"),
        ("green", True, "MASONRY"),
    ],
)
def test_the_same_rules_hold_for_every_type(http: httpx.Client, reduction: str, housework: bool, kind: str) -> None:
    answer = http.post("/3/orders", json=order(reduction, housework, kind))
    assert answer.status_code == 400
    assert answer.json()["ErrorInformation"]["code"] in {2004021, 2003157}


@pytest.mark.parametrize(
    ("reduction", "housework", "kind", "recording"),
    [
        ("rut", True, "CLEANING", "orders__housework_type_cleaning"),
        ("rot", False, "OTHERCOSTS", "orders__housework_type_othercosts"),
        ("rot", True, "CONSTRUCTION", None),  # housework_type_construction.yml
        ("rut", True, "ITSERVICES", None),  # housework_type_itservices.yml
        ("rot", True, "PAINTINGWALLPAPERING", None),  # housework_type_paintingwallpapering.yml
    ],
)
def test_allowed_housework_is_kept_as_sent(
    http: httpx.Client, reduction: str, housework: bool, kind: str, recording: str | None
) -> None:
    answer = http.post("/3/orders", json=order(reduction, housework, kind))
    assert answer.status_code == 201, answer.text
    stored = http.get(f"/3/orders/{answer.json()['Order']['DocumentNumber']}").json()["Order"]
    fields = ("HouseWork", "HouseWorkType", "HouseWorkHoursToReport")
    assert stored["TaxReductionType"] == reduction
    assert [stored["OrderRows"][0][field] for field in fields] == [housework, kind, None]
    if recording is not None:
        real = recorded(recording)["response"]["body"]["Order"]
        assert [real["OrderRows"][0][field] for field in fields] == [housework, kind, None]
        assert real["TaxReductionType"] == reduction


def test_an_update_is_held_to_the_same_rules(http: httpx.Client) -> None:
    created = http.post("/3/orders", json=order("rut", True, "CLEANING")).json()["Order"]
    number = created["DocumentNumber"]
    answer = http.put(f"/3/orders/{number}", json={"Order": {"TaxReductionType": "rot"}})
    assert (answer.status_code, answer.json()["ErrorInformation"]["code"]) == (400, 2004021)
    assert http.get(f"/3/orders/{number}").json()["Order"]["TaxReductionType"] == "rut"


def test_an_invoice_is_held_to_the_same_rules(http: httpx.Client) -> None:
    row = {"Description": "Matlagning", "HouseWork": True, "HouseWorkType": "COOKING", "DeliveredQuantity": 1}
    answer = http.post(
        "/3/invoices", json={"Invoice": {"CustomerNumber": "1", "TaxReductionType": "rut", "InvoiceRows": [row]}}
    )
    assert (answer.status_code, answer.json()["ErrorInformation"]["code"]) == (400, 2003157)
