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
    Quantity,
)
from fortnox_bridge.fortnox.models.invoices import LanguageCode


class OrderRow(FortnoxRead):
    RowId: LenientInt = None
    AccountNumber: LenientInt = None
    ArticleNumber: LenientStr = None
    Description: LenientStr = None
    OrderedQuantity: LenientDecimal = None
    DeliveredQuantity: LenientDecimal = None
    Price: LenientDecimal = None
    VAT: LenientDecimal = None
    CostCenter: LenientStr = None
    Project: LenientStr = None
    Total: LenientDecimal = None


class Order(FortnoxRead):
    url: LenientStr = Field(default=None, alias="@url")
    DocumentNumber: LenientStr = None
    CustomerNumber: LenientStr = None
    OrderDate: LenientDate = None
    Currency: LenientStr = None
    CurrencyRate: LenientDecimal = None
    Remarks: LenientStr = None
    ExternalInvoiceReference1: LenientStr = None
    InvoiceReference: LenientStr = None
    Cancelled: LenientBool = None
    Total: LenientDecimal = None
    OrderRows: list[OrderRow] = Field(default_factory=list)


class OrderListItem(FortnoxRead):
    url: LenientStr = Field(default=None, alias="@url")
    DocumentNumber: LenientStr = None
    CustomerNumber: LenientStr = None
    OrderDate: LenientDate = None
    ExternalInvoiceReference1: LenientStr = None
    Cancelled: LenientBool = None
    Total: LenientDecimal = None


class OrderRowWrite(FortnoxWrite):
    AccountNumber: int | None = Field(default=None, ge=1000, le=9999)
    ArticleNumber: str | None = None
    Description: str | None = None
    OrderedQuantity: Quantity | None = None
    DeliveredQuantity: Quantity | None = None
    Price: Decimal | None = None
    VAT: Decimal | None = None
    CostCenter: str | None = None
    Project: str | None = None


class OrderWrite(FortnoxWrite):
    CustomerNumber: str | None = None
    OrderDate: date | None = None
    DeliveryDate: date | None = None
    Currency: str | None = Field(default=None, min_length=3, max_length=3)
    CurrencyRate: Decimal | None = None
    Language: LanguageCode | None = None
    Remarks: str | None = Field(default=None, max_length=1024)
    CopyRemarks: bool | None = None
    YourReference: str | None = Field(default=None, max_length=50)
    OurReference: str | None = Field(default=None, max_length=50)
    YourOrderNumber: str | None = Field(default=None, max_length=75)
    ExternalInvoiceReference1: str | None = None
    ExternalInvoiceReference2: str | None = None
    OrderRows: list[OrderRowWrite] | None = None
