"""Rows to Fortnox rows: one per (account, cost centre, project, VAT rate), summed exactly to the öre."""

from collections import OrderedDict
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from fortnox_bridge.contracts.invoices import InvoiceRow
from fortnox_bridge.mapping.rules import MappedRow, TenantMapping, map_row

CENT = Decimal("0.01")

SUMMARY_TEXT = {"sv": "Summerat, {count} rader", "en": "Summary, {count} rows"}


def row_amount(row: InvoiceRow) -> Decimal:
    """Net amount of one upstream row, rounded to the öre as the upstream invoice shows it."""
    return row.net


@dataclass(frozen=True)
class FortnoxRow:
    """A row ready for a Fortnox invoice. Aggregated rows carry quantity 1 and the summed net as price."""

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


def _as_is(mapped: MappedRow) -> FortnoxRow:
    source = mapped.source
    return FortnoxRow(
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


def fortnox_rows(mapping: TenantMapping, rows: list[InvoiceRow], *, language: str = "sv") -> list[FortnoxRow]:
    mapped = [map_row(mapping, row) for row in rows]
    if not mapping.aggregate_rows:
        return [_as_is(row) for row in mapped]
    groups: OrderedDict[Key, list[MappedRow]] = OrderedDict()
    for row in mapped:
        groups.setdefault((row.account, row.cost_center, row.project, row.source.vat_rate), []).append(row)
    result = []
    for (account, cost_center, project, vat_rate), members in groups.items():
        if len(members) == 1:
            result.append(_as_is(members[0]))
            continue
        descriptions = {member.source.description for member in members}
        articles = {member.article_number for member in members}
        description = (
            members[0].label
            or (descriptions.pop() if len(descriptions) == 1 else None)
            or SUMMARY_TEXT[language].format(count=len(members))
        )
        result.append(
            FortnoxRow(
                account=account,
                vat_rate=vat_rate,
                cost_center=cost_center,
                project=project,
                article_number=articles.pop() if len(articles) == 1 else None,
                description=description,
                quantity=Decimal(1),
                unit_price=sum((row_amount(member.source) for member in members), Decimal(0)),
                discount_percent=Decimal(0),
                unit=None,
            )
        )
    return result
