"""The Fortnox resources whose models are in ``fortnox/models/registers.py``."""

from collections.abc import Iterator

from fortnox_bridge.fortnox import pagination
from fortnox_bridge.fortnox.models.registers import (
    Account,
    CompanyInformation,
    CostCenter,
    Currency,
    LockedPeriod,
    Project,
    ProjectWrite,
)
from fortnox_bridge.fortnox.resources.base import Resource, segment, unwrap


class Accounts(Resource):
    def list(self, *, financial_year: int | None = None, **filters: str | int) -> Iterator[Account]:
        params = dict(filters)
        if financial_year is not None:
            params["financialyear"] = financial_year
        return pagination.iterate(
            self._http, "/3/accounts", key="Accounts", parse=Account.model_validate, params=params
        )

    def get(self, number: int, *, financial_year: int | None = None) -> Account:
        path = f"/3/accounts/{number}"
        params = {"financialyear": financial_year} if financial_year is not None else None
        return unwrap(self._http.request("GET", path, params=params, idempotent=True), "Account", Account, path)


class CostCenters(Resource):
    def list(self) -> Iterator[CostCenter]:
        return pagination.iterate(self._http, "/3/costcenters", key="CostCenters", parse=CostCenter.model_validate)

    def get(self, code: str) -> CostCenter:
        path = f"/3/costcenters/{segment(code)}"
        return unwrap(self._http.request("GET", path, idempotent=True), "CostCenter", CostCenter, path)


class Projects(Resource):
    def list(self) -> Iterator[Project]:
        return pagination.iterate(self._http, "/3/projects", key="Projects", parse=Project.model_validate)

    def get(self, number: str) -> Project:
        path = f"/3/projects/{segment(number)}"
        return unwrap(self._http.request("GET", path, idempotent=True), "Project", Project, path)

    def create(self, project: ProjectWrite) -> Project:
        body = self._http.request("POST", "/3/projects", body={"Project": project.to_fortnox()}, idempotent=False)
        return unwrap(body, "Project", Project, "POST /3/projects")

    def update(self, number: str, project: ProjectWrite) -> Project:
        path = f"/3/projects/{segment(number)}"
        body = self._http.request("PUT", path, body={"Project": project.to_fortnox()}, idempotent=True)
        return unwrap(body, "Project", Project, path)


class Currencies(Resource):
    def list(self) -> Iterator[Currency]:
        return pagination.iterate(self._http, "/3/currencies", key="Currencies", parse=Currency.model_validate)


class CompanyInformationResource(Resource):
    def get(self) -> CompanyInformation:
        path = "/3/companyinformation"
        body = self._http.request("GET", path, idempotent=True)
        return unwrap(body, "CompanyInformation", CompanyInformation, path)


class LockedPeriodResource(Resource):
    def get(self) -> LockedPeriod:
        path = "/3/settings/lockedperiod"
        return unwrap(self._http.request("GET", path, idempotent=True), "LockedPeriod", LockedPeriod, path)
