"""Rows to Fortnox rows: one per (account, cost centre, project, VAT rate), summed exactly to the öre."""

from collections import OrderedDict
from dataclasses import dataclass, replace
from decimal import ROUND_HALF_UP, Decimal

from fortnox_bridge.contracts.invoices import InvoiceRow
from fortnox_bridge.mapping.rules import MappedRow, RuleIndex, TenantMapping

CENT = Decimal("0.01")
QUANTITY_STEP = Decimal("0.01")
"""Fortnox keeps a row's quantity with two decimals ("1.00"): 0.125 h at 450 kr would be invoiced as 0.12 h, 54.00
kr instead of 56.25. A row with a finer quantity goes as quantity 1 at its net, like a summed row."""

SUMMARY_TEXT = {"sv": "Summerat, {count} rader", "en": "Summary, {count} rows"}


def row_amount(row: InvoiceRow) -> Decimal:
    """Net amount of one upstream row, rounded to the öre as the upstream invoice shows it."""
    return row.net


@dataclass(frozen=True)
class FortnoxRow:
    """A row ready for a Fortnox invoice. Summed rows, and rows whose quantity Fortnox cannot hold, carry quantity 1
    and the net as price; text rows carry quantity 0."""

    account: int
    vat_rate: int
    cost_center: str | None
    project: str | None
    article_number: str | None
    description: str
    quantity: Decimal
    unit_price: Decimal
    discount_percent: Decimal
    unit: str | None

    @property
    def net(self) -> Decimal:
        gross = self.quantity * self.unit_price
        return (gross * (Decimal(100) - self.discount_percent) / Decimal(100)).quantize(CENT, rounding=ROUND_HALF_UP)


Key = tuple[int, str | None, str | None, int]
"""Rows summed into one: account, cost centre, project, VAT rate."""


def _as_is(mapped: MappedRow) -> FortnoxRow:
    source = mapped.source
    row = FortnoxRow(
        account=mapped.account,
        vat_rate=source.vat_rate,
        cost_center=mapped.cost_center,
        project=mapped.project,
        article_number=mapped.article_number,
        description=source.description,
        quantity=source.quantity,
        unit_price=source.unit_price,
        discount_percent=source.discount_percent,
        unit=source.unit,
    )
    if row.quantity == row.quantity.quantize(QUANTITY_STEP):
        return row
    # As a summed row of one, so the amount is upstream's to the öre.
    return replace(row, quantity=Decimal(1), unit_price=row.net, discount_percent=Decimal(0), unit=None)


def _summed(members: list[MappedRow], language: str) -> FortnoxRow:
    first = members[0]
    descriptions = {member.source.description for member in members}
    articles = {member.article_number for member in members}
    description = (
        first.label
        or (descriptions.pop() if len(descriptions) == 1 else None)
        or SUMMARY_TEXT[language].format(count=len(members))
    )
    return FortnoxRow(
        account=first.account,
        vat_rate=first.source.vat_rate,
        cost_center=first.cost_center,
        project=first.project,
        article_number=articles.pop() if len(articles) == 1 else None,
        description=description,
        quantity=Decimal(1),
        unit_price=sum((row_amount(member.source) for member in members), Decimal(0)),
        discount_percent=Decimal(0),
        unit=None,
    )


def fortnox_rows(mapping: TenantMapping, rows: list[InvoiceRow], *, language: str = "sv") -> list[FortnoxRow]:
    rules = RuleIndex(mapping)
    mapped = [rules.map(row) for row in rows]
    if not mapping.aggregate_rows:
        return [_as_is(row) for row in mapped]
    groups: OrderedDict[Key | int, list[MappedRow]] = OrderedDict()
    for index, row in enumerate(mapped):
        # A text row is never summed: its words would vanish into "Summerat, n rader". It keeps its own place.
        key = index if row.source.is_text else (row.account, row.cost_center, row.project, row.source.vat_rate)
        groups.setdefault(key, []).append(row)
    return [_as_is(members[0]) if len(members) == 1 else _summed(members, language) for members in groups.values()]
