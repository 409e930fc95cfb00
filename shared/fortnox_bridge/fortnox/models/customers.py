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
