"""Fortnox's rules for the resources the bridge writes: customers, invoices, orders, vouchers, payments, files."""

import uuid
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from fortnox_sandbox import codes, seed
from fortnox_sandbox.errors import ApiError, AttachmentError
from fortnox_sandbox.http_util import check_length
from fortnox_sandbox.money import amount, cents, ocr_for, row_net, totals
from fortnox_sandbox.state import Company, Record, SandboxState

INBOX_FOLDERS = {
    "inbox_kf",
    "inbox_o",
    "inbox_of",
    "inbox_v",
    "inbox_s",
    "inbox_d",
    "inbox_a",
    "inbox_b",
    "inbox_l",
}
ATTACHABLE_FOLDERS = {"inbox_kf", "inbox_o", "inbox_of"}
MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_TOTAL_BYTES = 15 * 1024 * 1024
MAX_INCLUDED_ON_SEND = 5


def _touch(state: SandboxState, record: Record) -> Record:
    record["_modified"] = state.timestamp()
    return record


def _parse_date(value: Any, field: str) -> date:
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise ApiError(codes.INVALID_VALUE, field=field) from None


# -- customers -------------------------------------------------------------------------------------------------
CUSTOMER_DEFAULTS: Record = {
    "Address1": None,
    "Address2": None,
    "City": None,
    "Country": None,
    "Comments": None,
    "Currency": "SEK",
    "CostCenter": None,
    "CountryCode": None,
    "Active": True,
    "DefaultDeliveryTypes": {"Invoice": "PRINT", "Order": "PRINT", "Offer": "PRINT"},
    "DefaultTemplates": {
        "Order": "DEFAULTTEMPLATE",
        "Offer": "DEFAULTTEMPLATE",
        "Invoice": "DEFAULTTEMPLATE",
        "CashInvoice": "DEFAULTTEMPLATE",
    },
    "DeliveryAddress1": None,
    "DeliveryAddress2": None,
    "DeliveryCity": None,
    "DeliveryCountry": None,
    "DeliveryCountryCode": None,
    "DeliveryFax": None,
    "DeliveryName": None,
    "DeliveryPhone1": None,
    "DeliveryPhone2": None,
    "DeliveryZipCode": None,
    "Email": "",
    "EmailInvoice": "",
    "EmailInvoiceBCC": "",
    "EmailInvoiceCC": "",
    "EmailOffer": "",
    "EmailOfferBCC": "",
    "EmailOfferCC": "",
    "EmailOrder": "",
    "EmailOrderBCC": "",
    "EmailOrderCC": "",
    "ExternalReference": None,
    "Fax": None,
    "GLN": None,
    "GLNDelivery": None,
    "InvoiceAdministrationFee": None,
    "InvoiceDiscount": None,
    "InvoiceFreight": None,
    "InvoiceRemark": "",
    "Name": "",
    "OrganisationNumber": "",
    "OurReference": "",
    "Phone1": None,
    "Phone2": None,
    "PriceList": "A",
    "Project": "",
    "SalesAccount": None,
    "ShowPriceVATIncluded": False,
    "TermsOfDelivery": "",
    "TermsOfPayment": "",
    "Type": "COMPANY",
    "VATNumber": "",
    "VATType": "SEVAT",
    "VisitingAddress": None,
    "VisitingCity": None,
    "VisitingCountry": None,
    "VisitingCountryCode": None,
    "VisitingZipCode": None,
    "WayOfDelivery": "",
    "WWW": "",
    "YourReference": "",
    "ZipCode": None,
}
CUSTOMER_LIMITS = {
    "Name": 1024,
    "OurReference": 50,
    "YourReference": 50,
    "ZipCode": 10,
    "CountryCode": 2,
    "Currency": 3,
}
LIST_FIELDS = (
    "Address1",
    "Address2",
    "City",
    "CustomerNumber",
    "Email",
    "Name",
    "OrganisationNumber",
    "Phone",
    "ZipCode",
)


def _check_customer(company: Company, payload: Record) -> None:
    check_length(payload, CUSTOMER_LIMITS)
    if payload.get("VATType") not in (None, "SEVAT", "SEREVERSEDVAT", "EUREVERSEDVAT", "EUVAT", "EXPORT"):
        raise ApiError(codes.INVALID_VALUE, field="VATType")
    if payload.get("Type") not in (None, "PRIVATE", "COMPANY"):
        raise ApiError(codes.INVALID_VALUE, field="Type")
    currency = payload.get("Currency")
    if currency is not None and currency not in company.currencies:
        raise ApiError(codes.CURRENCY_NOT_FOUND)


