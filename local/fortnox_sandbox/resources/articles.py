"""Articles (/3/articles): the article register Fortnox looks row ArticleNumbers up in.

Shapes, defaults and codes follow the recordings of accodeing/fortnox-api (spec/vcr_cassettes/articles/*.yml):
find_id_1 and save_new for the full key set, all and search_by_name for list items, find_failure for 2000428,
limits/quantity_in_stock_* for the stock quantity's range and rounding. Rows on invoices and orders go through
``apply_article`` (invoices/save_with_nested_model.yml, orders/save_with_nested_model.yml).
"""

from collections.abc import Callable
from decimal import ROUND_HALF_UP, Context, Decimal, InvalidOperation
from typing import Any

from werkzeug.wrappers import Response

from fortnox_sandbox import codes
from fortnox_sandbox.errors import ApiError
from fortnox_sandbox.http_util import ApiContext, ApiRoute, check_length, host, one, wrapped
from fortnox_sandbox.listing import any_case, exact, matching, modified_since, page
from fortnox_sandbox.records import touch
from fortnox_sandbox.state import Company, Record, SandboxState

# What real Fortnox returned for an article created with only a Description (limits/*.yml, 2024: the newest
# recordings; the 2023 ones differ in the company's default sales account, 3004 at 0 %, StockWarning 0 and no
# CommodityCode key at all).
ARTICLE_DEFAULTS: Record = {
    "Bulky": False,
    "ConstructionAccount": 0,
    "Depth": 0,
    "Description": "",
    "DisposableQuantity": Decimal(0),
    "EAN": "",
    "EUAccount": 3108,
    "EUVATAccount": 3106,
    "ExportAccount": 3105,
    "Height": 0,
    "Housework": False,
    "HouseworkType": None,
    "Active": True,
    "Manufacturer": None,
    "ManufacturerArticleNumber": "",
    "Note": "",
    "PurchaseAccount": 4000,
    "PurchasePrice": Decimal(0),
    "QuantityInStock": Decimal(0),
    "ReservedQuantity": Decimal(0),
    "SalesAccount": 3001,
    "StockGoods": False,
    "StockPlace": None,
    "StockValue": Decimal(0),
    "StockWarning": None,
    "SupplierName": None,
    "SupplierNumber": None,
    "Type": "STOCK",
    "Unit": None,
    "VAT": Decimal(25),
    "WebshopArticle": False,
    "Weight": 0,
    "Width": 0,
    "Expired": False,
    "SalesPrice": None,
    "CostCalculationMethod": None,
    "StockAccount": None,
    "StockChangeAccount": None,
    "DirectCost": None,
    "FreightCost": None,
    "OtherCost": None,
    "DefaultStockPoint": None,
    "DefaultStockLocation": None,
    "CommodityCode": "",
}
ARTICLE_LIMITS = {
    "ArticleNumber": 50,
    "Description": 200,
    "EAN": 30,
    "Manufacturer": 50,
    "ManufacturerArticleNumber": 50,
    "Note": 10000,
    "StockPlace": 100,
}
ARTICLE_TYPES = ("STOCK", "SERVICE")
HOUSEWORK_TYPES = (
    "CONSTRUCTION",
    "ELECTRICITY",
    "GLASSMETALWORK",
    "GROUNDDRAINAGEWORK",
    "MASONRY",
    "PAINTINGWALLPAPERING",
    "HVAC",
    "CLEANING",
    "TEXTILECLOTHING",
    "COOKING",
    "SNOWPLOWING",
    "GARDENING",
    "BABYSITTING",
    "OTHERCARE",
    "TUTORING",
    "FURNISHING",
    "HOMEMAINTENANCE",
    "TRANSPORTATIONSERVICES",
    "WASHINGANDCAREOFCLOTHING",
    "SOLARCELLS",
    "STORAGESELFPRODUCEDELECTRICITY",
    "CHARGINGSTATIONELECTRICVEHICLE",
    "EMPTYHOUSEWORK",
    "OTHERCOSTS",
)
# The Ruby client's model (lib/fortnox/api/models/article.rb) gives the range; limits/quantity_in_stock_min_value.yml
# shows Fortnox accepting the lower bound.
STOCK_MIN = Decimal("-100000000000000")
STOCK_MAX = Decimal("99999999999999.9")
# Fortnox prints stock numbers with 14 significant digits (PHP's float precision): -99999999999999.9 comes back as
# -100000000000000 in limits/quantity_in_stock_min_value.yml.
_FOURTEEN_DIGITS = Context(prec=14, rounding=ROUND_HALF_UP)
VAT_BY_CODE = {"MP1": Decimal(25), "MP2": Decimal(12), "MP3": Decimal(6)}
NUMBER_FIELDS = ("PurchasePrice", "StockWarning", "DirectCost", "FreightCost", "OtherCost")
INTEGER_FIELDS = (
    "ConstructionAccount",
    "Depth",
    "EUAccount",
    "EUVATAccount",
    "ExportAccount",
    "Height",
    "PurchaseAccount",
    "SalesAccount",
    "StockAccount",
    "StockChangeAccount",
    "Weight",
    "Width",
)
READ_ONLY = ("DisposableQuantity", "ReservedQuantity", "StockValue", "SalesPrice", "SupplierName", "@url")


