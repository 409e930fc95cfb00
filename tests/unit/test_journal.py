"""A sales day or a ready-made journal becomes the voucher a bookkeeper would have typed, or is refused before any call
with the fix, in Swedish and English."""

import json
from datetime import date
from decimal import Decimal
from typing import Any, Literal

import pytest
from pydantic import ValidationError

from fortnox_bridge.contracts.intake import RefusedBody, parse_event, parse_voucher_event
from fortnox_bridge.contracts.sales import SalesDayClosed, VoucherReady
from fortnox_bridge.errors import NeedsTenantActionError
from fortnox_bridge.export.explanations import ExportRefused
from fortnox_bridge.mapping.rules import TenantMapping
from fortnox_bridge.mapping.vouchers import LocationRule, ProductGroupRule, VoucherMapping
from fortnox_bridge.vouchers.journal import (
    DESCRIPTION_MAX,
    Journal,
    MappingMissing,
    RowOrigin,
    UnbalancedJournal,
    journal_for,
)
from infra.names import ROOT

EVENTS = ROOT / "events"
CAFE = VoucherMapping(
    payment_methods={"card": 1580, "cash": 1910, "swish": 1930},
    allow_tips=True,
    tips_account=2890,
    keys={"card": 1580, "memberships": 3041},
)
MAPPING = TenantMapping(vouchers=CAFE)
D: Literal["debit"] = "debit"
C: Literal["credit"] = "credit"


def _sample(name: str) -> dict[str, Any]:
    body: dict[str, Any] = json.loads((EVENTS / name).read_text())
    return body


def _event(body: dict[str, Any]) -> SalesDayClosed | VoucherReady:
    return parse_voucher_event(json.dumps(body))


def _day(**data: Any) -> SalesDayClosed:
    body = _sample("sales.day_closed.json")
    body["data"] = {**body["data"], **data}
    event = _event(body)
    assert isinstance(event, SalesDayClosed)
    return event


def _ready(rows: list[dict[str, Any]], **data: Any) -> VoucherReady:
    body = _sample("voucher.ready.json")
    body["data"] = {**body["data"], "rows": rows, **data}
    event = _event(body)
    assert isinstance(event, VoucherReady)
    return event


def _rows(journal: Journal) -> list[tuple[int, str, str, str | None, str | None]]:
    return [
        (row.account, row.side, f"{row.debit or row.credit:.2f}", row.cost_center, row.project) for row in journal.rows
    ]


def _mapping(**fields: Any) -> TenantMapping:
    return TenantMapping(vouchers=CAFE.model_copy(update=fields))


def test_a_cafe_day_becomes_payments_against_sales_vat_tips_and_rounding() -> None:
    # Given the café's Z report: food at 12 %, drinks and alcohol at 25 %, tips on cards, 30 öre rounded down
    journal = journal_for(_event(_sample("sales.day_closed.json")), MAPPING)

    # Then each payment method debits its account, sales and VAT are credited per rate, tips go to staff's debt,
    # and the rounding customers did not pay is a debit of 3740
    assert _rows(journal) == [
        (1580, D, "11850.00", None, None),
        (1910, D, "1249.70", None, None),
        (1930, D, "1250.00", None, None),
        (3002, C, "8035.71", None, None),
        (2621, C, "964.29", None, None),
        (3001, C, "4000.00", None, None),  # drinks and alcohol share the 25 % account: one row
        (2611, C, "1000.00", None, None),
        (2890, C, "350.00", None, None),
        (3740, D, "0.30", None, None),
    ]
    assert journal.total() == Decimal("14350.00")
    assert journal.business_key == "2026-11-23#kassa-1"
    assert (journal.transaction_date, journal.series) == (date(2026, 11, 23), "A")
    assert journal.description == "Dagskassa 2026-11-23 Café Åkern Södermalm"
    merged = next(row for row in journal.rows if row.account == 3001)
    assert merged.origins == (RowOrigin("product_group", "Dryck"), RowOrigin("product_group", "Alkohol"))


