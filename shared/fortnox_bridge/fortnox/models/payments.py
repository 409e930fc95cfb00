from datetime import date
from decimal import Decimal

from pydantic import Field

from fortnox_bridge.fortnox.models.base import (
    FortnoxRead,
    FortnoxWrite,
    LenientBool,
    LenientDate,
    LenientDecimal,
    LenientInt,
    LenientStr,
)


class _PaymentFields(FortnoxRead):
    url: LenientStr = Field(default=None, alias="@url")
    Number: LenientStr = None
    InvoiceNumber: LenientInt = None
    Amount: LenientDecimal = None
    Booked: LenientBool = None
    Currency: LenientStr = None
    CurrencyRate: LenientDecimal = None
    CurrencyUnit: LenientDecimal = None
    PaymentDate: LenientDate = None
    Source: LenientStr = None


class InvoicePaymentListItem(_PaymentFields):
    WriteOffExist: LenientBool = None


class InvoicePayment(_PaymentFields):
    AmountCurrency: LenientDecimal = None
    ExternalInvoiceReference1: LenientStr = None
    ExternalInvoiceReference2: LenientStr = None
    InvoiceCustomerName: LenientStr = None
    InvoiceCustomerNumber: LenientStr = None
    InvoiceDueDate: LenientDate = None
    InvoiceOCR: LenientStr = None
    InvoiceTotal: LenientDecimal = None
    ModeOfPayment: LenientStr = None
    ModeOfPaymentAccount: LenientInt = None
    VoucherNumber: LenientInt = None
    VoucherSeries: LenientStr = None
    VoucherYear: LenientInt = None


class InvoicePaymentWrite(FortnoxWrite):
    InvoiceNumber: int
    Amount: Decimal
    AmountCurrency: Decimal | None = None
    CurrencyRate: Decimal | None = None
    PaymentDate: date | None = None
    ModeOfPayment: str | None = None
    ModeOfPaymentAccount: int | None = Field(default=None, ge=1000, le=9999)
