"""What invoices and orders share: document dates, row preparation (accounts, VAT, dimensions) and row numbering."""

from datetime import date
from decimal import Decimal

from fortnox_sandbox import codes, seed
from fortnox_sandbox.errors import ApiError
from fortnox_sandbox.money import amount, cents, row_net
from fortnox_sandbox.records import parse_date
from fortnox_sandbox.resources.registers import check_dimensions
from fortnox_sandbox.state import Company, Record

DEFAULT_SALES_ACCOUNT = {Decimal(25): 3001, Decimal(12): 3002, Decimal(6): 3003, Decimal(0): 3004}


def document_date(payload: Record, field: str, fallback: date) -> date:
    value = payload.get(field)
    return parse_date(value, field) if value else fallback


def prepare_rows(company: Company, rows: list[Record], day: date, *, quantity_field: str) -> list[Record]:
    # Without a financial year for the document date, Fortnox checks accounts against the newest year.
    year = company.year_for(day) or company.financial_years[-1]
    year_id = year["Id"]
    prepared = []
    for row in rows:
        if len(str(row.get("Description") or "")) > 255:
            raise ApiError(codes.FIELD_TOO_LONG, field="Description", max=255)
        vat = amount(row.get("VAT"), "25")
        if vat not in seed.VAT_RATES:
            raise ApiError(codes.INVALID_VAT, vat=row.get("VAT"))
        account = row.get("AccountNumber")
        account_number = int(account) if account not in (None, "") else DEFAULT_SALES_ACCOUNT[vat]
        check_dimensions(company, year_id, account_number, row.get("CostCenter"), row.get("Project"))
        if row.get("DiscountType") not in (None, "AMOUNT", "PERCENT"):
            raise ApiError(codes.INVALID_VALUE, field="DiscountType")
        quantity = amount(row.get(quantity_field), "0")
        prepared.append(
            {
                "AccountNumber": account_number,
                "ArticleNumber": row.get("ArticleNumber") or "",
                "ContributionPercent": "0",
                "ContributionValue": "0",
                "CostCenter": row.get("CostCenter") or "",
                "DeliveredQuantity": f"{quantity:.2f}",
                "Description": row.get("Description") or "",
                "Discount": amount(row.get("Discount")),
                "DiscountType": row.get("DiscountType") or "PERCENT",
                "HouseWork": False,
                "HouseWorkHoursToReport": None,
                "HouseWorkType": None,
                "Price": cents(amount(row.get("Price"))),
                "Project": row.get("Project") or "",
                "StockPointCode": None,
                "Unit": row.get("Unit") or "",
                "VAT": int(vat),
                "VATCode": None,
            }
        )
    return prepared


def number_rows(company: Company, rows: list[Record]) -> None:
    for row in rows:
        row["RowId"] = company.next_number("row")
        net = row_net(row)
        row["PriceExcludingVAT"] = row["Price"]
        row["Total"] = net
        row["TotalExcludingVAT"] = net
