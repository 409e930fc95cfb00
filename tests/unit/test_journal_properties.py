"""Every mapped day that balances becomes a balanced voucher whose sums per account are the day's own figures, and
every day off by any amount is refused with exactly that difference."""

from collections import defaultdict
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import cast

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from fortnox_bridge.contracts.sales import SalesDayClosed
from fortnox_bridge.mapping.rules import TenantMapping
from fortnox_bridge.mapping.vouchers import ProductGroupRule, VoucherMapping
from fortnox_bridge.vouchers.journal import UnbalancedJournal, journal_for

GROUPS = ["Mat", "Dryck", "Alkohol", "Tobak", "KLADER"]
METHODS = {"card": 1580, "cash": 1910, "swish": 1930, "invoice": 1510}
MAPPING = TenantMapping(
    vouchers=VoucherMapping(
        payment_methods=METHODS,
        # Two groups share an account with the defaults, so rows are merged as well as kept apart.
        product_groups=[
            ProductGroupRule(group="Alkohol", account=3011, cost_center="BAR"),
            ProductGroupRule(group="Tobak", vat_rate=25, account=3001),
        ],
        allow_tips=True,
        tips_account=2890,
        default_cost_center="HQ",
    )
)
MAPPED = MAPPING.vouchers
assert MAPPED is not None
CENT = Decimal("0.01")

cents = st.integers(min_value=0, max_value=5_000_000).map(lambda n: Decimal(n) * CENT)
signed_cents = st.integers(min_value=-100, max_value=100).map(lambda n: Decimal(n) * CENT)


@st.composite
def lines(draw: st.DrawFn) -> list[dict[str, object]]:
    keys = draw(st.lists(st.tuples(st.sampled_from(GROUPS), st.sampled_from([0, 6, 12, 25])), unique=True))
    out = []
    for group, rate in keys:
        net = draw(cents)
        # A till sums VAT per receipt, so the day's VAT drifts from net times rate by some öre.
        vat = Decimal(0) if rate == 0 else max(Decimal(0), (net * rate / 100).quantize(CENT) + draw(signed_cents))
        out.append({"product_group": group, "vat_rate": rate, "net": net, "vat": vat})
    return out


@st.composite
def balanced_days(draw: st.DrawFn) -> dict[str, object]:
    sales = draw(lines())
    refunds = draw(lines())
    tips, sold, redeemed = draw(cents), draw(cents), draw(cents)
    rounding = draw(signed_cents)
    due = (
        sum((Decimal(str(line["net"])) + Decimal(str(line["vat"])) for line in sales), Decimal(0))
        - sum((Decimal(str(line["net"])) + Decimal(str(line["vat"])) for line in refunds), Decimal(0))
        + tips
        + sold
        + rounding
        - redeemed
    )
    methods = draw(st.lists(st.sampled_from(sorted(METHODS)), min_size=1, unique=True))
    shares = [draw(st.integers(min_value=-10_000, max_value=5_000_000)) * CENT for _ in methods[1:]]
    payments = [{"method": method, "amount": share} for method, share in zip(methods[1:], shares, strict=True)]
    payments.append({"method": methods[0], "amount": due - sum(shares, Decimal(0))})
    # A day of nothing but zeros is refused by the contract ("nothing to book"), so it is not a day here.
    amounts = [due, *shares, tips, sold, redeemed, rounding]
    amounts += [Decimal(str(line[part])) for line in sales + refunds for part in ("net", "vat")]
    assume(any(amounts))
    return {
        "business_day": date(2026, 11, 23),
        "location": "kassa-1",
        "sales": sales,
        "refunds": refunds,
        "payments": payments,
        "tips": tips,
        "gift_cards_sold": sold,
        "gift_cards_redeemed": redeemed,
        "cash_rounding": rounding,
    }


def _event(data: dict[str, object]) -> SalesDayClosed:
    return SalesDayClosed.model_validate(
        {
            "type": "sales.day_closed",
            "id": "evt-1",
            "tenant_id": "demo-cafe",
            "occurred_at": datetime(2026, 11, 23, 22, tzinfo=UTC),
            "data": data,
        }
    )


def _expected_per_account(event: SalesDayClosed) -> dict[int, Decimal]:
    """Debit minus credit per account, read off the event and the mapping by hand, not by the journal's code."""
    assert MAPPED is not None
    day = event.data
    expected: dict[int, Decimal] = defaultdict(Decimal)
    for payment in day.payments:
        expected[METHODS[payment.method]] += payment.amount
    rules = {("Alkohol", None): 3011, ("Tobak", 25): 3001}
    for sign, group_lines in ((-1, day.sales), (1, day.refunds)):
        for line in group_lines:
            account = rules.get((line.product_group, None)) or rules.get((line.product_group, line.vat_rate))
            expected[account or MAPPED.default_sales_accounts[line.vat_rate]] += sign * line.net
            if line.vat:
                expected[MAPPED.output_vat_accounts[line.vat_rate]] += sign * line.vat
    expected[2890] -= day.tips
    expected[2420] += day.gift_cards_redeemed - day.gift_cards_sold
    expected[3740] -= day.cash_rounding
    return {account: amount for account, amount in expected.items() if amount}


@settings(max_examples=300, deadline=None)
@given(balanced_days())
def test_every_mapped_balanced_day_closes_balanced_with_the_event_s_sums(data: dict[str, object]) -> None:
    event = _event(data)
    journal = journal_for(event, MAPPING)

    debit = sum((row.debit for row in journal.rows), Decimal(0))
    credit = sum((row.credit for row in journal.rows), Decimal(0))
    assert debit == credit == journal.total() == event.data.debit_total == event.data.credit_total
    per_account: dict[int, Decimal] = defaultdict(Decimal)
    for row in journal.rows:
        assert (row.debit > 0) != (row.credit > 0)  # one side, never 0, never negative
        per_account[row.account] += row.debit - row.credit
    assert {account: amount for account, amount in per_account.items() if amount} == _expected_per_account(event)
    keys = [(row.account, row.side, row.cost_center, row.project) for row in journal.rows]
    assert len(keys) == len(set(keys))  # merged: one row per account, side and dimensions


@settings(max_examples=300, deadline=None)
@given(balanced_days(), st.integers(min_value=-10_000_000, max_value=10_000_000).filter(bool))
def test_a_day_off_by_any_amount_is_refused_with_exactly_that_difference(
    data: dict[str, object], off_by_cents: int
) -> None:
    off_by = Decimal(off_by_cents) * CENT
    payments = cast(list[dict[str, object]], data["payments"])
    last = dict(payments[-1])
    last["amount"] = Decimal(str(last["amount"])) + off_by
    event = _event({**data, "payments": [*payments[:-1], last]})

    try:
        journal_for(event, MAPPING)
    except UnbalancedJournal as refused:
        assert refused.difference == off_by
        assert f"{abs(off_by):.2f} SEK too much" in refused.explanation.en
    else:
        raise AssertionError(f"a day off by {off_by} was booked")
