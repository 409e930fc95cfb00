"""The Fortnox client: one object per tenant, resources as attributes.

Each resource is built the first time it is used, and its module imported then: a resource's module builds its
pydantic models, and most functions call two or three of the sixteen resources, so building every one at import
cost each cold start about a third of a bare ``import boto3``.
"""

from functools import cached_property
from typing import TYPE_CHECKING

import httpx

from fortnox_bridge.fortnox.http import FortnoxHttp
from fortnox_bridge.fortnox.ports import RateLimiter, TokenProvider
from fortnox_bridge.fortnox.retry import RetryPolicy

if TYPE_CHECKING:
    from fortnox_bridge.fortnox.resources.articles import Articles
    from fortnox_bridge.fortnox.resources.customers import Customers
    from fortnox_bridge.fortnox.resources.files import FileAttachments, Inbox
    from fortnox_bridge.fortnox.resources.invoices import Invoices
    from fortnox_bridge.fortnox.resources.orders import Orders
    from fortnox_bridge.fortnox.resources.payments import InvoicePayments
    from fortnox_bridge.fortnox.resources.registers import (
        Accounts,
        CompanyInformationResource,
        CostCenters,
        Currencies,
        LockedPeriodResource,
        Projects,
    )
    from fortnox_bridge.fortnox.resources.vouchers import FinancialYears, Vouchers, VoucherSeriesResource


class FortnoxClient:
    def __init__(
        self,
        *,
        base_url: str,
        tokens: TokenProvider,
        rate_limiter: RateLimiter,
        retry: RetryPolicy | None = None,
        http: httpx.Client | None = None,
        timeout: float = 30.0,
    ) -> None:
        self.http = FortnoxHttp(
            base_url=base_url,
            tokens=tokens,
            rate_limiter=rate_limiter,
            retry=retry,
            http=http,
            timeout=timeout,
        )

    @cached_property
    def customers(self) -> "Customers":
        from fortnox_bridge.fortnox.resources.customers import Customers

        return Customers(self.http)

    @cached_property
    def invoices(self) -> "Invoices":
        from fortnox_bridge.fortnox.resources.invoices import Invoices

        return Invoices(self.http)

    @cached_property
    def orders(self) -> "Orders":
        from fortnox_bridge.fortnox.resources.orders import Orders

        return Orders(self.http)

    @cached_property
    def vouchers(self) -> "Vouchers":
        from fortnox_bridge.fortnox.resources.vouchers import Vouchers

        return Vouchers(self.http)

    @cached_property
    def voucher_series(self) -> "VoucherSeriesResource":
        from fortnox_bridge.fortnox.resources.vouchers import VoucherSeriesResource

        return VoucherSeriesResource(self.http)

    @cached_property
    def accounts(self) -> "Accounts":
        from fortnox_bridge.fortnox.resources.registers import Accounts

        return Accounts(self.http)

    @cached_property
    def cost_centers(self) -> "CostCenters":
        from fortnox_bridge.fortnox.resources.registers import CostCenters

        return CostCenters(self.http)

    @cached_property
    def projects(self) -> "Projects":
        from fortnox_bridge.fortnox.resources.registers import Projects

        return Projects(self.http)

    @cached_property
    def articles(self) -> "Articles":
        from fortnox_bridge.fortnox.resources.articles import Articles

        return Articles(self.http)

    @cached_property
    def financial_years(self) -> "FinancialYears":
        from fortnox_bridge.fortnox.resources.vouchers import FinancialYears

        return FinancialYears(self.http)

    @cached_property
    def currencies(self) -> "Currencies":
        from fortnox_bridge.fortnox.resources.registers import Currencies

        return Currencies(self.http)

    @cached_property
    def company_information(self) -> "CompanyInformationResource":
        from fortnox_bridge.fortnox.resources.registers import CompanyInformationResource

        return CompanyInformationResource(self.http)

    @cached_property
    def locked_period(self) -> "LockedPeriodResource":
        from fortnox_bridge.fortnox.resources.registers import LockedPeriodResource

        return LockedPeriodResource(self.http)

    @cached_property
    def invoice_payments(self) -> "InvoicePayments":
        from fortnox_bridge.fortnox.resources.payments import InvoicePayments

        return InvoicePayments(self.http)

    @cached_property
    def inbox(self) -> "Inbox":
        from fortnox_bridge.fortnox.resources.files import Inbox

        return Inbox(self.http)

    @cached_property
    def file_attachments(self) -> "FileAttachments":
        from fortnox_bridge.fortnox.resources.files import FileAttachments

        return FileAttachments(self.http)

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> "FortnoxClient":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
