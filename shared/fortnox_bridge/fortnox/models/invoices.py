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
TaxReductionCode = Literal["none", "rot", "rut", "green"]
InvoiceHouseWorkCode = Literal[
    "CONSTRUCTION",
    "ELECTRICITY",
    "GLASSMETALWORK",
    "GROUNDDRAINAGEWORK",
    "MASONRY",
    "PAINTINGWALLPAPERING",
    "HVAC",
    "MAJORAPPLIANCEREPAIR",
    "MOVINGSERVICES",
    "ITSERVICES",
    "CLEANING",
    "TEXTILECLOTHING",
    "SNOWPLOWING",
    "GARDENING",
    "BABYSITTING",
    "OTHERCARE",
    "OTHERCOSTS",
    "SOLARCELLS",
    "STORAGESELFPRODUCEDELECTRICITY",
    "CHARGINGSTATIONELECTRICVEHICLE",
    "HOMEMAINTENANCE",
    "FURNISHING",
    "TRANSPORTATIONSERVICES",
    "WASHINGANDCAREOFCLOTHING",
]


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
    VATCode: str | None = None
    StockPointCode: str | None = None
    HouseWork: bool | None = None
    HouseWorkType: InvoiceHouseWorkCode | None = None
    HouseWorkHoursToReport: int | None = Field(default=None, ge=0)


class EmailInformationWrite(FortnoxWrite):
    """Where and how Fortnox e-mails the document (``EmailInformation`` on invoices and orders)."""

    EmailAddressTo: str | None = None
    EmailAddressCC: str | None = None
    EmailAddressBCC: str | None = None
    EmailAddressFrom: str | None = None
    EmailSubject: str | None = Field(default=None, max_length=100)
    EmailBody: str | None = Field(default=None, max_length=20000)


class EDIInformationWrite(FortnoxWrite):
    EDIGlobalLocationNumber: str | None = Field(default=None, max_length=13)
    EDIGlobalLocationNumberDelivery: str | None = Field(default=None, max_length=13)
    EDIInvoiceExtra1: str | None = None
    EDIInvoiceExtra2: str | None = None
    EDIOurElectronicReference: str | None = None
    EDIYourElectronicReference: str | None = None


class LabelWrite(FortnoxWrite):
    Id: int


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
    CustomerName: str | None = None
    Address1: str | None = None
    Address2: str | None = None
    ZipCode: str | None = Field(default=None, max_length=1024)
    City: str | None = Field(default=None, max_length=1024)
    Country: str | None = None
    Phone1: str | None = Field(default=None, max_length=1024)
    Phone2: str | None = Field(default=None, max_length=1024)
    DeliveryName: str | None = Field(default=None, max_length=1024)
    DeliveryAddress1: str | None = Field(default=None, max_length=1024)
    DeliveryAddress2: str | None = Field(default=None, max_length=1024)
    DeliveryZipCode: str | None = Field(default=None, max_length=1024)
    DeliveryCity: str | None = Field(default=None, max_length=1024)
    DeliveryCountry: str | None = None
    TermsOfPayment: str | None = None
    TermsOfDelivery: str | None = None
    WayOfDelivery: str | None = None
    PaymentWay: str | None = None
    PriceList: str | None = None
    PrintTemplate: str | None = None
    VATIncluded: bool | None = None
    NotCompleted: bool | None = None
    EUQuarterlyReport: bool | None = None
    OutboundDate: date | None = None
    Freight: Decimal | None = None
    AdministrationFee: Decimal | None = None
    TaxReductionType: TaxReductionCode | None = None
    EmailInformation: EmailInformationWrite | None = None
    EDIInformation: EDIInformationWrite | None = None
    Labels: list[LabelWrite] | None = None
    InvoiceRows: list[InvoiceRowWrite] | None = None
