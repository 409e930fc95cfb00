"""Every request the sandbox accepts and every answer it gives, validated against Fortnox's openapi.json."""

import re
from datetime import date
from decimal import Decimal

import httpx
import pytest

from fortnox_bridge.fortnox.models.articles import ArticleWrite
from fortnox_bridge.fortnox.models.customers import CustomerWrite
from fortnox_bridge.fortnox.models.files import AttachmentWrite
from fortnox_bridge.fortnox.models.invoices import InvoiceRowWrite, InvoiceWrite
from fortnox_bridge.fortnox.models.orders import OrderRowWrite, OrderWrite
from fortnox_bridge.fortnox.models.payments import InvoicePaymentWrite
from fortnox_bridge.fortnox.models.registers import ProjectWrite
from fortnox_bridge.fortnox.models.vouchers import VoucherRowWrite, VoucherWrite
from fortnox_sandbox.api import ROUTES
from fortnox_sandbox.server import SandboxServer
from tests.conftest import Scene
from tests.sandbox.openapi_contract import operation_for, validate_exchange

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _exercise_every_route(scene: Scene) -> None:
    scene.control.set_rate_limit(10_000, 5.0)  # the limit has tests of its own; here it would only slow things down
    client = scene.client()
    token = scene.token()
    raw = httpx.Client(
        base_url=scene.url, headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    )
    today = date.today()

    client.company_information.get()
    client.locked_period.get()
    customer = client.customers.create(
        CustomerWrite(Name="Kund AB", OrganisationNumber="556000-1111", Email="a@b.se", EmailInvoice="faktura@b.se")
    )
    client.customers.update(customer.CustomerNumber or "", CustomerWrite(City="Luleå"))
    client.customers.get(customer.CustomerNumber or "")
    list(client.customers.list())
    spare = client.customers.create(CustomerWrite(Name="Borttagen AB"))
    raw.delete(f"/3/customers/{spare.CustomerNumber}")
    raw.get("/3/customers/999999")

    rows = [
        InvoiceRowWrite(
            AccountNumber=3001, Description="Frakt", DeliveredQuantity=Decimal(3), Price=Decimal("99.90"), VAT=25
        )
    ]
    invoice = client.invoices.create(
        InvoiceWrite(
            CustomerNumber=customer.CustomerNumber,
            InvoiceRows=rows,
            Currency="EUR",
            CurrencyRate=Decimal("11.25"),
            Language="EN",
            Remarks="Invoice 100353, 4555, 2024-09-04",
            ExternalInvoiceReference1="bridge:1",
        )
    )
    number = invoice.DocumentNumber or ""
    client.invoices.update(number, InvoiceWrite(Comments="uppdaterad"))
    list(client.invoices.list(externalinvoicereference1="bridge:1"))
    client.invoices.get(number)
    client.invoices.external_print(number)
    client.invoices.bookkeep(number)
    client.invoices.credit(number)
    spare_invoice = client.invoices.create(InvoiceWrite(CustomerNumber=customer.CustomerNumber, InvoiceRows=rows))
    client.invoices.cancel(spare_invoice.DocumentNumber or "")
    raw.post("/3/invoices", content='{"Invoice":{"CustomerNumber":"1","Currency":"XXX"}}')
    raw.get("/3/invoices/424242")

    order = client.orders.create(
        OrderWrite(
            CustomerNumber=customer.CustomerNumber or "",
            OrderRows=[
                OrderRowWrite(
                    AccountNumber=3001,
                    OrderedQuantity=Decimal(2),
                    DeliveredQuantity=Decimal(2),
                    Price=Decimal(50),
                    VAT=Decimal(25),
                )
            ],
        )
    )
    client.orders.get(order.DocumentNumber or "")
    list(client.orders.list())
    client.orders.update(order.DocumentNumber or "", OrderWrite(Remarks="Samlingsfaktura november"))
    client.invoices.email(number)
    from_order = client.orders.create_invoice(order.DocumentNumber or "")
    spare_order = raw.post("/3/orders", content='{"Order":{"CustomerNumber":"1","OrderRows":[]}}')
    raw.put(f"/3/orders/{spare_order.json()['Order']['DocumentNumber']}/cancel")
    client.invoices.bookkeep(from_order.DocumentNumber or "")

    year = client.financial_years.for_date(today)
    assert year is not None and year.Id is not None
    client.financial_years.list()
    raw.get(f"/3/financialyears/{year.Id}")
    voucher = client.vouchers.create(
        VoucherWrite(
            Description="Dagskassa",
            TransactionDate=today,
            VoucherSeries="A",
            VoucherRows=[
                VoucherRowWrite(Account=1930, Debit=Decimal("125.00")),
                VoucherRowWrite(Account=3001, Credit=Decimal("100.00"), CostCenter="STHLM"),
                VoucherRowWrite(Account=2610, Credit=Decimal("25.00")),
            ],
        ),
        financial_year=year.Id,
    )
    raw.post(
        f"/3/vouchers?financialyear={year.Id}",
        content='{"Voucher":{"Description":"x","TransactionDate":"'
        + today.isoformat()
        + '","VoucherSeries":"B","VoucherRows":[{"Account":1930,"Debit":1},{"Account":3001,"Credit":1}]}}',
    )
    list(client.vouchers.list(financial_year=year.Id))
    raw.get(f"/3/vouchers/sublist/A?financialyear={year.Id}")
    raw.get("/3/vouchers/sublist")
    client.vouchers.get("A", voucher.VoucherNumber or 0, financial_year=year.Id)
    list(client.voucher_series.list())
    client.voucher_series.get("A")
    list(client.accounts.list(financial_year=year.Id))
    client.accounts.get(3001, financial_year=year.Id)
    list(client.cost_centers.list())
    client.cost_centers.get("STHLM")
    list(client.projects.list())
    client.projects.get("P100")
    client.projects.create(ProjectWrite(Description="Nytt projekt", StartDate=today))
    client.projects.update("1", ProjectWrite(Status="COMPLETED"))
    client.articles.create(ArticleWrite(ArticleNumber="FRAKT", Description="Frakt", SalesAccount=3041))
    client.articles.update("FRAKT", ArticleWrite(Unit="st"))
    client.articles.get("FRAKT")
    list(client.articles.list(description="frakt"))
    raw.get("/3/articles/SAKNAS")
    list(client.currencies.list())

    payment = client.invoice_payments.create(
        InvoicePaymentWrite(InvoiceNumber=int(from_order.DocumentNumber or 0), Amount=Decimal(50), PaymentDate=today)
    )
    list(client.invoice_payments.list())
    client.invoice_payments.get(payment.Number or "")
    raw.put(
        f"/3/invoicepayments/{payment.Number}",
        content='{"InvoicePayment":{"Amount":60,"InvoiceNumber":' + (from_order.DocumentNumber or "0") + "}}",
    )
    raw.delete(f"/3/invoicepayments/{payment.Number}")

    uploaded = client.inbox.upload("faktura.pdf", PDF)
    client.inbox.folder("inbox_kf")
    client.file_attachments.attach(
        [AttachmentWrite(entityId=int(number), entityType="F", fileId=uploaded.ArchiveFileId or "", includeOnSend=True)]
    )
    client.file_attachments.for_entity(int(number), "F")
    raw.post(
        "/api/fileattachments/attachments-v1", content=f'[{{"entityId":{number},"entityType":"F","fileId":"nope"}}]'
    )


