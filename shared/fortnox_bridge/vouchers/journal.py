"""A sales day or a ready-made journal as the voucher it becomes, decided from the event and the mapping alone.

Nothing here calls anyone: a day that does not balance or names something the mapping lacks is refused with the
fix, in Swedish and English, before any Fortnox call.
"""

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from typing import Literal

from fortnox_bridge.contracts.sales import ProductGroupSale, SalesDay, SalesDayClosed, VoucherReady
from fortnox_bridge.export.explanations import Explanation, ExportRefused
from fortnox_bridge.fortnox.models.vouchers import VoucherRowWrite, VoucherWrite
from fortnox_bridge.mapping.rules import TenantMapping
from fortnox_bridge.mapping.vouchers import LocationRule, ProductGroupRule, VoucherMapping
from fortnox_bridge.vouchers.marker import MARKER

ZERO = Decimal(0)
DESCRIPTION_MAX = 200
"""Fortnox's ``Description`` on a voucher; the marker shares it."""
MAX_NAMED = 10
"""Missing pieces of mapping spelled out in one refusal: it travels in voucher.export_failed (sv and en), which
EventBridge caps at 256 KB, and a day of 1,000 unmapped groups would pass that; ``missing`` keeps them all."""
ROW_TEXT_MAX = 60
"""A merged row's text, naming what it sums: short enough to read in Fortnox's voucher view."""
FORTNOX_SYMBOLS = frozenset(" \u2013:.`\u00b4\u2019,;^¤#%§£$€¢¥©™°&/()=+-*_!?²³®½@\\\u00a0\u0308\u030a")
"""What Fortnox's text fields take besides letters and digits 0-9 ("Valid characters", Formats & Encoding,
developer documentation); anything else is refused with 2000359 and the whole voucher with it."""
_NEAREST = str.maketrans(
    {
        '"': "\u2019",
        "'": "\u2019",
        "\u201c": "\u2019",
        "\u201d": "\u2019",
        "\u2018": "\u2019",
        "«": "\u2019",
        "»": "\u2019",
        "\u2014": "\u2013",
        "\u2026": "...",
    }
)
_SPACES = re.compile(r"\s+")
OriginKind = Literal[
    "product_group", "payment_method", "tips", "rounding", "vat", "gift_card", "refund", "mapping_key", "account"
]


@dataclass(frozen=True)
class RowOrigin:
    """What in the event or the mapping a row comes from, so a finding can name the thing to change."""

    kind: OriginKind
    key: str | None = None


@dataclass(frozen=True)
class JournalRow:
    account: int
    debit: Decimal
    credit: Decimal
    cost_center: str | None
    project: str | None
    description: str | None
    origin: RowOrigin
    merged: tuple[RowOrigin, ...] = ()
    """The origins of rows summed into this one after the first."""

    @property
    def origins(self) -> tuple[RowOrigin, ...]:
        return (self.origin, *self.merged)

    @property
    def side(self) -> Literal["debit", "credit"]:
        return "debit" if self.debit else "credit"


@dataclass(frozen=True)
class Journal:
    business_key: str
    transaction_date: date
    location: str | None
    series: str
    description: str
    rows: tuple[JournalRow, ...]

    def total(self) -> Decimal:
        """The debit side, equal to the credit side."""
        return sum((row.debit for row in self.rows), ZERO)

    def to_voucher(self, marker: str) -> VoucherWrite:
        """The voucher to create, ``marker`` kept at the end of its text so a listing of the series finds it again."""
        return VoucherWrite(
            Description=with_marker(self.description, marker),
            TransactionDate=self.transaction_date,
            VoucherSeries=self.series,
            VoucherRows=[
                VoucherRowWrite(
                    Account=row.account,
                    Debit=row.debit,
                    Credit=row.credit,
                    Description=row.description,
                    CostCenter=row.cost_center,
                    Project=row.project,
                )
                for row in self.rows
            ],
        )


def with_marker(description: str, marker: str) -> str:
    """``description`` shortened (ending in "...") so that it and the marker fit Fortnox's 200 characters. Three
    dots, not an ellipsis character: Fortnox refuses some characters in text (2000359) and lists none of them, so the
    bridge adds none of its own beyond ASCII."""
    suffix = f" {marker}"
    if len(suffix) >= DESCRIPTION_MAX:
        raise ValueError(f"a marker of {len(marker)} characters leaves no room for the voucher text")
    room = DESCRIPTION_MAX - len(suffix)
    text = description if len(description) <= room else description[: room - 3].rstrip() + "..."
    return text + suffix


