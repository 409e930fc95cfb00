"""Orders (/3/orders): create, update, turn into an invoice, and the order list shape."""

from collections.abc import Callable
from datetime import date
from typing import Any

from werkzeug.wrappers import Response

from fortnox_sandbox import codes
from fortnox_sandbox.errors import ApiError
from fortnox_sandbox.http_util import ApiContext, ApiRoute, check_length, host, one, wrapped
from fortnox_sandbox.listing import any_case, exact, flagged, matching, modified_since, only_status, page, sort, within
from fortnox_sandbox.money import amount, totals
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
from fortnox_sandbox.resources.invoices import create_invoice
from fortnox_sandbox.state import Company, Record, SandboxState

ORDER_LIMITS = {"Remarks": 1024, "Comments": 1024, "YourReference": 50, "OurReference": 50, "YourOrderNumber": 75}


def _order_rows(company: Company, sent: list[Record], reduction: str, day: date) -> list[Record]:
    check_housework(reduction, sent)
    rows = prepare_rows(company, sent, day, kind="order")
    number_rows(company, rows, kind="order")
    return rows


def _order_number(company: Company, chosen: Any) -> str:
    """The number the caller chose, if free, or the next in the series (as invoices are numbered)."""
    if chosen in (None, ""):
        return str(company.next_number("order", set(company.orders)))
    number = str(chosen)
    if not number.isdigit():
        raise ApiError(codes.NOT_NUMERIC, field="DocumentNumber")
    if number in company.orders:
        raise ApiError(codes.DOCUMENT_NUMBER_USED, number=number)
    return number


def create_order(state: SandboxState, company: Company, payload: Record, *, host: str) -> Record:
    customer = company.customers.get(str(payload.get("CustomerNumber") or ""))
    if customer is None:
        raise ApiError(codes.CUSTOMER_NOT_FOUND_ON_WRITE)
    check_length(payload, ORDER_LIMITS)
    currency = payload.get("Currency") or customer.get("Currency") or "SEK"
    if currency not in company.currencies:
        raise ApiError(codes.CURRENCY_NOT_FOUND)
    order_date = document_date(payload, "OrderDate", state.today())
    rows = _order_rows(
        company, list(payload.get("OrderRows") or []), payload.get("TaxReductionType") or "none", order_date
    )
    number = _order_number(company, payload.get("DocumentNumber"))
    order: Record = {
        **document_header(customer, payload, kind="order", number=number, host=host, day=order_date),
        "CopyRemarks": bool(payload.get("CopyRemarks", False)),
        "Currency": currency,
        "CurrencyRate": plain_number(amount(company.currencies[currency]["SellRate"])),
        "DeliveryState": "delivery",
        "OrderDate": order_date.isoformat(),
        "OrderRows": rows,
        "OrderType": "Order",
        "StockPointCode": None,
        "StockPointId": None,
    }
    apply_header(order, {key: payload[key] for key in ("CurrencyRate", "CurrencyUnit") if key in payload})
    _apply_totals(order)
    company.orders[number] = touch(state, order)
    return order


def _apply_totals(order: Record) -> None:
    figures = totals(order["OrderRows"], order["Currency"])
    order.update(figures)
    order["TotalToPay"] = figures["Total"]


def order_list_item(order: Record) -> Record:
    """The list item as recorded (orders/all.yml): 14 keys."""
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
        "OrderType",
        "Project",
        "Sent",
        "Total",
    )
    return {field: order.get(field) for field in fields}


def _check_changeable(order: Record, number: str) -> None:
    if order["InvoiceReference"] not in ("0", ""):
        raise ApiError(codes.ORDER_ALREADY_INVOICED, number=number)
    if order["Cancelled"]:
        raise ApiError(codes.INVALID_VALUE, field="Cancelled")


