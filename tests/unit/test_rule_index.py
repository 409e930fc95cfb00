"""The rule index answers every row exactly as reading the tenant's rules one by one does."""

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from fortnox_bridge.contracts.invoices import InvoiceRow
from fortnox_bridge.mapping.aggregation import fortnox_rows
from fortnox_bridge.mapping.rules import MappedRow, MappingRule, RuleIndex, TenantMapping

MATCH_ON = ("article", "service_type", "product_group")
VAT_RATES = (0, 6, 12, 25)
# Few values, so rules of different kinds share a value and many rows find several candidates.
values = st.sampled_from(["A", "B", "C", "D"])
codes = st.none() | st.sampled_from(["K1", "K2"])
accounts = st.integers(min_value=3000, max_value=3999)

rules = st.builds(
    MappingRule,
    match_on=st.sampled_from(MATCH_ON),
    value=values,
    vat_rate=st.none() | st.sampled_from(VAT_RATES),
    account=accounts,
    article_number=codes,
    label=st.none() | st.sampled_from(["Frakt", "Tull"]),
    cost_center=codes,
    project=codes,
)
mappings = st.builds(
    TenantMapping,
    rules=st.lists(rules, max_size=40, unique_by=lambda rule: (rule.match_on, rule.value, rule.vat_rate)),
    default_accounts=st.fixed_dictionaries({vat: accounts for vat in VAT_RATES}),
    default_cost_center=codes,
    default_project=codes,
    aggregate_rows=st.booleans(),
)
rows = st.builds(
    InvoiceRow,
    description=st.just("Rad"),
    quantity=st.sampled_from([Decimal(0), Decimal(1), Decimal("2.5")]),
    unit_price=st.sampled_from([Decimal(100), Decimal("19.90")]),
    vat_rate=st.sampled_from(VAT_RATES),
    article=st.none() | values,
    service_type=st.none() | values,
    product_group=st.none() | values,
    account=st.none() | accounts,
    cost_center=codes,
    project=codes,
)


def linear_rule_for(mapping: TenantMapping, row: InvoiceRow) -> MappingRule | None:
    """The oracle: every rule read in turn, most specific first (article, service type, product group; the row's
    VAT rate before any rate), as the mapping's documentation states the order."""
    for match_on in MATCH_ON:
        value = getattr(row, match_on)
        if value is None:
            continue
        for vat in (row.vat_rate, None):
            for rule in mapping.rules:
                if rule.match_on == match_on and rule.value == value and rule.vat_rate == vat:
                    return rule
    return None


def linear_map(mapping: TenantMapping, row: InvoiceRow) -> MappedRow:
    rule = linear_rule_for(mapping, row)
    if rule is None:
        return MappedRow(
            source=row,
            account=row.account or mapping.default_accounts[row.vat_rate],
            article_number=None,
            cost_center=row.cost_center or mapping.default_cost_center,
            project=row.project or mapping.default_project,
            label=None,
        )
    return MappedRow(
        source=row,
        account=row.account or rule.account,
        article_number=None if row.account else rule.article_number,
        cost_center=row.cost_center or rule.cost_center or mapping.default_cost_center,
        project=row.project or rule.project or mapping.default_project,
        label=rule.label,
    )


@settings(max_examples=300)
@given(mapping=mappings, invoice=st.lists(rows, min_size=1, max_size=20))
def test_the_index_chooses_the_rule_the_linear_lookup_chooses(
    mapping: TenantMapping, invoice: list[InvoiceRow]
) -> None:
    index = RuleIndex(mapping)
    for row in invoice:
        assert index.rule_for(row) is linear_rule_for(mapping, row)
        assert index.map(row) == linear_map(mapping, row)


@settings(max_examples=100)
@given(mapping=mappings, invoice=st.lists(rows, min_size=1, max_size=20))
def test_an_invoice_is_coded_as_the_linear_lookup_codes_each_row(
    mapping: TenantMapping, invoice: list[InvoiceRow]
) -> None:
    """Through the function the exporter calls: the same accounts, cost centres, projects and VAT rates."""
    coded = {(row.account, row.cost_center, row.project, row.vat_rate) for row in fortnox_rows(mapping, invoice)}
    expected = {
        (mapped.account, mapped.cost_center, mapped.project, mapped.source.vat_rate)
        for mapped in (linear_map(mapping, row) for row in invoice)
    }
    assert coded == expected