def test_refunds_reverse_sales_and_vat_and_gift_cards_are_a_debt() -> None:
    journal = journal_for(_event(_sample("sales.day_closed.refund.json")), MAPPING)

    assert _rows(journal) == [
        (1580, D, "22000.00", None, None),
        (1910, D, "2560.20", None, None),
        (2420, D, "2000.00", None, None),  # sales paid with gift cards lower the gift-card debt
        (3001, D, "800.00", None, None),  # the refund takes back the sale ...
        (2611, D, "200.00", None, None),  # ... and its VAT
        (3001, C, "20000.00", None, None),
        (2611, C, "5000.00", None, None),
        (3003, C, "1000.00", None, None),
        (2631, C, "60.00", None, None),
        (2420, C, "1500.00", None, None),  # gift cards sold are goods owed
        (3740, C, "0.20", None, None),  # customers paid 20 öre more than due
    ]
    assert journal.total() == Decimal("27560.20")
    refund = journal.rows[3]
    assert refund.origin == RowOrigin("refund", "KLADER")


def test_locations_and_product_group_rules_give_cost_centres_projects_and_text() -> None:
    mapping = _mapping(
        product_groups=[ProductGroupRule(group="Alkohol", account=3011, cost_center="BAR")],
        locations={"kassa-1": LocationRule(cost_center="SOD", project="P7", description="Södermalm kassa 1")},
        default_cost_center="HQ",
    )
    journal = journal_for(_day(), mapping)

    rows = {(row.account, row.side): row for row in journal.rows}
    assert (rows[(1580, D)].cost_center, rows[(1580, D)].project) == ("SOD", "P7")
    assert (rows[(3011, C)].cost_center, rows[(3011, C)].project) == ("BAR", "P7")  # the group's own cost centre
    assert rows[(3001, C)].debit + rows[(3001, C)].credit == Decimal("2400.00")  # drinks alone now
    assert journal.description == "Södermalm kassa 1"

    elsewhere = journal_for(_day(location="kassa-9", location_name=None), mapping)
    assert {row.cost_center for row in elsewhere.rows} == {"HQ", "BAR"}
    assert elsewhere.description == "Dagskassa 2026-11-23 kassa-9"


def test_rows_with_the_same_account_but_other_cost_centres_stay_apart() -> None:
    mapping = _mapping(
        product_groups=[
            ProductGroupRule(group="Dryck", account=3001, cost_center="BAR"),
            ProductGroupRule(group="Alkohol", account=3001, cost_center="BAR", project="P1"),
        ]
    )
    journal = journal_for(_day(), mapping)
    sales = [(row.cost_center, row.project, row.credit) for row in journal.rows if row.account == 3001]
    assert sales == [("BAR", None, Decimal("2400.00")), ("BAR", "P1", Decimal("1600.00"))]


def test_zero_amounts_make_no_rows_and_need_no_mapping() -> None:
    # Given a method and a product group that carried nothing today, neither of them mapped
    day = _day(
        payments=[
            {"method": "card", "amount": "11850.00"},
            {"method": "cash", "amount": "1249.70"},
            {"method": "swish", "amount": "1250.00"},
            {"method": "klarna", "amount": "0.00"},
        ],
        sales=[
            {"product_group": "Mat", "vat_rate": 12, "net": "8035.71", "vat": "964.29"},
            {"product_group": "Dryck", "vat_rate": 25, "net": "4000.00", "vat": "1000.00"},
            {"product_group": "Tobak", "vat_rate": 6, "net": "0.00", "vat": "0.00"},
        ],
    )
    mapping = _mapping(default_sales_accounts={25: 3001, 12: 3002})

    # Then the day is booked without them, and without a row of 0
    journal = journal_for(day, mapping)
    assert all(row.debit or row.credit for row in journal.rows)
    assert {row.origin.key for row in journal.rows} >= {"card", "Mat", "Dryck"}
    assert "klarna" not in {row.origin.key for row in journal.rows}
    assert "Tobak" not in {row.origin.key for row in journal.rows}


def test_a_payment_method_that_paid_out_more_than_it_took_is_a_credit() -> None:
    journal = journal_for(
        _day(
            payments=[
                {"method": "card", "amount": "-150.00"},
                {"method": "cash", "amount": "14499.70"},
            ]
        ),
        MAPPING,
    )
    assert (1580, C, "150.00", None, None) in _rows(journal)
    assert (1910, D, "14499.70", None, None) in _rows(journal)


