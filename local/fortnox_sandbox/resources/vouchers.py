"""Vouchers and voucher series (/3/vouchers, /3/voucherseries): balance, series, year and locked-period rules.

A voucher is unique by (financial year, series, number) and can never be changed or deleted once created: the spec
has no PUT or DELETE on /3/vouchers (FACTS.md 3.4, the C# SDK's "UPDATE //Not supported"), so those methods get
the answer every route Fortnox does not have gets (server.py ``_not_found``).
"""

from decimal import Decimal, InvalidOperation
from typing import Any

from werkzeug.wrappers import Response

from fortnox_sandbox import codes
from fortnox_sandbox.errors import ApiError
from fortnox_sandbox.http_util import ApiContext, ApiRoute, check_length, host, json_response, one, public, url, wrapped
from fortnox_sandbox.listing import exact, matching, modified_since, only_status, page, sort, within
from fortnox_sandbox.money import amount, cents
from fortnox_sandbox.records import parse_date, touch
from fortnox_sandbox.resources.registers import check_dimensions, check_locked, requested_year, requested_year_id
from fortnox_sandbox.state import Company, Record, SandboxState

VOUCHER_SEARCH = {"voucherseries": "VoucherSeries", "costcenter": "_cost_centers"}
"""Search parameters of GET /3/vouchers (openapi.json tag fortnox_Vouchers), all exact: a series and a cost-centre
code are identifiers. ``costcenter`` finds a voucher whose header or any row carries the code."""

VOUCHER_SORT = {
    "referencenumber": lambda row: str(row["ReferenceNumber"]),
    "referencetype": lambda row: str(row["ReferenceType"]),
    "vouchernumber": lambda row: int(row["VoucherNumber"]),
    "voucherseries": lambda row: str(row["VoucherSeries"]),
}


def store_voucher(state: SandboxState, company: Company, year: Record, payload: Record, *, host: str) -> Record:
    series = str(payload["VoucherSeries"])
    number = company.next_number(f"voucher:{year['Id']}:{series}")
    rows = [
        {
            "Account": int(amount(row["Account"])),
            "CostCenter": row.get("CostCenter") or "",
            "Credit": cents(amount(row.get("Credit"))),
            "Debit": cents(amount(row.get("Debit"))),
            "Description": row.get("Description") or "",
            "Project": row.get("Project") or "",
            "Quantity": amount(row.get("Quantity")),
            "Removed": False,
            "TransactionInformation": row.get("TransactionInformation") or "",
        }
        for row in payload["VoucherRows"]
    ]
    voucher = {
        "@url": f"{host}/3/vouchers/{series}/{number}?financialyear={year['Id']}",
        "ApprovalState": 0,
        "Comments": payload.get("Comments") or "",
        "CostCenter": payload.get("CostCenter") or "",
        "Description": payload["Description"],
        "Project": payload.get("Project") or "",
        "ReferenceNumber": payload.get("ReferenceNumber") or "",
        "ReferenceType": payload.get("ReferenceType") or "MANUAL",
        "TransactionDate": payload["TransactionDate"],
        "VoucherNumber": number,
        "VoucherRows": rows,
        "VoucherSeries": series,
        "Year": year["Id"],
        "_cost_centers": sorted(
            {str(code) for code in [payload.get("CostCenter"), *(r["CostCenter"] for r in rows)] if code}
        ),
    }
    company.vouchers[(year["Id"], series, number)] = touch(state, voucher)
    return voucher


def create_voucher(state: SandboxState, company: Company, payload: Record, year: Record, *, host: str) -> Record:
    """A voucher in ``year``: its date inside the year and after the locked period, a manual series, rows on
    existing active accounts with the dimensions the accounts allow, and debit equal to credit to the öre."""
    for field in ("Description", "TransactionDate", "VoucherSeries"):
        if not payload.get(field):
            raise ApiError(codes.FIELD_REQUIRED, field=field)
    check_length(payload, {"Description": 200, "Comments": 1000})
    day = parse_date(payload["TransactionDate"], "TransactionDate")
    if not (year["FromDate"] <= day.isoformat() <= year["ToDate"]):
        raise ApiError(codes.NO_FINANCIAL_YEAR, date=day.isoformat())
    check_locked(company, day)
    series = company.voucher_series.get(str(payload["VoucherSeries"]))
    if series is None:
        raise ApiError(codes.SERIES_NOT_FOUND, series=payload["VoucherSeries"])
    if not series_manual(series, year["Id"]):
        raise ApiError(codes.SERIES_NOT_MANUAL, series=series["Code"])
    rows = list(payload.get("VoucherRows") or [])
    if not rows:
        raise ApiError(codes.FIELD_REQUIRED, field="VoucherRows")
    debit = credit = Decimal(0)
    for row in rows:
        if row.get("Account") in (None, ""):
            raise ApiError(codes.FIELD_REQUIRED, field="Account")
        account = _whole_number(row["Account"], "Account")
        row_debit, row_credit = _number(row.get("Debit"), "Debit"), _number(row.get("Credit"), "Credit")
        if row_debit < 0 or row_credit < 0:
            raise ApiError(codes.INVALID_VALUE, field="Debit/Credit")
        if len(str(row.get("TransactionInformation") or "")) > 100:
            raise ApiError(codes.FIELD_TOO_LONG, field="TransactionInformation", max=100)
        check_dimensions(company, year["Id"], account, row.get("CostCenter"), row.get("Project"))
        debit += row_debit
        credit += row_credit
    if sum(1 for row in rows if amount(row.get("Debit")) or amount(row.get("Credit"))) < 2:
        # Fortnox leaves rows without an amount out, so a voucher needs two rows that carry one (sharespine 2001897).
        raise ApiError(codes.VOUCHER_TOO_FEW_ROWS)
    if cents(debit) != cents(credit):
        raise ApiError(codes.VOUCHER_UNBALANCED, debit=cents(debit), credit=cents(credit))
    return store_voucher(state, company, year, payload, host=host)


