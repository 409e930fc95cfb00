"""Accounts, cost centres, projects, currencies, company information and the locked period."""

from datetime import date
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
)

ProjectStatusCode = Literal["NOTSTARTED", "ONGOING", "COMPLETED"]


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
    ProjectLeader: LenientStr = None
    ContactPerson: LenientStr = None
    Comments: LenientStr = None


class ProjectWrite(FortnoxWrite):
    """Create or update body (openapi.json fortnox_Project); on update Fortnox changes only the fields sent."""

    ProjectNumber: str | None = Field(default=None, max_length=20)
    Description: str | None = Field(default=None, min_length=1, max_length=50)
    Status: ProjectStatusCode | None = None
    StartDate: date | None = None
    EndDate: date | None = None
    ProjectLeader: str | None = Field(default=None, max_length=50)
    ContactPerson: str | None = Field(default=None, max_length=50)
    Comments: str | None = Field(default=None, max_length=512)


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
