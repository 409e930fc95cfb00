"""Company registers: company information, locked period, accounts, cost centres, financial years, currencies."""

from datetime import date
from typing import Any

from werkzeug.wrappers import Response

from fortnox_sandbox import codes
from fortnox_sandbox.errors import ApiError
from fortnox_sandbox.http_util import ApiContext, ApiRoute, json_response, public, url
from fortnox_sandbox.listing import exact, matching, modified_since, only_status, page, sort
from fortnox_sandbox.state import Company, Record


def year_for(company: Company, day: date) -> Record | None:
    return company.year_for(day)


def check_dimensions(company: Company, year_id: int, account_number: int, cost_center: Any, project: Any) -> None:
    """The checks Fortnox makes on every invoice row and voucher row, against the chart of the row's year.

    An account is active or not per financial year (each year has its own chart), so the same account can pass in
    one year and fail in the next. The account's ``CostCenterSettings`` and ``ProjectSettings`` say whether a row
    must, may or must not carry a cost centre or a project.
    """
    account = company.accounts.get(year_id, {}).get(account_number)
    if account is None:
        raise ApiError(codes.ACCOUNT_MISSING, account=account_number)
    if not account["Active"]:
        raise ApiError(codes.ACCOUNT_INACTIVE, account=account_number)
    if cost_center:
        center = company.cost_centers.get(str(cost_center))
        if center is None:
            raise ApiError(codes.COST_CENTER_MISSING, code=cost_center)
        if not center["Active"]:
            raise ApiError(codes.COST_CENTER_INACTIVE, code=cost_center)
        if account["CostCenterSettings"] == "NOTALLOWED":
            raise ApiError(codes.COST_CENTER_NOT_ALLOWED, account=account_number)
    elif account["CostCenterSettings"] == "MANDATORY":
        raise ApiError(codes.COST_CENTER_MANDATORY, account=account_number)
    if project:
        if str(project) not in company.projects:
            raise ApiError(codes.PROJECT_NOT_FOUND_ON_WRITE)
        if account["ProjectSettings"] == "NOTALLOWED":
            raise ApiError(codes.PROJECT_NOT_ALLOWED, account=account_number)
    elif account["ProjectSettings"] == "MANDATORY":
        raise ApiError(codes.PROJECT_MANDATORY, account=account_number)


def check_locked(company: Company, day: date) -> None:
    if company.locked_until is not None and day <= company.locked_until:
        raise ApiError(codes.PERIOD_LOCKED, date=company.locked_until.isoformat())


def requested_year(ctx: ApiContext) -> Record:
    """The financial year a request works in: ``financialyear`` (an id) wins over ``financialyeardate`` (a date in
    the year); without either, the preselected year, which for the sandbox is the year of today."""
    raw = ctx.arg("financialyear")
    if raw is not None:
        try:
            year = ctx.company.year_by_id(int(raw))
        except ValueError:
            raise ApiError(codes.INVALID_PARAMETER, field="financialyear") from None
    elif (day := ctx.arg("financialyeardate")) is not None:
        try:
            year = ctx.company.year_for(date.fromisoformat(day))
        except ValueError:
            raise ApiError(codes.INVALID_PARAMETER, field="financialyeardate") from None
    else:
        year = ctx.company.year_for(ctx.state.today())
    if year is None:
        raise ApiError(codes.FINANCIAL_YEAR_NOT_FOUND)
    return year


def requested_year_id(ctx: ApiContext) -> int:
    return int(requested_year(ctx)["Id"])


def requested_chart(ctx: ApiContext) -> dict[int, Record]:
    """The chart of accounts of the requested year: Fortnox keeps one per financial year."""
    return ctx.company.accounts.get(requested_year_id(ctx), {})


# -- routes --------------------------------------------------------------------------------------------------------
def _company_information(ctx: ApiContext) -> Response:
    company = ctx.company
    return json_response(
        {
            "CompanyInformation": {
                "Address": company.address,
                "City": company.city,
                "CompanyName": company.name,
                "CountryCode": "SE",
                "DatabaseNumber": company.tenant_id,
                "OrganizationNumber": company.organisation_number,
                "VisitAddress": "",
                "VisitCity": "",
                "VisitCountryCode": "",
                "VisitZipCode": "",
                "ZipCode": company.zip_code,
            }
        }
    )


def _locked_period(ctx: ApiContext) -> Response:
    end = ctx.company.locked_until
    return json_response({"LockedPeriod": {"EndDate": end.isoformat() if end else None}})


def _account(ctx: ApiContext, row: dict[str, Any]) -> dict[str, Any]:
    return {"@url": url(ctx, f"/3/accounts/{row['Number']}"), **public(row)}