def create_customer(state: SandboxState, company: Company, payload: Record, *, host: str) -> Record:
    if not str(payload.get("Name") or "").strip():
        raise ApiError(codes.FIELD_REQUIRED, field="Name")
    _check_customer(company, payload)
    number = payload.get("CustomerNumber")
    if number is not None and str(number).strip():
        number = str(number)
        if number in company.used_customer_numbers:
            raise ApiError(codes.CUSTOMER_NUMBER_USED, number=number)
    else:
        number = str(company.next_number("customer", company.used_customer_numbers))
    customer = {
        **CUSTOMER_DEFAULTS,
        **payload,
        "CustomerNumber": number,
        "@url": f"{host}/3/customers/{number}",
    }
    company.used_customer_numbers.add(number)
    company.customers[number] = _touch(state, customer)
    return customer


def update_customer(state: SandboxState, company: Company, number: str, payload: Record) -> Record:
    customer = company.customers.get(number)
    if customer is None:
        raise ApiError(codes.CUSTOMER_NOT_FOUND)
    _check_customer(company, payload)
    if payload.get("CustomerNumber") not in (None, number):
        raise ApiError(codes.INVALID_VALUE, field="CustomerNumber")
    customer.update(payload)
    return _touch(state, customer)


def customer_list_item(customer: Record) -> Record:
    item = {"@url": customer["@url"], **{field: customer.get(field) for field in LIST_FIELDS}}
    item["Phone"] = customer.get("Phone1") or ""
    for field in ("Address1", "Address2", "City", "Email", "OrganisationNumber", "ZipCode"):
        item[field] = item[field] or ""
    return item


# -- accounting dimensions -------------------------------------------------------------------------------------
def year_for(company: Company, day: date) -> Record | None:
    return company.year_for(day)


def check_dimensions(company: Company, year_id: int, account_number: int, cost_center: Any, project: Any) -> None:
    """The checks Fortnox makes on every invoice row and voucher row."""
    account = company.accounts.get(year_id, {}).get(account_number)
    if account is None:
        raise ApiError(codes.ACCOUNT_MISSING, account=account_number)
    if not account["Active"]:
        raise ApiError(codes.ACCOUNT_INACTIVE, account=account_number)
    if cost_center:
        center = company.cost_centers.get(str(cost_center))
        if center is None:
            raise ApiError(codes.COST_CENTER_MISSING, code=cost_center)
        if not center["Active"]:
            raise ApiError(codes.COST_CENTER_INACTIVE, code=cost_center)
    elif account["CostCenterSettings"] == "MANDATORY":
        raise ApiError(codes.COST_CENTER_MANDATORY, account=account_number)
    if project and str(project) not in company.projects:
        raise ApiError(codes.PROJECT_NOT_FOUND_ON_WRITE)


def _check_locked(company: Company, day: date) -> None:
    if company.locked_until is not None and day <= company.locked_until:
        raise ApiError(codes.PERIOD_LOCKED, date=company.locked_until.isoformat())


# -- invoices and orders ---------------------------------------------------------------------------------------
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
DEFAULT_SALES_ACCOUNT = {Decimal(25): 3001, Decimal(12): 3002, Decimal(6): 3003, Decimal(0): 3004}


def _document_date(payload: Record, field: str, fallback: date) -> date:
    value = payload.get(field)
    return _parse_date(value, field) if value else fallback


def _prepare_rows(company: Company, rows: list[Record], day: date, *, quantity_field: str) -> list[Record]:
    # Without a financial year for the document date, Fortnox checks accounts against the newest year.
    year = company.year_for(day) or company.financial_years[-1]
    year_id = year["Id"]
    prepared = []
    for row in rows:
        if len(str(row.get("Description") or "")) > 255:
            raise ApiError(codes.FIELD_TOO_LONG, field="Description", max=255)
        vat = amount(row.get("VAT"), "25")
        if vat not in seed.VAT_RATES:
            raise ApiError(codes.INVALID_VAT, vat=row.get("VAT"))
        account = row.get("AccountNumber")
        account_number = int(account) if account not in (None, "") else DEFAULT_SALES_ACCOUNT[vat]
        check_dimensions(company, year_id, account_number, row.get("CostCenter"), row.get("Project"))
        if row.get("DiscountType") not in (None, "AMOUNT", "PERCENT"):
            raise ApiError(codes.INVALID_VALUE, field="DiscountType")
        quantity = amount(row.get(quantity_field), "0")
        prepared.append(
            {
                "AccountNumber": account_number,
                "ArticleNumber": row.get("ArticleNumber") or "",
                "ContributionPercent": "0",
                "ContributionValue": "0",
                "CostCenter": row.get("CostCenter") or "",
                "DeliveredQuantity": f"{quantity:.2f}",
                "Description": row.get("Description") or "",
                "Discount": amount(row.get("Discount")),
                "DiscountType": row.get("DiscountType") or "PERCENT",
                "HouseWork": False,
                "HouseWorkHoursToReport": None,
                "HouseWorkType": None,
                "Price": cents(amount(row.get("Price"))),
                "Project": row.get("Project") or "",
                "StockPointCode": None,
                "Unit": row.get("Unit") or "",
                "VAT": int(vat),
                "VATCode": None,
            }
        )
    return prepared


