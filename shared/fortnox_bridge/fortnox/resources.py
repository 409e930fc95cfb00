"""One small class per Fortnox resource, each a thin typed face over the HTTP transport."""

from collections.abc import Iterator, Mapping
from datetime import date
from typing import Any, TypeVar
from urllib.parse import quote

from pydantic import BaseModel

from fortnox_bridge.fortnox import pagination
from fortnox_bridge.fortnox.errors import FortnoxUnexpectedResponse
from fortnox_bridge.fortnox.http import FortnoxHttp
from fortnox_bridge.fortnox.models.articles import Article, ArticleListItem, ArticleWrite
from fortnox_bridge.fortnox.models.customers import Customer, CustomerListItem, CustomerWrite
from fortnox_bridge.fortnox.models.files import Attachment, AttachmentWrite, InboxFile
from fortnox_bridge.fortnox.models.invoices import Invoice, InvoiceListItem, InvoiceWrite
from fortnox_bridge.fortnox.models.orders import Order, OrderListItem, OrderWrite
from fortnox_bridge.fortnox.models.payments import (
    InvoicePayment,
    InvoicePaymentListItem,
    InvoicePaymentWrite,
)
from fortnox_bridge.fortnox.models.registers import (
    Account,
    CompanyInformation,
    CostCenter,
    Currency,
    LockedPeriod,
    Project,
    ProjectWrite,
)
from fortnox_bridge.fortnox.models.vouchers import (
    FinancialYear,
    Voucher,
    VoucherListItem,
    VoucherSeries,
    VoucherWrite,
)

ModelT = TypeVar("ModelT", bound=BaseModel)
Filters = Mapping[str, str | int]


def _segment(value: str | int) -> str:
    return quote(str(value), safe="")


def _unwrap(body: Any, key: str, model: type[ModelT], path: str) -> ModelT:
    if not isinstance(body, dict) or not isinstance(body.get(key), dict):
        raise FortnoxUnexpectedResponse(f"{path} did not return a {key} object", status=200)
    return model.model_validate(body[key])


class _Resource:
    def __init__(self, http: FortnoxHttp) -> None:
        self._http = http


class Customers(_Resource):
    def list(self, **filters: str | int) -> Iterator[CustomerListItem]:
        return pagination.iterate(
            self._http, "/3/customers", key="Customers", parse=CustomerListItem.model_validate, params=filters
        )

    def get(self, number: str) -> Customer:
        path = f"/3/customers/{_segment(number)}"
        return _unwrap(self._http.request("GET", path, idempotent=True), "Customer", Customer, path)

    def create(self, customer: CustomerWrite) -> Customer:
        body = self._http.request("POST", "/3/customers", body={"Customer": customer.to_fortnox()}, idempotent=False)
        return _unwrap(body, "Customer", Customer, "POST /3/customers")

    def update(self, number: str, customer: CustomerWrite) -> Customer:
        path = f"/3/customers/{_segment(number)}"
        body = self._http.request("PUT", path, body={"Customer": customer.to_fortnox()}, idempotent=True)
        return _unwrap(body, "Customer", Customer, path)


class Invoices(_Resource):
    def list(self, **filters: str | int) -> Iterator[InvoiceListItem]:
        return pagination.iterate(
            self._http, "/3/invoices", key="Invoices", parse=InvoiceListItem.model_validate, params=filters
        )

    def get(self, document_number: str) -> Invoice:
        path = f"/3/invoices/{_segment(document_number)}"
        return _unwrap(self._http.request("GET", path, idempotent=True), "Invoice", Invoice, path)

    def create(self, invoice: InvoiceWrite) -> Invoice:
        body = self._http.request("POST", "/3/invoices", body={"Invoice": invoice.to_fortnox()}, idempotent=False)
        return _unwrap(body, "Invoice", Invoice, "POST /3/invoices")

    def update(self, document_number: str, invoice: InvoiceWrite) -> Invoice:
        path = f"/3/invoices/{_segment(document_number)}"
        body = self._http.request("PUT", path, body={"Invoice": invoice.to_fortnox()}, idempotent=True)
        return _unwrap(body, "Invoice", Invoice, path)

    def bookkeep(self, document_number: str) -> Invoice:
        return self._action(document_number, "bookkeep", idempotent=True)

    def cancel(self, document_number: str) -> Invoice:
        return self._action(document_number, "cancel", idempotent=True)

    def credit(self, document_number: str) -> Invoice:
        """Creates a credit invoice; the original then names it in ``CreditInvoiceReference``."""
        return self._action(document_number, "credit", idempotent=False)

    def email(self, document_number: str) -> Invoice:
        """Fortnox e-mails the invoice: a GET that sends mail, so it is never sent twice blindly."""
        path = f"/3/invoices/{_segment(document_number)}/email"
        return _unwrap(self._http.request("GET", path, idempotent=False), "Invoice", Invoice, path)

    def external_print(self, document_number: str) -> Invoice:
        return self._action(document_number, "externalprint", idempotent=True)

    def _action(self, document_number: str, action: str, *, idempotent: bool) -> Invoice:
        path = f"/3/invoices/{_segment(document_number)}/{action}"
        return _unwrap(self._http.request("PUT", path, idempotent=idempotent), "Invoice", Invoice, path)


