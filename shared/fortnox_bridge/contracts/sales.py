"""Sales and ready-made journal events: a point-of-sale day closed (seed 001, OPEN One) and a journal built upstream
(seed 004, BRP). Both become one Fortnox voucher.

Sign conventions of ``sales.day_closed``: every amount is what the till counted, positive, except a payment total
(a method that paid out more than it took in, e.g. card refunds, is negative) and ``cash_rounding`` (signed, see
there). Refunds are positive amounts that reduce sales. The day balances when, to the öre,

    sum(payments.amount) + gift_cards_redeemed
        == sum(sales.net + sales.vat) - sum(refunds.net + refunds.vat) + tips + gift_cards_sold + cash_rounding

which is debit == credit of the voucher the day becomes: payments and redeemed gift cards are debits, sales, tips,
sold gift cards and a positive rounding are credits, refunds reverse sales (debits).
"""

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import Field, model_validator

from fortnox_bridge.contracts.invoices import (
    MAX_AMOUNT,
    YEARS_KEPT,
    Contract,
    CurrencyCode,
    Envelope,
    Money,
    VatRate,
    dating_window,
)
from fortnox_bridge.contracts.text import Code, Text255

ACCOUNTING_CURRENCY = "SEK"
"""A Swedish Fortnox company keeps its books in kronor: a voucher row has no currency of its own."""
NonNegativeMoney = Annotated[Decimal, Field(ge=0, max_digits=12, decimal_places=2)]
Account = Annotated[int, Field(ge=1000, le=9999)]
"""A BAS account number: Fortnox takes four digits (``Account`` 1000-9999 on a voucher row)."""
MAX_LINES = 1000
"""Product groups times VAT rates of one day or location: a large department store has a few hundred."""
MAX_PAYMENT_METHODS = 100
MAX_ROUNDING_ALONE = Decimal("1.00")
"""A day may round off up to a krona whatever it took in: one sale rounded down to nothing."""


class ProductGroupSale(Contract):
    """What one product group sold (or took back, in ``refunds``) at one VAT rate during the day."""

    product_group: Code
    vat_rate: VatRate
    net: NonNegativeMoney = Field(description="Amount before VAT, positive (a refund's too: it reduces sales).")
    vat: NonNegativeMoney = Field(description="Output VAT on ``net``, positive; 0 at VAT rate 0.")

    @model_validator(mode="after")
    def _no_vat_at_zero(self) -> "ProductGroupSale":
        if self.vat_rate == 0 and self.vat != 0:
            raise ValueError(f"product group {self.product_group} at VAT rate 0 carries VAT {self.vat}")
        return self

    @property
    def gross(self) -> Decimal:
        return self.net + self.vat


class PaymentTotal(Contract):
    method: Code
    """The till's payment method (card, cash, swish, invoice...), mapped to a Fortnox account per tenant."""
    amount: Money = Field(
        description="What the method took in during the day, net of what it paid back: negative when it paid out "
        "more (a refund to a card with no card sales)."
    )


