"""Exact money in both directions; lenient reading of what real Fortnox sends, strict writing of what we send."""

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import ValidationError

from fortnox_bridge import json_codec
from fortnox_bridge.fortnox.models.customers import Customer, CustomerListItem, CustomerWrite
from fortnox_bridge.fortnox.models.invoices import Invoice, InvoiceRowWrite, InvoiceWrite
from fortnox_bridge.fortnox.models.vouchers import VoucherRowWrite, VoucherWrite

RECORDED = Path(__file__).resolve().parents[3] / "shared" / "fortnox" / "recorded"


def test_amounts_round_trip_exactly() -> None:
    text = '{"Price":0.1,"Total":1234567890.125,"Rows":[{"VAT":25}]}'
    parsed = json_codec.loads(text)
    assert parsed["Price"] == Decimal("0.1")
    assert json_codec.dumps(parsed) == text


def test_floats_are_never_written() -> None:
    with pytest.raises(TypeError):
        json_codec.dumps({"Price": 0.1})


def test_recorded_customers_parse_with_nulls() -> None:
    body = json.loads((RECORDED / "customers__find_id_1.json").read_text())["response"]["body"]
    customer = Customer.model_validate(body["Customer"])
    assert (customer.CustomerNumber, customer.Address1, customer.Active) == ("1", None, True)
    listing = json.loads((RECORDED / "customers__all.json").read_text())["response"]["body"]["Customers"]
    assert [CustomerListItem.model_validate(row).Name for row in listing][:2] == ["Updated name", "Test customer"]


def test_numbers_and_booleans_sent_as_strings_are_read() -> None:
    invoice = Invoice.model_validate(
        {
            "CurrencyRate": "1",
            "Credit": "false",
            "Total": "125.50",
            "ContractReference": "0",
            "DueDate": "",
            "InvoiceRows": [{"DeliveredQuantity": "1.00", "Price": 100}],
        }
    )
    assert (invoice.CurrencyRate, invoice.Credit, invoice.Total, invoice.DueDate) == (
        Decimal(1),
        False,
        Decimal("125.50"),
        None,
    )
    assert invoice.InvoiceRows[0].DeliveredQuantity == Decimal("1.00")


def test_write_models_refuse_what_the_spec_forbids() -> None:
    with pytest.raises(ValidationError):
        InvoiceWrite(CustomerNumber="1", Remarks="x" * 1025)
    with pytest.raises(ValidationError):
        InvoiceWrite(CustomerNumber="1", InvoiceType="INTERESTINVOICE")  # type: ignore[arg-type]  # Fortnox spells it INTRESTINVOICE
    with pytest.raises(ValidationError):
        CustomerWrite(Name="A", Unknown="x")  # type: ignore[call-arg]
    with pytest.raises(ValidationError):
        InvoiceRowWrite(AccountNumber=99)


def test_write_models_send_only_what_was_set_with_quantities_as_strings() -> None:
    body = InvoiceWrite(
        CustomerNumber="1",
        InvoiceDate=date(2024, 9, 4),
        InvoiceRows=[InvoiceRowWrite(DeliveredQuantity=Decimal("2.5"), Price=Decimal("10.10"))],
    ).to_fortnox()
    assert json_codec.dumps(body) == (
        '{"CustomerNumber":"1","InvoiceDate":"2024-09-04","InvoiceRows":[{"DeliveredQuantity":"2.5","Price":10.10}]}'
    )


def test_vouchers_must_balance_before_they_leave() -> None:
    rows = [VoucherRowWrite(Account=1930, Debit=Decimal(100)), VoucherRowWrite(Account=3001, Credit=Decimal("99.99"))]
    with pytest.raises(ValidationError, match="does not balance"):
        VoucherWrite(Description="Dagskassa", TransactionDate=date(2026, 1, 2), VoucherSeries="A", VoucherRows=rows)