def fortnox_text(text: str) -> str:
    """``text`` as Fortnox takes it on a voucher, and as the SIE file and the status page then show it: on one line
    (a voucher text is a title; the marker must end the line it is on), quotes and dashes as their nearest Fortnox
    character, anything else Fortnox refuses (an emoji, a bracket, a bullet) left out, and no bridge marker of its own:
    a till's text carrying another day's marker would make that day look booked."""
    kept = "".join(
        char
        for char in text.translate(_NEAREST)
        if char in FORTNOX_SYMBOLS
        or (char.isascii() and char.isalnum())
        or unicodedata.category(char).startswith("L")
        or char.isspace()
    )
    # Markers go last: leaving a character out could join the pieces of one ("FB:ABC😀DEFGHIJKL").
    return _SPACES.sub(" ", MARKER.sub(" ", kept)).strip()


class UnbalancedJournal(ExportRefused):
    """Debit and credit differ: upstream's figures do not add up, and no voucher can be made of them."""

    def __init__(self, debit: Decimal, credit: Decimal, explanation: Explanation) -> None:
        super().__init__(explanation)
        self.debit = debit
        self.credit = credit
        self.difference = debit - credit


class MappingMissing(ExportRefused):
    """The event names payment methods, product groups, keys or amounts the tenant's mapping has no account for."""

    def __init__(self, missing: list[tuple[RowOrigin, str, str]]) -> None:
        self.missing = [origin for origin, _, _ in missing]
        named, more = missing[:MAX_NAMED], len(missing) - MAX_NAMED
        sv = " ".join(text for _, text, _ in named) + (f" Och {more} till." if more > 0 else "")
        en = " ".join(text for _, _, text in named) + (f" And {more} more." if more > 0 else "")
        super().__init__(Explanation(None, "", sv, en))


def journal_for(event: SalesDayClosed | VoucherReady, mapping: TenantMapping) -> Journal:
    """The voucher ``event`` becomes under ``mapping``, balanced to the öre; ``MappingMissing`` or
    ``UnbalancedJournal`` (both ``ExportRefused``, explained in Swedish and English) otherwise."""
    vouchers = mapping.vouchers or VoucherMapping()
    if isinstance(event, SalesDayClosed):
        return _sales_day(event.data, vouchers)
    return _ready(event, vouchers)


def _dimensions(vouchers: VoucherMapping, location: str | None) -> tuple[LocationRule, str | None, str | None]:
    rule = vouchers.locations.get(location or "") or LocationRule()
    return rule, rule.cost_center or vouchers.default_cost_center, rule.project or vouchers.default_project


class _Rows:
    """Rows of one voucher as they are found, and what the mapping lacks for the rest."""

    def __init__(self, cost_center: str | None, project: str | None) -> None:
        self.rows: list[JournalRow] = []
        self.missing: list[tuple[RowOrigin, str, str]] = []
        self._cost_center = cost_center
        self._project = project

    def add(
        self,
        account: int,
        amount: Decimal,
        origin: RowOrigin,
        description: str,
        *,
        cost_center: str | None = None,
        project: str | None = None,
    ) -> None:
        """A debit for a positive ``amount``, a credit for a negative one; nothing for zero."""
        if amount == 0:
            return
        self.rows.append(
            JournalRow(
                account=account,
                debit=amount if amount > 0 else ZERO,
                credit=-amount if amount < 0 else ZERO,
                cost_center=cost_center or self._cost_center,
                project=project or self._project,
                description=fortnox_text(description) or None,
                origin=origin,
            )
        )

    def lack(self, origin: RowOrigin, sv: str, en: str) -> None:
        if all(sv != known for _, known, _ in self.missing):
            self.missing.append((origin, sv, en))


