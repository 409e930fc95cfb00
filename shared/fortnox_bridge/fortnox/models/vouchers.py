from datetime import date
from decimal import Decimal
from typing import Literal

from pydantic import Field, model_validator

from fortnox_bridge.fortnox.models.base import (
    FortnoxRead,
    FortnoxWrite,
    LenientBool,
    LenientDate,
    LenientDecimal,
    LenientInt,
    LenientStr,
)

ReferenceTypeCode = Literal[
    "INVOICE", "SUPPLIERINVOICE", "INVOICEPAYMENT", "SUPPLIERPAYMENT", "MANUAL", "CASHINVOICE", "ACCRUAL"
]


class VoucherRow(FortnoxRead):
    Account: LenientInt = None
    Debit: LenientDecimal = None
    Credit: LenientDecimal = None
    Description: LenientStr = None
    CostCenter: LenientStr = None
    Project: LenientStr = None
    TransactionInformation: LenientStr = None
    Quantity: LenientDecimal = None
    Removed: LenientBool = None


class Voucher(FortnoxRead):
    url: LenientStr = Field(default=None, alias="@url")
    VoucherSeries: LenientStr = None
    VoucherNumber: LenientInt = None
    Year: LenientInt = None
    Description: LenientStr = None
    Comments: LenientStr = None
    TransactionDate: LenientDate = None
    ReferenceNumber: LenientStr = None
    ReferenceType: LenientStr = None
    CostCenter: LenientStr = None
    Project: LenientStr = None
    VoucherRows: list[VoucherRow] = Field(default_factory=list)


class VoucherListItem(FortnoxRead):
    url: LenientStr = Field(default=None, alias="@url")
    VoucherSeries: LenientStr = None
    VoucherNumber: LenientInt = None
    Year: LenientInt = None
    Description: LenientStr = None
    TransactionDate: LenientDate = None
    ReferenceNumber: LenientStr = None
    ReferenceType: LenientStr = None


class VoucherRowWrite(FortnoxWrite):
    Account: int = Field(ge=1000, le=9999)
    Debit: Decimal = Decimal(0)
    Credit: Decimal = Decimal(0)
    Description: str | None = None
    CostCenter: str | None = None
    Project: str | None = None
    TransactionInformation: str | None = Field(default=None, max_length=100)
    Quantity: Decimal | None = None

    @model_validator(mode="after")
    def _one_side(self) -> "VoucherRowWrite":
        if self.Debit < 0 or self.Credit < 0:
            raise ValueError("debit and credit are never negative")
        return self


class VoucherWrite(FortnoxWrite):
    """A voucher to create. ``Year`` is read-only in practice (the ``financialyear`` query picks the year)."""

    Description: str = Field(min_length=1, max_length=200)
    TransactionDate: date
    VoucherSeries: str = Field(min_length=1, max_length=10)
    Comments: str | None = Field(default=None, max_length=1000)
    ReferenceNumber: str | None = None
    ReferenceType: ReferenceTypeCode | None = None
    CostCenter: str | None = None
    Project: str | None = None
    VoucherRows: list[VoucherRowWrite] = Field(min_length=2)

    @model_validator(mode="after")
    def _balanced(self) -> "VoucherWrite":
        debit = sum((row.Debit for row in self.VoucherRows), Decimal(0))
        credit = sum((row.Credit for row in self.VoucherRows), Decimal(0))
        if debit != credit:
            raise ValueError(f"voucher does not balance: debit {debit} != credit {credit}")
        return self


class VoucherSeries(FortnoxRead):
    url: LenientStr = Field(default=None, alias="@url")
    Code: LenientStr = None
    Description: LenientStr = None
    Manual: LenientBool = None
    NextVoucherNumber: LenientInt = None
    Year: LenientInt = None


class FinancialYear(FortnoxRead):
    url: LenientStr = Field(default=None, alias="@url")
    Id: LenientInt = None
    FromDate: LenientDate = None
    ToDate: LenientDate = None
    AccountChartType: LenientStr = None
    AccountingMethod: LenientStr = None

    def contains(self, day: date) -> bool:
        return self.FromDate is not None and self.ToDate is not None and self.FromDate <= day <= self.ToDate
