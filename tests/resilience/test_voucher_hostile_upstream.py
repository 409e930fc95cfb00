"""A careless or hostile till against the voucher queue: text Fortnox refuses or that breaks a line, a bridge marker
smuggled into a location name, a rounding that hides a missing payment, and amounts no till counts. Through the real
handler, the voucher queue and the sandbox."""

import unicodedata
from datetime import date
from typing import Any

import pytest

from fortnox_bridge.ids import FortnoxTenantId, TenantId
from fortnox_bridge.store.ledger import ExportState
from fortnox_bridge.store.table import voucher_day_key
from fortnox_bridge.vouchers.marker import markers_in, voucher_marker
from tests.exporting import VoucherExport, rejected_by_event, voucher_export

pytestmark = pytest.mark.integration
__all__ = ["voucher_export"]  # the fixture, imported so pytest finds it

TODAY = date.today()
Q = "\u2019"
"""The right single quotation mark: Fortnox takes it, not the straight quotes a till sends."""
FORTNOX_SIGNS = frozenset(" \u2013:.`\u00b4\u2019,;^¤#%§£$€¢¥©™°&/()=+-*_!?²³®½@\\\u00a0\u0308\u030a")
"""Fortnox's "Valid characters" besides letters and the digits 0-9 (developer documentation, Formats & Encoding), less
its line breaks: anything else is refused with 2000359, and the voucher with it."""


def _one_line_fortnox_takes(text: str) -> bool:
    return all(
        char in FORTNOX_SIGNS or char in "0123456789" or unicodedata.category(char).startswith("L") for char in text
    )


@pytest.mark.parametrize("split", [None, 7], ids=["whole", "split-by-an-emoji"])
def test_a_location_name_carrying_another_days_marker_does_not_pass_for_that_day(
    voucher_export: VoucherExport, split: int | None
) -> None:
    # Given a till whose location name carries the marker the bridge puts on the next register's day (a marker is a
    # hash of values upstream knows: anyone can compute it), whole or split by a character Fortnox refuses
    other_day = voucher_marker(TenantId(voucher_export.tenant), f"{TODAY}#kassa-2")
    smuggled = other_day if split is None else f"{other_day[:split]}\U0001f600{other_day[split:]}"
    first = voucher_export.day(location="kassa-1", location_name=f"Kassa Söder {smuggled}")
    second = voucher_export.day(location="kassa-2")

    # When both days are sent, the second after the day's listing has gone stale (registers close minutes apart)
    voucher_export.send(first)
    voucher_export.table.delete_item(
        Key=voucher_day_key(TenantId(voucher_export.tenant), FortnoxTenantId(voucher_export.company), TODAY.isoformat())
    )
    voucher_export.send(second)

    # Then each day is its own voucher carrying its own marker only, not one voucher standing for both
    vouchers = voucher_export.vouchers()
    assert len(vouchers) == 2
    for voucher, location in zip(vouchers, ("kassa-1", "kassa-2"), strict=True):
        own = voucher_marker(TenantId(voucher_export.tenant), f"{TODAY}#{location}")
        assert markers_in(voucher.Description) == {own}
    entries = [voucher_export.ledger(f"{TODAY}#{location}") for location in ("kassa-1", "kassa-2")]
    assert all(entry is not None and entry.state is ExportState.CONFIRMED for entry in entries)
    assert len({entry.fortnox_id for entry in entries if entry is not None}) == 2


def test_a_location_name_with_line_breaks_quotes_and_emoji_is_booked_on_one_line_fortnox_takes(
    voucher_export: VoucherExport,
) -> None:
    # Given a till whose location name carries line breaks, quotes, an emoji and brackets (Fortnox refuses all but
    # the line breaks with 2000359, and a line break would put the marker on a line of its own)
    voucher_export.send(voucher_export.day(location_name='Kassa "Söder"\r\n#VER [1] 😀 {x} | ~'))

    [voucher] = voucher_export.vouchers()
    marker = voucher_marker(TenantId(voucher_export.tenant), f"{TODAY}#kassa-1")
    assert voucher.Description == f"Dagskassa {TODAY} Kassa {Q}Söder{Q} #VER 1 x {marker}"
    assert all(_one_line_fortnox_takes(row.Description or "") for row in voucher.VoucherRows)


