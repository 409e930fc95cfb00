"""The Fortnox resources whose models are in ``fortnox/models/vouchers.py``."""

from collections.abc import Iterator
from datetime import date

from fortnox_bridge.fortnox import pagination
from fortnox_bridge.fortnox.models.vouchers import FinancialYear, Voucher, VoucherListItem, VoucherSeries, VoucherWrite
from fortnox_bridge.fortnox.resources.base import Resource, segment, unwrap


class Vouchers(Resource):
    def list(self, *, financial_year: int, **filters: str | int) -> Iterator[VoucherListItem]:
        return pagination.iterate(
            self._http,
            "/3/vouchers",
            key="Vouchers",
            parse=VoucherListItem.model_validate,
            params={**filters, "financialyear": financial_year},
        )

    def get(self, series: str, number: int, *, financial_year: int) -> Voucher:
        path = f"/3/vouchers/{segment(series)}/{number}"
        body = self._http.request("GET", path, params={"financialyear": financial_year}, idempotent=True)
        return unwrap(body, "Voucher", Voucher, path)

    def create(self, voucher: VoucherWrite, *, financial_year: int) -> Voucher:
        body = self._http.request(
            "POST",
            "/3/vouchers",
            params={"financialyear": financial_year},
            body={"Voucher": voucher.to_fortnox()},
            idempotent=False,
        )
        return unwrap(body, "Voucher", Voucher, "POST /3/vouchers")


class VoucherSeriesResource(Resource):
    def list(self, *, financial_year: int | None = None, **filters: str | int) -> Iterator[VoucherSeries]:
        """The series as they are in ``financial_year`` (an id): Fortnox keeps ``Manual`` per year, and without the
        parameter answers for the preselected year, not the year a voucher is for."""
        params = dict(filters)
        if financial_year is not None:
            params["financialyear"] = financial_year
        return pagination.iterate(
            self._http,
            "/3/voucherseries",
            key="VoucherSeriesCollection",
            parse=VoucherSeries.model_validate,
            params=params,
        )

    def get(self, code: str) -> VoucherSeries:
        path = f"/3/voucherseries/{segment(code)}"
        return unwrap(self._http.request("GET", path, idempotent=True), "VoucherSeries", VoucherSeries, path)


class FinancialYears(Resource):
    def list(self, *, on: date | None = None) -> Iterator[FinancialYear]:
        params = {"date": on.isoformat()} if on is not None else None
        return pagination.iterate(
            self._http,
            "/3/financialyears",
            key="FinancialYears",
            parse=FinancialYear.model_validate,
            params=params,
        )

    def for_date(self, day: date) -> FinancialYear | None:
        """The financial year that holds ``day``, or None when the tenant has not created it yet."""
        return next(iter(self.list(on=day)), None)