def _sales_day(day: SalesDay, vouchers: VoucherMapping) -> Journal:
    location_rule, cost_center, project = _dimensions(vouchers, day.location)
    rows = _Rows(cost_center, project)
    # A method, group or rate that carried nothing today needs no account: it must not hold up the day.
    for payment in day.payments:
        if payment.amount == 0:
            continue
        account = vouchers.payment_methods.get(payment.method)
        origin = RowOrigin("payment_method", payment.method)
        if account is None:
            rows.lack(
                origin,
                f"Betalsättet '{payment.method}' har inget konto i mappningen. Ange ett konto för det under "
                "vouchers.payment_methods (t.ex. 1580 kortinlösen, 1910 kassa, 1930 bank).",
                f"Payment method '{payment.method}' has no account in the mapping. Give it one under "
                "vouchers.payment_methods (e.g. 1580 card clearing, 1910 cash, 1930 bank).",
            )
            continue
        rows.add(account, payment.amount, origin, payment.method)
    gift_cards = vouchers.gift_card_account
    rows.add(gift_cards, day.gift_cards_redeemed, RowOrigin("gift_card", "redeemed"), "Inlösta presentkort")
    groups = {(rule.group, rule.vat_rate): rule for rule in vouchers.product_groups}
    for refund in day.refunds:
        _line(rows, vouchers, groups, refund, refund=True)
    for line in day.sales:
        _line(rows, vouchers, groups, line, refund=False)
    if day.tips:
        if vouchers.allow_tips and vouchers.tips_account is not None:
            rows.add(vouchers.tips_account, -day.tips, RowOrigin("tips"), "Dricks")
        else:
            rows.lack(
                RowOrigin("tips"),
                f"Dagen har dricks ({day.tips:.2f} kr) men mappningen tillåter inte dricks. Slå på allow_tips och "
                "ange ett konto för dricks (t.ex. 2890), eller ta bort dricksen i kassan.",
                f"The day has tips ({day.tips:.2f} SEK) but the mapping does not allow tips. Turn on allow_tips and "
                "give tips an account (e.g. 2890), or take the tips out at the till.",
            )
    rows.add(gift_cards, -day.gift_cards_sold, RowOrigin("gift_card", "sold"), "Sålda presentkort")
    rows.add(vouchers.rounding_account, -day.cash_rounding, RowOrigin("rounding"), "Öresavrundning")
    if rows.missing:
        raise MappingMissing(rows.missing)
    name = day.location_name or day.location
    text = vouchers.description.format(business_day=day.business_day, location=day.location, location_name=name)
    return _balanced(
        Journal(
            business_key=f"{day.business_day}#{day.location}",
            transaction_date=day.business_day,
            location=day.location,
            series=vouchers.series,
            description=fortnox_text(location_rule.description or text) or f"Dagskassa {day.business_day}",
            rows=_merged(rows.rows),
        ),
        UNBALANCED_DAY,
    )


def _line(
    rows: _Rows,
    vouchers: VoucherMapping,
    groups: dict[tuple[str, int | None], ProductGroupRule],
    line: ProductGroupSale,
    *,
    refund: bool,
) -> None:
    """A sale credits its sales account and output VAT; a refund debits the same accounts back."""
    sign = 1 if refund else -1
    kind: OriginKind = "refund" if refund else "product_group"
    group, rate = line.product_group, line.vat_rate
    rule = groups.get((group, rate)) or groups.get((group, None))
    account = rule.account if rule else vouchers.default_sales_accounts.get(rate)
    label = f"{'Retur ' if refund else ''}{group} {rate}%"
    if account is None and line.net:
        rows.lack(
            RowOrigin(kind, group),
            f"Produktgruppen '{group}' med moms {rate} % har inget försäljningskonto. Lägg till en regel för den "
            f"under vouchers.product_groups, eller ett standardkonto för {rate} % under "
            "vouchers.default_sales_accounts.",
            f"Product group '{group}' at VAT {rate}% has no sales account. Add a rule for it under "
            f"vouchers.product_groups, or a default account for {rate}% under vouchers.default_sales_accounts.",
        )
    elif account is not None:
        rows.add(
            account,
            sign * line.net,
            RowOrigin(kind, group),
            label,
            cost_center=rule.cost_center if rule else None,
            project=rule.project if rule else None,
        )
    if line.vat == 0:
        return
    vat_account = vouchers.output_vat_accounts.get(rate)
    if vat_account is None:
        rows.lack(
            RowOrigin("vat", str(rate)),
            f"Momssatsen {rate} % har inget konto för utgående moms. Ange det under vouchers.output_vat_accounts "
            "(2611 för 25 %, 2621 för 12 %, 2631 för 6 %).",
            f"VAT rate {rate}% has no output VAT account. Give it one under vouchers.output_vat_accounts (2611 for "
            "25%, 2621 for 12%, 2631 for 6%).",
        )
        return
    rows.add(vat_account, sign * line.vat, RowOrigin("vat", str(rate)), f"{'Retur ' if refund else ''}moms {rate}%")


