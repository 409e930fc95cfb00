"""The Fortnox API routes the bridge uses, at their real paths, each with the scope Fortnox requires."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from werkzeug.wrappers import Response

from fortnox_sandbox import books, codes
from fortnox_sandbox.errors import ApiError, AttachmentError
from fortnox_sandbox.http_util import ApiContext, json_response, page, public, read_json, url, wrapped
from fortnox_sandbox.state import Record


@dataclass(frozen=True)
class ApiRoute:
    method: str
    path: str
    scope: str
    handler: Callable[..., Response]
    multipart: bool = False


def _host(ctx: ApiContext) -> str:
    return url(ctx, "")


def _one(key: str, record: dict[str, Any], status: int = 200) -> Response:
    return json_response({key: public(record)}, status)


def _matching(
    ctx: ApiContext, rows: list[Record], fields: dict[str, str], match: Callable[[str, str], bool]
) -> list[Record]:
    """Keep the rows whose field matches each search parameter given (``{parameter: field}``)."""
    for name, field in fields.items():
        wanted = ctx.arg(name)
        if wanted is not None:
            rows = [row for row in rows if match(wanted, str(row.get(field) or ""))]
    return rows


def _exact(wanted: str, value: str) -> bool:
    return value == wanted


def _substring(wanted: str, value: str) -> bool:
    return wanted in value


def _any_case(wanted: str, value: str) -> bool:
    return wanted.lower() in value.lower()


def _modified_since(ctx: ApiContext, rows: list[Record]) -> list[Record]:
    """``lastmodified``: rows changed at or after the given time (Fortnox's ``YYYY-MM-DD HH:MM:SS``)."""
    since = ctx.arg("lastmodified")
    return rows if since is None else [row for row in rows if row["_modified"] >= since]


# -- company ---------------------------------------------------------------------------------------------------
def company_information(ctx: ApiContext) -> Response:
    company = ctx.company
    return json_response(
        {
            "CompanyInformation": {
                "Address": company.address,
                "City": company.city,
                "CompanyName": company.name,
                "CountryCode": "SE",
                "DatabaseNumber": company.tenant_id,
                "OrganizationNumber": company.organisation_number,
                "VisitAddress": "",
                "VisitCity": "",
                "VisitCountryCode": "",
                "VisitZipCode": "",
                "ZipCode": company.zip_code,
            }
        }
    )


def locked_period(ctx: ApiContext) -> Response:
    end = ctx.company.locked_until
    return json_response({"LockedPeriod": {"EndDate": end.isoformat() if end else None}})


# -- customers -------------------------------------------------------------------------------------------------
CUSTOMER_SEARCH = {
    "customernumber": "CustomerNumber",
    "name": "Name",
    "zipcode": "ZipCode",
    "city": "City",
    "email": "Email",
    "organisationnumber": "OrganisationNumber",
}


def list_customers(ctx: ApiContext) -> Response:
    rows = sorted(ctx.company.customers.values(), key=lambda row: (len(row["CustomerNumber"]), row["CustomerNumber"]))
    status = ctx.arg("filter")
    if status not in (None, "active", "inactive"):
        raise ApiError(codes.INVALID_FILTER)
    if status is not None:
        rows = [row for row in rows if bool(row["Active"]) == (status == "active")]
    rows = _modified_since(ctx, _matching(ctx, rows, CUSTOMER_SEARCH, _any_case))
    return page(ctx, "Customers", [books.customer_list_item(row) for row in rows])


def get_customer(ctx: ApiContext, number: str) -> Response:
    customer = ctx.company.customers.get(number)
    if customer is None:
        raise ApiError(codes.CUSTOMER_NOT_FOUND)
    return _one("Customer", customer)


def create_customer(ctx: ApiContext) -> Response:
    customer = books.create_customer(ctx.state, ctx.company, wrapped(ctx.request, "Customer"), host=_host(ctx))
    return _one("Customer", customer, 201)


def update_customer(ctx: ApiContext, number: str) -> Response:
    return _one("Customer", books.update_customer(ctx.state, ctx.company, number, wrapped(ctx.request, "Customer")))


def delete_customer(ctx: ApiContext, number: str) -> Response:
    if ctx.company.customers.pop(number, None) is None:
        raise ApiError(codes.CUSTOMER_NOT_FOUND)
    return Response(status=204)


# -- invoices --------------------------------------------------------------------------------------------------
INVOICE_EXACT = {
    "documentnumber": "DocumentNumber",
    "customernumber": "CustomerNumber",
    "ocr": "OCR",
    "currency": "Currency",
}
INVOICE_SEARCH = {
    "externalinvoicereference1": "ExternalInvoiceReference1",
    "externalinvoicereference2": "ExternalInvoiceReference2",
    "yourordernumber": "YourOrderNumber",
}
INVOICE_STATUS_FILTERS = {"cancelled", "fullypaid", "unpaid", "unpaidoverdue", "unbooked"}


def list_invoices(ctx: ApiContext) -> Response:
    rows = sorted(ctx.company.invoices.values(), key=lambda row: int(row["DocumentNumber"]))
    status = ctx.arg("filter")
    if status is not None and status not in INVOICE_STATUS_FILTERS:
        raise ApiError(codes.INVALID_FILTER)
    today = ctx.state.today().isoformat()

    def keep(row: dict[str, Any]) -> bool:
        open_balance = not row["Cancelled"] and row["Balance"] != 0
        return {
            None: True,
            "cancelled": bool(row["Cancelled"]),
            "fullypaid": not row["Cancelled"] and row["Balance"] == 0 and bool(row["Booked"]),
            "unpaid": open_balance,
            "unpaidoverdue": open_balance and row["DueDate"] < today,
            "unbooked": not row["Cancelled"] and not row["Booked"],
        }[status]

    rows = [row for row in rows if keep(row)]
    rows = _matching(ctx, rows, INVOICE_EXACT, _exact)
    # Fortnox searches references by substring: callers must compare the value exactly themselves.
    rows = _matching(ctx, rows, INVOICE_SEARCH, _substring)
    earliest, latest = ctx.arg("fromdate"), ctx.arg("todate")
    if earliest is not None:
        rows = [row for row in rows if row["InvoiceDate"] >= earliest]
    if latest is not None:
        rows = [row for row in rows if row["InvoiceDate"] <= latest]
    rows = _modified_since(ctx, rows)
    return page(ctx, "Invoices", [books.invoice_list_item(row) for row in rows])


def get_invoice(ctx: ApiContext, number: str) -> Response:
    return _one("Invoice", books.find_invoice(ctx.company, number))


def create_invoice(ctx: ApiContext) -> Response:
    invoice = books.create_invoice(ctx.state, ctx.company, wrapped(ctx.request, "Invoice"), host=_host(ctx))
    return _one("Invoice", invoice, 201)


def update_invoice(ctx: ApiContext, number: str) -> Response:
    return _one("Invoice", books.update_invoice(ctx.state, ctx.company, number, wrapped(ctx.request, "Invoice")))


def bookkeep_invoice(ctx: ApiContext, number: str) -> Response:
    return _one("Invoice", books.bookkeep_invoice(ctx.state, ctx.company, number, host=_host(ctx)))


def cancel_invoice(ctx: ApiContext, number: str) -> Response:
    return _one("Invoice", books.cancel_invoice(ctx.state, ctx.company, number))


def credit_invoice(ctx: ApiContext, number: str) -> Response:
    return _one("Invoice", books.credit_invoice(ctx.state, ctx.company, number, host=_host(ctx)))


def email_invoice(ctx: ApiContext, number: str) -> Response:
    return _one("Invoice", books.send_email(ctx.state, ctx.company, number))


def externalprint_invoice(ctx: ApiContext, number: str) -> Response:
    return _one("Invoice", books.mark_sent(ctx.state, ctx.company, number))


# -- orders ----------------------------------------------------------------------------------------------------
def list_orders(ctx: ApiContext) -> Response:
    rows = sorted(ctx.company.orders.values(), key=lambda row: int(row["DocumentNumber"]))
    status = ctx.arg("filter")
    if status not in (None, "cancelled", "expired", "invoicecreated", "invoicenotcreated"):
        raise ApiError(codes.INVALID_FILTER)
    invoiced = {"invoicecreated": True, "invoicenotcreated": False}.get(status or "")
    if invoiced is not None:
        rows = [row for row in rows if (row["InvoiceReference"] not in ("0", "")) == invoiced]
    if status == "cancelled":
        rows = [row for row in rows if row["Cancelled"]]
    rows = _matching(ctx, rows, {"documentnumber": "DocumentNumber"}, _exact)
    rows = _matching(
        ctx,
        rows,
        {
            "externalinvoicereference1": "ExternalInvoiceReference1",
            "externalinvoicereference2": "ExternalInvoiceReference2",
        },
        _substring,
    )
    return page(ctx, "Orders", [books.order_list_item(row) for row in rows])


def update_order(ctx: ApiContext, number: str) -> Response:
    return _one("Order", books.update_order(ctx.state, ctx.company, number, wrapped(ctx.request, "Order")))


def get_order(ctx: ApiContext, number: str) -> Response:
    return _one("Order", books.find_order(ctx.company, number))


def create_order(ctx: ApiContext) -> Response:
    return _one(
        "Order",
        books.create_order(ctx.state, ctx.company, wrapped(ctx.request, "Order"), host=_host(ctx)),
        201,
    )


def order_create_invoice(ctx: ApiContext, number: str) -> Response:
    return _one("Invoice", books.invoice_from_order(ctx.state, ctx.company, number, host=_host(ctx)))


# -- vouchers and registers ------------------------------------------------------------------------------------
def _year_id(ctx: ApiContext) -> int:
    raw = ctx.arg("financialyear")
    if raw is not None:
        try:
            year = ctx.company.year_by_id(int(raw))
        except ValueError:
            raise ApiError(codes.INVALID_PARAMETER, field="financialyear") from None
    elif ctx.arg("financialyeardate") is not None:
        year = ctx.company.year_for(date.fromisoformat(ctx.arg("financialyeardate") or ""))
    else:
        year = ctx.company.year_for(ctx.state.today())
    if year is None:
        raise ApiError(codes.FINANCIAL_YEAR_NOT_FOUND)
    return int(year["Id"])


def list_vouchers(ctx: ApiContext, series: str | None = None) -> Response:
    year_id = _year_id(ctx)
    rows = [
        row
        for (year, code, _), row in sorted(ctx.company.vouchers.items())
        if year == year_id and (series is None or code == series)
    ]
    return page(ctx, "Vouchers", [books.voucher_list_item(row) for row in rows])


def get_voucher(ctx: ApiContext, series: str, number: int) -> Response:
    voucher = ctx.company.vouchers.get((_year_id(ctx), series, number))
    if voucher is None:
        raise ApiError(codes.VOUCHER_NOT_FOUND)
    return _one("Voucher", voucher)


def create_voucher(ctx: ApiContext) -> Response:
    voucher = books.create_voucher(
        ctx.state, ctx.company, wrapped(ctx.request, "Voucher"), ctx.arg("financialyear"), host=_host(ctx)
    )
    return _one("Voucher", voucher, 201)


def list_voucher_series(ctx: ApiContext) -> Response:
    year_id = _year_id(ctx)
    rows = [
        {
            "@url": url(ctx, f"/3/voucherseries/{code}"),
            **{k: v for k, v in row.items() if k != "Approver"},
            "Year": year_id,
        }
        for code, row in sorted(ctx.company.voucher_series.items())
    ]
    return page(ctx, "VoucherSeriesCollection", rows)


def get_voucher_series(ctx: ApiContext, code: str) -> Response:
    row = ctx.company.voucher_series.get(code)
    if row is None:
        raise ApiError(codes.SERIES_NOT_FOUND_404)
    year_id = _year_id(ctx)
    next_number = ctx.company.counters.get(f"voucher:{year_id}:{code}", 0) + 1
    return json_response(
        {
            "VoucherSeries": {
                "@url": url(ctx, f"/3/voucherseries/{code}"),
                **row,
                "NextVoucherNumber": next_number,
                "Year": year_id,
            }
        }
    )


def _account(ctx: ApiContext, row: dict[str, Any]) -> dict[str, Any]:
    return {"@url": url(ctx, f"/3/accounts/{row['Number']}"), **row}


def list_accounts(ctx: ApiContext) -> Response:
    accounts = ctx.company.accounts.get(_year_id(ctx), {})
    list_fields = (
        "@url",
        "Active",
        "BalanceBroughtForward",
        "CostCenter",
        "CostCenterSettings",
        "Description",
        "Number",
        "Project",
        "ProjectSettings",
        "SRU",
        "VATCode",
        "Year",
    )
    rows = [{field: _account(ctx, row).get(field) for field in list_fields} for _, row in sorted(accounts.items())]
    return page(ctx, "Accounts", rows)


def get_account(ctx: ApiContext, number: int) -> Response:
    row = ctx.company.accounts.get(_year_id(ctx), {}).get(number)
    if row is None:
        raise ApiError(codes.ACCOUNT_NOT_FOUND)
    single = {
        **_account(ctx, row),
        "BalanceCarriedForward": row["BalanceBroughtForward"],
        "OpeningQuantities": [],
        "QuantitySettings": "ALLOWED",
        "QuantityUnit": "",
        "TransactionInformation": "",
        "TransactionInformationSettings": "ALLOWED",
    }
    return json_response({"Account": single})


def list_cost_centers(ctx: ApiContext) -> Response:
    rows = [
        {"@url": url(ctx, f"/3/costcenters/{code}"), **row} for code, row in sorted(ctx.company.cost_centers.items())
    ]
    return page(ctx, "CostCenters", rows)


def get_cost_center(ctx: ApiContext, code: str) -> Response:
    row = ctx.company.cost_centers.get(code)
    if row is None:
        raise ApiError(codes.COST_CENTER_NOT_FOUND)
    return json_response({"CostCenter": {"@url": url(ctx, f"/3/costcenters/{code}"), **row}})


def list_projects(ctx: ApiContext) -> Response:
    fields = ("Description", "EndDate", "ProjectLeader", "ProjectNumber", "StartDate", "Status")
    rows = [
        {"@url": url(ctx, f"/3/projects/{number}"), **{field: row[field] for field in fields}}
        for number, row in sorted(ctx.company.projects.items())
    ]
    return page(ctx, "Projects", rows)


def get_project(ctx: ApiContext, number: str) -> Response:
    row = ctx.company.projects.get(number)
    if row is None:
        raise ApiError(codes.PROJECT_NOT_FOUND)
    return json_response({"Project": {"@url": url(ctx, f"/3/projects/{number}"), **row}})


def list_financial_years(ctx: ApiContext) -> Response:
    rows = ctx.company.financial_years
    day = ctx.arg("date") or ctx.arg("Date")
    if day is not None:
        try:
            wanted = date.fromisoformat(day)
        except ValueError:
            raise ApiError(codes.INVALID_PARAMETER, field="date") from None
        rows = [row for row in rows if row["FromDate"] <= wanted.isoformat() <= row["ToDate"]]
    return page(ctx, "FinancialYears", [{"@url": url(ctx, f"/3/financialyears/{row['Id']}"), **row} for row in rows])


def get_financial_year(ctx: ApiContext, year_id: int) -> Response:
    row = ctx.company.year_by_id(year_id)
    if row is None:
        raise ApiError(codes.FINANCIAL_YEAR_NOT_FOUND)
    return json_response({"FinancialYear": {"@url": url(ctx, f"/3/financialyears/{year_id}"), **row}})


def list_currencies(ctx: ApiContext) -> Response:
    rows = [{"@url": url(ctx, f"/3/currencies/{code}"), **row} for code, row in sorted(ctx.company.currencies.items())]
    return page(ctx, "Currencies", rows)


# -- payments --------------------------------------------------------------------------------------------------
def list_payments(ctx: ApiContext) -> Response:
    rows = sorted(ctx.company.payments.values(), key=lambda row: (row["PaymentDate"], int(row["Number"])))
    rows = _modified_since(ctx, _matching(ctx, rows, {"invoicenumber": "InvoiceNumber"}, _exact))
    return page(ctx, "InvoicePayments", [books.payment_list_item(row) for row in rows])


def get_payment(ctx: ApiContext, number: str) -> Response:
    return _one("InvoicePayment", books.find_payment(ctx.company, number))


def create_payment(ctx: ApiContext) -> Response:
    payment = books.create_payment(
        ctx.state, ctx.company, wrapped(ctx.request, "InvoicePayment"), source="manual", host=_host(ctx)
    )
    return _one("InvoicePayment", payment, 201)


def update_payment(ctx: ApiContext, number: str) -> Response:
    return _one(
        "InvoicePayment",
        books.update_payment(ctx.state, ctx.company, number, wrapped(ctx.request, "InvoicePayment")),
    )


def delete_payment(ctx: ApiContext, number: str) -> Response:
    books.delete_payment(ctx.state, ctx.company, number)
    return Response(status=204)


# -- files -----------------------------------------------------------------------------------------------------
def upload_inbox(ctx: ApiContext) -> Response:
    upload = ctx.request.files.get("file")
    if upload is None:
        raise ApiError(codes.EMPTY_BODY)
    content = upload.read()
    record = books.upload(
        ctx.state,
        ctx.company,
        ctx.arg("path") or "inbox_kf",
        upload.filename or "file",
        content,
        upload.mimetype or "application/octet-stream",
        host=_host(ctx),
    )
    return _one("File", record, 201)


def attach_files(ctx: ApiContext) -> Response:
    body = read_json(ctx.request)
    if not isinstance(body, list) or not all(isinstance(item, dict) for item in body):
        raise AttachmentError("no_attachment_provided", "The body must be a list of attachments")
    created = books.attach(ctx.state, ctx.company, body)
    return json_response(created[0] if len(created) == 1 else created, 201)


def list_attachments(ctx: ApiContext) -> Response:
    entity_type = ctx.arg("entitytype")
    ids = {int(value) for value in ctx.request.args.getlist("entityid") if value.isdigit()}
    if entity_type is None or not ids:
        raise AttachmentError("missing_mandatory_field", "entityid and entitytype are required")
    rows = [
        row for row in ctx.company.attachments.values() if row["entityType"] == entity_type and row["entityId"] in ids
    ]
    return json_response(rows)


ROUTES: list[ApiRoute] = [
    ApiRoute("GET", "/3/companyinformation", "companyinformation", company_information),
    ApiRoute("GET", "/3/settings/lockedperiod", "bookkeeping", locked_period),
    ApiRoute("GET", "/3/customers", "customer", list_customers),
    ApiRoute("POST", "/3/customers", "customer", create_customer),
    ApiRoute("GET", "/3/customers/<number>", "customer", get_customer),
    ApiRoute("PUT", "/3/customers/<number>", "customer", update_customer),
    ApiRoute("DELETE", "/3/customers/<number>", "customer", delete_customer),
    ApiRoute("GET", "/3/invoices", "invoice", list_invoices),
    ApiRoute("POST", "/3/invoices", "invoice", create_invoice),
    ApiRoute("GET", "/3/invoices/<number>", "invoice", get_invoice),
    ApiRoute("PUT", "/3/invoices/<number>", "invoice", update_invoice),
    ApiRoute("PUT", "/3/invoices/<number>/bookkeep", "invoice", bookkeep_invoice),
    ApiRoute("PUT", "/3/invoices/<number>/cancel", "invoice", cancel_invoice),
    ApiRoute("PUT", "/3/invoices/<number>/credit", "invoice", credit_invoice),
    ApiRoute("PUT", "/3/invoices/<number>/externalprint", "invoice", externalprint_invoice),
    ApiRoute("GET", "/3/invoices/<number>/email", "invoice", email_invoice),
    ApiRoute("GET", "/3/orders", "order", list_orders),
    ApiRoute("POST", "/3/orders", "order", create_order),
    ApiRoute("PUT", "/3/orders/<number>", "order", update_order),
    ApiRoute("GET", "/3/orders/<number>", "order", get_order),
    ApiRoute("PUT", "/3/orders/<number>/createinvoice", "order", order_create_invoice),
    ApiRoute("GET", "/3/vouchers", "bookkeeping", list_vouchers),
    ApiRoute("POST", "/3/vouchers", "bookkeeping", create_voucher),
    ApiRoute("GET", "/3/vouchers/sublist/<series>", "bookkeeping", list_vouchers),
    ApiRoute("GET", "/3/vouchers/<series>/<int:number>", "bookkeeping", get_voucher),
    ApiRoute("GET", "/3/voucherseries", "bookkeeping", list_voucher_series),
    ApiRoute("GET", "/3/voucherseries/<code>", "bookkeeping", get_voucher_series),
    ApiRoute("GET", "/3/accounts", "bookkeeping", list_accounts),
    ApiRoute("GET", "/3/accounts/<int:number>", "bookkeeping", get_account),
    ApiRoute("GET", "/3/costcenters", "costcenter", list_cost_centers),
    ApiRoute("GET", "/3/costcenters/<code>", "costcenter", get_cost_center),
    ApiRoute("GET", "/3/projects", "project", list_projects),
    ApiRoute("GET", "/3/projects/<number>", "project", get_project),
    ApiRoute("GET", "/3/financialyears", "bookkeeping", list_financial_years),
    ApiRoute("GET", "/3/financialyears/<int:year_id>", "bookkeeping", get_financial_year),
    ApiRoute("GET", "/3/currencies", "currency", list_currencies),
    ApiRoute("GET", "/3/invoicepayments", "payment", list_payments),
    ApiRoute("POST", "/3/invoicepayments", "payment", create_payment),
    ApiRoute("GET", "/3/invoicepayments/<number>", "payment", get_payment),
    ApiRoute("PUT", "/3/invoicepayments/<number>", "payment", update_payment),
    ApiRoute("DELETE", "/3/invoicepayments/<number>", "payment", delete_payment),
    ApiRoute("POST", "/3/inbox", "inbox", upload_inbox, multipart=True),
    ApiRoute("POST", "/api/fileattachments/attachments-v1", "connectfile", attach_files),
    ApiRoute("GET", "/api/fileattachments/attachments-v1", "connectfile", list_attachments),
]