def stock_quantity(value: Any) -> Decimal:
    """A stock quantity as Fortnox stores it: two decimals rounded half up, then 14 significant digits."""
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise ApiError(codes.NOT_NUMERIC, field="QuantityInStock") from None
    if not number.is_finite() or not STOCK_MIN <= number <= STOCK_MAX:
        raise ApiError(codes.INVALID_VALUE, field="QuantityInStock")
    stored = _FOURTEEN_DIGITS.plus(number.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))
    return _plain(stored)


def _plain(number: Decimal) -> Decimal:
    """Fortnox writes a whole quantity without decimals (``0``, ``-100000000000000``) and others without zeros."""
    if number == number.to_integral_value():
        return Decimal(int(number))
    return number.normalize()


def _number(payload: Record, field: str) -> Decimal:
    try:
        return Decimal(str(payload[field]))
    except InvalidOperation:
        raise ApiError(codes.NOT_NUMERIC, field=field) from None


def _integer(payload: Record, field: str) -> int:
    number = _number(payload, field)
    if number != number.to_integral_value():
        raise ApiError(codes.NOT_NUMERIC, field=field)
    return int(number)


def _checked(payload: Record) -> Record:
    """The payload's fields converted to the types Fortnox stores, or the error Fortnox gives for them."""
    check_length(payload, ARTICLE_LIMITS)
    if payload.get("Type") not in (None, *ARTICLE_TYPES):
        raise ApiError(codes.INVALID_VALUE, field="Type")
    if payload.get("HouseworkType") not in (None, *HOUSEWORK_TYPES):
        raise ApiError(codes.INVALID_VALUE, field="HouseworkType")
    values = {key: value for key, value in payload.items() if key not in READ_ONLY}
    for field in INTEGER_FIELDS:
        if values.get(field) is not None:
            values[field] = _integer(values, field)
    for field in NUMBER_FIELDS:
        if values.get(field) is not None:
            values[field] = _plain(_number(values, field))
    if values.get("VAT") is not None:
        values["VAT"] = _plain(_number(values, "VAT"))
    if values.get("QuantityInStock") is not None:
        values["QuantityInStock"] = stock_quantity(values["QuantityInStock"])
    if values.get("ArticleNumber") is not None:
        values["ArticleNumber"] = str(values["ArticleNumber"])
    return values