def series_manual(series: Record, year_id: int) -> bool:
    """Whether the series takes manual vouchers in that year: Fortnox keeps the setting per financial year ("F-serien
    har inte manuell kontering påslaget för det aktuella räkenskapsåret", support.onslip.com Fortnox-felkoder;
    help.gastrogate.io: "välj det räkenskapsår det gäller"). The control API sets a year of its own in
    ``_manual_by_year``; other years keep ``Manual``."""
    return bool(series.get("_manual_by_year", {}).get(year_id, series["Manual"]))


def _number(value: Any, field: str) -> Decimal:
    try:
        return amount(value)
    except InvalidOperation:
        raise ApiError(codes.NOT_NUMERIC, field=field) from None


def _whole_number(value: Any, field: str) -> int:
    number = _number(value, field)
    if number != number.to_integral_value():
        raise ApiError(codes.NOT_NUMERIC, field=field)
    return int(number)


def voucher_list_item(voucher: Record) -> Record:
    fields = (
        "@url",
        "ApprovalState",
        "Comments",
        "Description",
        "ReferenceNumber",
        "ReferenceType",
        "TransactionDate",
        "VoucherNumber",
        "VoucherSeries",
        "Year",
    )
    return {field: voucher.get(field) for field in fields}


# -- routes --------------------------------------------------------------------------------------------------------
def _list_vouchers(ctx: ApiContext, series: str | None = None) -> Response:
    """Per financial year and without rows; ``/sublist/{series}`` is the same list narrowed to one series."""
    year_id = requested_year_id(ctx)
    rows = [
        row
        for (year, code, _), row in sorted(ctx.company.vouchers.items())
        if year == year_id and (series is None or code == series)
    ]
    rows = only_status(ctx, rows, {})
    rows = within(ctx, matching(ctx, rows, VOUCHER_SEARCH, exact), "TransactionDate", since="fromdate", until="todate")
    rows = sort(ctx, modified_since(ctx, rows), VOUCHER_SORT)
    return page(ctx, "Vouchers", [voucher_list_item(row) for row in rows])


def _get_voucher(ctx: ApiContext, series: str, number: int) -> Response:
    voucher = ctx.company.vouchers.get((requested_year_id(ctx), series, number))
    if voucher is None:
        raise ApiError(codes.VOUCHER_NOT_FOUND)
    return one("Voucher", voucher)


def _create_voucher(ctx: ApiContext) -> Response:
    voucher = create_voucher(
        ctx.state, ctx.company, wrapped(ctx.request, "Voucher"), requested_year(ctx), host=host(ctx)
    )
    return one("Voucher", voucher, 201)


def _list_voucher_series(ctx: ApiContext) -> Response:
    year_id = requested_year_id(ctx)
    rows = modified_since(ctx, only_status(ctx, [row for _, row in sorted(ctx.company.voucher_series.items())], {}))
    rows = sort(ctx, rows, {"code": lambda row: str(row["Code"])})
    items = [
        {
            "@url": url(ctx, f"/3/voucherseries/{row['Code']}"),
            **{k: v for k, v in public(row).items() if k != "Approver"},
            "Manual": series_manual(row, year_id),
            "Year": year_id,
        }
        for row in rows
    ]
    return page(ctx, "VoucherSeriesCollection", items)


def _get_voucher_series(ctx: ApiContext, code: str) -> Response:
    row = ctx.company.voucher_series.get(code)
    if row is None:
        raise ApiError(codes.SERIES_NOT_FOUND_404)
    year_id = requested_year_id(ctx)
    next_number = ctx.company.counters.get(f"voucher:{year_id}:{code}", 0) + 1
    return json_response(
        {
            "VoucherSeries": {
                "@url": url(ctx, f"/3/voucherseries/{code}"),
                **public(row),
                "Manual": series_manual(row, year_id),
                "NextVoucherNumber": next_number,
                "Year": year_id,
            }
        }
    )


ROUTES: list[ApiRoute] = [
    ApiRoute("GET", "/3/vouchers", "bookkeeping", _list_vouchers),
    ApiRoute("POST", "/3/vouchers", "bookkeeping", _create_voucher),
    ApiRoute("GET", "/3/vouchers/sublist", "bookkeeping", _list_vouchers),
    ApiRoute("GET", "/3/vouchers/sublist/<series>", "bookkeeping", _list_vouchers),
    ApiRoute("GET", "/3/vouchers/<series>/<int:number>", "bookkeeping", _get_voucher),
    ApiRoute("GET", "/3/voucherseries", "bookkeeping", _list_voucher_series),
    ApiRoute("GET", "/3/voucherseries/<code>", "bookkeeping", _get_voucher_series),
]