def test_tips_the_mapping_does_not_allow_are_refused_with_the_fix() -> None:
    with pytest.raises(MappingMissing) as refused:
        journal_for(_day(), _mapping(allow_tips=False, tips_account=None))

    assert isinstance(refused.value, ExportRefused)
    assert isinstance(refused.value, NeedsTenantActionError)  # tenant-fixable: recorded, never retried blindly
    explanation = refused.value.explanation
    assert explanation.tenant_fixable
    assert "350.00" in explanation.en and "allow_tips" in explanation.en
    assert "dricks" in explanation.sv.lower() and "allow_tips" in explanation.sv
    assert refused.value.missing == [RowOrigin("tips")]


def test_every_missing_piece_of_mapping_is_named_at_once() -> None:
    mapping = _mapping(payment_methods={"card": 1580}, default_sales_accounts={25: 3001, 0: 3004})
    with pytest.raises(MappingMissing) as refused:
        journal_for(_day(), mapping)

    assert refused.value.missing == [
        RowOrigin("payment_method", "cash"),
        RowOrigin("payment_method", "swish"),
        RowOrigin("product_group", "Mat"),
    ]
    en = refused.value.explanation.en
    assert "Payment method 'cash'" in en and "Payment method 'swish'" in en and "1910 cash" in en
    assert "Product group 'Mat' at VAT 12%" in en
    assert "Betalsättet 'cash'" in refused.value.explanation.sv


def test_a_day_of_a_thousand_unmapped_groups_names_ten_and_counts_the_rest() -> None:
    sales = [{"product_group": f"G{i}", "vat_rate": 25, "net": "1.00", "vat": "0.25"} for i in range(1000)]
    day = _day(sales=sales, payments=[{"method": "card", "amount": "1250.00"}], tips="0", cash_rounding="0")
    with pytest.raises(MappingMissing) as refused:
        journal_for(day, _mapping(default_sales_accounts={12: 3002}))
    assert len(refused.value.missing) == 1000
    assert refused.value.explanation.en.endswith("And 990 more.")
    assert len(refused.value.explanation.en.encode()) < 4096


def test_a_tenant_without_a_voucher_mapping_is_told_to_map_payment_methods() -> None:
    with pytest.raises(MappingMissing) as refused:
        journal_for(_day(), TenantMapping())
    assert RowOrigin("payment_method", "card") in refused.value.missing


@pytest.mark.parametrize(
    ("card", "difference", "side"),
    [("11850.01", Decimal("0.01"), "debit"), ("11849.99", Decimal("-0.01"), "credit"), ("1850.00", -10000, "credit")],
)
def test_an_unbalanced_day_is_refused_to_the_ore_with_the_difference_named(
    card: str, difference: Decimal, side: str
) -> None:
    payments = [
        {"method": "card", "amount": card},
        {"method": "cash", "amount": "1249.70"},
        {"method": "swish", "amount": "1250.00"},
    ]
    with pytest.raises(UnbalancedJournal) as refused:
        journal_for(_day(payments=payments), MAPPING)

    assert refused.value.difference == Decimal(difference)
    assert isinstance(refused.value, ExportRefused)
    assert not refused.value.explanation.tenant_fixable  # upstream's figures: no fix in Fortnox replays it
    shown = f"{abs(Decimal(difference)):.2f}"
    assert f"{shown} SEK too much on the {side} side" in refused.value.explanation.en
    assert f"{shown} kr för mycket" in refused.value.explanation.sv
    assert "2026-11-23#kassa-1" in refused.value.explanation.en


def test_a_ready_journal_keeps_its_rows_and_resolves_mapping_keys() -> None:
    journal = journal_for(
        _event(_sample("voucher.ready.json")), _mapping(locations={"centrum": LocationRule(cost_center="CEN")})
    )

    assert journal.business_key == "journal#20261123-centrum"
    assert _rows(journal) == [
        (1580, D, "4950.00", "CEN", None),
        (1930, D, "1300.00", "CEN", None),
        (3041, C, "5000.00", "CEN", None),
        (2631, C, "300.00", "CEN", None),
        (3001, C, "760.00", "SHOP", None),  # the row's own cost centre wins
        (2611, C, "190.00", "CEN", None),
    ]
    assert [row.description for row in journal.rows][:2] == ["Kortbetalningar", "Swish"]
    assert journal.rows[0].origin == RowOrigin("mapping_key", "card")
    assert journal.rows[1].origin == RowOrigin("account", "1930")


