"""One table of every figure the "Done means" of issues 13, 10 and 11 ask for (10: Fortnox calls per voucher; 11:
Fortnox calls per payment poll), with its goal, from one run's results; and the README's copy of it, between two
markers."""

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infra.names import ROOT

README = ROOT / "README.md"
START = "<!-- bench:start -->"
END = "<!-- bench:end -->"
FUNCTION_MEMORY_MB = 512
RATE_GOAL = 0.95
MAPPING_GOAL_MS = 5.0
PER_INVOICE_GOAL = 0.01
INVOICES_PER_MINUTE_GOAL = 175
VOUCHER_CALLS_GOAL = 1.05
"""Issue 10: Fortnox calls per voucher with a warm preflight cache."""
IDLE_POLL_CALLS_GOAL = 2
"""Issue 11: an idle tenant costs at most two Fortnox calls per payment poll."""
DYNAMODB_GOALS = {"1 worker": 1.1, "16 workers": 2.0}
"""Issue 13: "at most about 1 DynamoDB call per Fortnox request at 1 worker and 2 at 16"; about 1 is read as <= 1.1."""


@dataclass(frozen=True)
class Figure:
    name: str
    value: str
    goal: str = "-"
    met: bool | None = None
    """None when the issue sets no goal for the figure."""

    @property
    def verdict(self) -> str:
        return {True: "met", False: "MISSED", None: ""}[self.met]


def figures(results: dict[str, Any]) -> list[Figure]:
    return [
        *_rate(results["rate_limit"]),
        *_export(results["invoice_export"]),
        # Runs before issue 10 have no voucher figures.
        *(_vouchers(results["voucher_export"]) if "voucher_export" in results else []),
        # Runs before issue 11 have no payment figures.
        *(_payments(results["payment_sync"]) if "payment_sync" in results else []),
        *_mapping(results["mapping"]),
        *_cold_start(results["cold_start"]),
    ]


def _rate(by_mode: dict[str, Any]) -> list[Figure]:
    rows = []
    for mode, result in by_mode.items():
        for row in result["rows"]:
            fraction, refused = row["fraction_of_limit"], row["refused_429"]
            # Runs before this session have no ceiling; a row far below it is the limiter's, at it the machine's.
            ceiling = row.get("machine_ceiling_fraction")
            beside = f" (this machine's ceiling {ceiling:.2f})" if ceiling is not None and ceiling < 1 else ""
            rows.append(
                Figure(
                    f"rate, {row['name']}, {mode}",
                    f"{fraction:.2f} of the limit, {refused} x 429{beside}",
                    f">= {RATE_GOAL}, 0 x 429",
                    fraction >= RATE_GOAL and refused == 0,
                )
            )
    for mode, result in by_mode.items():
        for row in result["rows"]:
            calls, goal = row["dynamodb_calls_per_request"], DYNAMODB_GOALS.get(row["name"])
            after = row.get("dynamodb_calls_per_request_after_first_window")
            rows.append(
                Figure(
                    f"DynamoDB calls per Fortnox request, {row['name']}, {mode}",
                    f"{calls:.2f}" + (f" ({after:.2f} after the first window)" if after is not None else ""),
                    f"<= {goal}" if goal else "-",
                    calls <= goal if goal else None,
                )
            )
    return rows


def _export(by_mode: dict[str, Any]) -> list[Figure]:
    rows = []
    for mode, result in by_mode.items():
        per_minute = result["invoices_per_minute_per_worker"]
        calls = result["fortnox_calls_per_invoice"]
        rows += [
            Figure(
                f"Fortnox calls per invoice, known customer, {mode}",
                f"{calls:.2f}" + ("" if result["every_invoice_one_create"] else " (not one create each)"),
                "1 (its create)",
                calls == 1 and result["every_invoice_one_create"],
            ),
            Figure(
                f"Fortnox calls per invoice, new customer, {mode}",
                f"{result['fortnox_calls_per_invoice_new_customer']:.2f}",
                "2 (customer, create)",
                result["fortnox_calls_per_invoice_new_customer"] == 2,
            ),
            _below(f"token requests per invoice, service account, {mode}", result["token_requests_per_invoice"]),
            _below(f"secret reads per invoice, service account, {mode}", result["secret_reads_per_invoice"]),
            _below(f"token requests per invoice, person's tokens, {mode}", result["person_token_requests_per_invoice"]),
            _below(f"secret reads per invoice, person's tokens, {mode}", result["person_secret_reads_per_invoice"]),
            Figure(f"AWS calls per invoice, the bridge's own, {mode}", f"{result['aws_calls_per_invoice']:.1f}"),
            Figure(
                f"invoices per minute per worker, {mode}",
                f"{per_minute:.0f}",
                f">= {INVOICES_PER_MINUTE_GOAL}" if mode == "simulated" else "-",
                per_minute >= INVOICES_PER_MINUTE_GOAL if mode == "simulated" else None,
            ),
            Figure(
                f"queue-to-Fortnox, {mode}",
                f"p50 {result['queue_to_fortnox_p50_ms']:.0f} ms, p99 {result['queue_to_fortnox_p99_ms']:.0f} ms "
                f"({result['queue_to_fortnox_samples']} invoices)",
            ),
        ]
    return rows


def _vouchers(result: dict[str, Any]) -> list[Figure]:
    calls = result["fortnox_calls_per_voucher"]
    others = ", ".join(result["other_calls"])
    return [
        Figure(
            "Fortnox calls per voucher, warm preflight cache, local",
            f"{calls:.2f}" + (f" (besides creates: {others})" if others else ""),
            f"<= {VOUCHER_CALLS_GOAL}",
            calls <= VOUCHER_CALLS_GOAL,
        ),
        Figure("vouchers per minute per worker, local", f"{result['vouchers_per_minute_per_worker']:.0f}"),
    ]