class Orders(_Resource):
    def list(self, **filters: str | int) -> Iterator[OrderListItem]:
        return pagination.iterate(
            self._http, "/3/orders", key="Orders", parse=OrderListItem.model_validate, params=filters
        )

    def update(self, document_number: str, order: OrderWrite) -> Order:
        path = f"/3/orders/{_segment(document_number)}"
        body = self._http.request("PUT", path, body={"Order": order.to_fortnox()}, idempotent=True)
        return _unwrap(body, "Order", Order, path)

    def get(self, document_number: str) -> Order:
        path = f"/3/orders/{_segment(document_number)}"
        return _unwrap(self._http.request("GET", path, idempotent=True), "Order", Order, path)

    def create(self, order: OrderWrite) -> Order:
        body = self._http.request("POST", "/3/orders", body={"Order": order.to_fortnox()}, idempotent=False)
        return _unwrap(body, "Order", Order, "POST /3/orders")

    def create_invoice(self, document_number: str) -> Invoice:
        path = f"/3/orders/{_segment(document_number)}/createinvoice"
        return _unwrap(self._http.request("PUT", path, idempotent=False), "Invoice", Invoice, path)


class Vouchers(_Resource):
    def list(self, *, financial_year: int, **filters: str | int) -> Iterator[VoucherListItem]:
        return pagination.iterate(
            self._http,
            "/3/vouchers",
            key="Vouchers",
            parse=VoucherListItem.model_validate,
            params={**filters, "financialyear": financial_year},
        )

    def get(self, series: str, number: int, *, financial_year: int) -> Voucher:
        path = f"/3/vouchers/{_segment(series)}/{number}"
        body = self._http.request("GET", path, params={"financialyear": financial_year}, idempotent=True)
        return _unwrap(body, "Voucher", Voucher, path)

    def create(self, voucher: VoucherWrite, *, financial_year: int) -> Voucher:
        body = self._http.request(
            "POST",
            "/3/vouchers",
            params={"financialyear": financial_year},
            body={"Voucher": voucher.to_fortnox()},
            idempotent=False,
        )
        return _unwrap(body, "Voucher", Voucher, "POST /3/vouchers")


class VoucherSeriesResource(_Resource):
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
        path = f"/3/voucherseries/{_segment(code)}"
        return _unwrap(self._http.request("GET", path, idempotent=True), "VoucherSeries", VoucherSeries, path)


class Accounts(_Resource):
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
        return _unwrap(self._http.request("GET", path, params=params, idempotent=True), "Account", Account, path)


class CostCenters(_Resource):
    def list(self) -> Iterator[CostCenter]:
        return pagination.iterate(self._http, "/3/costcenters", key="CostCenters", parse=CostCenter.model_validate)

    def get(self, code: str) -> CostCenter:
        path = f"/3/costcenters/{_segment(code)}"
        return _unwrap(self._http.request("GET", path, idempotent=True), "CostCenter", CostCenter, path)


