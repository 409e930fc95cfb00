"""A tenant's mapping: which Fortnox sales account (and article) each upstream row goes to, and its dimensions.

A row is matched, most specific first, by its article, then its service type, then its product group, each with a
rule for its VAT rate before a rule for any rate. The row's own account override beats every rule; a row no rule
matches goes to the tenant's default account for its VAT rate (BAS 3001/3002/3003/3004 unless changed).
"""

from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from fortnox_bridge.contracts.invoices import InvoiceRow, SalesAccount, VatRate
from fortnox_bridge.contracts.text import Code, Text255
from fortnox_bridge.mapping.vouchers import VoucherMapping

Account = SalesAccount
"""Checked when the mapping is saved: a bank or receivables account can never be chosen for sales."""
MatchOn = Literal["article", "service_type", "product_group"]

BAS_DEFAULT_ACCOUNTS: dict[int, int] = {25: 3001, 12: 3002, 6: 3003, 0: 3004}


class MappingRule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    match_on: MatchOn
    value: Code
    vat_rate: VatRate | None = None
    """Only rows with this VAT rate; None matches any rate."""
    account: Account
    article_number: Code | None = None
    """A Fortnox article to put on the row, for tenants that use articles (seed 003, Productive)."""
    label: Text255 | None = None
    """The row text when several upstream rows are summed into one."""
    cost_center: Code | None = None
    project: Code | None = None


class TenantMapping(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    rules: list[MappingRule] = Field(default_factory=list, max_length=2000)
    default_accounts: dict[int, Account] = Field(default_factory=lambda: dict(BAS_DEFAULT_ACCOUNTS))
    """Keyed by VAT rate (0, 6, 12, 25)."""
    default_cost_center: Code | None = None
    default_project: Code | None = None
    aggregate_rows: bool = True
    """One Fortnox row per account, cost centre, project and VAT rate, as Opter sends (seed 000)."""
    vouchers: VoucherMapping | None = None
    """How sales days and ready-made journals become vouchers; None until the tenant maps them."""

    @model_validator(mode="after")
    def _unambiguous(self) -> "TenantMapping":
        seen: set[tuple[str, str, int | None]] = set()
        for rule in self.rules:
            key = (rule.match_on, rule.value, rule.vat_rate)
            if key in seen:
                raise ValueError(f"two rules for {rule.match_on}={rule.value} and VAT {rule.vat_rate}")
            seen.add(key)
        missing = set(BAS_DEFAULT_ACCOUNTS) - set(self.default_accounts)
        if missing:
            raise ValueError(f"default_accounts needs an account for VAT rates {sorted(missing)}")
        unknown = set(self.default_accounts) - set(BAS_DEFAULT_ACCOUNTS)
        if unknown:
            raise ValueError(f"default_accounts names VAT rates Fortnox does not have: {sorted(unknown)}")
        return self


@dataclass(frozen=True, slots=True)
class MappedRow:
    """An upstream row with its Fortnox coding decided. A plain dataclass: it never crosses a boundary, and an
    invoice of 1,000 rows would spend more time validating these than choosing their rules."""

    source: InvoiceRow
    account: int
    article_number: str | None
    cost_center: str | None
    project: str | None
    label: str | None


RuleKey = tuple[str, str, int | None]
"""How a row looks a rule up: what it matches on, the row's value for it, and a VAT rate (None for any rate)."""


class RuleIndex:
    """A tenant's rules keyed as rows look them up, built once per mapping: a 1,000-row invoice against 2,000 rules
    costs one pass over the rules and a few dictionary reads per row, instead of a pass over the rules per row."""

    def __init__(self, mapping: TenantMapping) -> None:
        self._mapping = mapping
        self._rules: dict[RuleKey, MappingRule] = {
            (rule.match_on, rule.value, rule.vat_rate): rule for rule in mapping.rules
        }

    def rule_for(self, row: InvoiceRow) -> MappingRule | None:
        for match_on in ("article", "service_type", "product_group"):
            value = getattr(row, match_on)
            if value is None:
                continue
            for vat in (row.vat_rate, None):
                rule = self._rules.get((match_on, value, vat))
                if rule is not None:
                    return rule
        return None

    def map(self, row: InvoiceRow) -> MappedRow:
        mapping = self._mapping
        rule = self.rule_for(row)
        account = row.account or (rule.account if rule else mapping.default_accounts[row.vat_rate])
        return MappedRow(
            source=row,
            account=account,
            article_number=rule.article_number if rule and not row.account else None,
            cost_center=row.cost_center or (rule.cost_center if rule else None) or mapping.default_cost_center,
            project=row.project or (rule.project if rule else None) or mapping.default_project,
            label=rule.label if rule else None,
        )


def map_row(mapping: TenantMapping, row: InvoiceRow) -> MappedRow:
    """One row. Indexes every rule for it: many rows share one ``RuleIndex`` (``fortnox_rows`` does)."""
    return RuleIndex(mapping).map(row)