def _payments(result: dict[str, Any]) -> list[Figure]:
    idle = result["fortnox_calls_per_idle_poll"]
    return [
        Figure(
            "Fortnox calls per idle payment poll, local",
            f"{idle}" + (f" ({', '.join(result['idle_calls'])})" if result["idle_calls"] else ""),
            f"<= {IDLE_POLL_CALLS_GOAL}",
            idle <= IDLE_POLL_CALLS_GOAL,
        ),
        Figure(
            "Fortnox calls per 100 new payments, local",
            f"{result['fortnox_calls_per_100_new_payments']:.0f} ("
            + ", ".join(f"{count} x {call}" for call, count in sorted(result["new_payment_calls"].items()))
            + ")",
        ),
    ]


def _below(name: str, value: float) -> Figure:
    return Figure(name, f"{value:.3f}", f"< {PER_INVOICE_GOAL}", value < PER_INVOICE_GOAL)


def _mapping(result: dict[str, Any]) -> list[Figure]:
    size = f"{result['rows']:,} rows x {result['rules']:,} rules"
    return [
        Figure(
            f"mapping {size} (rule index, every row coded)",
            f"{result['rules_ms']:.1f} ms",
            f"<= {MAPPING_GOAL_MS:.0f} ms",
            result["rules_ms"] <= MAPPING_GOAL_MS,
        ),
        Figure(f"whole mapping step, {size} (also sums rows)", f"{result['step_ms']:.1f} ms"),
    ]


def _cold_start(result: dict[str, Any]) -> list[Figure]:
    # Runs before issue 12 timed an uncompiled and a compiled layer on this machine's Python.
    if "handlers" not in result:
        return _cold_start_before_issue_12(result)
    boto3, goal = result["boto3"], result["goal_ratio"]
    rows = [
        Figure(
            f"cold init, bare import boto3 (the unit; layer compiled, Python {result['python']})",
            f"{boto3['cpu_seconds'] * 1000:.0f} ms CPU, {boto3['seconds'] * 1000:.0f} ms wall",
        )
    ]
    for name, handler in result["handlers"].items():
        rows.append(
            Figure(
                f"cold init, {name} (x import boto3)",
                f"{handler['ratio']:.1f}x ({handler['cpu_seconds'] * 1000:.0f} ms CPU, "
                f"{handler['seconds'] * 1000:.0f} ms wall)",
                f"<= {goal}",
                handler["ratio"] <= goal,
            )
        )
        # Beside the goal, not in it: work moved from the import into the first request shows here.
        if "cold_request_cpu_seconds" in handler:
            rows.append(
                Figure(
                    f"cold request, {name}: import + first invocation (x import boto3)",
                    f"{handler['cold_request_ratio']:.1f}x ({handler['cold_request_cpu_seconds'] * 1000:.0f} ms CPU)",
                )
            )
    return rows + _peak_memory(result)


def _cold_start_before_issue_12(result: dict[str, Any]) -> list[Figure]:
    shipped, compiled = result["shipped"], result["compiled"]
    rows = [
        Figure(
            "cold init, bare import boto3 (the unit)",
            f"{shipped['boto3_seconds'] * 1000:.0f} ms as shipped, {compiled['boto3_seconds'] * 1000:.0f} ms compiled",
        )
    ]
    for name, handler in shipped["handlers"].items():
        other = compiled["handlers"][name]
        rows.append(
            Figure(
                f"cold init, {name} (x import boto3)",
                f"{handler['ratio']:.1f}x ({handler['seconds'] * 1000:.0f} ms) as shipped, "
                f"{other['ratio']:.1f}x ({other['seconds'] * 1000:.0f} ms) compiled",
            )
        )
    return rows + _peak_memory(result)


def _peak_memory(result: dict[str, Any]) -> list[Figure]:
    rows = []
    for name, peak in result["peak_mb_invocation"].items():
        rows.append(
            Figure(
                f"peak memory, {name} (import + one invocation)",
                f"{peak:.0f} MB",
                f"< {FUNCTION_MEMORY_MB} MB (its memory size)",
                peak < FUNCTION_MEMORY_MB,
            )
        )
    return rows


def table(results: dict[str, Any]) -> str:
    lines = ["| figure | value | goal | |", "|---|---|---|---|"]
    lines += [f"| {row.name} | {row.value} | {row.goal} | {row.verdict} |" for row in figures(results)]
    return "\n".join(lines)


def missed(results: dict[str, Any]) -> list[str]:
    return [row.name for row in figures(results) if row.met is False]


def caption(results: dict[str, Any]) -> str:
    run = results["run"]
    before, after = run["load_average"]
    parts = ", ".join(f"{part} {seconds:.0f} s" for part, seconds in run.get("parts_seconds", {}).items())
    return (
        f"From `make bench` on {run['date']}: {run['cpus']} cores, Python {run['python']}, load average "
        f"{before:.1f} at the start and {after:.1f} at the end, {run['seconds'] / 60:.1f} minutes ({parts})."
    )


def update_readme(results: dict[str, Any], readme: Path = README) -> None:
    text = readme.read_text()
    if START not in text or END not in text:
        raise SystemExit(f"{readme} has no {START} ... {END} markers to put the table between")
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    readme.write_text(f"{head}{START}\n{caption(results)}\n\n{table(results)}\n{END}{tail}")
