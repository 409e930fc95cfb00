"""Mapping time: 1,000 upstream rows against a tenant mapping of 2,000 rules, in a worker process of its own.

Two figures, medians of 21 runs:

- ``rules``: the rule index built from the mapping and every row coded through it (account, article, cost centre,
  project, label), what issue 13 measured at 245 ms and what grows with rows x rules; its goal is 5 ms;
- ``step``: ``fortnox_rows``, the whole mapping step of an export, which also sums the coded rows per account, cost
  centre, project and VAT rate. Summing does not depend on the rules; it is shown so nothing is hidden.

Rules and rows are drawn with a fixed seed: rules on all three keys, for one VAT rate or any; rows that hit a
VAT-specific rule, an any-rate rule, or nothing (the default account).
"""

import random
import statistics
import sys
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from fortnox_bridge.contracts.invoices import InvoiceRow
from fortnox_bridge.mapping.aggregation import fortnox_rows
from fortnox_bridge.mapping.rules import MappedRow, MappingRule, RuleIndex, TenantMapping

RULES = 2000
ROWS = 1000
REPEATS = 21
MATCH_ON = ("article", "service_type", "product_group")
VAT_RATES = (0, 6, 12, 25)


def scenario(seed: int = 13) -> tuple[TenantMapping, list[InvoiceRow]]:
    draw = random.Random(seed)
    rules: dict[tuple[str, str, int | None], MappingRule] = {}
    while len(rules) < RULES:
        match_on = draw.choice(MATCH_ON)
        value = f"V{draw.randrange(RULES)}"
        vat = draw.choice((None, *VAT_RATES))
        rules[(match_on, value, vat)] = MappingRule(
            match_on=match_on, value=value, vat_rate=vat, account=3000 + draw.randrange(900), cost_center="CC1"
        )
    keys = list(rules)
    rows = []
    for number in range(ROWS):
        match_on, value, vat = draw.choice(keys)
        known = draw.random() < 0.8
        rows.append(
            InvoiceRow(
                description=f"Rad {number}",
                quantity=Decimal(draw.randrange(1, 20)),
                unit_price=Decimal(draw.randrange(100, 100_000)) / 100,
                vat_rate=vat if vat is not None else draw.choice(VAT_RATES),
                **{match_on: value if known else f"U{number}"},
            )
        )
    return TenantMapping(rules=list(rules.values())), rows


def _median_seconds(work: Callable[[], object]) -> float:
    timings = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        work()
        timings.append(time.perf_counter() - started)
    return statistics.median(timings)


def run() -> dict[str, float]:
    mapping, rows = scenario()

    def coded() -> list[MappedRow]:
        index = RuleIndex(mapping)
        return [index.map(row) for row in rows]

    return {
        "rows": ROWS,
        "rules": RULES,
        "rules_ms": _median_seconds(coded) * 1000,
        "step_ms": _median_seconds(lambda: fortnox_rows(mapping, rows)) * 1000,
    }


def worker(_: Any) -> Callable[[], dict[str, float]]:
    """``bench.processes`` job."""
    return run


def main() -> int:
    result = run()
    print(
        f"{ROWS} rows against {RULES} rules: coded in {result['rules_ms']:.1f} ms (goal <= 5 ms); whole mapping step "
        f"with summing {result['step_ms']:.1f} ms"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