def test_a_ready_journal_with_an_unknown_key_or_off_by_an_ore_is_refused() -> None:
    rows = [
        {"mapping_key": "card", "debit": "100.00"},
        {"mapping_key": "giftcards", "credit": "100.00"},
    ]
    with pytest.raises(MappingMissing) as missing:
        journal_for(_ready(rows), MAPPING)
    assert missing.value.missing == [RowOrigin("mapping_key", "giftcards")]
    assert "vouchers.keys" in missing.value.explanation.en

    with pytest.raises(UnbalancedJournal) as unbalanced:
        journal_for(_ready([{"account": 1930, "debit": "100.00"}, {"account": 3001, "credit": "99.99"}]), MAPPING)
    assert unbalanced.value.difference == Decimal("0.01")
    assert "journal#20261123-centrum" in unbalanced.value.explanation.en


def test_the_voucher_carries_the_marker_within_fortnox_s_200_characters() -> None:
    journal = journal_for(_day(), MAPPING)
    voucher = journal.to_voucher("[fb:7f3a9c]")
    assert voucher.Description == "Dagskassa 2026-11-23 Café Åkern Södermalm [fb:7f3a9c]"
    assert (voucher.VoucherSeries, voucher.TransactionDate) == ("A", date(2026, 11, 23))
    first = voucher.VoucherRows[0]
    assert (first.Account, first.Debit, first.Credit) == (1580, Decimal("11850.00"), Decimal(0))

    long_text = journal_for(_day(location_name="Å" * 250), MAPPING).to_voucher("[fb:7f3a9c]").Description
    assert len(long_text) == DESCRIPTION_MAX
    assert long_text.endswith("ÅÅÅ... [fb:7f3a9c]")


def test_a_day_in_another_currency_is_refused_as_bad_input_naming_sek() -> None:
    body = _sample("sales.day_closed.json")
    body["data"]["currency"] = "EUR"
    with pytest.raises(RefusedBody) as refused:
        parse_voucher_event(json.dumps(body))
    assert "EUR" in refused.value.reason and "send SEK" in refused.value.reason
    assert (refused.value.tenant_id, refused.value.event_id) == ("demo-cafe", "open-one-z-2026-11-23-kassa1")


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"sales": [{"product_group": "Mat", "vat_rate": 12, "net": "-1.00", "vat": "0"}]}, "greater than or equal"),
        ({"sales": [{"product_group": "Mat", "vat_rate": 0, "net": "1.00", "vat": "0.25"}]}, "VAT rate 0 carries"),
        ({"sales": [{"product_group": "Mat", "vat_rate": 7, "net": "1.00", "vat": "0.07"}]}, "vat_rate"),
        ({"tips": "-5.00"}, "tips"),
        ({"payments": [{"method": "card", "amount": "1"}, {"method": "card", "amount": "2"}]}, "card more than once"),
        (
            {"sales": [{"product_group": "Mat", "vat_rate": 12, "net": "1", "vat": "0.12"}] * 2},
            "product group Mat at VAT 12% twice",
        ),
        (
            {"sales": [], "payments": [{"method": "card", "amount": "0"}], "tips": "0", "cash_rounding": "0"},
            "nothing to book",
        ),
        ({"business_day": "1999-01-01"}, "outside"),
        ({"location": "kassa 1<script>"}, "location"),
        ({"payments": [{"method": "card", "amount": "12.345"}]}, "decimal"),
        ({"payments": [{"method": "card", "amount": "99999999999.00"}]}, "digits"),
        ({"extra": 1}, "Extra inputs"),
    ],
)
def test_careless_or_hostile_days_are_refused_with_a_reason(change: dict[str, Any], reason: str) -> None:
    body = _sample("sales.day_closed.json")
    body["data"] = {**body["data"], **change}
    with pytest.raises(RefusedBody) as refused:
        parse_voucher_event(json.dumps(body))
    assert reason in refused.value.reason


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        ({"account": 1930, "mapping_key": "card", "debit": "1"}, "exactly one of the two"),
        ({"debit": "1"}, "exactly one of the two"),
        ({"account": 1930, "debit": "1", "credit": "1"}, "a debit or a credit"),
        ({"account": 1930}, "a debit or a credit"),
        ({"account": 930, "debit": "1"}, "greater than or equal to 1000"),
        ({"account": 1930, "debit": "-1"}, "greater than or equal to 0"),
    ],
)
def test_ready_rows_that_could_not_be_booked_are_refused(row: dict[str, Any], reason: str) -> None:
    body = _sample("voucher.ready.json")
    body["data"]["rows"] = [row, {"account": 3001, "credit": "1"}]
    with pytest.raises(RefusedBody) as refused:
        parse_voucher_event(json.dumps(body))
    assert reason in refused.value.reason


