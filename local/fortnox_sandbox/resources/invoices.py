"""Invoices (/3/invoices): header and row checks, create, update, bookkeep, cancel, credit, send and list shape."""

import copy
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from werkzeug.wrappers import Response

from fortnox_sandbox import codes, seed
from fortnox_sandbox.errors import ApiError
from fortnox_sandbox.http_util import ApiContext, ApiRoute, check_length, host, one, wrapped
from fortnox_sandbox.listing import (
    any_case,
    exact,
    flagged,
    matching,
    modified_since,
    only_status,
    page,
    sort,
    within,
)
from fortnox_sandbox.money import amount, cents, ocr_for, totals
from fortnox_sandbox.records import lookup, parse_date, touch
from fortnox_sandbox.resources.documents import (
    apply_header,
    check_housework,
    document_date,
    document_header,
    number_rows,
    plain_number,
    prepare_rows,
)
from fortnox_sandbox.resources.registers import check_locked
from fortnox_sandbox.resources.vouchers import store_voucher
from fortnox_sandbox.state import Company, Record, SandboxState

INVOICE_LIMITS = {
    "Remarks": 1024,
    "Comments": 1024,
    "YourReference": 50,
    "OurReference": 50,
    "YourOrderNumber": 75,
    "ExternalInvoiceReference1": 80,
    "ExternalInvoiceReference2": 80,
}
INVOICE_TYPES = {"INVOICE", "AGREEMENTINVOICE", "INTRESTINVOICE", "SUMMARYINVOICE", "CASHINVOICE"}


def _apply_totals(invoice: Record) -> None:
    figures = totals(invoice["InvoiceRows"], invoice["Currency"])
    paid = invoice.get("_paid", Decimal(0))
    invoice.update(figures)
    invoice["TotalToPay"] = figures["Total"]
    invoice["Balance"] = figures["Total"] - paid


def _check_invoice_header(company: Company, payload: Record) -> None:
    check_length(payload, INVOICE_LIMITS)
    if payload.get("InvoiceType") not in (None, *INVOICE_TYPES):
        raise ApiError(codes.INVALID_VALUE, field="InvoiceType")
    if payload.get("Language") not in (None, "SV", "EN"):
        raise ApiError(codes.INVALID_VALUE, field="Language")
    currency = payload.get("Currency")
    if currency is not None and currency not in company.currencies:
        raise ApiError(codes.CURRENCY_NOT_FOUND)
    if payload.get("CostCenter") and str(payload["CostCenter"]) not in company.cost_centers:
        raise ApiError(codes.COST_CENTER_MISSING, code=payload["CostCenter"])


INVOICE_DEFAULTS: Record = {
    "AccountingMethod": "ACCRUAL",
    "Booked": False,
    "ContractReference": 0,
    "Credit": "false",
    "CreditInvoiceReference": "0",
    "EDIInformation": {
        "EDIGlobalLocationNumber": None,
        "EDIGlobalLocationNumberDelivery": None,
        "EDIInvoiceExtra1": None,
        "EDIInvoiceExtra2": None,
        "EDIOurElectronicReference": None,
        "EDIYourElectronicReference": None,
        "EDIStatus": "",
    },
    "EUQuarterlyReport": False,
    "FinalPayDate": None,
    "InvoicePeriodEnd": "",
    "InvoicePeriodStart": "",
    "InvoiceType": "INVOICE",
    "LastRemindDate": None,
    "NoxFinans": False,
    "OrderReference": "0",
    "PaymentWay": "",
    "Reminders": 0,
    "VoucherNumber": None,
    "VoucherSeries": None,
    "VoucherYear": None,
}


def _apply_invoice_fields(invoice: Record, payload: Record) -> None:
    """The fields only invoices have, stored as sent (the shared header is documents.apply_header's)."""
    for field in ("InvoiceType", "PaymentWay", "EUQuarterlyReport", "OCR"):
        if payload.get(field) not in (None, ""):
            invoice[field] = payload[field]
    if isinstance(payload.get("EDIInformation"), dict):
        invoice["EDIInformation"] = {**invoice["EDIInformation"], **payload["EDIInformation"]}


