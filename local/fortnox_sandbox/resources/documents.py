"""What invoices and orders share: the header Fortnox builds from customer and payload, rows, housework rules.

Shapes follow real Fortnox (accodeing/fortnox-api spec/vcr_cassettes): invoices/find_id_1.yml (89 keys) and
orders/find_id_1.yml (72 keys) share the header built here; rows follow invoices/row_*.yml and
orders/save_with_nested_model.yml; the housework rules follow orders/housework_*.yml.
"""

from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from fortnox_sandbox import codes, seed
from fortnox_sandbox.errors import ApiError
from fortnox_sandbox.money import CENT, amount, cents, row_net
from fortnox_sandbox.records import parse_date
from fortnox_sandbox.resources.articles import apply_article
from fortnox_sandbox.resources.registers import check_dimensions
from fortnox_sandbox.state import Company, Record

DEFAULT_SALES_ACCOUNT = {Decimal(25): 3001, Decimal(12): 3002, Decimal(6): 3003, Decimal(0): 3004}
# Fortnox blanks a field only when sent this literal; an empty string on an update leaves the field as it was
# (invoices/save_old_with_empty_comments.yml, save_old_with_empty_country.yml). C# SDK ApiConstants.BlankValue.
BLANK = "API_BLANK"

# Housework types by the tax reduction a document must carry to hold them (orders/housework_type_*.yml: rot types
# with "rot", rut types with "rut"; the green and the later rut types are from the spec's HouseWorkType enum).
REDUCTION_OF_TYPE = {
    **dict.fromkeys(
        (
            "CONSTRUCTION",
            "ELECTRICITY",
            "GLASSMETALWORK",
            "GROUNDDRAINAGEWORK",
            "MASONRY",
            "PAINTINGWALLPAPERING",
            "HVAC",
        ),
        "rot",
    ),
    **dict.fromkeys(
        (
            "CLEANING",
            "TEXTILECLOTHING",
            "SNOWPLOWING",
            "GARDENING",
            "BABYSITTING",
            "OTHERCARE",
            "MOVINGSERVICES",
            "ITSERVICES",
            "MAJORAPPLIANCEREPAIR",
            "FURNISHING",
            "HOMEMAINTENANCE",
            "TRANSPORTATIONSERVICES",
            "WASHINGANDCAREOFCLOTHING",
        ),
        "rut",
    ),
    **dict.fromkeys(("SOLARCELLS", "STORAGESELFPRODUCEDELECTRICITY", "CHARGINGSTATIONELECTRICVEHICLE"), "green"),
}
# Types Fortnox still knows but no longer gives a reduction for (housework_type_cooking.yml, _tutoring.yml: 2003157).
EXPIRED_HOUSEWORK = frozenset({"COOKING", "TUTORING"})
OTHER_COSTS = "OTHERCOSTS"
HOUSEWORK_TYPES = frozenset({*REDUCTION_OF_TYPE, *EXPIRED_HOUSEWORK, OTHER_COSTS, "EMPTYHOUSEWORK"})
TAX_REDUCTION_TYPES = frozenset({"none", "rot", "rut", "green"})

# Header fields stored as the caller sends them, falling back to the customer's value, then Fortnox's default.
FROM_CUSTOMER = {
    "Address1": "Address1",
    "Address2": "Address2",
    "City": "City",
    "Country": "Country",
    "ZipCode": "ZipCode",
    "Phone1": "Phone1",
    "Phone2": "Phone2",
    "OrganisationNumber": "OrganisationNumber",
    "CustomerName": "Name",
    "DeliveryAddress1": "DeliveryAddress1",
    "DeliveryAddress2": "DeliveryAddress2",
    "DeliveryCity": "DeliveryCity",
    "DeliveryCountry": "DeliveryCountry",
    "DeliveryName": "DeliveryName",
    "DeliveryZipCode": "DeliveryZipCode",
    "CostCenter": "CostCenter",
    "Project": "Project",
    "TermsOfDelivery": "TermsOfDelivery",
    "WayOfDelivery": "WayOfDelivery",
}
# Header text fields stored as sent, "" when not sent.
TEXT_FIELDS = (
    "Comments",
    "ExternalInvoiceReference1",
    "ExternalInvoiceReference2",
    "OurReference",
    "Remarks",
    "YourOrderNumber",
    "YourReference",
)
NUMBER_FIELDS = ("AdministrationFee", "Freight", "CurrencyRate")
DATE_FIELDS = ("DeliveryDate", "OutboundDate")
PLAIN_FIELDS = ("Labels", "NotCompleted", "VATIncluded", "PriceList", "PrintTemplate", "TermsOfPayment", "HouseWork")


