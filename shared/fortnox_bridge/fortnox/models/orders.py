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
from fortnox_bridge.fortnox.models.invoices import (
    DiscountTypeCode,
    EmailInformationWrite,
    LabelWrite,
    LanguageCode,
    TaxReductionCode,
)

OrderHouseWorkCode = Literal[
    "CONSTRUCTION",
    "ELECTRICITY",
    "GLASSMETALWORK",
    "GROUNDDRAINAGEWORK",
    "MASONRY",
    "PAINTINGWALLPAPERING",
    "MOVINGSERVICES",
    "ITSERVICES",
    "CLEANING",
    "TEXTILECLOTHING",
    "SNOWPLOWING",
    "GARDENING",
    "BABYSITTING",
    "OTHERCARE",
    "OTHERCOSTS",
]
"""The order schema's own list, shorter than the invoice's (openapi.json fortnox_Order_OrderRow)."""
DeliveryStateCode = Literal["registration", "reservation", "delivery"]


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
    Unit: str | None = None
    Discount: Decimal | None = None
    DiscountType: DiscountTypeCode | None = None
    VATCode: str | None = None
    RowId: int | None = None
    StockPointCode: str | None = None
    StockPointId: str | None = None
    HouseWork: bool | None = None
    HouseWorkType: OrderHouseWorkCode | None = None
    HouseWorkHoursToReport: int | None = Field(default=None, ge=0)


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
    Comments: str | None = None
    CostCenter: str | None = None
    Project: str | None = None
    CustomerName: str | None = None
    OrganisationNumber: str | None = None
    Address1: str | None = None
    Address2: str | None = None
    ZipCode: str | None = None
    City: str | None = None
    Country: str | None = None
    Phone1: str | None = None
    Phone2: str | None = None
    DeliveryName: str | None = None
    DeliveryAddress1: str | None = None
    DeliveryAddress2: str | None = None
    DeliveryZipCode: str | None = None
    DeliveryCity: str | None = None
    DeliveryCountry: str | None = None
    DeliveryState: DeliveryStateCode | None = None
    CurrencyUnit: Decimal | None = None
    TermsOfPayment: str | None = None
    TermsOfDelivery: str | None = None
    WayOfDelivery: str | None = None
    PriceList: str | None = None
    PrintTemplate: str | None = None
    OrderType: str | None = None
    VATIncluded: bool | None = None
    NotCompleted: bool | None = None
    OutboundDate: date | None = None
    Freight: Decimal | None = None
    AdministrationFee: Decimal | None = None
    TaxReductionType: TaxReductionCode | None = None
    EmailInformation: EmailInformationWrite | None = None
    Labels: list[LabelWrite] | None = None
    OrderRows: list[OrderRowWrite] | None = None
