"""``make bench``: every figure of issues 13, 10 and 11 from one run, as one table with its goals, and as JSON.

    python -m bench                      # measure, print the table, write bench/results/latest.json
    python -m bench --update-readme      # the same, then put the table into README.md between its markers
    python -m bench --from-json PATH     # no measuring: the table (and README with --update-readme) from a saved run

One synthesized template and one stack (moto and the sandbox, each in its own process) serve every part; every
measuring process is a worker or a fresh interpreter of its own (``bench.processes``, ``bench/lambda_init.py``).
Exits 1 when a goal is missed.
"""

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from bench import cold_start, invoice_export, payments, rate_limit, report, vouchers
from bench.processes import Job, bench_stack, run_workers, synthesized_template

LATEST = Path(__file__).parent / "results" / "latest.json"
MODES = ("local", "simulated")


def measure() -> dict[str, Any]:
    started, load_before = time.monotonic(), os.getloadavg()[0]
    parts: dict[str, float] = {}

    def timed(part: str, work: Callable[[], Any]) -> Any:
        print(f"{part} ...", flush=True)
        began = time.monotonic()
        result = work()
        parts[part] = time.monotonic() - began
        return result

    template = timed("synth", synthesized_template)
    with bench_stack(template=template) as stack:
        [mapping] = timed("mapping", lambda: run_workers([Job("bench.mapping:worker", stack.environment(), None)]))
        cold = timed("cold starts", lambda: cold_start.run(stack))
        export = {mode: timed(f"invoice export, {mode}", partial(invoice_export.run, mode, stack)) for mode in MODES}
        voucher_export = timed("voucher export, local", partial(vouchers.run, stack))
        payment_sync = timed("payment sync, local", partial(payments.run, stack))
        rate = {mode: timed(f"rate limit, {mode}", partial(rate_limit.run, mode, stack)) for mode in MODES}
    return {
        "run": {
            "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "seconds": time.monotonic() - started,
            "parts_seconds": parts,
            "cpus": os.cpu_count(),
            "python": f"{sys.version_info.major}.{sys.version_info.minor}.{sys.version_info.micro}",
            # Other work on the machine slows every figure but the counts; the reader should know how busy it was.
            "load_average": [load_before, os.getloadavg()[0]],
        },
        "mapping": mapping,
        "cold_start": cold,
        "invoice_export": export,
        "voucher_export": voucher_export,
        "payment_sync": payment_sync,
        "rate_limit": rate,
    }


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--update-readme", action="store_true", help="put the table into README.md")
    parser.add_argument("--from-json", type=Path, help="a saved run (bench/results/latest.json) instead of measuring")
    arguments = parser.parse_args()
    if arguments.from_json:
        results = json.loads(arguments.from_json.read_text())
    else:
        results = measure()
        LATEST.parent.mkdir(exist_ok=True)
        LATEST.write_text(json.dumps(results, indent=2))
    print(report.table(results))
    print(f"\n{report.caption(results)} JSON: {arguments.from_json or LATEST}")
    if arguments.update_readme:
        report.update_readme(results)
    missed = report.missed(results)
    if missed:
        print(f"{len(missed)} goals missed: " + "; ".join(missed))
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