def document_date(payload: Record, field: str, fallback: date) -> date:
    value = payload.get(field)
    return parse_date(value, field) if value else fallback


def quantity_text(value: Any) -> str:
    """A quantity as Fortnox writes it: two decimals rounded half up, and no decimals on a whole number.

    invoices/row_delivered_quantity_decimals.yml: 1.123 -> "1.12"; ..._round_up.yml: 1.125 -> "1.13";
    orders/save_with_nested_model.yml: 1.0 -> "1", none -> "0".
    """
    rounded = amount(value).quantize(CENT, rounding=ROUND_HALF_UP)
    if rounded == rounded.to_integral_value():
        return str(int(rounded))
    return str(rounded.normalize())


def _number(value: Any, field: str) -> Decimal:
    try:
        number = amount(value)
    except ArithmeticError:
        raise ApiError(codes.NOT_NUMERIC, field=field) from None
    if not number.is_finite():
        raise ApiError(codes.NOT_NUMERIC, field=field)
    return number


def plain_number(value: Decimal) -> Decimal:
    """A number written the way Fortnox writes it: ``1`` for one, ``0.5`` for a half."""
    return Decimal(int(value)) if value == value.to_integral_value() else value.normalize()


def check_housework(reduction: str, rows: list[Record]) -> None:
    """Fortnox's housework rules, in the order real Fortnox applies them (orders/housework_*.yml)."""
    if reduction not in TAX_REDUCTION_TYPES:
        raise ApiError(codes.INVALID_VALUE, field="TaxReductionType")
    for row in rows:
        kind = row.get("HouseWorkType")
        if kind in (None, ""):
            continue
        if kind not in HOUSEWORK_TYPES:
            raise ApiError(codes.INVALID_VALUE, field="HouseWorkType")
        if not row.get("HouseWork"):
            # housework_type_othercosts.yml: a row that is not housework may carry a type, even OTHERCOSTS.
            continue
        if kind == OTHER_COSTS:
            raise ApiError(codes.HOUSEWORK_OTHER_COSTS)
        if kind in EXPIRED_HOUSEWORK:
            raise ApiError(codes.HOUSEWORK_EXPIRED)
        wanted = REDUCTION_OF_TYPE.get(kind)
        if wanted is not None and reduction != "none" and wanted != reduction:
            raise ApiError(codes.HOUSEWORK_WRONG_REDUCTION, reduction=reduction, type=kind)


def prepare_rows(company: Company, rows: list[Record], day: date, *, kind: str) -> list[Record]:
    """Rows as Fortnox stores them: article filled in, account and VAT checked, quantities formatted.

    ``kind`` is "invoice" or "order": order rows carry ``OrderedQuantity``/``ReservedQuantity``/``StockPointId``
    and no ``PriceExcludingVAT``/``TotalExcludingVAT`` (orders/save_with_nested_model.yml). An order row sent with
    only ``OrderedQuantity`` is delivered 0 and totals 0, as Fortnox answers it.
    """
    # Without a financial year for the document date, Fortnox checks accounts against the newest year.
    year = company.year_for(day) or company.financial_years[-1]
    year_id = year["Id"]
    prepared = []
    for sent in rows:
        row = dict(sent)
        apply_article(company, row)
        if len(str(row.get("Description") or "")) > 255:
            raise ApiError(codes.FIELD_TOO_LONG, field="Description", max=255)
        vat = _number(row.get("VAT") if row.get("VAT") not in (None, "") else "25", "VAT")
        if vat not in seed.VAT_RATES:
            raise ApiError(codes.INVALID_VAT, vat=row.get("VAT"))
        account = row.get("AccountNumber")
        account_number = int(account) if account not in (None, "") else DEFAULT_SALES_ACCOUNT[vat]
        check_dimensions(company, year_id, account_number, row.get("CostCenter"), row.get("Project"))
        if row.get("DiscountType") not in (None, "AMOUNT", "PERCENT"):
            raise ApiError(codes.INVALID_VALUE, field="DiscountType")
        hours = row.get("HouseWorkHoursToReport")
        stored: Record = {
            "AccountNumber": account_number,
            "ArticleNumber": str(row.get("ArticleNumber") or ""),
            "ContributionPercent": "0",
            "ContributionValue": "0",
            "Cost": Decimal(0),
            "CostCenter": row.get("CostCenter") or "",
            "DeliveredQuantity": quantity_text(_number(row.get("DeliveredQuantity"), "DeliveredQuantity")),
            "Description": row.get("Description") or "",
            "Discount": plain_number(_number(row.get("Discount"), "Discount")),
            "DiscountType": row.get("DiscountType") or "PERCENT",
            "HouseWork": bool(row.get("HouseWork") or False),
            "HouseWorkHoursToReport": int(hours) if hours not in (None, "") else None,
            "HouseWorkType": row.get("HouseWorkType") or None,
            "Price": plain_number(cents(_number(row.get("Price"), "Price"))),
            "Project": row.get("Project") or "",
            "StockPointCode": row.get("StockPointCode"),
            "Unit": row.get("Unit") or "",
            "VAT": int(vat),
        }
        if kind == "order":
            stored["OrderedQuantity"] = quantity_text(_number(row.get("OrderedQuantity"), "OrderedQuantity"))
            stored["ReservedQuantity"] = "0"
            stored["StockPointId"] = None
            if row.get("VATCode") is not None:
                stored["VATCode"] = row["VATCode"]
        else:
            stored["VATCode"] = row.get("VATCode")
        prepared.append(stored)
    return prepared


