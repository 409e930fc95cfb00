from decimal import Decimal
from typing import Literal

from pydantic import Field

from fortnox_bridge.fortnox.models.base import FortnoxRead, FortnoxWrite, LenientBool, LenientStr

VatTypeCode = Literal["SEVAT", "SEREVERSEDVAT", "EUREVERSEDVAT", "EUVAT", "EXPORT"]
CustomerTypeCode = Literal["PRIVATE", "COMPANY"]


class CustomerListItem(FortnoxRead):
    url: LenientStr = Field(default=None, alias="@url")
    CustomerNumber: LenientStr = None
    Name: LenientStr = None
    OrganisationNumber: LenientStr = None
    Email: LenientStr = None
    Address1: LenientStr = None
    Address2: LenientStr = None
    ZipCode: LenientStr = None
    City: LenientStr = None
    Phone: LenientStr = None


class Customer(FortnoxRead):
    url: LenientStr = Field(default=None, alias="@url")
    CustomerNumber: LenientStr = None
    Name: LenientStr = None
    Active: LenientBool = None
    OrganisationNumber: LenientStr = None
    VATNumber: LenientStr = None
    VATType: LenientStr = None
    Type: LenientStr = None
    Email: LenientStr = None
    EmailInvoice: LenientStr = None
    EmailInvoiceCC: LenientStr = None
    EmailInvoiceBCC: LenientStr = None
    Address1: LenientStr = None
    Address2: LenientStr = None
    ZipCode: LenientStr = None
    City: LenientStr = None
    CountryCode: LenientStr = None
    Currency: LenientStr = None
    YourReference: LenientStr = None
    OurReference: LenientStr = None
    ExternalReference: LenientStr = None


class CustomerWrite(FortnoxWrite):
    """Create or update body. On update Fortnox changes only the fields sent."""

    CustomerNumber: str | None = Field(default=None, max_length=1024)
    Name: str | None = Field(default=None, min_length=1, max_length=1024)
    OrganisationNumber: str | None = None
    VATNumber: str | None = None
    VATType: VatTypeCode | None = None
    Type: CustomerTypeCode | None = None
    Email: str | None = Field(default=None, max_length=1024)
    EmailInvoice: str | None = Field(default=None, max_length=1024)
    Address1: str | None = Field(default=None, max_length=1024)
    Address2: str | None = Field(default=None, max_length=1024)
    ZipCode: str | None = Field(default=None, max_length=10)
    City: str | None = Field(default=None, max_length=1024)
    CountryCode: str | None = Field(default=None, min_length=2, max_length=2)
    Currency: str | None = Field(default=None, min_length=3, max_length=3)
    YourReference: str | None = Field(default=None, max_length=50)
    OurReference: str | None = Field(default=None, max_length=50)
    ExternalReference: str | None = Field(default=None, max_length=1024)
    Active: bool | None = None
    EmailInvoiceCC: str | None = Field(default=None, max_length=1024)
    EmailInvoiceBCC: str | None = Field(default=None, max_length=1024)
    EmailOrder: str | None = Field(default=None, max_length=1024)
    EmailOrderCC: str | None = Field(default=None, max_length=1024)
    EmailOrderBCC: str | None = Field(default=None, max_length=1024)
    EmailOffer: str | None = Field(default=None, max_length=1024)
    EmailOfferCC: str | None = Field(default=None, max_length=1024)
    EmailOfferBCC: str | None = Field(default=None, max_length=1024)
    Phone1: str | None = Field(default=None, max_length=1024)
    Phone2: str | None = Field(default=None, max_length=1024)
    Fax: str | None = Field(default=None, max_length=1024)
    WWW: str | None = Field(default=None, max_length=128)
    Comments: str | None = Field(default=None, max_length=1024)
    Country: str | None = None
    DeliveryName: str | None = Field(default=None, max_length=1024)
    DeliveryAddress1: str | None = Field(default=None, max_length=1024)
    DeliveryAddress2: str | None = Field(default=None, max_length=1024)
    DeliveryZipCode: str | None = Field(default=None, max_length=10)
    DeliveryCity: str | None = Field(default=None, max_length=1024)
    DeliveryCountry: str | None = Field(default=None, max_length=1024)
    DeliveryCountryCode: str | None = Field(default=None, min_length=2, max_length=2)
    DeliveryPhone1: str | None = Field(default=None, max_length=1024)
    DeliveryPhone2: str | None = Field(default=None, max_length=1024)
    DeliveryFax: str | None = Field(default=None, max_length=1024)
    VisitingAddress: str | None = Field(default=None, max_length=128)
    VisitingZipCode: str | None = Field(default=None, max_length=10)
    VisitingCity: str | None = Field(default=None, max_length=128)
    VisitingCountry: str | None = Field(default=None, max_length=128)
    VisitingCountryCode: str | None = Field(default=None, min_length=2, max_length=2)
    GLN: str | None = Field(default=None, max_length=13)
    GLNDelivery: str | None = Field(default=None, max_length=13)
    InvoiceRemark: str | None = Field(default=None, max_length=1024)
    InvoiceDiscount: Decimal | None = None
    InvoiceAdministrationFee: str | None = None
    InvoiceFreight: str | None = None
    ShowPriceVATIncluded: bool | None = None
    TermsOfPayment: str | None = None
    TermsOfDelivery: str | None = None
    WayOfDelivery: str | None = None
    PriceList: str | None = None
    SalesAccount: str | None = Field(default=None, max_length=4)
    CostCenter: str | None = None
    Project: str | None = None