def create_invoice(state: SandboxState, company: Company, payload: Record, *, host: str) -> Record:
    number_field = payload.get("CustomerNumber")
    if not number_field:
        raise ApiError(codes.FIELD_REQUIRED, field="CustomerNumber")
    customer = company.customers.get(str(number_field))
    if customer is None:
        raise ApiError(codes.CUSTOMER_NOT_FOUND_ON_WRITE)
    _check_invoice_header(company, payload)
    document = payload.get("DocumentNumber")
    if document not in (None, ""):
        document = str(document)
        if not document.isdigit():
            raise ApiError(codes.NOT_NUMERIC, field="DocumentNumber")
        if document in company.invoices:
            raise ApiError(codes.DOCUMENT_NUMBER_USED, number=document)
    today = state.today()
    invoice_date = document_date(payload, "InvoiceDate", today)
    currency = payload.get("Currency") or customer.get("Currency") or "SEK"
    sent_rows = list(payload.get("InvoiceRows") or [])
    check_housework(payload.get("TaxReductionType") or "none", sent_rows)
    rows = prepare_rows(company, sent_rows, invoice_date, kind="invoice")
    if document in (None, ""):
        document = str(company.next_number("invoice", set(company.invoices)))
    invoice: Record = {
        **document_header(customer, payload, kind="invoice", number=document, host=host, day=invoice_date),
        **copy.deepcopy(INVOICE_DEFAULTS),
        "Currency": currency,
        "CurrencyRate": plain_number(amount(company.currencies[currency]["SellRate"])),
        "DueDate": document_date(payload, "DueDate", invoice_date + timedelta(days=30)).isoformat(),
        "InvoiceDate": invoice_date.isoformat(),
        "InvoiceRows": rows,
        "OCR": ocr_for(document),
    }
    apply_header(invoice, {key: payload[key] for key in ("CurrencyRate", "CurrencyUnit") if key in payload})
    _apply_invoice_fields(invoice, payload)
    credited = payload.get("CreditInvoiceReference")
    if credited not in (None, "", "0"):
        # A correction invoice made by hand: it names the invoice it corrects, as /credit's invoices do.
        find_invoice_on_write(company, str(credited))
        invoice["Credit"] = "true"
        invoice["InvoiceReference"] = str(credited)
    number_rows(company, rows)
    _apply_totals(invoice)
    company.invoices[document] = touch(state, invoice)
    return invoice


def find_invoice_on_write(company: Company, number: str) -> Record:
    """An invoice another document names: a missing one is a bad request (400), not a missing resource (404)."""
    return lookup(company.invoices, number, codes.INVOICE_NOT_FOUND_ON_WRITE)


def find_invoice(company: Company, number: str) -> Record:
    return lookup(company.invoices, number, codes.INVOICE_NOT_FOUND)


def _check_changeable(invoice: Record) -> None:
    if invoice["Booked"]:
        raise ApiError(codes.INVOICE_BOOKED, number=invoice["DocumentNumber"])
    if invoice["Cancelled"]:
        raise ApiError(codes.INVOICE_CANCELLED, number=invoice["DocumentNumber"])


def update_invoice(state: SandboxState, company: Company, number: str, payload: Record) -> Record:
    invoice = find_invoice(company, number)
    _check_changeable(invoice)
    _check_invoice_header(company, payload)
    if payload.get("DocumentNumber") not in (None, number):
        raise ApiError(codes.INVALID_VALUE, field="DocumentNumber")
    if payload.get("CustomerNumber") and str(payload["CustomerNumber"]) not in company.customers:
        raise ApiError(codes.CUSTOMER_NOT_FOUND_ON_WRITE)
    invoice_date = document_date(payload, "InvoiceDate", date.fromisoformat(invoice["InvoiceDate"]))
    if "InvoiceRows" in payload:
        incoming = list(payload["InvoiceRows"] or [])
        if any("RowId" in row for row in incoming):
            existing = {row["RowId"]: row for row in invoice["InvoiceRows"]}
            merged = []
            for row in incoming:
                if "RowId" in row:
                    base = existing.get(int(row["RowId"]))
                    if base is None:
                        raise ApiError(codes.INVALID_VALUE, field="RowId")
                    merged.append({**base, **{key: value for key, value in row.items() if key != "RowId"}})
                else:
                    merged.append(row)
            incoming = merged
        check_housework(payload.get("TaxReductionType") or invoice["TaxReductionType"], incoming)
        invoice["InvoiceRows"] = prepare_rows(company, incoming, invoice_date, kind="invoice")
        # Fortnox renumbers every row on every update.
        number_rows(company, invoice["InvoiceRows"])
    elif "TaxReductionType" in payload:
        check_housework(payload["TaxReductionType"] or "none", invoice["InvoiceRows"])
    if "CustomerNumber" in payload:
        customer = company.customers[str(payload["CustomerNumber"])]
        invoice["CustomerNumber"] = customer["CustomerNumber"]
        invoice["CustomerName"] = customer.get("Name") or ""
    apply_header(invoice, payload)
    _apply_invoice_fields(invoice, payload)
    for field in ("InvoiceDate", "DueDate"):
        if payload.get(field):
            invoice[field] = parse_date(payload[field], field).isoformat()
    _apply_totals(invoice)
    return touch(state, invoice)