def _number_rows(company: Company, rows: list[Record]) -> None:
    for row in rows:
        row["RowId"] = company.next_number("row")
        net = row_net(row)
        row["PriceExcludingVAT"] = row["Price"]
        row["Total"] = net
        row["TotalExcludingVAT"] = net


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
    invoice_date = _document_date(payload, "InvoiceDate", today)
    currency = payload.get("Currency") or customer.get("Currency") or "SEK"
    rows = _prepare_rows(
        company, list(payload.get("InvoiceRows") or []), invoice_date, quantity_field="DeliveredQuantity"
    )
    if document in (None, ""):
        document = str(company.next_number("invoice", set(company.invoices)))
    rate = payload.get("CurrencyRate")
    invoice: Record = {
        "@url": f"{host}/3/invoices/{document}",
        "@urlTaxReductionList": f"{host}/3/taxreductions?filter=invoices&referencenumber={document}",
        "AccountingMethod": "ACCRUAL",
        "Address1": customer.get("Address1") or "",
        "Address2": customer.get("Address2") or "",
        "AdministrationFee": Decimal("0.00"),
        "AdministrationFeeVAT": Decimal("0.00"),
        "BasisTaxReduction": Decimal(0),
        "Booked": False,
        "Cancelled": False,
        "City": customer.get("City") or "",
        "Comments": payload.get("Comments") or "",
        "ContractReference": "0",
        "ContributionPercent": Decimal(0),
        "ContributionValue": Decimal(0),
        "CostCenter": payload.get("CostCenter") or "",
        "Country": "Sverige",
        "Credit": "false",
        "CreditInvoiceReference": "0",
        "Currency": currency,
        "CurrencyRate": str(rate if rate is not None else company.currencies[currency]["SellRate"]),
        "CurrencyUnit": int(amount(payload.get("CurrencyUnit"), "1")),
        "CustomerName": customer.get("Name") or "",
        "CustomerNumber": customer["CustomerNumber"],
        "DeliveryAddress1": "",
        "DeliveryAddress2": "",
        "DeliveryCity": "",
        "DeliveryCountry": "",
        "DeliveryDate": payload.get("DeliveryDate"),
        "DeliveryName": "",
        "DeliveryZipCode": "",
        "DocumentNumber": document,
        "DueDate": _document_date(payload, "DueDate", invoice_date + timedelta(days=30)).isoformat(),
        "EDIInformation": {
            "EDIGlobalLocationNumber": "",
            "EDIGlobalLocationNumberDelivery": "",
            "EDIInvoiceExtra1": "",
            "EDIInvoiceExtra2": "",
            "EDIOurElectronicReference": "",
            "EDIYourElectronicReference": "",
            "EDIStatus": "",
        },
        "EUQuarterlyReport": False,
        "EmailInformation": {
            "EmailAddressFrom": None,
            "EmailAddressTo": customer.get("EmailInvoice") or "",
            "EmailAddressCC": "",
            "EmailAddressBCC": "",
            "EmailSubject": "Faktura nr {no} bifogas",
            "EmailBody": " ",
        },
        "ExternalInvoiceReference1": payload.get("ExternalInvoiceReference1") or "",
        "ExternalInvoiceReference2": payload.get("ExternalInvoiceReference2") or "",
        "FinalPayDate": None,
        "Freight": Decimal("0.00"),
        "FreightVAT": Decimal("0.00"),
        "HouseWork": False,
        "InvoiceDate": invoice_date.isoformat(),
        "InvoicePeriodEnd": None,
        "InvoicePeriodStart": None,
        "InvoiceReference": "0",
        "InvoiceRows": rows,
        "InvoiceType": payload.get("InvoiceType") or "INVOICE",
        "Labels": [],
        "Language": payload.get("Language") or "SV",
        "LastRemindDate": None,
        "NotCompleted": False,
        "NoxFinans": False,
        "OCR": ocr_for(document),
        "OfferReference": "0",
        "OrderReference": "0",
        "OrganisationNumber": customer.get("OrganisationNumber") or "",
        "OurReference": payload.get("OurReference") or "",
        "OutboundDate": invoice_date.isoformat(),
        "PaymentWay": None,
        "Phone1": "",
        "Phone2": "",
        "PriceList": "A",
        "PrintTemplate": "st",
        "Project": payload.get("Project") or "",
        "Remarks": payload.get("Remarks") or "",
        "Reminders": 0,
        "Sent": False,
        "TaxReduction": None,
        "TaxReductionType": "none",
        "TermsOfDelivery": "",
        "TermsOfPayment": "30",
        "TimeBasisReference": None,
        "VATIncluded": False,
        "VoucherNumber": None,
        "VoucherSeries": None,
        "VoucherYear": None,
        "WarehouseReady": True,
        "WayOfDelivery": "",
        "YourOrderNumber": payload.get("YourOrderNumber") or "",
        "YourReference": payload.get("YourReference") or "",
        "ZipCode": customer.get("ZipCode") or "",
    }
    credited = payload.get("CreditInvoiceReference")
    if credited not in (None, "", "0"):
        # A correction invoice made by hand: it names the invoice it corrects, as /credit's invoices do.
        find_invoice_on_write(company, str(credited))
        invoice["Credit"] = "true"
        invoice["InvoiceReference"] = str(credited)
    _number_rows(company, rows)
    _apply_totals(invoice)
    company.invoices[document] = _touch(state, invoice)
    return invoice


