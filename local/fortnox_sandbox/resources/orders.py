"""Orders (/3/orders): create, update, turn into an invoice, and the order list shape."""

from datetime import date

from werkzeug.wrappers import Response

from fortnox_sandbox import codes
from fortnox_sandbox.errors import ApiError
from fortnox_sandbox.http_util import ApiContext, ApiRoute, check_length, host, one, wrapped
from fortnox_sandbox.listing import exact, matching, page, substring
from fortnox_sandbox.money import amount, totals
from fortnox_sandbox.records import lookup, touch
from fortnox_sandbox.resources.documents import document_date, number_rows, prepare_rows
from fortnox_sandbox.resources.invoices import create_invoice
from fortnox_sandbox.state import Company, Record, SandboxState


def create_order(state: SandboxState, company: Company, payload: Record, *, host: str) -> Record:
    customer = company.customers.get(str(payload.get("CustomerNumber") or ""))
    if customer is None:
        raise ApiError(codes.CUSTOMER_NOT_FOUND_ON_WRITE)
    check_length(payload, {"Remarks": 1024, "YourReference": 50, "OurReference": 50, "YourOrderNumber": 75})
    currency = payload.get("Currency") or customer.get("Currency") or "SEK"
    if currency not in company.currencies:
        raise ApiError(codes.CURRENCY_NOT_FOUND)
    order_date = document_date(payload, "OrderDate", state.today())
    raw_rows = list(payload.get("OrderRows") or [])
    rows = prepare_rows(
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
    number_rows(company, rows)
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
    company.orders[number] = touch(state, order)
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
    order = lookup(company.orders, number, codes.ORDER_NOT_FOUND)
    if order["InvoiceReference"] not in ("0", ""):
        raise ApiError(codes.ORDER_ALREADY_INVOICED, number=number)
    if order["Cancelled"]:
        raise ApiError(codes.INVALID_VALUE, field="Cancelled")
    check_length(payload, {"Remarks": 1024, "YourReference": 50, "OurReference": 50, "YourOrderNumber": 75})
    if "OrderRows" in payload:
        raw_rows = list(payload["OrderRows"] or [])
        rows = prepare_rows(
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
        number_rows(company, rows)
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
    return touch(state, order)


def invoice_from_order(state: SandboxState, company: Company, number: str, *, host: str) -> Record:
    order = lookup(company.orders, number, codes.ORDER_NOT_FOUND)
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
    touch(state, order)
    return invoice


def find_order(company: Company, number: str) -> Record:
    return lookup(company.orders, number, codes.ORDER_NOT_FOUND)


# -- routes --------------------------------------------------------------------------------------------------------
def _list_orders(ctx: ApiContext) -> Response:
    rows = sorted(ctx.company.orders.values(), key=lambda row: int(row["DocumentNumber"]))
    status = ctx.arg("filter")
    if status not in (None, "cancelled", "expired", "invoicecreated", "invoicenotcreated"):
        raise ApiError(codes.INVALID_FILTER)
    invoiced = {"invoicecreated": True, "invoicenotcreated": False}.get(status or "")
    if invoiced is not None:
        rows = [row for row in rows if (row["InvoiceReference"] not in ("0", "")) == invoiced]
    if status == "cancelled":
        rows = [row for row in rows if row["Cancelled"]]
    rows = matching(ctx, rows, {"documentnumber": "DocumentNumber"}, exact)
    rows = matching(
        ctx,
        rows,
        {
            "externalinvoicereference1": "ExternalInvoiceReference1",
            "externalinvoicereference2": "ExternalInvoiceReference2",
        },
        substring,
    )
    return page(ctx, "Orders", [order_list_item(row) for row in rows])


def _update_order(ctx: ApiContext, number: str) -> Response:
    return one("Order", update_order(ctx.state, ctx.company, number, wrapped(ctx.request, "Order")))


def _get_order(ctx: ApiContext, number: str) -> Response:
    return one("Order", find_order(ctx.company, number))


def _create_order(ctx: ApiContext) -> Response:
    return one(
        "Order",
        create_order(ctx.state, ctx.company, wrapped(ctx.request, "Order"), host=host(ctx)),
        201,
    )


def _order_create_invoice(ctx: ApiContext, number: str) -> Response:
    return one("Invoice", invoice_from_order(ctx.state, ctx.company, number, host=host(ctx)))


ROUTES: list[ApiRoute] = [
    ApiRoute("GET", "/3/orders", "order", _list_orders),
    ApiRoute("POST", "/3/orders", "order", _create_order),
    ApiRoute("PUT", "/3/orders/<number>", "order", _update_order),
    ApiRoute("GET", "/3/orders/<number>", "order", _get_order),
    ApiRoute("PUT", "/3/orders/<number>/createinvoice", "order", _order_create_invoice),
]