class SalesDay(Contract):
    """One business day of one location. It balances when, to the öre, sum(payments.amount) + gift_cards_redeemed
    == sum(sales.net + sales.vat) - sum(refunds.net + refunds.vat) + tips + gift_cards_sold + cash_rounding; a day
    that does not is refused before any call, with the difference named."""

    business_day: date
    location: Code = Field(description="The register or shop id: one voucher per business day and location.")
    location_name: Text255 | None = None
    currency: CurrencyCode = Field(
        default=ACCOUNTING_CURRENCY, description="SEK: Fortnox vouchers are booked in the company's kronor."
    )
    sales: Annotated[list[ProductGroupSale], Field(max_length=MAX_LINES)]
    payments: Annotated[list[PaymentTotal], Field(max_length=MAX_PAYMENT_METHODS)]
    tips: NonNegativeMoney = Field(
        default=Decimal(0), description="Tips paid with the day's payments, owed to staff: a credit."
    )
    cash_rounding: Money = Field(
        default=Decimal(0),
        description="Payments minus what was due (öresavrundning): positive when customers paid more than the sales "
        "came to (a credit to the rounding account), negative when less (a debit). Less than a krona per payment: "
        "never more than the payments in and out together, or 1.00 on a day that paid less.",
    )
    refunds: Annotated[list[ProductGroupSale], Field(max_length=MAX_LINES)] = Field(
        default_factory=list, description="Goods taken back, positive amounts that reverse sales and VAT."
    )
    gift_cards_sold: NonNegativeMoney = Field(
        default=Decimal(0), description="Gift cards sold: paid for now, owed as goods later (a credit)."
    )
    gift_cards_redeemed: NonNegativeMoney = Field(
        default=Decimal(0),
        description="Sales paid with gift cards: a debit of the gift-card debt, like a payment method.",
    )

    @model_validator(mode="after")
    def _one_day_one_currency(self) -> "SalesDay":
        if self.currency != ACCOUNTING_CURRENCY:
            raise ValueError(
                f"the day is in {self.currency}; vouchers are booked in SEK, the accounting currency of a Swedish "
                "Fortnox company: convert at the day's rate upstream and send SEK"
            )
        oldest, latest = dating_window(datetime.now(UTC).date())
        if not oldest <= self.business_day <= latest:
            raise ValueError(
                f"business_day {self.business_day} is outside {oldest}..{latest}: from the oldest year kept in the "
                f"books ({YEARS_KEPT} years) to a year ahead"
            )
        return self

    @model_validator(mode="after")
    def _each_line_once(self) -> "SalesDay":
        for name, lines in (("sales", self.sales), ("refunds", self.refunds)):
            seen: set[tuple[str, int]] = set()
            for line in lines:
                key = (line.product_group, line.vat_rate)
                if key in seen:
                    raise ValueError(
                        f"{name} names product group {line.product_group} at VAT {line.vat_rate}% twice; send each "
                        "product group and rate once, summed"
                    )
                seen.add(key)
        methods = [payment.method for payment in self.payments]
        twice = sorted({method for method in methods if methods.count(method) > 1})
        if twice:
            raise ValueError(f"payments name method {', '.join(twice)} more than once; send one total per method")
        if not (self.debit_total or self.credit_total):
            # A till closed on a day it sold nothing: no voucher, since Fortnox takes none without amounts.
            raise ValueError("every amount of the day is 0: there is nothing to book")
        return self

    @model_validator(mode="after")
    def _rounding_is_rounding(self) -> "SalesDay":
        # Rounding to whole kronor moves a payment (or a refund paid out) by less than a krona, and a rounded one is
        # a krona or more: a day's rounding above what was paid is a missing payment or sale it only balances.
        paid = sum((abs(payment.amount) for payment in self.payments), Decimal(0))
        bound = max(MAX_ROUNDING_ALONE, paid)
        if abs(self.cash_rounding) > bound:
            raise ValueError(
                f"cash_rounding {self.cash_rounding:.2f} is more than rounding can be (less than a krona per payment, "
                f"here at most {bound:.2f} SEK): a payment or a sale is missing from the day; send it instead"
            )
        return self

    @model_validator(mode="after")
    def _amounts_fortnox_can_hold(self) -> "SalesDay":
        for side, total in (("debit", self.debit_total), ("credit", self.credit_total)):
            if total > MAX_AMOUNT:
                raise ValueError(f"the day's {side} total {total:.2f} SEK is above Fortnox's {MAX_AMOUNT}")
        return self

    @property
    def debit_total(self) -> Decimal:
        """Payments taken in, redeemed gift cards, refunds and a negative rounding: the voucher's debit side."""
        return (
            sum((payment.amount for payment in self.payments if payment.amount > 0), Decimal(0))
            + self.gift_cards_redeemed
            + sum((refund.gross for refund in self.refunds), Decimal(0))
            + max(-self.cash_rounding, Decimal(0))
        )

    @property
    def credit_total(self) -> Decimal:
        """Sales, tips, sold gift cards, payments paid out and a positive rounding: the voucher's credit side."""
        return (
            sum((line.gross for line in self.sales), Decimal(0))
            + self.tips
            + self.gift_cards_sold
            + sum((-payment.amount for payment in self.payments if payment.amount < 0), Decimal(0))
            + max(self.cash_rounding, Decimal(0))
        )


class SalesDayClosed(Envelope):
    type: Literal["sales.day_closed"]
    data: SalesDay


class ReadyRow(Contract):
    """One row of a journal made upstream: an account, or a mapping key the tenant's mapping turns into one."""

    account: Account | None = None
    mapping_key: Code | None = None
    debit: NonNegativeMoney = Decimal(0)
    credit: NonNegativeMoney = Decimal(0)
    cost_center: Code | None = None
    project: Code | None = None
    description: Text255 | None = None

    @model_validator(mode="after")
    def _one_account_one_side(self) -> "ReadyRow":
        if (self.account is None) == (self.mapping_key is None):
            raise ValueError("a row names either an account or a mapping_key, exactly one of the two")
        if (self.debit == 0) == (self.credit == 0):
            raise ValueError("a row carries a debit or a credit, exactly one of the two and not 0")
        return self


class ReadyJournal(Contract):
    journal_id: Code = Field(description="Upstream's id of the journal: one voucher per journal id.")
    transaction_date: date
    description: Text255
    location: Code | None = None
    rows: Annotated[list[ReadyRow], Field(min_length=2, max_length=MAX_LINES)] = Field(
        description="Debit equal to credit to the öre, or the journal is refused before any call."
    )

    @model_validator(mode="after")
    def _dated_and_sized(self) -> "ReadyJournal":
        oldest, latest = dating_window(datetime.now(UTC).date())
        if not oldest <= self.transaction_date <= latest:
            raise ValueError(
                f"transaction_date {self.transaction_date} is outside {oldest}..{latest}: from the oldest year kept "
                f"in the books ({YEARS_KEPT} years) to a year ahead"
            )
        if not self.description:
            raise ValueError("description is empty: Fortnox needs a text on every voucher")
        for side in ("debit", "credit"):
            total = sum((getattr(row, side) for row in self.rows), Decimal(0))
            if total > MAX_AMOUNT:
                raise ValueError(f"the journal's {side} total {total:.2f} SEK is above Fortnox's {MAX_AMOUNT}")
        return self


class VoucherReady(Envelope):
    type: Literal["voucher.ready"]
    data: ReadyJournal


VoucherEvent = Annotated[SalesDayClosed | VoucherReady, Field(discriminator="type")]
