"""The Fortnox API routes the sandbox serves, gathered from each resource module (see resources/)."""

from fortnox_sandbox.http_util import ApiRoute
from fortnox_sandbox.resources import (
    articles,
    customers,
    files,
    invoices,
    orders,
    payments,
    projects,
    registers,
    vouchers,
)

ROUTES: list[ApiRoute] = [
    *registers.ROUTES,
    *customers.ROUTES,
    *invoices.ROUTES,
    *orders.ROUTES,
    *vouchers.ROUTES,
    *projects.ROUTES,
    *payments.ROUTES,
    *files.ROUTES,
    *articles.ROUTES,
]