def _ready(event: VoucherReady, vouchers: VoucherMapping) -> Journal:
    journal = event.data
    _, cost_center, project = _dimensions(vouchers, journal.location)
    rows = _Rows(cost_center, project)
    for row in journal.rows:
        key = row.mapping_key or ""
        origin = RowOrigin("account", str(row.account)) if row.account else RowOrigin("mapping_key", key)
        account = row.account or vouchers.keys.get(key)
        if account is None:
            rows.lack(
                origin,
                f"Mappningsnyckeln '{key}' har inget konto. Ange ett konto för den under vouchers.keys.",
                f"Mapping key '{key}' has no account. Give it one under vouchers.keys.",
            )
            continue
        rows.add(
            account,
            row.debit - row.credit,
            origin,
            row.description or journal.description,
            cost_center=row.cost_center,
            project=row.project,
        )
    if rows.missing:
        raise MappingMissing(rows.missing)
    # Upstream's journal is kept row for row: its rows are its own choice, and each may carry its own text.
    return _balanced(
        Journal(
            business_key=f"journal#{journal.journal_id}",
            transaction_date=journal.transaction_date,
            location=journal.location,
            series=vouchers.series,
            description=fortnox_text(journal.description) or f"Verifikation {journal.journal_id}",
            rows=tuple(rows.rows),
        ),
        UNBALANCED_JOURNAL,
    )


def _merged(rows: Iterable[JournalRow]) -> tuple[JournalRow, ...]:
    """One row per account, side, cost centre and project, in the order each was first met."""
    merged: dict[tuple[int, str, str | None, str | None], JournalRow] = {}
    for row in rows:
        key = (row.account, row.side, row.cost_center, row.project)
        first = merged.get(key)
        if first is None:
            merged[key] = row
            continue
        merged[key] = replace(
            first,
            debit=first.debit + row.debit,
            credit=first.credit + row.credit,
            description=first.description if first.description == row.description else _joined(first, row),
            merged=(*first.merged, row.origin),
        )
    return tuple(merged.values())


def _joined(first: JournalRow, row: JournalRow) -> str:
    text = f"{first.description}, {row.description}"
    return text if len(text) <= ROW_TEXT_MAX else text[: ROW_TEXT_MAX - 3] + "..."


UNBALANCED_DAY = (
    "Betalningarna stämmer inte med försäljningen: rätta dagens siffror i kassan och skicka dagen igen.",
    "The payments do not match the sales: correct the day's figures at the till and send the day again.",
)
UNBALANCED_JOURNAL = (
    "Rätta underlagets rader i källsystemet och skicka det igen.",
    "Correct the journal's rows where it was made and send it again.",
)


def _balanced(journal: Journal, fix: tuple[str, str]) -> Journal:
    fix_sv, fix_en = fix
    debit = sum((row.debit for row in journal.rows), ZERO)
    credit = sum((row.credit for row in journal.rows), ZERO)
    if debit != credit:
        difference = abs(debit - credit)
        heavier_sv, heavier_en = ("debet", "debit") if debit > credit else ("kredit", "credit")
        raise UnbalancedJournal(
            debit,
            credit,
            Explanation(
                None,
                "",
                f"Verifikationen för {journal.business_key} balanserar inte: debet {debit:.2f} kr, kredit "
                f"{credit:.2f} kr, {difference:.2f} kr för mycket på {heavier_sv}sidan. {fix_sv}",
                f"The voucher for {journal.business_key} does not balance: debit {debit:.2f} SEK, credit "
                f"{credit:.2f} SEK, {difference:.2f} SEK too much on the {heavier_en} side. {fix_en}",
                # Nothing in Fortnox or the mapping makes these figures add up: "retry failed" must not replay it.
                tenant_fixable=False,
            ),
        )
    return journal
