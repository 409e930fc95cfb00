"""Mapping and aggregation: every upstream row lands on the right account, and no öre is lost on the way."""

from collections import defaultdict
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from fortnox_bridge.contracts.invoices import InvoiceRow
from fortnox_bridge.mapping.aggregation import fortnox_rows, row_amount
from fortnox_bridge.mapping.rules import MappingRule, TenantMapping, map_row

MAPPING = TenantMapping(
    rules=[
        MappingRule(match_on="service_type", value="FREIGHT", account=3041, label="Frakt", cost_center="GBG"),
        MappingRule(match_on="service_type", value="FREIGHT", vat_rate=0, account=3105, label="Exportfrakt"),
        MappingRule(match_on="article", value="A-100", account=3001, article_number="100"),
        MappingRule(match_on="product_group", value="DRINKS", account=3002, project="P100"),
    ],
    default_cost_center="STHLM",
)


def _row(**fields: object) -> InvoiceRow:
    base: dict[str, object] = {"description": "Rad", "quantity": Decimal(1), "unit_price": Decimal(100), "vat_rate": 25}
    return InvoiceRow.model_validate({**base, **fields})


def test_most_specific_rule_wins() -> None:
    assert map_row(MAPPING, _row(service_type="FREIGHT")).account == 3041
    assert map_row(MAPPING, _row(service_type="FREIGHT", vat_rate=0)).account == 3105  # the VAT-specific rule
    both = map_row(MAPPING, _row(article="A-100", service_type="FREIGHT"))
    assert (both.account, both.article_number) == (3001, "100")  # article before service type
    assert map_row(MAPPING, _row(product_group="DRINKS", vat_rate=12)).project == "P100"


def test_defaults_and_overrides() -> None:
    assert map_row(MAPPING, _row(vat_rate=12)).account == 3002  # BAS default for 12 %
    assert map_row(MAPPING, _row(vat_rate=0)).account == 3004
    overridden = map_row(MAPPING, _row(service_type="FREIGHT", account=3590))
    assert (overridden.account, overridden.article_number) == (3590, None)
    assert map_row(MAPPING, _row()).cost_center == "STHLM"
    assert map_row(MAPPING, _row(service_type="FREIGHT")).cost_center == "GBG"
    assert map_row(MAPPING, _row(service_type="FREIGHT", cost_center="MLM")).cost_center == "MLM"


def test_rows_are_summed_per_account_cost_centre_project_and_vat() -> None:
    rows = [
        _row(description="Frakt Luleå - Kiruna", unit_price=Decimal("2450.00"), service_type="FREIGHT"),
        _row(description="Frakt Kiruna - Luleå", unit_price=Decimal("2450.00"), service_type="FREIGHT"),
        _row(description="Väntetid", quantity=Decimal("1.5"), unit_price=Decimal("450.00")),
    ]
    result = fortnox_rows(MAPPING, rows)
    assert [(row.account, row.cost_center, row.description, row.quantity, row.net) for row in result] == [
        (3041, "GBG", "Frakt", Decimal(1), Decimal("4900.00")),
        (3001, "STHLM", "Väntetid", Decimal("1.5"), Decimal("675.00")),
    ]


def test_a_group_without_a_label_says_how_many_rows_it_sums() -> None:
    rows = [_row(description="A"), _row(description="B")]
    assert fortnox_rows(MAPPING, rows, language="en")[0].description == "Summary, 2 rows"
    assert fortnox_rows(MAPPING, rows)[0].description == "Summerat, 2 rader"


def test_aggregation_can_be_switched_off() -> None:
    mapping = MAPPING.model_copy(update={"aggregate_rows": False})
    assert len(fortnox_rows(mapping, [_row(), _row()])) == 2


