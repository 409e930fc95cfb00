"""Issue 8, point 4: amounts, dates and accounts nobody would send are refused with a specific reason before any
Fortnox call; a body built to exhaust the parser is refused like any other bad body."""

import json
from datetime import date, timedelta
from typing import Any

import boto3
import httpx
import pytest

from infra.names import ROOT
from tests.conftest import LOCAL_API_KEY
from tests.exporting import Export, rejected_by_event

pytestmark = pytest.mark.integration


def _credit_note(export: Export, event_id: str, **row: Any) -> dict[str, Any]:
    note: dict[str, Any] = json.loads((ROOT / "events" / "credit_note.ready.json").read_text())
    note.update(id=event_id, tenant_id=export.tenant)
    note["data"]["invoice_date"] = date.today().isoformat()
    note["data"]["due_date"] = (date.today() + timedelta(days=30)).isoformat()
    note["data"]["rows"][0].update(row)
    return note


def test_amounts_and_dates_nobody_would_send_are_refused_before_any_call(
    export: Export, table: Any, events_tap: Any
) -> None:
    negative = export.event("401", event_id="negative")
    for row in negative["data"]["rows"]:
        row["unit_price"] = f"-{row['unit_price']}"
    absurd = export.event("402", event_id="absurd")
    absurd["data"]["rows"] = [
        {"description": "Frakt", "quantity": "99999999", "unit_price": "25000000000.00", "vat_rate": 25}
    ] * 500  # 1.25e21 kr before VAT
    beyond = export.event("403", event_id="beyond")
    beyond["data"]["rows"] = [
        {"description": "Frakt", "quantity": "99999999", "unit_price": "9999999999.99", "vat_rate": 25}
    ]
    bad = [
        negative,
        absurd,
        beyond,
        _credit_note(export, "charging-credit", quantity="1.5"),
        export.event("404", event_id="in-1899", invoice_date="1899-12-31", due_date="1900-01-30"),
        export.event("405", event_id="in-9999", invoice_date="9999-01-01", due_date="9999-01-31"),
        export.event("406", event_id="due-9999", due_date="9999-12-31"),
        export.event(
            "407",
            event_id="bank-account",
            rows=[{"description": "Frakt", "quantity": "1", "unit_price": "100.00", "vat_rate": 25, "account": 1930}],
        ),
    ]
    good = export.event("400", event_id="good")
    calls_before = len(export.scene.control.requests(export.company))

    outcomes = export.send(*bad, good)

    assert sum(outcome.failed for outcome in outcomes) == 0  # refused for good: no retry, no dead letter
    assert [invoice["ExternalInvoiceReference1"] for invoice in export.invoices()] == [f"FB:{export.tenant}:400"]
    reasons = {key: str(item["reason"]) for key, item in rejected_by_event(table, export.tenant).items()}
    assert "an invoice cannot take money back" in reasons["negative"]
    assert "unit_price: Decimal input should have no more than 10 digits before the decimal point" in reasons["absurd"]
    assert "above Fortnox's 9999999999.99" in reasons["beyond"]
    assert "credit note rows take back, so their quantity is negative" in reasons["charging-credit"]
    assert "invoice_date 1899-12-31 is outside" in reasons["in-1899"]
    assert "invoice_date 9999-01-01 is outside" in reasons["in-9999"]
    assert "due_date 9999-12-31 is more than a year after invoice_date" in reasons["due-9999"]
    assert "account 1930 is a balance-sheet account" in reasons["bank-account"]
    failed = {e.detail["event_id"] for e in events_tap.received() if e.detail_type == "invoice.export_failed"}
    assert failed == {event["id"] for event in bad}
    # The good neighbour's customer and invoice, nothing for the refused ones.
    calls = export.scene.control.requests(export.company)[calls_before:]
    assert [(call["method"], call["path"]) for call in calls if call["method"] != "GET"] == [
        ("POST", "/3/customers"),
        ("POST", "/3/invoices"),
    ]


def test_json_nested_50000_deep_is_refused_with_its_reason_and_its_neighbours_go_through(
    export: Export, table: Any
) -> None:
    deep = "[" * 50_000 + "]" * 50_000
    hostile = '{"tenant_id": "' + export.tenant + '", "id": "deep", "data": ' + deep + "}"
    outcomes = export.send(export.event("501"), deep, hostile, export.event("502"))
    assert sum(outcome.failed for outcome in outcomes) == 0
    assert sorted(invoice["ExternalInvoiceReference1"] for invoice in export.invoices()) == [
        f"FB:{export.tenant}:501",
        f"FB:{export.tenant}:502",
    ]
    unknown = table.query(KeyConditionExpression=boto3.dynamodb.conditions.Key("PK").eq("REJECTED#unknown"))["Items"]
    refused = [item for item in unknown if item["body"] in (deep, hostile)]
    assert len(refused) == 2
    assert all(item["reason"] == "the body nests deeper than 32 levels; no event does" for item in refused)


@pytest.fixture
def management(gateway: Any) -> httpx.Client:
    return httpx.Client(base_url=gateway.url, headers={"x-api-key": LOCAL_API_KEY}, timeout=30)


@pytest.mark.parametrize(
    ("mapping", "where"),
    [
        ({"rules": [{"match_on": "service_type", "value": "FREIGHT", "account": 1930}]}, ["rules", 0, "account"]),
        ({"default_accounts": {"25": 2611, "12": 3002, "6": 3003, "0": 3004}}, ["default_accounts", "25"]),
    ],
    ids=["bank as a rule's account", "output VAT as the default account"],
)
def test_a_balance_sheet_account_is_refused_when_the_mapping_is_saved(
    export: Export, management: httpx.Client, mapping: dict[str, Any], where: list[Any]
) -> None:
    before = management.get(f"/tenants/{export.tenant}/mapping").json()
    answer = management.put(f"/tenants/{export.tenant}/mapping", json=mapping)
    assert answer.status_code == 422
    [issue] = answer.json()["detail"]
    assert (issue["loc"], issue["type"]) == (["body", *where], "value_error")
    assert "balance-sheet" in issue["msg"] or "balansräkning" in issue["msg"], issue["msg"]
    assert management.get(f"/tenants/{export.tenant}/mapping").json() == before


def test_a_mapping_saved_before_the_rule_is_refused_with_what_to_do(
    export: Export, table: Any, events_tap: Any
) -> None:
    stale = {"rules": [{"match_on": "service_type", "value": "FREIGHT", "account": 1930}]}
    table.put_item(Item={"PK": f"TENANT#{export.tenant}", "SK": "MAPPING", "mapping": json.dumps(stale)})
    outcomes = export.send(export.event("601"))
    assert sum(outcome.failed for outcome in outcomes) == 0
    assert export.invoices() == []
    [failed] = [e.detail for e in events_tap.received() if e.detail_type == "invoice.export_failed"]
    assert "account 1930 is a balance-sheet account" in failed["reason_en"]
    assert "save it again" in failed["reason_en"]