def bookkeep_invoice(state: SandboxState, company: Company, number: str, *, host: str) -> Record:
    invoice = find_invoice(company, number)
    _check_changeable(invoice)
    day = date.fromisoformat(invoice["InvoiceDate"])
    year = company.year_for(day)
    if year is None:
        raise ApiError(codes.NO_FINANCIAL_YEAR, date=day.isoformat())
    check_locked(company, day)
    rate = amount(invoice["CurrencyRate"], "1")
    rows: list[Record] = [{"Account": 1510, "Debit": cents(invoice["Total"] * rate), "Credit": Decimal(0)}]
    vat_by_account: dict[int, Decimal] = {}
    for row in invoice["InvoiceRows"]:
        net = cents(row["Total"] * rate)
        rows.append(
            {
                "Account": row["AccountNumber"],
                "Debit": Decimal(0),
                "Credit": net,
                "CostCenter": row["CostCenter"],
                "Project": row["Project"],
            }
        )
        vat_account = seed.VAT_ACCOUNTS.get(Decimal(row["VAT"]))
        if vat_account is not None:
            vat_by_account[vat_account] = vat_by_account.get(vat_account, Decimal(0)) + cents(net * row["VAT"] / 100)
    rows += [{"Account": account, "Debit": Decimal(0), "Credit": value} for account, value in vat_by_account.items()]
    balance = sum((row["Debit"] - row["Credit"] for row in rows), Decimal(0))
    if balance:
        rows.append(
            {
                "Account": 3740,
                "Debit": -balance if balance < 0 else Decimal(0),
                "Credit": balance if balance > 0 else Decimal(0),
            }
        )
    for row in rows:
        if row["Debit"] < 0 or row["Credit"] < 0:
            row["Debit"], row["Credit"] = abs(row["Credit"]), abs(row["Debit"])
    voucher = store_voucher(
        state,
        company,
        year,
        {
            "Description": f"Kundfaktura {invoice['CustomerName']} ({number})",
            "TransactionDate": day.isoformat(),
            "VoucherSeries": "B",
            "ReferenceNumber": number,
            "ReferenceType": "INVOICE",
            "VoucherRows": rows,
        },
        host=host,
    )
    invoice.update(
        {
            "Booked": True,
            "VoucherNumber": voucher["VoucherNumber"],
            "VoucherSeries": "B",
            "VoucherYear": year["Id"],
        }
    )
    if invoice["Balance"] == 0 and invoice["FinalPayDate"] is None:
        # Nothing to pay: booked, it is fully paid on its invoice date (invoices/filter_hit.yml, 32 and 33).
        invoice["FinalPayDate"] = day.isoformat()
    return touch(state, invoice)


def cancel_invoice(state: SandboxState, company: Company, number: str) -> Record:
    invoice = find_invoice(company, number)
    _check_changeable(invoice)
    invoice["Cancelled"] = True
    invoice["Balance"] = Decimal("0.00")
    return touch(state, invoice)


def credit_invoice(state: SandboxState, company: Company, number: str, *, host: str) -> Record:
    original = find_invoice(company, number)
    if original["Cancelled"]:
        raise ApiError(codes.INVOICE_CANCELLED, number=number)
    if original["CreditInvoiceReference"] not in ("0", "", None):
        raise ApiError(codes.INVOICE_ALREADY_CREDITED, number=number)
    rows = [
        {
            **{
                key: row[key]
                for key in (
                    "AccountNumber",
                    "ArticleNumber",
                    "CostCenter",
                    "Description",
                    "Discount",
                    "DiscountType",
                    "Price",
                    "Project",
                    "Unit",
                    "VAT",
                )
            },
            "DeliveredQuantity": str(-amount(row["DeliveredQuantity"])),
        }
        for row in original["InvoiceRows"]
    ]
    credit = create_invoice(
        state,
        company,
        {
            "CustomerNumber": original["CustomerNumber"],
            "Currency": original["Currency"],
            "CurrencyRate": original["CurrencyRate"],
            "Language": original["Language"],
            "Remarks": original["Remarks"],
            "YourReference": original["YourReference"],
            "OurReference": original["OurReference"],
            "ExternalInvoiceReference1": original["ExternalInvoiceReference1"],
            "ExternalInvoiceReference2": original["ExternalInvoiceReference2"],
            "InvoiceRows": rows,
        },
        host=host,
    )
    credit["Credit"] = "true"
    credit["InvoiceReference"] = number
    original["CreditInvoiceReference"] = credit["DocumentNumber"]
    touch(state, original)
    # Fortnox answers the credit action with the original invoice, now naming its credit invoice.
    return original


