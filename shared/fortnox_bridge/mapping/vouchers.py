"""A tenant's voucher mapping: which Fortnox account each part of a sales day goes to, in which series, with which
cost centre and project (seed 001: payment methods, product groups and "other relevant categories").

Everything here is checked when the mapping is saved, so a day is refused for a missing piece of mapping only, never
for a mapping that could not be right (a bank account as a sales account, a VAT rate without its VAT account).
Whether the accounts exist in the tenant's Fortnox is the preflight's to check.
"""

from string import Formatter
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from fortnox_bridge.contracts.text import Code, Text255

VAT_RATES = (0, 6, 12, 25)
BAS_SALES_ACCOUNTS: dict[int, int] = {25: 3001, 12: 3002, 6: 3003, 0: 3004}
BAS_OUTPUT_VAT_ACCOUNTS: dict[int, int] = {25: 2611, 12: 2621, 6: 2631}
"""Utgående moms 25 %, 12 %, 6 %; sales at 0 % carry no VAT, so they have none."""
BAS_ROUNDING_ACCOUNT = 3740
"""Öres- och kronutjämning."""
BAS_GIFT_CARD_ACCOUNT = 2420
"""Förskott från kunder: a sold gift card is goods owed."""
DESCRIPTION_FIELDS = frozenset({"business_day", "location", "location_name"})


def _in_class(low: int, high: int, what: str) -> AfterValidator:
    def check(account: int) -> int:
        if not low <= account <= high:
            raise ValueError(f"account {account} cannot be {what} (BAS accounts {low} to {high})")
        return account

    return AfterValidator(check)


AnyAccount = Annotated[int, Field(ge=1000, le=9999)]
SalesAccount = Annotated[int, Field(ge=1000, le=9999), _in_class(3000, 3999, "a sales account")]
"""BAS class 3, Rörelsens inkomster: a sales day's revenue goes nowhere else."""
BalanceAccount = Annotated[int, Field(ge=1000, le=9999), _in_class(1000, 2999, "where this is booked")]
"""BAS classes 1 and 2: money taken in (bank, cash, card clearing) or owed (VAT, gift cards, tips)."""
SeriesCode = Annotated[str, Field(pattern=r"^[A-Za-z0-9]{1,10}$")]
"""Fortnox series codes: up to 10 letters or digits ("A", "K", "F")."""


def _vat_rate(rate: int) -> int:
    if rate not in VAT_RATES:
        raise ValueError(f"{rate} is not a VAT rate Fortnox has ({', '.join(map(str, VAT_RATES))})")
    return rate


VatKey = Annotated[int, AfterValidator(_vat_rate)]
"""A VAT rate as a key: JSON object keys are strings, which a ``Literal`` key would refuse on reading."""


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ProductGroupRule(_Frozen):
    group: Code
    vat_rate: VatKey | None = None
    """Only this VAT rate of the group; None for every rate the group sells at."""
    account: SalesAccount
    cost_center: Code | None = None
    project: Code | None = None


class LocationRule(_Frozen):
    """What a register or shop adds to its vouchers: every row's cost centre and project, and the text."""

    cost_center: Code | None = None
    project: Code | None = None
    description: Text255 | None = None


class VoucherMapping(_Frozen):
    series: SeriesCode = "A"
    payment_methods: dict[Code, BalanceAccount] = Field(default_factory=dict, max_length=200)
    """Card clearing 1580, cash 1910, Swish 1930 and so on: where each method's money is."""
    product_groups: list[ProductGroupRule] = Field(default_factory=list, max_length=2000)
    default_sales_accounts: dict[VatKey, SalesAccount] = Field(default_factory=lambda: dict(BAS_SALES_ACCOUNTS))
    """For a product group without a rule of its own, per VAT rate."""
    output_vat_accounts: dict[VatKey, BalanceAccount] = Field(default_factory=lambda: dict(BAS_OUTPUT_VAT_ACCOUNTS))
    allow_tips: bool = False
    """Seed 001's "allow tip": a day with tips is refused unless the tenant has said where tips go."""
    tips_account: BalanceAccount | None = None
    rounding_account: AnyAccount = BAS_ROUNDING_ACCOUNT
    gift_card_account: BalanceAccount = BAS_GIFT_CARD_ACCOUNT
    keys: dict[Code, AnyAccount] = Field(default_factory=dict, max_length=2000)
    """Mapping keys the rows of a ``voucher.ready`` journal may name instead of an account."""
    locations: dict[Code, LocationRule] = Field(default_factory=dict, max_length=2000)
    default_cost_center: Code | None = None
    default_project: Code | None = None
    description: Text255 = "Dagskassa {business_day} {location_name}"
    """The voucher text of a sales day; ``{business_day}``, ``{location}`` and ``{location_name}`` are filled in
    (the location id when the day has no name)."""

    @model_validator(mode="after")
    def _consistent(self) -> "VoucherMapping":
        seen: set[tuple[str, int | None]] = set()
        for rule in self.product_groups:
            key = (rule.group, rule.vat_rate)
            if key in seen:
                rate = "every rate" if rule.vat_rate is None else f"VAT {rule.vat_rate}%"
                raise ValueError(f"two rules for product group {rule.group} and {rate}")
            seen.add(key)
        if 0 in self.output_vat_accounts:
            raise ValueError("output_vat_accounts names VAT rate 0: sales without VAT have no VAT account")
        rates = set(self.default_sales_accounts) | {r.vat_rate for r in self.product_groups if r.vat_rate is not None}
        if any(rule.vat_rate is None for rule in self.product_groups):
            rates |= {6, 12, 25}
        missing = sorted(rate for rate in rates - {0} if rate not in self.output_vat_accounts)
        if missing:
            raise ValueError(
                f"VAT rates {missing} have sales accounts but no output VAT account in output_vat_accounts "
                "(BAS 2611 for 25%, 2621 for 12%, 2631 for 6%)"
            )
        if self.allow_tips and self.tips_account is None:
            raise ValueError("allow_tips needs a tips_account (tips are owed to staff, e.g. BAS 2890)")
        self._description_fields()
        return self

    def _description_fields(self) -> None:
        try:
            fields = [(name, spec, conversion) for _, name, spec, conversion in Formatter().parse(self.description)]
        except ValueError as error:
            raise ValueError(f"description is not a valid template ({error}); write braces as {{{{ and }}}}") from None
        names = {name for name, _, _ in fields if name is not None}
        unknown = sorted(names - DESCRIPTION_FIELDS)
        if unknown:
            raise ValueError(
                f"description names {', '.join(unknown) or 'an empty field'}; it may use {{business_day}}, "
                "{location} and {location_name}"
            )
        # A format spec could pad a field to any width ({location:>99999999}): the text is filled in as it stands.
        if any(spec or conversion for name, spec, conversion in fields if name is not None):
            raise ValueError("description fields take no format (write {location}, not {location:>10} or {location!r})")