def test_the_voucher_queue_keeps_the_invoice_queue_s_limits_and_the_invoice_parser_is_unchanged() -> None:
    with pytest.raises(RefusedBody, match="nests deeper than 32"):
        parse_voucher_event("[" * 40 + "]" * 40)
    with pytest.raises(RefusedBody, match="256 KB"):
        parse_voucher_event(json.dumps({"pad": "x" * 300_000}))
    with pytest.raises(RefusedBody, match="not JSON"):
        parse_voucher_event("{")
    many = _sample("sales.day_closed.json")
    many["data"]["sales"] = [{"product_group": f"G{i}", "vat_rate": 9, "net": "1", "vat": "0"} for i in range(50)]
    with pytest.raises(RefusedBody, match="and 40 more"):
        parse_voucher_event(json.dumps(many))
    # An invoice sent to the voucher queue, or a day sent to the invoice queue, is refused by type.
    with pytest.raises(RefusedBody, match="does not match any of the expected tags"):
        parse_voucher_event((EVENTS / "invoice.ready.json").read_text())
    with pytest.raises(RefusedBody, match="does not match any of the expected tags"):
        parse_event((EVENTS / "sales.day_closed.json").read_text())


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"default_sales_accounts": {25: 1930}}, "cannot be a sales account"),
        ({"product_groups": [{"group": "Mat", "account": 2611}]}, "cannot be a sales account"),
        ({"payment_methods": {"card": 3001}}, "cannot be where this is booked"),
        ({"output_vat_accounts": {25: 2611, 12: 2621}}, "VAT rates [6]"),
        ({"output_vat_accounts": {0: 2650, 25: 2611, 12: 2621, 6: 2631}}, "VAT rate 0"),
        ({"default_sales_accounts": {7: 3001}}, "not a VAT rate"),
        ({"allow_tips": True}, "needs a tips_account"),
        ({"series": "A B"}, "series"),
        ({"series": "ABCDEFGHIJK"}, "series"),
        ({"rounding_account": 99999}, "less than or equal to 9999"),
        ({"description": "Kassa {date}"}, "description names date"),
        ({"description": "Kassa {business_day"}, "not a valid template"),
        ({"description": "{business_day.__class__.__mro__}"}, "description names business_day.__class__"),
        ({"description": "{location:99999999}"}, "take no format"),
        ({"description": "{location!r}"}, "take no format"),
        ({"description": "{}"}, "an empty field"),
        (
            {"product_groups": [{"group": "Mat", "account": 3001}, {"group": "Mat", "account": 3002}]},
            "two rules for product group Mat",
        ),
        ({"keys": {"bad key": 1930}}, "keys"),
    ],
)
def test_a_mapping_that_could_not_be_right_is_refused_when_saved(fields: dict[str, Any], reason: str) -> None:
    with pytest.raises(ValidationError) as refused:
        TenantMapping.model_validate({"vouchers": fields})
    assert reason in str(refused.value)


def test_a_voucher_mapping_survives_the_store_s_json() -> None:
    mapping = _mapping(
        product_groups=[ProductGroupRule(group="Mat", vat_rate=12, account=3002, cost_center="KOK")],
        locations={"kassa-1": LocationRule(cost_center="SOD")},
    )
    again = TenantMapping.model_validate_json(mapping.model_dump_json())
    assert again == mapping
    assert again.vouchers is not None and again.vouchers.output_vat_accounts == {25: 2611, 12: 2621, 6: 2631}
