"""One small class per Fortnox resource, each a thin typed face over the HTTP transport.

The resources live in a module per models module, and this package imports one only when one of its names is first
asked for: importing a resource builds its pydantic models, and a function that calls two resources should not
build every resource's models at each cold start.
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fortnox_bridge.fortnox.resources.articles import Articles as Articles
    from fortnox_bridge.fortnox.resources.customers import Customers as Customers
    from fortnox_bridge.fortnox.resources.files import FileAttachments as FileAttachments
    from fortnox_bridge.fortnox.resources.files import Inbox as Inbox
    from fortnox_bridge.fortnox.resources.invoices import Invoices as Invoices
    from fortnox_bridge.fortnox.resources.orders import Orders as Orders
    from fortnox_bridge.fortnox.resources.payments import InvoicePayments as InvoicePayments
    from fortnox_bridge.fortnox.resources.registers import Accounts as Accounts
    from fortnox_bridge.fortnox.resources.registers import CompanyInformationResource as CompanyInformationResource
    from fortnox_bridge.fortnox.resources.registers import CostCenters as CostCenters
    from fortnox_bridge.fortnox.resources.registers import Currencies as Currencies
    from fortnox_bridge.fortnox.resources.registers import LockedPeriodResource as LockedPeriodResource
    from fortnox_bridge.fortnox.resources.registers import Projects as Projects
    from fortnox_bridge.fortnox.resources.vouchers import FinancialYears as FinancialYears
    from fortnox_bridge.fortnox.resources.vouchers import Vouchers as Vouchers
    from fortnox_bridge.fortnox.resources.vouchers import VoucherSeriesResource as VoucherSeriesResource

MODULE_OF = {
    "Accounts": "registers",
    "Articles": "articles",
    "CompanyInformationResource": "registers",
    "CostCenters": "registers",
    "Currencies": "registers",
    "Customers": "customers",
    "FileAttachments": "files",
    "FinancialYears": "vouchers",
    "Inbox": "files",
    "InvoicePayments": "payments",
    "Invoices": "invoices",
    "LockedPeriodResource": "registers",
    "Orders": "orders",
    "Projects": "registers",
    "VoucherSeriesResource": "vouchers",
    "Vouchers": "vouchers",
}
"""Which module of this package defines each resource."""


def __getattr__(name: str) -> Any:
    module = MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{module}"), name)