class Projects(_Resource):
    def list(self) -> Iterator[Project]:
        return pagination.iterate(self._http, "/3/projects", key="Projects", parse=Project.model_validate)

    def get(self, number: str) -> Project:
        path = f"/3/projects/{_segment(number)}"
        return _unwrap(self._http.request("GET", path, idempotent=True), "Project", Project, path)

    def create(self, project: ProjectWrite) -> Project:
        body = self._http.request("POST", "/3/projects", body={"Project": project.to_fortnox()}, idempotent=False)
        return _unwrap(body, "Project", Project, "POST /3/projects")

    def update(self, number: str, project: ProjectWrite) -> Project:
        path = f"/3/projects/{_segment(number)}"
        body = self._http.request("PUT", path, body={"Project": project.to_fortnox()}, idempotent=True)
        return _unwrap(body, "Project", Project, path)


class Articles(_Resource):
    """The article register, which the mapping check reads to confirm each mapped ArticleNumber exists."""

    def list(self, **filters: str | int) -> Iterator[ArticleListItem]:
        return pagination.iterate(
            self._http, "/3/articles", key="Articles", parse=ArticleListItem.model_validate, params=filters
        )

    def get(self, number: str) -> Article:
        path = f"/3/articles/{_segment(number)}"
        return _unwrap(self._http.request("GET", path, idempotent=True), "Article", Article, path)

    def create(self, article: ArticleWrite) -> Article:
        body = self._http.request("POST", "/3/articles", body={"Article": article.to_fortnox()}, idempotent=False)
        return _unwrap(body, "Article", Article, "POST /3/articles")

    def update(self, number: str, article: ArticleWrite) -> Article:
        path = f"/3/articles/{_segment(number)}"
        body = self._http.request("PUT", path, body={"Article": article.to_fortnox()}, idempotent=True)
        return _unwrap(body, "Article", Article, path)


class FinancialYears(_Resource):
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


class Currencies(_Resource):
    def list(self) -> Iterator[Currency]:
        return pagination.iterate(self._http, "/3/currencies", key="Currencies", parse=Currency.model_validate)


class CompanyInformationResource(_Resource):
    def get(self) -> CompanyInformation:
        path = "/3/companyinformation"
        body = self._http.request("GET", path, idempotent=True)
        return _unwrap(body, "CompanyInformation", CompanyInformation, path)


class LockedPeriodResource(_Resource):
    def get(self) -> LockedPeriod:
        path = "/3/settings/lockedperiod"
        return _unwrap(self._http.request("GET", path, idempotent=True), "LockedPeriod", LockedPeriod, path)


class InvoicePayments(_Resource):
    def list(self, **filters: str | int) -> Iterator[InvoicePaymentListItem]:
        return pagination.iterate(
            self._http,
            "/3/invoicepayments",
            key="InvoicePayments",
            parse=InvoicePaymentListItem.model_validate,
            params=filters,
        )

    def get(self, number: str) -> InvoicePayment:
        path = f"/3/invoicepayments/{_segment(number)}"
        return _unwrap(self._http.request("GET", path, idempotent=True), "InvoicePayment", InvoicePayment, path)

    def create(self, payment: InvoicePaymentWrite) -> InvoicePayment:
        body = self._http.request(
            "POST", "/3/invoicepayments", body={"InvoicePayment": payment.to_fortnox()}, idempotent=False
        )
        return _unwrap(body, "InvoicePayment", InvoicePayment, "POST /3/invoicepayments")


class Inbox(_Resource):
    def upload(self, name: str, content: bytes, *, folder: str = "inbox_kf") -> InboxFile:
        """Upload a file to an inbox folder; invoices take ``inbox_kf``."""
        body = self._http.request(
            "POST",
            "/3/inbox",
            params={"path": folder},
            files={"file": (name, content, "application/pdf")},
            idempotent=False,
        )
        return _unwrap(body, "File", InboxFile, "POST /3/inbox")


class FileAttachments(_Resource):
    _PATH = "/api/fileattachments/attachments-v1"

    def attach(self, attachments: list[AttachmentWrite]) -> list[Attachment]:
        body = self._http.request(
            "POST", self._PATH, body=[item.to_fortnox() for item in attachments], idempotent=False
        )
        rows = body if isinstance(body, list) else [body]
        return [Attachment.model_validate(row) for row in rows]

    def for_entity(self, entity_id: int, entity_type: str) -> list[Attachment]:
        body = self._http.request(
            "GET", self._PATH, params={"entityid": entity_id, "entitytype": entity_type}, idempotent=True
        )
        rows = body if isinstance(body, list) else []
        return [Attachment.model_validate(row) for row in rows]