def _lookup(records: dict[str, Record], key: str, missing: codes.Code) -> Record:
    found = records.get(key)
    if found is None:
        raise ApiError(missing)
    return found


def find_invoice_on_write(company: Company, number: str) -> Record:
    """An invoice another document names: a missing one is a bad request (400), not a missing resource (404)."""
    return _lookup(company.invoices, number, codes.INVOICE_NOT_FOUND_ON_WRITE)


def find_invoice(company: Company, number: str) -> Record:
    return _lookup(company.invoices, number, codes.INVOICE_NOT_FOUND)


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
    invoice_date = _document_date(payload, "InvoiceDate", date.fromisoformat(invoice["InvoiceDate"]))
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
        invoice["InvoiceRows"] = _prepare_rows(company, incoming, invoice_date, quantity_field="DeliveredQuantity")
        # Fortnox renumbers every row on every update.
        _number_rows(company, invoice["InvoiceRows"])
    for field, value in payload.items():
        if field in {"InvoiceRows", "DocumentNumber"}:
            continue
        if field in {"CurrencyRate"}:
            invoice[field] = str(value)
        elif field in {"InvoiceDate", "DueDate", "DeliveryDate"}:
            invoice[field] = _parse_date(value, field).isoformat() if value else None
        else:
            invoice[field] = value
    if "CustomerNumber" in payload:
        invoice["CustomerName"] = company.customers[str(payload["CustomerNumber"])].get("Name") or ""
    _apply_totals(invoice)
    return _touch(state, invoice)


def bookkeep_invoice(state: SandboxState, company: Company, number: str, *, host: str) -> Record:
    invoice = find_invoice(company, number)
    _check_changeable(invoice)
    day = date.fromisoformat(invoice["InvoiceDate"])
    year = company.year_for(day)
    if year is None:
        raise ApiError(codes.NO_FINANCIAL_YEAR, date=day.isoformat())
    _check_locked(company, day)
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
    return _touch(state, invoice)


def cancel_invoice(state: SandboxState, company: Company, number: str) -> Record:
    invoice = find_invoice(company, number)
    _check_changeable(invoice)
    invoice["Cancelled"] = True
    invoice["Balance"] = Decimal("0.00")
    return _touch(state, invoice)


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
    _touch(state, original)
    # Fortnox answers the credit action with the original invoice, now naming its credit invoice.
    return original


def mark_sent(state: SandboxState, company: Company, number: str) -> Record:
    invoice = find_invoice(company, number)
    if invoice["Cancelled"]:
        raise ApiError(codes.INVOICE_CANCELLED, number=number)
    invoice["Sent"] = True
    return _touch(state, invoice)


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
    return _touch(state, invoice)


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
    return {field: invoice.get(field) for field in fields}