def test_ambiguous_or_incomplete_mappings_are_refused() -> None:
    with pytest.raises(ValidationError, match="two rules"):
        TenantMapping(rules=[MappingRule(match_on="article", value="X", account=3001)] * 2)
    with pytest.raises(ValidationError, match="VAT rates"):
        TenantMapping(default_accounts={25: 3001})
    with pytest.raises(ValidationError):
        MappingRule(match_on="article", value="X", account=99)


amounts = st.decimals(min_value=Decimal("-99999.99"), max_value=Decimal("99999.99"), places=2)
rows = st.builds(
    InvoiceRow,
    description=st.sampled_from(["Frakt", "Väntetid", "Tillägg"]),
    quantity=st.decimals(min_value=Decimal("0.01"), max_value=Decimal("1000"), places=2),
    unit_price=amounts,
    vat_rate=st.sampled_from([0, 6, 12, 25]),
    discount_percent=st.decimals(min_value=Decimal(0), max_value=Decimal(100), places=2),
    service_type=st.sampled_from([None, "FREIGHT", "FUEL"]),
    product_group=st.sampled_from([None, "DRINKS"]),
    article=st.sampled_from([None, "A-100"]),
    cost_center=st.sampled_from([None, "STHLM", "GBG"]),
    project=st.sampled_from([None, "P100", "P200"]),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(rows, min_size=1, max_size=40))
def test_aggregation_preserves_totals_per_vat_rate_and_per_coding(upstream: list[InvoiceRow]) -> None:
    result = fortnox_rows(MAPPING, upstream)
    by_vat_before: dict[int, Decimal] = defaultdict(Decimal)
    by_coding_before: dict[tuple[int, str | None, str | None], Decimal] = defaultdict(Decimal)
    for row in upstream:
        mapped = map_row(MAPPING, row)
        by_vat_before[row.vat_rate] += row_amount(row)
        by_coding_before[(mapped.account, mapped.cost_center, mapped.project)] += row_amount(row)
    by_vat_after: dict[int, Decimal] = defaultdict(Decimal)
    by_coding_after: dict[tuple[int, str | None, str | None], Decimal] = defaultdict(Decimal)
    for row in result:
        by_vat_after[row.vat_rate] += row.net
        by_coding_after[(row.account, row.cost_center, row.project)] += row.net
    assert by_vat_after == by_vat_before
    assert by_coding_after == by_coding_before
    keys = [(row.account, row.cost_center, row.project, row.vat_rate) for row in result]
    assert len(keys) == len(set(keys)), "one row per account, cost centre, project and VAT rate"


@settings(max_examples=200, deadline=None)
@given(
    quantity=st.decimals(min_value=Decimal("0.0001"), max_value=Decimal("1000"), places=4),
    unit_price=amounts,
    discount=st.decimals(min_value=Decimal(0), max_value=Decimal(100), places=2),
    aggregate=st.booleans(),
)
def test_a_quantity_finer_than_fortnox_keeps_goes_at_its_net(
    quantity: Decimal, unit_price: Decimal, discount: Decimal, aggregate: bool
) -> None:
    """Fortnox keeps two decimals of quantity: sent as it is, 0.125 h at 450 kr would be invoiced as 0.12 h."""
    row = _row(quantity=quantity, unit_price=unit_price, discount_percent=discount)
    [sent] = fortnox_rows(MAPPING.model_copy(update={"aggregate_rows": aggregate}), [row])
    assert sent.net == row_amount(row)
    assert sent.quantity == sent.quantity.quantize(Decimal("0.01"))


def test_a_text_row_keeps_its_words_and_its_place() -> None:
    text = _row(description="Kreditering enligt överenskommelse", quantity=Decimal(0), unit_price=Decimal(0))
    freight = [_row(service_type="FREIGHT"), _row(service_type="FREIGHT", unit_price=Decimal(50))]
    result = fortnox_rows(MAPPING, [freight[0], text, freight[1]])
    assert [(row.description, row.quantity, row.net) for row in result] == [
        ("Frakt", 1, Decimal("150.00")),
        ("Kreditering enligt överenskommelse", 0, 0),
    ]