ACCOUNT_LIST_FIELDS = (
    "@url",
    "Active",
    "BalanceBroughtForward",
    "CostCenter",
    "CostCenterSettings",
    "Description",
    "Number",
    "Project",
    "ProjectSettings",
    "SRU",
    "VATCode",
    "Year",
)


def _list_accounts(ctx: ApiContext) -> Response:
    """The chart of one financial year (``financialyear`` / ``financialyeardate``), by number; the spec's search
    parameters are ``sru`` (exact) and ``lastmodified``, its only sort ``number``."""
    rows = [row for _, row in sorted(requested_chart(ctx).items())]
    rows = modified_since(ctx, matching(ctx, only_status(ctx, rows, {}), {"sru": "SRU"}, exact))
    rows = sort(ctx, rows, {"number": lambda row: int(row["Number"])})
    return page(
        ctx, "Accounts", [{field: _account(ctx, row).get(field) for field in ACCOUNT_LIST_FIELDS} for row in rows]
    )


def _get_account(ctx: ApiContext, number: int) -> Response:
    row = requested_chart(ctx).get(number)
    if row is None:
        raise ApiError(codes.ACCOUNT_NOT_FOUND)
    single = {
        **_account(ctx, row),
        "BalanceCarriedForward": row["BalanceBroughtForward"],
        "OpeningQuantities": [],
        "QuantitySettings": "ALLOWED",
        "QuantityUnit": "",
        "TransactionInformation": "",
        "TransactionInformationSettings": "ALLOWED",
    }
    return json_response({"Account": single})


def _cost_center(ctx: ApiContext, row: Record) -> Record:
    return {"@url": url(ctx, f"/3/costcenters/{row['Code']}"), **public(row)}


def _list_cost_centers(ctx: ApiContext) -> Response:
    """Search ``lastmodified``, sort ``code`` (openapi.json tag fortnox_CostCenters)."""
    rows = [row for _, row in sorted(ctx.company.cost_centers.items())]
    rows = sort(ctx, modified_since(ctx, only_status(ctx, rows, {})), {"code": lambda row: str(row["Code"])})
    return page(ctx, "CostCenters", [_cost_center(ctx, row) for row in rows])


def _get_cost_center(ctx: ApiContext, code: str) -> Response:
    row = ctx.company.cost_centers.get(code)
    if row is None:
        raise ApiError(codes.COST_CENTER_NOT_FOUND)
    return json_response({"CostCenter": _cost_center(ctx, row)})


def _list_financial_years(ctx: ApiContext) -> Response:
    """``Date`` in the spec, ``date`` in Fortnox's docs and the C# SDK (FACTS.md 3.5): the year holding that day."""
    rows = only_status(ctx, ctx.company.financial_years, {})
    day = ctx.arg("date") or ctx.arg("Date")
    if day is not None:
        try:
            wanted = date.fromisoformat(day)
        except ValueError:
            raise ApiError(codes.INVALID_PARAMETER, field="date") from None
        rows = [row for row in rows if row["FromDate"] <= wanted.isoformat() <= row["ToDate"]]
    return page(ctx, "FinancialYears", [{"@url": url(ctx, f"/3/financialyears/{row['Id']}"), **row} for row in rows])


def _get_financial_year(ctx: ApiContext, year_id: int) -> Response:
    row = ctx.company.year_by_id(year_id)
    if row is None:
        raise ApiError(codes.FINANCIAL_YEAR_NOT_FOUND)
    return json_response({"FinancialYear": {"@url": url(ctx, f"/3/financialyears/{year_id}"), **row}})


def _list_currencies(ctx: ApiContext) -> Response:
    rows = [{"@url": url(ctx, f"/3/currencies/{code}"), **row} for code, row in sorted(ctx.company.currencies.items())]
    return page(ctx, "Currencies", rows)


ROUTES: list[ApiRoute] = [
    ApiRoute("GET", "/3/companyinformation", "companyinformation", _company_information),
    ApiRoute("GET", "/3/settings/lockedperiod", "bookkeeping", _locked_period),
    ApiRoute("GET", "/3/accounts", "bookkeeping", _list_accounts),
    ApiRoute("GET", "/3/accounts/<int:number>", "bookkeeping", _get_account),
    ApiRoute("GET", "/3/costcenters", "costcenter", _list_cost_centers),
    ApiRoute("GET", "/3/costcenters/<code>", "costcenter", _get_cost_center),
    ApiRoute("GET", "/3/financialyears", "bookkeeping", _list_financial_years),
    ApiRoute("GET", "/3/financialyears/<int:year_id>", "bookkeeping", _get_financial_year),
    ApiRoute("GET", "/3/currencies", "currency", _list_currencies),
]