def number_rows(company: Company, rows: list[Record], *, kind: str = "invoice") -> None:
    for row in rows:
        row["RowId"] = company.next_number("row")
        net = row_net(row)
        row["Total"] = net
        if kind == "invoice":
            row["PriceExcludingVAT"] = row["Price"]
            row["TotalExcludingVAT"] = net


def document_header(customer: Record, payload: Record, *, kind: str, number: str, host: str, day: date) -> Record:
    """The header fields invoices and orders share (65 of them), from the payload, the customer and defaults.

    "" vs null as recorded: text fields are "", DeliveryDate and TaxReduction null, EmailAddressCC/BCC null.
    ``CurrencyRate`` is a number here; only list items write it as a string (invoices/all.yml).
    """
    plural = "invoices" if kind == "invoice" else "orders"
    header: Record = {
        "@url": f"{host}/3/{plural}/{number}",
        "@urlTaxReductionList": f"{host}/3/taxreductions?filter={plural}&referencenumber={number}",
        "AdministrationFee": Decimal(0),
        "AdministrationFeeVAT": Decimal(0),
        "BasisTaxReduction": Decimal(0),
        "Cancelled": False,
        "ContributionPercent": Decimal(0),
        "ContributionValue": Decimal(0),
        "CurrencyUnit": 1,
        "CustomerNumber": customer["CustomerNumber"],
        "DeliveryDate": None,
        "DocumentNumber": number,
        "EmailInformation": {
            "EmailAddressFrom": None,
            "EmailAddressTo": customer.get("EmailInvoice" if kind == "invoice" else "EmailOrder") or "",
            "EmailAddressCC": None,
            "EmailAddressBCC": None,
            "EmailSubject": "Faktura {no} bifogas" if kind == "invoice" else "Order {no} bifogas",
            "EmailBody": " ",
        },
        "Freight": Decimal(0),
        "FreightVAT": Decimal(0),
        "HouseWork": False,
        "InvoiceReference": "0",
        "Labels": [],
        "Language": "SV",
        "NotCompleted": False,
        "OfferReference": "0",
        "OutboundDate": day.isoformat(),
        "PriceList": customer.get("PriceList") or "A",
        "PrintTemplate": "st" if kind == "invoice" else "oc",
        "Sent": False,
        "TaxReduction": None,
        "TaxReductionType": "none",
        "TermsOfPayment": customer.get("TermsOfPayment") or "30",
        "TimeBasisReference": None,
        "VATIncluded": False,
        "WarehouseReady": True,
    }
    for field, source in FROM_CUSTOMER.items():
        header[field] = customer.get(source) or ""
    for field in TEXT_FIELDS:
        header[field] = ""
    apply_header(header, payload)
    return header


def apply_header(header: Record, payload: Record) -> None:
    """Store the header fields a create or update sends, as Fortnox keeps them.

    On an update an empty string leaves a field as it was and ``API_BLANK`` empties it
    (invoices/save_old_with_empty_comments.yml, save_old_with_empty_country.yml).
    """
    for field, value in payload.items():
        if field in (*FROM_CUSTOMER, *TEXT_FIELDS, "Currency", "Language", "TaxReductionType"):
            if value == BLANK:
                header[field] = ""
            elif value not in (None, "") or field not in header:
                header[field] = value if value is not None else ""
        elif field in NUMBER_FIELDS:
            if value not in (None, ""):
                header[field] = plain_number(_number(value, field))
        elif field == "CurrencyUnit":
            header[field] = int(_number(value, field)) if value not in (None, "") else 1
        elif field in DATE_FIELDS:
            header[field] = parse_date(value, field).isoformat() if value else None
        elif field in PLAIN_FIELDS:
            header[field] = value
        elif field == "EmailInformation" and isinstance(value, dict):
            header[field] = {**header[field], **value}
