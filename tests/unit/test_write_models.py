"""The client's write models take every field the bridge may send and Fortnox accepts, and check them before they go.

Which fields Fortnox accepts: openapi.json (tests/unit/test_models_match_the_spec.py keeps every name in the spec).
"""

from collections.abc import Callable
from datetime import date
from decimal import Decimal

import pytest
from pydantic import ValidationError

from fortnox_bridge.fortnox.models.articles import ArticleWrite
from fortnox_bridge.fortnox.models.customers import CustomerWrite
from fortnox_bridge.fortnox.models.invoices import EmailInformationWrite, InvoiceRowWrite, InvoiceWrite
from fortnox_bridge.fortnox.models.orders import OrderRowWrite, OrderWrite
from fortnox_bridge.fortnox.models.registers import ProjectWrite


def test_an_order_carries_comments_housework_and_its_email() -> None:
    order = OrderWrite(
        CustomerNumber="1",
        Comments="Intern anteckning",
        TaxReductionType="rut",
        EmailInformation=EmailInformationWrite(EmailAddressTo="a@b.se", EmailAddressCC="c@b.se"),
        OrderRows=[
            OrderRowWrite(
                Description="Städning",
                OrderedQuantity=Decimal(2),
                Unit="h",
                HouseWork=True,
                HouseWorkType="CLEANING",
                HouseWorkHoursToReport=2,
            )
        ],
    )
    body = order.to_fortnox()
    assert body["Comments"] == "Intern anteckning" and body["TaxReductionType"] == "rut"
    assert body["EmailInformation"] == {"EmailAddressTo": "a@b.se", "EmailAddressCC": "c@b.se"}
    assert body["OrderRows"][0]["HouseWorkType"] == "CLEANING"
    assert body["OrderRows"][0]["OrderedQuantity"] == "2"


def test_a_customer_carries_copies_of_its_invoice_mail() -> None:
    body = CustomerWrite(Name="Kund AB", EmailInvoiceCC="ekonomi@kund.se", EmailInvoiceBCC="arkiv@kund.se").to_fortnox()
    assert (body["EmailInvoiceCC"], body["EmailInvoiceBCC"]) == ("ekonomi@kund.se", "arkiv@kund.se")


def test_an_invoice_carries_its_country_and_housework_rows() -> None:
    body = InvoiceWrite(
        CustomerNumber="1",
        Country="Norge",
        TaxReductionType="rot",
        InvoiceRows=[InvoiceRowWrite(Description="Målning", HouseWork=True, HouseWorkType="PAINTINGWALLPAPERING")],
    ).to_fortnox()
    assert body["Country"] == "Norge" and body["InvoiceRows"][0]["HouseWork"] is True


@pytest.mark.parametrize(
    "build",
    [
        lambda: OrderWrite(TaxReductionType="ROT"),  # Fortnox's values are lower case
        lambda: OrderRowWrite(HouseWorkType="SOLARCELLS"),  # an invoice housework type, not an order one
        lambda: EmailInformationWrite(EmailSubject="x" * 101),
        lambda: ArticleWrite(Description="x" * 201),
        lambda: ArticleWrite(Description="Frakt", Type="GOODS"),
        lambda: ProjectWrite(Description="Projekt", Status="PAUSED"),
        lambda: ProjectWrite(Description="x" * 51),
        lambda: CustomerWrite(EmailInvoiceCC="x" * 1025),
    ],
)
def test_what_fortnox_would_refuse_is_refused_before_it_is_sent(build: Callable[[], object]) -> None:
    with pytest.raises(ValidationError):
        build()


def test_articles_and_projects_serialise_only_what_was_set() -> None:
    assert ArticleWrite(Description="Frakt", SalesAccount=3041).to_fortnox() == {
        "Description": "Frakt",
        "SalesAccount": 3041,
    }
    assert ProjectWrite(Description="Ombyggnad", StartDate=date(2025, 3, 1)).to_fortnox() == {
        "Description": "Ombyggnad",
        "StartDate": date(2025, 3, 1),
    }
