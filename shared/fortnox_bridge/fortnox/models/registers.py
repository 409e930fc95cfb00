"""Accounts, cost centres, projects, currencies, company information and the locked period."""

from pydantic import Field

from fortnox_bridge.fortnox.models.base import (
    FortnoxRead,
    LenientBool,
    LenientDate,
    LenientDecimal,
    LenientInt,
    LenientStr,
)


class Account(FortnoxRead):
    url: LenientStr = Field(default=None, alias="@url")
    Number: LenientInt = None
    Description: LenientStr = None
    Active: LenientBool = None
    Year: LenientInt = None
    VATCode: LenientStr = None
    SRU: LenientInt = None
    CostCenterSettings: LenientStr = None
    ProjectSettings: LenientStr = None


class CostCenter(FortnoxRead):
    url: LenientStr = Field(default=None, alias="@url")
    Code: LenientStr = None
    Description: LenientStr = None
    Active: LenientBool = None
    Note: LenientStr = None


class Project(FortnoxRead):
    url: LenientStr = Field(default=None, alias="@url")
    ProjectNumber: LenientStr = None
    Description: LenientStr = None
    Status: LenientStr = None
    StartDate: LenientDate = None
    EndDate: LenientDate = None


class Currency(FortnoxRead):
    url: LenientStr = Field(default=None, alias="@url")
    Code: LenientStr = None
    Description: LenientStr = None
    BuyRate: LenientDecimal = None
    SellRate: LenientDecimal = None
    Unit: LenientDecimal = None
    Date: LenientDate = None
    IsAutomatic: LenientBool = None


class CompanyInformation(FortnoxRead):
    CompanyName: LenientStr = None
    OrganizationNumber: LenientStr = None
    DatabaseNumber: LenientInt = None
    Address: LenientStr = None
    ZipCode: LenientStr = None
    City: LenientStr = None
    CountryCode: LenientStr = None


class LockedPeriod(FortnoxRead):
    EndDate: LenientDate = None
