from datetime import date
from decimal import Decimal
from typing import Literal

from pydantic import Field

from fortnox_bridge.fortnox.models.base import (
    FortnoxRead,
    FortnoxWrite,
    LenientBool,
    LenientDate,
    LenientDecimal,
    LenientInt,
    LenientStr,
    Quantity,
)

InvoiceTypeCode = Literal["INVOICE", "AGREEMENTINVOICE", "INTRESTINVOICE", "SUMMARYINVOICE", "CASHINVOICE"]
"""Fortnox spells the interest invoice type ``INTRESTINVOICE``, without the second E."""
LanguageCode = Literal["SV", "EN"]
DiscountTypeCode = Literal["AMOUNT", "PERCENT"]


class InvoiceRow(FortnoxRead):
    RowId: LenientInt = None
    AccountNumber: LenientInt = None
    ArticleNumber: LenientStr = None
    Description: LenientStr = None
    DeliveredQuantity: LenientDecimal = None
    Price: LenientDecimal = None
    Discount: LenientDecimal = None
    DiscountType: LenientStr = None
    VAT: LenientDecimal = None
    CostCenter: LenientStr = None
    Project: LenientStr = None
    Unit: LenientStr = None
    Total: LenientDecimal = None


class Invoice(FortnoxRead):
    url: LenientStr = Field(default=None, alias="@url")
    DocumentNumber: LenientStr = None
    CustomerNumber: LenientStr = None
    CustomerName: LenientStr = None
    InvoiceType: LenientStr = None
    InvoiceDate: LenientDate = None
    DueDate: LenientDate = None
    Currency: LenientStr = None
    CurrencyRate: LenientDecimal = None
    CurrencyUnit: LenientDecimal = None
    Language: LenientStr = None
    Remarks: LenientStr = None
    Comments: LenientStr = None
    YourReference: LenientStr = None
    OurReference: LenientStr = None
    YourOrderNumber: LenientStr = None
    ExternalInvoiceReference1: LenientStr = None
    ExternalInvoiceReference2: LenientStr = None
    OCR: LenientStr = None
    Booked: LenientBool = None
    Cancelled: LenientBool = None
    Sent: LenientBool = None
    Credit: LenientBool = None
    CreditInvoiceReference: LenientStr = None
    InvoiceReference: LenientStr = None
    OrderReference: LenientStr = None
    Net: LenientDecimal = None
    TotalVAT: LenientDecimal = None
    RoundOff: LenientDecimal = None
    Total: LenientDecimal = None
    TotalToPay: LenientDecimal = None
    Balance: LenientDecimal = None
    FinalPayDate: LenientDate = None
    VoucherNumber: LenientInt = None
    VoucherSeries: LenientStr = None
    VoucherYear: LenientInt = None
    InvoiceRows: list[InvoiceRow] = Field(default_factory=list)

    @property
    def is_booked(self) -> bool:
        return bool(self.Booked)


class InvoiceListItem(FortnoxRead):
    url: LenientStr = Field(default=None, alias="@url")
    DocumentNumber: LenientStr = None
    CustomerNumber: LenientStr = None
    CustomerName: LenientStr = None
    InvoiceType: LenientStr = None
    InvoiceDate: LenientDate = None
    DueDate: LenientDate = None
    Currency: LenientStr = None
    ExternalInvoiceReference1: LenientStr = None
    ExternalInvoiceReference2: LenientStr = None
    OCR: LenientStr = None
    Booked: LenientBool = None
    Cancelled: LenientBool = None
    Sent: LenientBool = None
    Total: LenientDecimal = None
    Balance: LenientDecimal = None
    FinalPayDate: LenientDate = None


class InvoiceRowWrite(FortnoxWrite):
    AccountNumber: int | None = Field(default=None, ge=1000, le=9999)
    ArticleNumber: str | None = None
    Description: str | None = Field(default=None, max_length=255)
    DeliveredQuantity: Quantity | None = None
    Price: Decimal | None = None
    Discount: Decimal | None = None
    DiscountType: DiscountTypeCode | None = None
    VAT: int | None = Field(default=None, ge=0, le=100)
    CostCenter: str | None = None
    Project: str | None = None
    Unit: str | None = None
    RowId: int | None = None


class InvoiceWrite(FortnoxWrite):
    """``fortnox_InvoicePayload``: the body of a create or an update."""

    CustomerNumber: str | None = None
    DocumentNumber: str | None = None
    InvoiceType: InvoiceTypeCode | None = None
    InvoiceDate: date | None = None
    DueDate: date | None = None
    DeliveryDate: date | None = None
    Currency: str | None = Field(default=None, min_length=3, max_length=3)
    CurrencyRate: Decimal | None = None
    CurrencyUnit: Decimal | None = None
    Language: LanguageCode | None = None
    Remarks: str | None = Field(default=None, max_length=1024)
    Comments: str | None = Field(default=None, max_length=1024)
    YourReference: str | None = Field(default=None, max_length=50)
    OurReference: str | None = Field(default=None, max_length=50)
    YourOrderNumber: str | None = Field(default=None, max_length=75)
    ExternalInvoiceReference1: str | None = Field(default=None, max_length=80)
    ExternalInvoiceReference2: str | None = Field(default=None, max_length=80)
    OCR: str | None = None
    CostCenter: str | None = None
    Project: str | None = None
    CreditInvoiceReference: str | None = None
    InvoiceRows: list[InvoiceRowWrite] | None = None
