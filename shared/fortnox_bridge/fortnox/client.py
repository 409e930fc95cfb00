"""The Fortnox client: one object per tenant, resources as attributes."""

import httpx

from fortnox_bridge.fortnox.http import FortnoxHttp
from fortnox_bridge.fortnox.ports import RateLimiter, TokenProvider
from fortnox_bridge.fortnox.resources import (
    Accounts,
    Articles,
    CompanyInformationResource,
    CostCenters,
    Currencies,
    Customers,
    FileAttachments,
    FinancialYears,
    Inbox,
    InvoicePayments,
    Invoices,
    LockedPeriodResource,
    Orders,
    Projects,
    Vouchers,
    VoucherSeriesResource,
)
from fortnox_bridge.fortnox.retry import RetryPolicy


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
        self.customers = Customers(self.http)
        self.invoices = Invoices(self.http)
        self.orders = Orders(self.http)
        self.vouchers = Vouchers(self.http)
        self.voucher_series = VoucherSeriesResource(self.http)
        self.accounts = Accounts(self.http)
        self.cost_centers = CostCenters(self.http)
        self.projects = Projects(self.http)
        self.articles = Articles(self.http)
        self.financial_years = FinancialYears(self.http)
        self.currencies = Currencies(self.http)
        self.company_information = CompanyInformationResource(self.http)
        self.locked_period = LockedPeriodResource(self.http)
        self.invoice_payments = InvoicePayments(self.http)
        self.inbox = Inbox(self.http)
        self.file_attachments = FileAttachments(self.http)

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> "FortnoxClient":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
