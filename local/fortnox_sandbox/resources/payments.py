"""Invoice payments (/3/invoicepayments): create, change and delete, and how they settle the invoice's balance."""

from decimal import Decimal

from werkzeug.wrappers import Response

from fortnox_sandbox import codes
from fortnox_sandbox.errors import ApiError
from fortnox_sandbox.http_util import ApiContext, ApiRoute, host, one, wrapped
from fortnox_sandbox.listing import exact, matching, modified_since, only_status, page, sort
from fortnox_sandbox.money import amount, cents
from fortnox_sandbox.records import lookup, parse_date, touch
from fortnox_sandbox.resources.invoices import find_invoice_on_write
from fortnox_sandbox.state import Company, Record, SandboxState


def _payment_effect(payment: Record) -> Decimal:
    return amount(payment["AmountCurrency"]) if payment["Currency"] != "SEK" else amount(payment["Amount"])


def _settle(state: SandboxState, invoice: Record, delta: Decimal, day: str | None) -> None:
    invoice["_paid"] = invoice.get("_paid", Decimal(0)) + delta
    invoice["Balance"] = invoice["Total"] - invoice["_paid"]
    invoice["FinalPayDate"] = day if invoice["Balance"] == 0 else None
    touch(state, invoice)


def _invoice_number(payload: Record) -> str:
    try:
        return str(int(payload.get("InvoiceNumber")))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ApiError(codes.FIELD_REQUIRED, field="InvoiceNumber") from None


def create_payment(state: SandboxState, company: Company, payload: Record, *, source: str, host: str) -> Record:
    invoice_number = _invoice_number(payload)
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
        parse_date(payload["PaymentDate"], "PaymentDate").isoformat()
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
    company.payments[number] = touch(state, payment)
    _settle(state, invoice, _payment_effect(payment), day)
    return payment


def find_payment(company: Company, number: str) -> Record:
    return lookup(company.payments, number, codes.PAYMENT_NOT_FOUND)


def _moved_to(company: Company, payment: Record, payload: Record) -> Record | None:
    """The invoice a PUT moves the payment to: ``InvoiceNumber`` is writable in the spec's InvoicePayment, so a
    payment registered on the wrong invoice is moved rather than deleted and registered again. The target must be
    booked and in the payment's currency."""
    if payload.get("InvoiceNumber") in (None, "") or _invoice_number(payload) == str(payment["InvoiceNumber"]):
        return None
    target = find_invoice_on_write(company, _invoice_number(payload))
    if not target["Booked"]:
        raise ApiError(codes.INVOICE_NOT_BOOKED, number=target["DocumentNumber"])
    if target["Currency"] != payment["Currency"]:
        raise ApiError(codes.INVALID_PARAMETER, field="InvoiceNumber")
    return target


def _move(payment: Record, target: Record) -> None:
    payment["InvoiceNumber"] = int(target["DocumentNumber"])
    payment["ExternalInvoiceReference1"] = target["ExternalInvoiceReference1"]
    payment["ExternalInvoiceReference2"] = target["ExternalInvoiceReference2"]
    payment["InvoiceCustomerName"] = target["CustomerName"]
    payment["InvoiceCustomerNumber"] = target["CustomerNumber"]
    payment["InvoiceDueDate"] = target["DueDate"]
    payment["InvoiceOCR"] = target["OCR"]
    payment["InvoiceTotal"] = str(target["Total"])


def update_payment(state: SandboxState, company: Company, number: str, payload: Record) -> Record:
    payment = find_payment(company, number)
    if payment["Booked"]:
        raise ApiError(codes.PAYMENT_BOOKED)
    invoice = company.invoices[str(payment["InvoiceNumber"])]
    target = _moved_to(company, payment, payload)
    before = _payment_effect(payment)
    if target is not None:
        _settle(state, invoice, -before, None)
        _move(payment, target)
        invoice, before = target, Decimal(0)
    if payload.get("Amount") not in (None, ""):
        payment["Amount"] = cents(amount(payload["Amount"]))
        payment["AmountCurrency"] = cents(
            amount(payload.get("AmountCurrency") or payment["Amount"] / amount(payment["CurrencyRate"], "1"))
        )
    if payload.get("PaymentDate"):
        payment["PaymentDate"] = parse_date(payload["PaymentDate"], "PaymentDate").isoformat()
    touch(state, payment)
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


# -- routes --------------------------------------------------------------------------------------------------------
def _list_payments(ctx: ApiContext) -> Response:
    """Sorted on payment date (developer.fortnox.se invoice-payments); the spec's search parameters are
    ``invoicenumber`` (exact) and ``lastmodified``, its only sort ``paymentdate``, and it has no ``filter``."""
    rows = sorted(ctx.company.payments.values(), key=_by_payment_date)
    rows = modified_since(ctx, matching(ctx, only_status(ctx, rows, {}), {"invoicenumber": "InvoiceNumber"}, exact))
    rows = sort(ctx, rows, {"paymentdate": _by_payment_date})
    return page(ctx, "InvoicePayments", [payment_list_item(row) for row in rows])


def _by_payment_date(payment: Record) -> tuple[str, int]:
    return str(payment["PaymentDate"]), int(payment["Number"])


def _get_payment(ctx: ApiContext, number: str) -> Response:
    return one("InvoicePayment", find_payment(ctx.company, number))


def _create_payment(ctx: ApiContext) -> Response:
    payment = create_payment(
        ctx.state, ctx.company, wrapped(ctx.request, "InvoicePayment"), source="manual", host=host(ctx)
    )
    return one("InvoicePayment", payment, 201)


def _update_payment(ctx: ApiContext, number: str) -> Response:
    return one(
        "InvoicePayment",
        update_payment(ctx.state, ctx.company, number, wrapped(ctx.request, "InvoicePayment")),
    )


def _delete_payment(ctx: ApiContext, number: str) -> Response:
    delete_payment(ctx.state, ctx.company, number)
    return Response(status=204)


ROUTES: list[ApiRoute] = [
    ApiRoute("GET", "/3/invoicepayments", "payment", _list_payments),
    ApiRoute("POST", "/3/invoicepayments", "payment", _create_payment),
    ApiRoute("GET", "/3/invoicepayments/<number>", "payment", _get_payment),
    ApiRoute("PUT", "/3/invoicepayments/<number>", "payment", _update_payment),
    ApiRoute("DELETE", "/3/invoicepayments/<number>", "payment", _delete_payment),
]
