"""Vouchers and voucher series (/3/vouchers, /3/voucherseries): balance, series, year and locked-period rules."""

from decimal import Decimal

from werkzeug.wrappers import Response

from fortnox_sandbox import codes
from fortnox_sandbox.errors import ApiError
from fortnox_sandbox.http_util import ApiContext, ApiRoute, check_length, host, json_response, one, url, wrapped
from fortnox_sandbox.listing import page
from fortnox_sandbox.money import amount, cents
from fortnox_sandbox.records import parse_date, touch
from fortnox_sandbox.resources.registers import check_dimensions, check_locked, requested_year_id
from fortnox_sandbox.state import Company, Record, SandboxState


def store_voucher(state: SandboxState, company: Company, year: Record, payload: Record, *, host: str) -> Record:
    series = str(payload["VoucherSeries"])
    number = company.next_number(f"voucher:{year['Id']}:{series}")
    rows = [
        {
            "Account": int(row["Account"]),
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
    }
    company.vouchers[(year["Id"], series, number)] = touch(state, voucher)
    return voucher


def create_voucher(
    state: SandboxState, company: Company, payload: Record, year_param: str | None, *, host: str
) -> Record:
    for field in ("Description", "TransactionDate", "VoucherSeries"):
        if not payload.get(field):
            raise ApiError(codes.FIELD_REQUIRED, field=field)
    check_length(payload, {"Description": 200, "Comments": 1000})
    day = parse_date(payload["TransactionDate"], "TransactionDate")
    if year_param is not None:
        try:
            year = company.year_by_id(int(year_param))
        except ValueError:
            raise ApiError(codes.INVALID_PARAMETER, field="financialyear") from None
        if year is None:
            raise ApiError(codes.FINANCIAL_YEAR_NOT_FOUND)
    else:
        year = company.year_for(state.today())
    if year is None or not (year["FromDate"] <= day.isoformat() <= year["ToDate"]):
        raise ApiError(codes.NO_FINANCIAL_YEAR, date=day.isoformat())
    check_locked(company, day)
    series = company.voucher_series.get(str(payload["VoucherSeries"]))
    if series is None:
        raise ApiError(codes.SERIES_NOT_FOUND, series=payload["VoucherSeries"])
    if not series["Manual"]:
        raise ApiError(codes.SERIES_NOT_MANUAL, series=series["Code"])
    rows = list(payload.get("VoucherRows") or [])
    if not rows:
        raise ApiError(codes.FIELD_REQUIRED, field="VoucherRows")
    debit = credit = Decimal(0)
    for row in rows:
        if row.get("Account") in (None, ""):
            raise ApiError(codes.FIELD_REQUIRED, field="Account")
        row_debit, row_credit = amount(row.get("Debit")), amount(row.get("Credit"))
        if row_debit < 0 or row_credit < 0:
            raise ApiError(codes.INVALID_VALUE, field="Debit/Credit")
        if len(str(row.get("TransactionInformation") or "")) > 100:
            raise ApiError(codes.FIELD_TOO_LONG, field="TransactionInformation", max=100)
        check_dimensions(company, year["Id"], int(row["Account"]), row.get("CostCenter"), row.get("Project"))
        debit += row_debit
        credit += row_credit
    if cents(debit) != cents(credit):
        raise ApiError(codes.VOUCHER_UNBALANCED, debit=cents(debit), credit=cents(credit))
    return store_voucher(state, company, year, payload, host=host)


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
    year_id = requested_year_id(ctx)
    rows = [
        row
        for (year, code, _), row in sorted(ctx.company.vouchers.items())
        if year == year_id and (series is None or code == series)
    ]
    return page(ctx, "Vouchers", [voucher_list_item(row) for row in rows])


def _get_voucher(ctx: ApiContext, series: str, number: int) -> Response:
    voucher = ctx.company.vouchers.get((requested_year_id(ctx), series, number))
    if voucher is None:
        raise ApiError(codes.VOUCHER_NOT_FOUND)
    return one("Voucher", voucher)


def _create_voucher(ctx: ApiContext) -> Response:
    voucher = create_voucher(
        ctx.state, ctx.company, wrapped(ctx.request, "Voucher"), ctx.arg("financialyear"), host=host(ctx)
    )
    return one("Voucher", voucher, 201)


def _list_voucher_series(ctx: ApiContext) -> Response:
    year_id = requested_year_id(ctx)
    rows = [
        {
            "@url": url(ctx, f"/3/voucherseries/{code}"),
            **{k: v for k, v in row.items() if k != "Approver"},
            "Year": year_id,
        }
        for code, row in sorted(ctx.company.voucher_series.items())
    ]
    return page(ctx, "VoucherSeriesCollection", rows)


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
                **row,
                "NextVoucherNumber": next_number,
                "Year": year_id,
            }
        }
    )


ROUTES: list[ApiRoute] = [
    ApiRoute("GET", "/3/vouchers", "bookkeeping", _list_vouchers),
    ApiRoute("POST", "/3/vouchers", "bookkeeping", _create_voucher),
    ApiRoute("GET", "/3/vouchers/sublist/<series>", "bookkeeping", _list_vouchers),
    ApiRoute("GET", "/3/vouchers/<series>/<int:number>", "bookkeeping", _get_voucher),
    ApiRoute("GET", "/3/voucherseries", "bookkeeping", _list_voucher_series),
    ApiRoute("GET", "/3/voucherseries/<code>", "bookkeeping", _get_voucher_series),
]