def _vat_of_account(company: Company, account: int) -> Decimal:
    """Fortnox predefines an article's VAT from its sales account (save_new.yml: account 1250 gives VAT 0)."""
    year = company.financial_years[-1]["Id"] if company.financial_years else None
    found = company.accounts.get(year, {}).get(account) if year is not None else None
    return VAT_BY_CODE.get(str((found or {}).get("VATCode") or ""), Decimal(0))


def _next_article_number(company: Company) -> str:
    # After articles 1, 2, 3 and a hand-numbered 101, Fortnox numbered the next one 102 (articles/all.yml,
    # save_new.yml): the next number after the highest numeric one.
    numeric = [int(number) for number in company.articles if number.isdigit()]
    return str(max(numeric, default=0) + 1)


def create_article(state: SandboxState, company: Company, payload: Record, *, host: str) -> Record:
    if not str(payload.get("Description") or "").strip():
        raise ApiError(codes.FIELD_REQUIRED, field="Description")
    values = _checked(payload)
    number = str(values.get("ArticleNumber") or "").strip()
    if number and number in company.articles:
        raise ApiError(codes.ARTICLE_NUMBER_USED, number=number)
    number = number or _next_article_number(company)
    article = {"@url": f"{host}/3/articles/{number}", "ArticleNumber": number, **ARTICLE_DEFAULTS, **values}
    article["ArticleNumber"] = number
    if "SalesAccount" in values and "VAT" not in values:
        article["VAT"] = _vat_of_account(company, article["SalesAccount"])
    article["DisposableQuantity"] = _plain(article["QuantityInStock"] - article["ReservedQuantity"])
    company.articles[number] = touch(state, article)
    return article


def find_article(company: Company, number: str) -> Record:
    article = company.articles.get(number)
    if article is None:
        raise ApiError(codes.ARTICLE_NOT_FOUND)
    return article


def update_article(state: SandboxState, company: Company, number: str, payload: Record) -> Record:
    """PUT changes only the fields sent; the article number itself cannot be changed."""
    article = find_article(company, number)
    values = _checked(payload)
    if values.get("ArticleNumber") not in (None, number):
        raise ApiError(codes.INVALID_VALUE, field="ArticleNumber")
    if "Description" in values and not str(values["Description"] or "").strip():
        raise ApiError(codes.FIELD_REQUIRED, field="Description")
    article.update(values)
    if "SalesAccount" in values and "VAT" not in values:
        article["VAT"] = _vat_of_account(company, article["SalesAccount"])
    article["DisposableQuantity"] = _plain(article["QuantityInStock"] - article["ReservedQuantity"])
    return touch(state, article)


def apply_article(company: Company, row: Record) -> None:
    """Fill an invoice or order row from the article its ``ArticleNumber`` names, as Fortnox does.

    Called for every document row before its accounts and VAT are checked. A row without an ArticleNumber is left
    alone. A known article fills what the row leaves out (absent, null or ""): ``Description`` from the article's
    Description, ``Unit`` from its Unit, ``AccountNumber`` from its SalesAccount and ``VAT`` from its VAT
    (invoices/save_with_nested_model.yml: a row of only ArticleNumber 101 and Price came back as "Hammer" on 3001).
    Values the row sends win. An unknown article number is refused with 2001302 "Kunde inte hitta artikel." (400),
    the code Fortnox gives on a document row; a GET of a missing article answers 2000428 (404) instead.
    """
    number = row.get("ArticleNumber")
    if number in (None, ""):
        return
    article = company.articles.get(str(number))
    if article is None:
        raise ApiError(codes.ARTICLE_NOT_FOUND_ON_ROW)
    for field, source in (("Description", "Description"), ("Unit", "Unit"), ("AccountNumber", "SalesAccount")):
        if row.get(field) in (None, "") and article.get(source) not in (None, ""):
            row[field] = article[source]
    if row.get("VAT") in (None, "") and article.get("VAT") is not None:
        row["VAT"] = article["VAT"]


