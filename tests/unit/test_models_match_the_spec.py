"""Every field our Fortnox models name exists in the spec schema it stands for: no typo reaches Fortnox."""

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from fortnox_bridge.fortnox.models import articles, customers, files, invoices, orders, payments, registers, vouchers

SPEC = json.loads((Path(__file__).resolve().parents[3] / "shared" / "fortnox" / "openapi.json").read_text())
SCHEMAS: dict[str, Any] = SPEC["components"]["schemas"]

PAIRS: list[tuple[type[BaseModel], str]] = [
    (customers.Customer, "fortnox_Customer"),
    (customers.CustomerListItem, "fortnox_CustomerListItem"),
    (customers.CustomerWrite, "fortnox_Customer"),
    (invoices.Invoice, "fortnox_Invoice"),
    (invoices.InvoiceRow, "fortnox_Invoice_InvoiceRow"),
    (invoices.InvoiceListItem, "fortnox_InvoiceListItem"),
    (invoices.InvoiceWrite, "fortnox_InvoicePayload"),
    (invoices.InvoiceRowWrite, "fortnox_InvoicePayload_InvoiceRow"),
    (orders.Order, "fortnox_Order"),
    (orders.OrderRow, "fortnox_Order_OrderRow"),
    (orders.OrderListItem, "fortnox_OrderListItem"),
    (orders.OrderWrite, "fortnox_Order"),
    (orders.OrderRowWrite, "fortnox_Order_OrderRow"),
    (vouchers.Voucher, "fortnox_Voucher"),
    (vouchers.VoucherRow, "fortnox_Voucher_VoucherRow"),
    (vouchers.VoucherListItem, "fortnox_VoucherListItem"),
    (vouchers.VoucherWrite, "fortnox_Voucher"),
    (vouchers.VoucherRowWrite, "fortnox_Voucher_VoucherRow"),
    (vouchers.VoucherSeries, "fortnox_VoucherSeries"),
    (vouchers.FinancialYear, "fortnox_FinancialYear"),
    (registers.Account, "fortnox_AccountSingleItem"),
    (registers.CostCenter, "fortnox_CostCenter"),
    (registers.Project, "fortnox_Project"),
    (registers.Currency, "fortnox_Currency"),
    (registers.CompanyInformation, "fortnox_CompanyInfo"),
    (registers.LockedPeriod, "fortnox_LockedPeriod"),
    (payments.InvoicePaymentListItem, "fortnox_InvoicePaymentListItem"),
    (payments.InvoicePayment, "fortnox_InvoicePayment"),
    (payments.InvoicePaymentWrite, "fortnox_InvoicePayment"),
    (files.InboxFile, "fortnox_Folder_FileRow"),
    (files.Attachment, "fileattachments_Attachment"),
    (files.AttachmentWrite, "fileattachments_Attachment"),
    (articles.Article, "fortnox_Article"),
    (articles.ArticleListItem, "fortnox_ArticleListItem"),
    (articles.ArticleWrite, "fortnox_Article"),
    (registers.ProjectWrite, "fortnox_Project"),
    (invoices.EmailInformationWrite, "fortnox_InvoicePayload_EmailInformation"),
    (invoices.EDIInformationWrite, "fortnox_InvoicePayload_EDIInformation"),
    (invoices.LabelWrite, "fortnox_InvoicePayload_Label"),
]


# Fields real Fortnox sends that its spec leaves out, with the evidence.
UNDECLARED_BUT_REAL = {
    # FACTS.md 3.2: a credit invoice names its original in InvoiceReference (softwerkab PR #106).
    ("Invoice", "InvoiceReference"),
}


@pytest.mark.parametrize(("model", "schema"), PAIRS, ids=[model.__name__ for model, _ in PAIRS])
def test_model_fields_are_spec_fields(model: type[BaseModel], schema: str) -> None:
    declared = set(SCHEMAS[schema]["properties"])
    ours = {field.alias or name for name, field in model.model_fields.items()}
    assert {field for field in ours - declared if (model.__name__, field) not in UNDECLARED_BUT_REAL} == set()