def test_a_ready_made_journal_with_multi_line_and_quoted_text_is_booked_on_one_line_per_text(
    voucher_export: VoucherExport,
) -> None:
    # Given a journal whose text and rows carry what a copy from a spreadsheet brings: tabs, line breaks, quotes
    journal = voucher_export.journal(description='Gym "Centrum"\r\nförsäljning\t2026')
    journal["data"]["rows"][0]["description"] = 'Kort\n"Visa" \u2013 Mastercard\u2026'

    voucher_export.send(journal)

    [voucher] = voucher_export.vouchers()
    assert (voucher.Description or "").startswith(f"Gym {Q}Centrum{Q} försäljning 2026 FB:")
    assert _one_line_fortnox_takes(voucher.Description or "")
    assert voucher.VoucherRows[0].Description == f"Kort {Q}Visa{Q} \u2013 Mastercard..."
    assert all(_one_line_fortnox_takes(row.Description or "") for row in voucher.VoucherRows)


def test_a_rounding_that_stands_in_for_a_missing_payment_is_refused_before_any_call(
    voucher_export: VoucherExport, table: Any
) -> None:
    # Given a day whose card payments are missing and whose "rounding" makes up the 11,850 kronor they came to
    day = voucher_export.day(
        event_id="z-rounding",
        payments=[{"method": "cash", "amount": "1249.70"}, {"method": "swish", "amount": "1250.00"}],
        cash_rounding="-11850.30",
    )

    outcomes = voucher_export.send(day)

    assert [(outcome.received, outcome.failed) for outcome in outcomes] == [(1, 0)]
    assert voucher_export.calls() == [] and voucher_export.vouchers() == []
    reason = rejected_by_event(table, voucher_export.tenant)["z-rounding"]["reason"]
    assert (
        "cash_rounding -11850.30 is more than rounding can be (less than a krona per payment, here at most 2499.70 SEK)"
        in reason
    )


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"tips": "NaN"}, "data.tips: Input should be a finite number"),
        ({"tips": "Infinity"}, "data.tips: Input should be a finite number"),
        ({"tips": "350.001"}, "data.tips: Decimal input should have no more than 2 decimal places"),
        ({"tips": "-350.00"}, "data.tips: Input should be greater than or equal to 0"),
        ({"tips": True}, "data.tips: Decimal input should be"),
        ({"business_day": "1901-01-01"}, "business_day 1901-01-01 is outside"),
        ({"business_day": "2999-12-31"}, "business_day 2999-12-31 is outside"),
        ({"currency": "EUR"}, "vouchers are booked in SEK"),
        (
            {"sales": [{"product_group": "Mat", "vat_rate": 12, "net": "1.00", "vat": "0.12"}] * 2},
            "names product group Mat at VAT 12% twice",
        ),
        (
            {"sales": [{"product_group": f"g{n}", "vat_rate": 25, "net": "1.00", "vat": "0.25"} for n in range(1001)]},
            "data.sales: List should have at most 1000 items",
        ),
        ({"location_name": "Kassa <script>"}, "markup (< or >) is not allowed"),
        ({"location_name": "Kassa\u202e1"}, "U+202E"),
    ],
)
def test_amounts_and_text_no_till_sends_are_refused_with_the_reason_and_nothing_booked(
    voucher_export: VoucherExport, table: Any, change: dict[str, Any], named: str
) -> None:
    day = voucher_export.day(event_id="z-hostile", **change)

    outcomes = voucher_export.send(day)

    assert [(outcome.received, outcome.failed) for outcome in outcomes] == [(1, 0)]  # kept, not redelivered
    assert voucher_export.calls() == []
    assert named in rejected_by_event(table, voucher_export.tenant)["z-hostile"]["reason"]
