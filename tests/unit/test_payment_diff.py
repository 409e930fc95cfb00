"""What a poll decides about one payment, without Fortnox or AWS: the invoice's standing, stable ids, what counts as
a change, whose marker an invoice carries, and how the cursor is written for a server in any time zone."""

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fortnox_bridge.events import PaymentChanged, PaymentFigures, PaymentReceived
from fortnox_bridge.export.references import export_reference
from fortnox_bridge.ids import FortnoxTenantId, TenantId
from fortnox_bridge.payments.diff import (
    InvoiceFacts,
    event_id,
    invoice_status,
    payment_event,
    restored,
    same_listing,
    stored,
)
from fortnox_bridge.payments.invoices import upstream_number_in
from fortnox_bridge.payments.poller import fortnox_time
from fortnox_bridge.store.payment_sync import PaymentSnapshot

TENANT = TenantId("opter-1")
COMPANY = FortnoxTenantId(1234567)
money = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("9999999.99"), places=2)


def _figures(amount: str = "100.00", **changes: object) -> PaymentFigures:
    figures = PaymentFigures(
        payment_date=date(2026, 11, 20),
        amount_sek=Decimal(amount),
        amount_in_currency=Decimal(amount),
        currency="SEK",
        currency_rate=Decimal(1),
        currency_unit=Decimal(1),
    )
    return figures.model_copy(update=changes)


INVOICE = InvoiceFacts("1042", Decimal("1250.00"), Decimal("250.00"), "104257", "100353", "invoice.MTAwMzUz", True)


@given(total=money, paid=money)
def test_an_invoice_stands_by_what_is_left_of_it(total: Decimal, paid: Decimal) -> None:
    status = invoice_status(total, total - paid)
    if paid < total:
        assert status == "partly_paid"
    elif paid == total:
        assert status == "fully_paid"
    else:
        assert status == "overpaid"
    # A credit invoice (negative total) paid back to the customer reads the same, mirrored.
    assert invoice_status(-total, -(total - paid)) == status


@given(total=money)
def test_an_invoice_nobody_paid_is_unpaid(total: Decimal) -> None:
    assert invoice_status(total, total) == "unpaid"
    assert invoice_status(-total, -total) == "unpaid"


def test_a_zero_invoice_is_fully_paid() -> None:
    assert invoice_status(Decimal(0), Decimal(0)) == "fully_paid"


def test_the_same_change_of_the_same_payment_always_has_the_same_id() -> None:
    first = event_id(TENANT, COMPANY, "57", "received", 1, _figures())
    assert first == event_id(TENANT, COMPANY, "57", "received", 1, _figures())
    others = {
        event_id(TenantId("opter-2"), COMPANY, "57", "received", 1, _figures()),
        event_id(TENANT, FortnoxTenantId(7654321), "57", "received", 1, _figures()),
        event_id(TENANT, COMPANY, "58", "received", 1, _figures()),
        event_id(TENANT, COMPANY, "57", "changed", 1, _figures()),
        event_id(TENANT, COMPANY, "57", "received", 2, _figures()),
        event_id(TENANT, COMPANY, "57", "received", 1, _figures("100.01")),
        event_id(TENANT, COMPANY, "57", "received", 1, _figures(currency_rate=Decimal("1.1"))),
    }
    assert first not in others and len(others) == 7


def test_an_event_kept_in_a_snapshot_comes_back_exactly() -> None:
    event = payment_event(
        "changed",
        tenant=TENANT,
        company=COMPANY,
        payment_number="57",
        version=2,
        figures=_figures("150.00"),
        invoice=INVOICE,
        previous=_figures(),
    )
    again = restored(stored(event))
    assert isinstance(again, PaymentChanged)
    assert again == event and again.model_dump_json() == event.model_dump_json()


def test_a_change_needs_what_the_payment_was() -> None:
    with pytest.raises(ValueError, match="figures it had"):
        payment_event(
            "changed",
            tenant=TENANT,
            company=COMPANY,
            payment_number="57",
            version=2,
            figures=_figures(),
            invoice=INVOICE,
        )


def test_events_carry_both_numberings_and_the_standing() -> None:
    event = payment_event(
        "received", tenant=TENANT, company=COMPANY, payment_number="57", version=1, figures=_figures(), invoice=INVOICE
    )
    assert isinstance(event, PaymentReceived)
    assert (event.fortnox_invoice_number, event.upstream_invoice_number, event.export_id) == (
        "1042",
        "100353",
        "invoice.MTAwMzUz",
    )
    assert event.invoice_status == "partly_paid"


@pytest.mark.parametrize(
    ("change", "same"),
    [
        ({}, True),
        ({"amount_sek": Decimal("100.01")}, False),
        ({"payment_date": date(2026, 11, 21)}, False),
        ({"currency_rate": Decimal("11.2")}, False),
        ({"currency_unit": Decimal(100)}, False),
        ({"currency": "EUR"}, False),
        # The list has no amount in currency: an unchanged list item keeps the figures read from the payment.
        ({"amount_in_currency": Decimal("9.00")}, True),
    ],
)
def test_a_listed_payment_is_unchanged_only_when_what_the_list_shows_is(change: dict[str, object], same: bool) -> None:
    snapshot = PaymentSnapshot(payment_number="57", invoice_number="1042", figures=_figures(), version=1)
    assert same_listing(snapshot, _figures(**change), "1042") is same


def test_a_removed_payment_or_another_invoice_is_never_unchanged() -> None:
    snapshot = PaymentSnapshot(payment_number="57", invoice_number="1042", figures=_figures(), version=1)
    assert not same_listing(snapshot, _figures(), "1043")
    assert not same_listing(snapshot.model_copy(update={"removed": True}), _figures(), "1042")


@pytest.mark.parametrize("tenant", ["opter-1", "a" * 70])
def test_our_marker_gives_the_upstream_number_back(tenant: str) -> None:
    marker = export_reference(TenantId(tenant), "100353:B")
    assert upstream_number_in(TenantId(tenant), marker) == "100353:B"


@pytest.mark.parametrize(
    "marker",
    [
        None,
        "",
        "100353",
        "FB:opter-2:100353",  # another tenant's invoice in a shared company
        "FB:opter-10:100353",
        "FB:opter-1:",
        "fb:opter-1:100353",
        "XFB:opter-1:100353",
    ],
)
def test_a_marker_that_is_not_this_tenants_is_not_ours(marker: str | None) -> None:
    assert upstream_number_in(TENANT, marker) is None


def test_a_long_tenants_hashed_marker_is_not_taken_for_another_tenants() -> None:
    long = TenantId("b" * 70)
    assert upstream_number_in(TENANT, export_reference(long, "100353")) is None


@given(
    moment=st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2040, 1, 1), timezones=st.just(UTC)),
    hours=st.integers(min_value=-12, max_value=14),
)
def test_the_cursor_names_no_later_instant_in_any_time_zone(moment: datetime, hours: int) -> None:
    """Read as local time in any zone (Fortnox: Swedish time; the sandbox: UTC), the cursor is at or before the
    instant it was taken: a poll can only read more."""
    zone = timezone(timedelta(hours=hours))
    read = datetime.strptime(fortnox_time(moment), "%Y-%m-%d %H:%M:%S").replace(tzinfo=zone)
    assert read <= moment.replace(microsecond=0)
    assert moment - read <= timedelta(hours=26, seconds=1)