def create_order(state: SandboxState, company: Company, payload: Record, *, host: str) -> Record:
    customer = company.customers.get(str(payload.get("CustomerNumber") or ""))
    if customer is None:
        raise ApiError(codes.CUSTOMER_NOT_FOUND_ON_WRITE)
    check_length(payload, {"Remarks": 1024, "YourReference": 50, "OurReference": 50, "YourOrderNumber": 75})
    currency = payload.get("Currency") or customer.get("Currency") or "SEK"
    if currency not in company.currencies:
        raise ApiError(codes.CURRENCY_NOT_FOUND)
    order_date = _document_date(payload, "OrderDate", state.today())
    raw_rows = list(payload.get("OrderRows") or [])
    rows = _prepare_rows(
        company,
        [{**row, "DeliveredQuantity": row.get("DeliveredQuantity", row.get("OrderedQuantity"))} for row in raw_rows],
        order_date,
        quantity_field="DeliveredQuantity",
    )
    for row, raw in zip(rows, raw_rows, strict=True):
        row["OrderedQuantity"] = f"{amount(raw.get('OrderedQuantity'), row['DeliveredQuantity']):.2f}"
        row["ReservedQuantity"] = "0.00"
        row["StockPointId"] = None
    number = str(company.next_number("order"))
    _number_rows(company, rows)
    figures = totals(rows, currency)
    order = {
        "@url": f"{host}/3/orders/{number}",
        "DocumentNumber": number,
        "CustomerNumber": customer["CustomerNumber"],
        "CustomerName": customer.get("Name") or "",
        "OrderDate": order_date.isoformat(),
        "DeliveryDate": payload.get("DeliveryDate"),
        "Currency": currency,
        "CurrencyRate": str(payload.get("CurrencyRate") or company.currencies[currency]["SellRate"]),
        "Language": payload.get("Language") or "SV",
        "Remarks": payload.get("Remarks") or "",
        "CopyRemarks": bool(payload.get("CopyRemarks", True)),
        "YourReference": payload.get("YourReference") or "",
        "OurReference": payload.get("OurReference") or "",
        "YourOrderNumber": payload.get("YourOrderNumber") or "",
        "ExternalInvoiceReference1": payload.get("ExternalInvoiceReference1") or "",
        "ExternalInvoiceReference2": payload.get("ExternalInvoiceReference2") or "",
        "InvoiceReference": "0",
        "Cancelled": False,
        "Sent": False,
        "OrderRows": rows,
        **figures,
        "TotalToPay": figures["Total"],
    }
    company.orders[number] = _touch(state, order)
    return order


def order_list_item(order: Record) -> Record:
    fields = (
        "@url",
        "Cancelled",
        "Currency",
        "CustomerName",
        "CustomerNumber",
        "DeliveryDate",
        "DocumentNumber",
        "ExternalInvoiceReference1",
        "ExternalInvoiceReference2",
        "OrderDate",
        "Project",
        "Sent",
        "Total",
    )
    item = {field: order.get(field) for field in fields}
    item["OrderType"] = "Order"
    return item


def update_order(state: SandboxState, company: Company, number: str, payload: Record) -> Record:
    """An order can change until it is invoiced or cancelled; rows are replaced when sent."""
    order = _lookup(company.orders, number, codes.ORDER_NOT_FOUND)
    if order["InvoiceReference"] not in ("0", ""):
        raise ApiError(codes.ORDER_ALREADY_INVOICED, number=number)
    if order["Cancelled"]:
        raise ApiError(codes.INVALID_VALUE, field="Cancelled")
    check_length(payload, {"Remarks": 1024, "YourReference": 50, "OurReference": 50, "YourOrderNumber": 75})
    if "OrderRows" in payload:
        raw_rows = list(payload["OrderRows"] or [])
        rows = _prepare_rows(
            company,
            [
                {**row, "DeliveredQuantity": row.get("DeliveredQuantity", row.get("OrderedQuantity"))}
                for row in raw_rows
            ],
            date.fromisoformat(order["OrderDate"]),
            quantity_field="DeliveredQuantity",
        )
        for row, raw in zip(rows, raw_rows, strict=True):
            row["OrderedQuantity"] = f"{amount(raw.get('OrderedQuantity'), row['DeliveredQuantity']):.2f}"
            row["ReservedQuantity"] = "0.00"
            row["StockPointId"] = None
        _number_rows(company, rows)
        order["OrderRows"] = rows
        order.update(totals(rows, order["Currency"]))
        order["TotalToPay"] = order["Total"]
    for field in (
        "Remarks",
        "YourReference",
        "OurReference",
        "YourOrderNumber",
        "ExternalInvoiceReference1",
        "ExternalInvoiceReference2",
        "CopyRemarks",
        "Language",
    ):
        if field in payload:
            order[field] = payload[field]
    return _touch(state, order)