def mark_sent(state: SandboxState, company: Company, number: str) -> Record:
    invoice = find_invoice(company, number)
    if invoice["Cancelled"]:
        raise ApiError(codes.INVOICE_CANCELLED, number=number)
    invoice["Sent"] = True
    return touch(state, invoice)


def send_email(state: SandboxState, company: Company, number: str) -> Record:
    """Fortnox e-mails the invoice to the customer's invoice address and marks it sent."""
    invoice = find_invoice(company, number)
    if invoice["Cancelled"]:
        raise ApiError(codes.INVOICE_CANCELLED, number=number)
    if not invoice["EmailInformation"]["EmailAddressTo"]:
        raise ApiError(codes.FIELD_REQUIRED, field="EmailAddressTo")
    invoice["Sent"] = True
    invoice.setdefault("_emails", 0)
    invoice["_emails"] += 1
    return touch(state, invoice)


def invoice_list_item(invoice: Record) -> Record:
    fields = (
        "@url",
        "Balance",
        "Booked",
        "Cancelled",
        "CostCenter",
        "Currency",
        "CurrencyRate",
        "CurrencyUnit",
        "CustomerName",
        "CustomerNumber",
        "DocumentNumber",
        "DueDate",
        "ExternalInvoiceReference1",
        "ExternalInvoiceReference2",
        "FinalPayDate",
        "InvoiceDate",
        "InvoiceType",
        "NoxFinans",
        "OCR",
        "Project",
        "Sent",
        "TermsOfPayment",
        "Total",
        "VoucherNumber",
        "VoucherSeries",
        "VoucherYear",
        "WayOfDelivery",
    )
    item = {field: invoice.get(field) for field in fields}
    # List items carry the rate as a string while the invoice itself carries a number (invoices/all.yml).
    item["CurrencyRate"] = str(invoice["CurrencyRate"])
    return item


# -- routes --------------------------------------------------------------------------------------------------------
# Search parameters of GET /3/invoices (openapi.json list_20; FACTS.md 3.2). Identifiers match whole, free text
# (names, references) case-insensitively anywhere in the field: customername=Test finds "Test customer"
# (invoices/search_by_name.yml), yourreference/ourreference narrow together (multi_param_find_by_hash.yml).
INVOICE_EXACT = {
    "documentnumber": "DocumentNumber",
    "customernumber": "CustomerNumber",
    "ocr": "OCR",
    "currency": "Currency",
    "costcenter": "CostCenter",
    "project": "Project",
    "invoicetype": "InvoiceType",
    "label": "Labels",
}
INVOICE_SEARCH = {
    "customername": "CustomerName",
    "ourreference": "OurReference",
    "yourreference": "YourReference",
    "externalinvoicereference1": "ExternalInvoiceReference1",
    "externalinvoicereference2": "ExternalInvoiceReference2",
    "yourordernumber": "YourOrderNumber",
}
INVOICE_FLAGS = {"sent": "Sent", "notcompleted": "NotCompleted", "credit": "Credit"}
INVOICE_SORT: dict[str, Callable[[Record], Any]] = {
    "customername": lambda row: row["CustomerName"],
    "customernumber": lambda row: row["CustomerNumber"],
    "documentnumber": lambda row: int(row["DocumentNumber"]),
    "invoicedate": lambda row: row["InvoiceDate"],
    "ocr": lambda row: row["OCR"],
    "total": lambda row: row["Total"],
}


def _status_filters(today: str) -> dict[str, Callable[[Record], bool]]:
    def open_balance(row: Record) -> bool:
        return not row["Cancelled"] and row["Balance"] != 0

    return {
        "cancelled": lambda row: bool(row["Cancelled"]),
        "fullypaid": lambda row: not row["Cancelled"] and row["Balance"] == 0 and bool(row["Booked"]),
        "unpaid": open_balance,
        "unpaidoverdue": lambda row: open_balance(row) and row["DueDate"] < today,
        "unbooked": lambda row: not row["Cancelled"] and not row["Booked"],
    }


