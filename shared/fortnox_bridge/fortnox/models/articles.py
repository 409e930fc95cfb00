"""Articles: the register Fortnox looks a row's ArticleNumber up in (openapi.json fortnox_Article)."""

from decimal import Decimal
from typing import Literal

from pydantic import Field

from fortnox_bridge.fortnox.models.base import (
    FortnoxRead,
    FortnoxWrite,
    LenientBool,
    LenientDecimal,
    LenientInt,
    LenientStr,
)

ArticleTypeCode = Literal["STOCK", "SERVICE"]


class ArticleListItem(FortnoxRead):
    """A list row: Fortnox sends its stock numbers as strings and VAT as null (articles/all.yml)."""

    url: LenientStr = Field(default=None, alias="@url")
    ArticleNumber: LenientStr = None
    Description: LenientStr = None
    EAN: LenientStr = None
    Unit: LenientStr = None
    Housework: LenientBool = None
    WebshopArticle: LenientBool = None
    QuantityInStock: LenientDecimal = None
    DisposableQuantity: LenientDecimal = None
    ReservedQuantity: LenientDecimal = None
    PurchasePrice: LenientDecimal = None
    SalesPrice: LenientDecimal = None
    StockValue: LenientDecimal = None
    StockPlace: LenientStr = None
    VAT: LenientDecimal = None


class Article(FortnoxRead):
    url: LenientStr = Field(default=None, alias="@url")
    ArticleNumber: LenientStr = None
    Description: LenientStr = None
    Active: LenientBool = None
    Type: LenientStr = None
    Unit: LenientStr = None
    VAT: LenientDecimal = None
    SalesAccount: LenientInt = None
    EUAccount: LenientInt = None
    EUVATAccount: LenientInt = None
    ExportAccount: LenientInt = None
    PurchaseAccount: LenientInt = None
    SalesPrice: LenientDecimal = None
    PurchasePrice: LenientDecimal = None
    QuantityInStock: LenientDecimal = None
    DisposableQuantity: LenientDecimal = None
    ReservedQuantity: LenientDecimal = None
    Housework: LenientBool = None
    HouseworkType: LenientStr = None
    EAN: LenientStr = None
    Expired: LenientBool = None
    Note: LenientStr = None


class ArticleWrite(FortnoxWrite):
    """Create or update body; on update Fortnox changes only the fields sent."""

    ArticleNumber: str | None = Field(default=None, max_length=50)
    Description: str | None = Field(default=None, min_length=1, max_length=200)
    Active: bool | None = None
    Type: ArticleTypeCode | None = None
    Unit: str | None = None
    VAT: Decimal | None = None
    SalesAccount: int | None = Field(default=None, ge=0, le=9999)
    EUAccount: int | None = Field(default=None, ge=0, le=9999)
    EUVATAccount: int | None = Field(default=None, ge=0, le=9999)
    ExportAccount: int | None = Field(default=None, ge=0, le=9999)
    PurchaseAccount: int | None = Field(default=None, ge=0, le=9999)
    PurchasePrice: Decimal | None = None
    QuantityInStock: Decimal | None = None
    EAN: str | None = Field(default=None, max_length=30)
    Note: str | None = Field(default=None, max_length=10000)
    Housework: bool | None = None
    StockGoods: bool | None = None
    WebshopArticle: bool | None = None
    Expired: bool | None = None