def invoice_from_order(state: SandboxState, company: Company, number: str, *, host: str) -> Record:
    order = _lookup(company.orders, number, codes.ORDER_NOT_FOUND)
    if order["InvoiceReference"] not in ("0", ""):
        raise ApiError(codes.ORDER_ALREADY_INVOICED, number=number)
    if order["Cancelled"]:
        raise ApiError(codes.INVALID_VALUE, field="Cancelled")
    rows = [
        {
            key: row[key]
            for key in (
                "AccountNumber",
                "ArticleNumber",
                "CostCenter",
                "DeliveredQuantity",
                "Description",
                "Discount",
                "DiscountType",
                "Price",
                "Project",
                "Unit",
                "VAT",
            )
        }
        for row in order["OrderRows"]
    ]
    invoice = create_invoice(
        state,
        company,
        {
            "CustomerNumber": order["CustomerNumber"],
            "Currency": order["Currency"],
            "CurrencyRate": order["CurrencyRate"],
            "Language": order["Language"],
            "Remarks": order["Remarks"] if order["CopyRemarks"] else "",
            "YourReference": order["YourReference"],
            "OurReference": order["OurReference"],
            "YourOrderNumber": order["YourOrderNumber"],
            "ExternalInvoiceReference1": order["ExternalInvoiceReference1"],
            "ExternalInvoiceReference2": order["ExternalInvoiceReference2"],
            "InvoiceRows": rows,
        },
        host=host,
    )
    invoice["OrderReference"] = number
    order["InvoiceReference"] = invoice["DocumentNumber"]
    _touch(state, order)
    return invoice


# -- vouchers --------------------------------------------------------------------------------------------------
def store_voucher(state: SandboxState, company: Company, year: Record, payload: Record, *, host: str) -> Record:
    series = str(payload["VoucherSeries"])
    number = company.next_number(f"voucher:{year['Id']}:{series}")
    rows = [
        {
            "Account": int(row["Account"]),
            "CostCenter": row.get("CostCenter") or "",
            "Credit": cents(amount(row.get("Credit"))),
            "Debit": cents(amount(row.get("Debit"))),
            "Description": row.get("Description") or "",
            "Project": row.get("Project") or "",
            "Quantity": amount(row.get("Quantity")),
            "Removed": False,
            "TransactionInformation": row.get("TransactionInformation") or "",
        }
        for row in payload["VoucherRows"]
    ]
    voucher = {
        "@url": f"{host}/3/vouchers/{series}/{number}?financialyear={year['Id']}",
        "ApprovalState": 0,
        "Comments": payload.get("Comments") or "",
        "CostCenter": payload.get("CostCenter") or "",
        "Description": payload["Description"],
        "Project": payload.get("Project") or "",
        "ReferenceNumber": payload.get("ReferenceNumber") or "",
        "ReferenceType": payload.get("ReferenceType") or "MANUAL",
        "TransactionDate": payload["TransactionDate"],
        "VoucherNumber": number,
        "VoucherRows": rows,
        "VoucherSeries": series,
        "Year": year["Id"],
    }
    company.vouchers[(year["Id"], series, number)] = _touch(state, voucher)
    return voucher


def create_voucher(
    state: SandboxState, company: Company, payload: Record, year_param: str | None, *, host: str
) -> Record:
    for field in ("Description", "TransactionDate", "VoucherSeries"):
        if not payload.get(field):
            raise ApiError(codes.FIELD_REQUIRED, field=field)
    check_length(payload, {"Description": 200, "Comments": 1000})
    day = _parse_date(payload["TransactionDate"], "TransactionDate")
    if year_param is not None:
        try:
            year = company.year_by_id(int(year_param))
        except ValueError:
            raise ApiError(codes.INVALID_PARAMETER, field="financialyear") from None
        if year is None:
            raise ApiError(codes.FINANCIAL_YEAR_NOT_FOUND)
    else:
        year = company.year_for(state.today())
    if year is None or not (year["FromDate"] <= day.isoformat() <= year["ToDate"]):
        raise ApiError(codes.NO_FINANCIAL_YEAR, date=day.isoformat())
    _check_locked(company, day)
    series = company.voucher_series.get(str(payload["VoucherSeries"]))
    if series is None:
        raise ApiError(codes.SERIES_NOT_FOUND, series=payload["VoucherSeries"])
    if not series["Manual"]:
        raise ApiError(codes.SERIES_NOT_MANUAL, series=series["Code"])
    rows = list(payload.get("VoucherRows") or [])
    if not rows:
        raise ApiError(codes.FIELD_REQUIRED, field="VoucherRows")
    debit = credit = Decimal(0)
    for row in rows:
        if row.get("Account") in (None, ""):
            raise ApiError(codes.FIELD_REQUIRED, field="Account")
        row_debit, row_credit = amount(row.get("Debit")), amount(row.get("Credit"))
        if row_debit < 0 or row_credit < 0:
            raise ApiError(codes.INVALID_VALUE, field="Debit/Credit")
        if len(str(row.get("TransactionInformation") or "")) > 100:
            raise ApiError(codes.FIELD_TOO_LONG, field="TransactionInformation", max=100)
        check_dimensions(company, year["Id"], int(row["Account"]), row.get("CostCenter"), row.get("Project"))
        debit += row_debit
        credit += row_credit
    if cents(debit) != cents(credit):
        raise ApiError(codes.VOUCHER_UNBALANCED, debit=cents(debit), credit=cents(credit))
    return store_voucher(state, company, year, payload, host=host)