def test_sandbox_traffic_matches_the_spec_but_for_listed_deviations(scene: Scene, sandbox: SandboxServer) -> None:
    before = len(sandbox.state.requests)
    _exercise_every_route(scene)
    exchanges = [row for row in sandbox.state.requests[before:] if row.path.startswith(("/3/", "/api/"))]
    assert len(exchanges) >= 45
    violations = [violation for row in exchanges for violation in validate_exchange(row)]
    assert violations == [], "\n".join(f"{v.where}: {v.message}" for v in violations[:20])


def test_every_sandbox_route_is_a_spec_operation_and_was_exercised(scene: Scene, sandbox: SandboxServer) -> None:
    before = len(sandbox.state.requests)
    _exercise_every_route(scene)
    seen = {(row.method, _route_of(row.method, row.path)) for row in sandbox.state.requests[before:]}
    for route in ROUTES:
        example = re.sub(r"<(?:int:)?[^>]+>", "1", route.path)
        assert operation_for(route.method, example) is not None, f"{route.method} {route.path} is not in the spec"
        assert (route.method, route.path) in seen, f"{route.method} {route.path} was not exercised"


def _route_of(method: str, path: str) -> str | None:
    for route in ROUTES:
        pattern = "^" + re.sub(r"<int:[^>]+>", r"\\d+", re.sub(r"<(?!int:)[^>]+>", "[^/]+", route.path)) + "$"
        if route.method == method and re.match(pattern, path):
            literal_match = [r for r in ROUTES if r.method == method and "sublist" in r.path and "sublist" in path]
            if literal_match and "sublist" not in route.path:
                continue
            return route.path
    return None


@pytest.mark.parametrize("bad", ["limit=501", "limit=0", "page=0"])
def test_paging_parameters_outside_fortnox_bounds_are_refused(scene: Scene, bad: str) -> None:
    answer = httpx.get(f"{scene.url}/3/customers?{bad}", headers={"Authorization": f"Bearer {scene.token()}"})
    assert answer.status_code == 400
    assert answer.json()["ErrorInformation"]["code"] == 2000588