def article_list_item(article: Record) -> Record:
    """A list item as recorded (articles/all.yml): stock numbers as strings, VAT null, no accounts."""
    return {
        "@url": article["@url"],
        "ArticleNumber": article["ArticleNumber"],
        "Description": article["Description"],
        "DisposableQuantity": str(article["DisposableQuantity"]),
        "EAN": article["EAN"],
        "Housework": article["Housework"],
        "PurchasePrice": str(article["PurchasePrice"]),
        "SalesPrice": article["SalesPrice"],
        "QuantityInStock": str(article["QuantityInStock"]),
        "ReservedQuantity": str(article["ReservedQuantity"]),
        "StockPlace": article["StockPlace"],
        "StockValue": str(article["StockValue"]),
        "Unit": article["Unit"],
        "VAT": None,
        "WebshopArticle": article["WebshopArticle"],
    }


# -- routes --------------------------------------------------------------------------------------------------------
ARTICLE_SEARCH = {
    "articlenumber": "ArticleNumber",
    "description": "Description",
    "manufacturer": "Manufacturer",
    "manufacturerarticlenumber": "ManufacturerArticleNumber",
}
ARTICLE_EXACT = {"ean": "EAN", "suppliernumber": "SupplierNumber"}
ARTICLE_SORT: dict[str, Callable[[Record], Any]] = {
    "articlenumber": lambda row: _by_number(row["ArticleNumber"]),
    "quantityinstock": lambda row: (row["QuantityInStock"], _by_number(row["ArticleNumber"])),
    "reservedquantity": lambda row: (row["ReservedQuantity"], _by_number(row["ArticleNumber"])),
    "stockvalue": lambda row: (row["StockValue"], _by_number(row["ArticleNumber"])),
}


def _by_number(number: str) -> tuple[int, int, str]:
    # "Sorted by article number with the lowest number appearing first" (spec): 1, 2, 3, 101 (articles/all.yml).
    return (0, int(number), "") if number.isdigit() else (1, 0, number)


def _list_articles(ctx: ApiContext) -> Response:
    sort = ctx.arg("sortby") or "articlenumber"
    if sort not in ARTICLE_SORT:
        raise ApiError(codes.INVALID_PARAMETER, field="sortby")
    rows = sorted(ctx.company.articles.values(), key=ARTICLE_SORT[sort])
    status = ctx.arg("filter")
    if status not in (None, "active", "inactive"):
        raise ApiError(codes.INVALID_FILTER)
    if status is not None:
        rows = [row for row in rows if bool(row["Active"]) == (status == "active")]
    webshop = ctx.arg("webshop")
    if webshop is not None:
        rows = [row for row in rows if bool(row["WebshopArticle"]) == (webshop.lower() == "true")]
    rows = matching(ctx, rows, ARTICLE_SEARCH, any_case)
    rows = modified_since(ctx, matching(ctx, rows, ARTICLE_EXACT, exact))
    return page(ctx, "Articles", [article_list_item(row) for row in rows])


def _get_article(ctx: ApiContext, number: str) -> Response:
    return one("Article", find_article(ctx.company, number))


def _created(response: Response) -> Response:
    # save_new.yml answers 201 with "Location: articles".
    response.headers["Location"] = "articles"
    return response


def _create_article(ctx: ApiContext) -> Response:
    article = create_article(ctx.state, ctx.company, wrapped(ctx.request, "Article"), host=host(ctx))
    return _created(one("Article", article, 201))


def _update_article(ctx: ApiContext, number: str) -> Response:
    return one("Article", update_article(ctx.state, ctx.company, number, wrapped(ctx.request, "Article")))


ROUTES: list[ApiRoute] = [
    ApiRoute("GET", "/3/articles", "article", _list_articles),
    ApiRoute("POST", "/3/articles", "article", _create_article),
    ApiRoute("GET", "/3/articles/<number>", "article", _get_article),
    ApiRoute("PUT", "/3/articles/<number>", "article", _update_article),
]