def voucher_list_item(voucher: Record) -> Record:
    fields = (
        "@url",
        "ApprovalState",
        "Comments",
        "Description",
        "ReferenceNumber",
        "ReferenceType",
        "TransactionDate",
        "VoucherNumber",
        "VoucherSeries",
        "Year",
    )
    return {field: voucher.get(field) for field in fields}


# -- payments --------------------------------------------------------------------------------------------------
def _payment_effect(payment: Record) -> Decimal:
    return amount(payment["AmountCurrency"]) if payment["Currency"] != "SEK" else amount(payment["Amount"])


def _settle(state: SandboxState, invoice: Record, delta: Decimal, day: str | None) -> None:
    invoice["_paid"] = invoice.get("_paid", Decimal(0)) + delta
    invoice["Balance"] = invoice["Total"] - invoice["_paid"]
    invoice["FinalPayDate"] = day if invoice["Balance"] == 0 else None
    _touch(state, invoice)


def create_payment(state: SandboxState, company: Company, payload: Record, *, source: str, host: str) -> Record:
    try:
        invoice_number = str(int(payload.get("InvoiceNumber")))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ApiError(codes.FIELD_REQUIRED, field="InvoiceNumber") from None
    invoice = find_invoice_on_write(company, invoice_number)
    if not invoice["Booked"]:
        raise ApiError(codes.INVOICE_NOT_BOOKED, number=invoice_number)
    if payload.get("Amount") in (None, ""):
        raise ApiError(codes.FIELD_REQUIRED, field="Amount")
    rate = amount(payload.get("CurrencyRate") or invoice["CurrencyRate"], "1")
    value = cents(amount(payload["Amount"]))
    in_currency = (
        cents(amount(payload.get("AmountCurrency")))
        if payload.get("AmountCurrency") not in (None, "")
        else cents(value / rate)
    )
    day = (
        _parse_date(payload["PaymentDate"], "PaymentDate").isoformat()
        if payload.get("PaymentDate")
        else state.today().isoformat()
    )
    number = str(company.next_number("payment"))
    payment: Record = {
        "@url": f"{host}/3/invoicepayments/{number}",
        "Amount": value,
        "AmountCurrency": in_currency,
        "Booked": False,
        "Currency": invoice["Currency"],
        "CurrencyRate": rate,
        "CurrencyUnit": Decimal(1),
        "ExternalInvoiceReference1": invoice["ExternalInvoiceReference1"],
        "ExternalInvoiceReference2": invoice["ExternalInvoiceReference2"],
        "InvoiceCustomerName": invoice["CustomerName"],
        "InvoiceCustomerNumber": invoice["CustomerNumber"],
        "InvoiceDueDate": invoice["DueDate"],
        "InvoiceNumber": int(invoice_number),
        "InvoiceOCR": invoice["OCR"],
        "InvoiceTotal": str(invoice["Total"]),
        "ModeOfPayment": payload.get("ModeOfPayment") or "BG",
        "ModeOfPaymentAccount": int(payload.get("ModeOfPaymentAccount") or 1930),
        "Number": number,
        "PaymentDate": day,
        "Source": source,
        "VoucherNumber": None,
        "VoucherSeries": None,
        "VoucherYear": None,
        "WriteOffExist": False,
        "WriteOffs": [],
    }
    company.payments[number] = _touch(state, payment)
    _settle(state, invoice, _payment_effect(payment), day)
    return payment


def find_order(company: Company, number: str) -> Record:
    return _lookup(company.orders, number, codes.ORDER_NOT_FOUND)


def find_payment(company: Company, number: str) -> Record:
    return _lookup(company.payments, number, codes.PAYMENT_NOT_FOUND)