def update_order(state: SandboxState, company: Company, number: str, payload: Record) -> Record:
    """An order can change until it is invoiced or cancelled; rows are replaced when sent."""
    order = lookup(company.orders, number, codes.ORDER_NOT_FOUND)
    _check_changeable(order, number)
    check_length(payload, ORDER_LIMITS)
    if payload.get("Currency") is not None and payload["Currency"] not in company.currencies:
        raise ApiError(codes.CURRENCY_NOT_FOUND)
    reduction = payload.get("TaxReductionType") or order["TaxReductionType"]
    if "OrderRows" in payload:
        order["OrderRows"] = _order_rows(
            company, list(payload["OrderRows"] or []), reduction, date.fromisoformat(order["OrderDate"])
        )
    elif "TaxReductionType" in payload:
        check_housework(reduction, order["OrderRows"])
    if payload.get("OrderDate"):
        order["OrderDate"] = parse_date(payload["OrderDate"], "OrderDate").isoformat()
    if "CopyRemarks" in payload:
        order["CopyRemarks"] = bool(payload["CopyRemarks"])
    apply_header(order, payload)
    _apply_totals(order)
    return touch(state, order)


def cancel_order(state: SandboxState, company: Company, number: str) -> Record:
    """``PUT /3/orders/{n}/cancel``: an order not yet invoiced becomes cancelled (orders/all.yml shows two)."""
    order = lookup(company.orders, number, codes.ORDER_NOT_FOUND)
    _check_changeable(order, number)
    order["Cancelled"] = True
    return touch(state, order)


def invoice_from_order(state: SandboxState, company: Company, number: str, *, host: str) -> Record:
    order = lookup(company.orders, number, codes.ORDER_NOT_FOUND)
    _check_changeable(order, number)
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
                "HouseWork",
                "HouseWorkHoursToReport",
                "HouseWorkType",
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
            "TaxReductionType": order["TaxReductionType"],
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
# Search parameters of GET /3/orders (openapi.json list_26). Identifiers match whole, free text case-insensitively
# anywhere: customername="A customer" (orders/search_by_name.yml), ourreference with yourreference
# (multi_param_find_by_hash.yml).
ORDER_EXACT = {
    "documentnumber": "DocumentNumber",
    "customernumber": "CustomerNumber",
    "costcenter": "CostCenter",
    "project": "Project",
    "label": "Labels",
    "ordertype": "OrderType",
}
ORDER_SEARCH = {
    "customername": "CustomerName",
    "ourreference": "OurReference",
    "yourreference": "YourReference",
    "externalinvoicereference1": "ExternalInvoiceReference1",
    "externalinvoicereference2": "ExternalInvoiceReference2",
}
ORDER_FLAGS = {"sent": "Sent", "notcompleted": "NotCompleted"}
ORDER_SORT: dict[str, Callable[[Record], Any]] = {
    "customername": lambda row: row["CustomerName"],
    "customernumber": lambda row: row["CustomerNumber"],
    "orderdate": lambda row: row["OrderDate"],
    "documentnumber": lambda row: int(row["DocumentNumber"]),
    "total": lambda row: row["Total"],
}


def _invoiced(row: Record) -> bool:
    return row["InvoiceReference"] not in ("0", "")


def _status_filters(today: str) -> dict[str, Callable[[Record], bool]]:
    return {
        "cancelled": lambda row: bool(row["Cancelled"]),
        # An open order whose delivery date has passed.
        "expired": lambda row: (
            not row["Cancelled"] and not _invoiced(row) and bool(row["DeliveryDate"]) and row["DeliveryDate"] < today
        ),
        "invoicecreated": _invoiced,
        "invoicenotcreated": lambda row: not _invoiced(row),
    }


def _list_orders(ctx: ApiContext) -> Response:
    rows = sorted(ctx.company.orders.values(), key=lambda row: int(row["DocumentNumber"]))
    rows = only_status(ctx, rows, _status_filters(ctx.state.today().isoformat()))
    rows = matching(ctx, rows, ORDER_EXACT, exact)
    rows = matching(ctx, rows, ORDER_SEARCH, any_case)
    rows = flagged(ctx, rows, ORDER_FLAGS)
    rows = within(ctx, rows, "OrderDate", since="fromdate", until="todate")
    rows = sort(ctx, modified_since(ctx, rows), ORDER_SORT)
    return page(ctx, "Orders", [order_list_item(row) for row in rows])


def _cancel_order(ctx: ApiContext, number: str) -> Response:
    return one("Order", cancel_order(ctx.state, ctx.company, number))


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
    ApiRoute("PUT", "/3/orders/<number>/cancel", "order", _cancel_order),
]