def _rows_on_accounts(ctx: ApiContext, rows: list[Record]) -> list[Record]:
    """``articlenumber``, ``articledescription`` and ``accountnumberfrom``/``to`` look at the invoice's rows."""
    article, description = ctx.arg("articlenumber"), ctx.arg("articledescription")
    lowest, highest = ctx.arg("accountnumberfrom"), ctx.arg("accountnumberto")

    def keep(row: Record) -> bool:
        return (
            (article is None or article in [line["ArticleNumber"] for line in row["InvoiceRows"]])
            and (description is None or any(any_case(description, line["Description"]) for line in row["InvoiceRows"]))
            and (lowest is None or any(line["AccountNumber"] >= int(lowest) for line in row["InvoiceRows"]))
            and (highest is None or any(line["AccountNumber"] <= int(highest) for line in row["InvoiceRows"]))
        )

    for name, value in (("accountnumberfrom", lowest), ("accountnumberto", highest)):
        if value is not None and not value.isdigit():
            raise ApiError(codes.INVALID_PARAMETER, field=name)
    return [row for row in rows if keep(row)]


def _list_invoices(ctx: ApiContext) -> Response:
    rows = sorted(ctx.company.invoices.values(), key=lambda row: int(row["DocumentNumber"]))
    rows = only_status(ctx, rows, _status_filters(ctx.state.today().isoformat()))
    rows = matching(ctx, rows, INVOICE_EXACT, exact)
    rows = matching(ctx, rows, INVOICE_SEARCH, any_case)
    rows = flagged(ctx, rows, INVOICE_FLAGS)
    rows = within(ctx, rows, "InvoiceDate", since="fromdate", until="todate")
    rows = within(ctx, rows, "FinalPayDate", since="fromfinalpaydate", until="tofinalpaydate")
    rows = _rows_on_accounts(ctx, rows)
    rows = sort(ctx, modified_since(ctx, rows), INVOICE_SORT)
    return page(ctx, "Invoices", [invoice_list_item(row) for row in rows])


def _get_invoice(ctx: ApiContext, number: str) -> Response:
    return one("Invoice", find_invoice(ctx.company, number))


def _create_invoice(ctx: ApiContext) -> Response:
    invoice = create_invoice(ctx.state, ctx.company, wrapped(ctx.request, "Invoice"), host=host(ctx))
    return one("Invoice", invoice, 201)


def _update_invoice(ctx: ApiContext, number: str) -> Response:
    return one("Invoice", update_invoice(ctx.state, ctx.company, number, wrapped(ctx.request, "Invoice")))


def _bookkeep_invoice(ctx: ApiContext, number: str) -> Response:
    return one("Invoice", bookkeep_invoice(ctx.state, ctx.company, number, host=host(ctx)))


def _cancel_invoice(ctx: ApiContext, number: str) -> Response:
    return one("Invoice", cancel_invoice(ctx.state, ctx.company, number))


def _credit_invoice(ctx: ApiContext, number: str) -> Response:
    return one("Invoice", credit_invoice(ctx.state, ctx.company, number, host=host(ctx)))


def _email_invoice(ctx: ApiContext, number: str) -> Response:
    return one("Invoice", send_email(ctx.state, ctx.company, number))


def _externalprint_invoice(ctx: ApiContext, number: str) -> Response:
    return one("Invoice", mark_sent(ctx.state, ctx.company, number))


ROUTES: list[ApiRoute] = [
    ApiRoute("GET", "/3/invoices", "invoice", _list_invoices),
    ApiRoute("POST", "/3/invoices", "invoice", _create_invoice),
    ApiRoute("GET", "/3/invoices/<number>", "invoice", _get_invoice),
    ApiRoute("PUT", "/3/invoices/<number>", "invoice", _update_invoice),
    ApiRoute("PUT", "/3/invoices/<number>/bookkeep", "invoice", _bookkeep_invoice),
    ApiRoute("PUT", "/3/invoices/<number>/cancel", "invoice", _cancel_invoice),
    ApiRoute("PUT", "/3/invoices/<number>/credit", "invoice", _credit_invoice),
    ApiRoute("PUT", "/3/invoices/<number>/externalprint", "invoice", _externalprint_invoice),
    ApiRoute("GET", "/3/invoices/<number>/email", "invoice", _email_invoice),
]