def update_payment(state: SandboxState, company: Company, number: str, payload: Record) -> Record:
    payment = find_payment(company, number)
    if payment["Booked"]:
        raise ApiError(codes.PAYMENT_BOOKED)
    invoice = company.invoices[str(payment["InvoiceNumber"])]
    before = _payment_effect(payment)
    if payload.get("Amount") not in (None, ""):
        payment["Amount"] = cents(amount(payload["Amount"]))
        payment["AmountCurrency"] = cents(
            amount(payload.get("AmountCurrency") or payment["Amount"] / amount(payment["CurrencyRate"], "1"))
        )
    if payload.get("PaymentDate"):
        payment["PaymentDate"] = _parse_date(payload["PaymentDate"], "PaymentDate").isoformat()
    _touch(state, payment)
    _settle(state, invoice, _payment_effect(payment) - before, payment["PaymentDate"])
    return payment


def delete_payment(state: SandboxState, company: Company, number: str) -> None:
    payment = find_payment(company, number)
    if payment["Booked"]:
        raise ApiError(codes.PAYMENT_BOOKED)
    del company.payments[number]
    invoice = company.invoices[str(payment["InvoiceNumber"])]
    _settle(state, invoice, -_payment_effect(payment), None)


def payment_list_item(payment: Record) -> Record:
    fields = (
        "@url",
        "Amount",
        "Booked",
        "Currency",
        "CurrencyRate",
        "CurrencyUnit",
        "InvoiceNumber",
        "Number",
        "PaymentDate",
        "Source",
        "WriteOffExist",
    )
    return {field: payment.get(field) for field in fields}


# -- files -----------------------------------------------------------------------------------------------------
def upload(
    state: SandboxState,
    company: Company,
    folder: str,
    name: str,
    content: bytes,
    content_type: str,
    *,
    host: str,
) -> Record:
    if folder not in INBOX_FOLDERS:
        raise ApiError(codes.INVALID_PARAMETER, field="path")
    file_id = str(uuid.uuid4())
    archive_id = str(uuid.uuid4())
    record: Record = {
        "@url": f"{host}/3/inbox/{file_id}",
        "Id": file_id,
        "ArchiveFileId": archive_id,
        "Name": name,
        "Path": f"{folder}/{name}",
        "Size": len(content),
        "Comments": None,
        "_folder": folder,
        "_content": content,
        "_pdf": content.startswith(b"%PDF") and content_type in {"application/pdf", "application/octet-stream"},
    }
    company.inbox[archive_id] = _touch(state, record)
    return record


def _entity_exists(company: Company, entity_id: int, entity_type: str) -> bool:
    if entity_type == "F":
        return str(entity_id) in company.invoices
    if entity_type == "O":
        return str(entity_id) in company.orders
    return False


def attach(state: SandboxState, company: Company, requested: list[Record]) -> list[Record]:
    if not requested:
        raise AttachmentError("no_attachment_provided", "No attachment provided")
    created = []
    for item in requested:
        for field in ("entityId", "entityType", "fileId"):
            if item.get(field) in (None, ""):
                raise AttachmentError("missing_mandatory_field", f"Missing mandatory field: {field}")
        entity_type = str(item["entityType"])
        entity_id = int(item["entityId"])
        file = company.inbox.get(str(item["fileId"])) or next(
            (row for row in company.inbox.values() if row["Id"] == str(item["fileId"])), None
        )
        if file is None:
            raise AttachmentError("file_not_found", "File not found", 404)
        if not _entity_exists(company, entity_id, entity_type):
            raise AttachmentError("document_not_found", "Document not found", 404)
        if file["_folder"] not in ATTACHABLE_FOLDERS:
            raise AttachmentError("wrong_file_location", "Only files in inbox_kf, inbox_o or inbox_of can be attached")
        if not file["_pdf"]:
            raise AttachmentError("wrong_file_type", "Only PDF files can be attached")
        if file["Size"] > MAX_FILE_BYTES:
            raise AttachmentError("file_too_big", "A file may be at most 5 MB")
        existing = [
            row
            for row in company.attachments.values()
            if row["entityId"] == entity_id and row["entityType"] == entity_type
        ]
        included = [row for row in existing if row["includeOnSend"]]
        if item.get("includeOnSend") and len(included) >= MAX_INCLUDED_ON_SEND:
            raise AttachmentError(
                "attachment_files_max_count_exceeded", "At most 5 attachments can be included on send"
            )
        total = sum(company.inbox[row["fileId"]]["Size"] for row in existing if row["fileId"] in company.inbox)
        if total + file["Size"] > MAX_TOTAL_BYTES:
            raise AttachmentError("attachment_files_max_size_exceeded", "Attachments may be at most 15 MB in total")
        attachment = {
            "id": str(uuid.uuid4()),
            "entityId": entity_id,
            "entityType": entity_type,
            "fileId": file["ArchiveFileId"],
            "includeOnSend": bool(item.get("includeOnSend", False)),
        }
        company.attachments[attachment["id"]] = attachment
        created.append(attachment)
    return created
