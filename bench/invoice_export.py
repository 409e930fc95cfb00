"""Invoice export as Lambda runs it: one instance in a worker process of its own, moto and the sandbox in theirs.

For one service-account tenant and a customer Fortnox already has, unchanged (so every invoice sends Fortnox the
same one request, its create), in ``local`` mode (everything on 127.0.0.1) or ``simulated`` production (AWS calls
+5 ms, Fortnox 100-300 ms, ``bench.simulated``):

- steady state: invoices queued up front and drained after a warm-up invoice; invoices per minute per worker,
  and per invoice the Fortnox calls and token requests (the sandbox's request log, cut to the phase's wall-clock
  bounds) and secret reads (a botocore hook on every Secrets Manager call in the worker);
- queue-to-Fortnox: invoices sent one at a time, each exported before the next is sent; the time from calling
  SendMessage to the answer of the Fortnox create reaching the bridge (p50, p99). The JSON also has the time to
  the create's arrival at the sandbox (its log), the figure issue 13's own numbers appear to use;
- Fortnox calls per invoice of a customer Fortnox has not seen;
- token requests and secret reads per invoice for a tenant a person consented for (steady state only).
"""

import sys
import uuid
from contextlib import nullcontext
from typing import Any

from bench.export_worker import CREATE_PATH, Phase, Plan
from bench.lambda_env import lambda_environment
from bench.processes import BenchStack, Job, bench_stack, run_workers
from bench.simulated import Latency
from bench.tenants import BenchTenant, connected_person, connected_tenant
from infra.names import FUNCTIONS_DIR

MODES = ("local", "simulated")
INVOICES = {"local": 100, "simulated": 60}
"""Steady-state invoices: 10 and 6 batches, 20-30 s of work."""
SAMPLES = {"local": 50, "simulated": 50}
"""Latency samples. A p99 of 50 is their slowest: all a bench of this size can say about the tail."""
NEW_CUSTOMERS = 10
PERSON_INVOICES = 30
"""A tenant a person consented for: its token lives in its secret, so its reads are counted too."""
TOKEN_PATH = "/oauth-v1/token"


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def _requests(stack: BenchStack, phase: Phase, company: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The tenant's Fortnox API calls and every token request that arrived during ``phase``."""
    inside = [row for row in stack.control.requests() if phase.started <= float(row["time"]) <= phase.ended]
    calls = [row for row in inside if row["path"].startswith("/3/") and row["tenant_id"] == company]
    tokens = [row for row in inside if row["path"] == TOKEN_PATH]
    return calls, tokens


def _worker(
    running: BenchStack, tenant: BenchTenant, mode: str, *, invoices: int, samples: int, new_customers: int
) -> dict[str, Phase]:
    latency = Latency.production(running.sandbox_url) if mode == "simulated" else Latency()
    queue_url = running.physical_id("InvoiceExportWorkQueue")
    plan = Plan(
        tenant_id=tenant.tenant_id,
        queue_url=queue_url,
        queue_arn=f"arn:aws:sqs:eu-north-1:123456789012:{queue_url.rsplit('/', 1)[-1]}",
        latency=latency,
        invoices=invoices,
        samples=samples,
        new_customers=new_customers,
    )
    environment = lambda_environment(
        "bench-invoice-export", FUNCTIONS_DIR / "invoice_export", running.environment("InvoiceExportExporter")
    )
    phases: dict[str, Phase] = run_workers([Job("bench.export_worker:worker", environment, plan)])[0]
    failures = sum(phase.failures for phase in phases.values())
    exported = phases["steady"].invoices
    if failures or exported != plan.invoices:
        raise RuntimeError(f"{mode}: {failures} deliveries failed, {exported}/{plan.invoices} exported")
    return phases


def run(mode: str, stack: BenchStack | None = None) -> dict[str, Any]:
    with nullcontext(stack) if stack is not None else bench_stack() as running:
        stamp = uuid.uuid4().hex[:6]
        tenant = connected_tenant(running, f"export-{mode}-{stamp}")
        phases = _worker(
            running, tenant, mode, invoices=INVOICES[mode], samples=SAMPLES[mode], new_customers=NEW_CUSTOMERS
        )
        steady, latency_phase, new = phases["steady"], phases["latency"], phases["new_customers"]
        calls, tokens = _requests(running, steady, tenant.company)
        new_calls, _ = _requests(running, new, tenant.company)
        sampled, _ = _requests(running, latency_phase, tenant.company)
        person = connected_person(running, f"person-{mode}-{stamp}")
        person_steady = _worker(running, person, mode, invoices=PERSON_INVOICES, samples=0, new_customers=0)["steady"]
        _, person_tokens = _requests(running, person_steady, person.company)
    # One invoice in flight at a time: the k-th create the sandbox logged is the k-th invoice sent.
    creates = [row for row in sampled if row["method"] == "POST" and row["path"] == CREATE_PATH]
    arrivals = [float(row["time"]) - sent for row, sent in zip(creates, latency_phase.sent, strict=True)]
    steady_creates = sum(1 for row in calls if row["method"] == "POST" and row["path"] == CREATE_PATH)
    return {
        "mode": mode,
        "invoices": steady.invoices,
        "invoices_per_minute_per_worker": steady.invoices / (steady.ended - steady.started) * 60,
        "fortnox_calls_per_invoice": len(calls) / steady.invoices,
        "every_invoice_one_create": steady_creates == len(calls) == steady.invoices,
        "token_requests_per_invoice": len(tokens) / steady.invoices,
        "secret_reads_per_invoice": steady.secret_reads / steady.invoices,
        "aws_calls_per_invoice": steady.aws_calls / steady.invoices,
        "person_invoices": person_steady.invoices,
        "person_token_requests_per_invoice": len(person_tokens) / person_steady.invoices,
        "person_secret_reads_per_invoice": person_steady.secret_reads / person_steady.invoices,
        "fortnox_calls_per_invoice_new_customer": len(new_calls) / new.invoices,
        "queue_to_fortnox_samples": len(latency_phase.latencies),
        "queue_to_fortnox_p50_ms": _percentile(latency_phase.latencies, 0.50) * 1000,
        "queue_to_fortnox_p99_ms": _percentile(latency_phase.latencies, 0.99) * 1000,
        "queue_to_fortnox_arrival_p50_ms": _percentile(arrivals, 0.50) * 1000,
        "queue_to_fortnox_arrival_p99_ms": _percentile(arrivals, 0.99) * 1000,
    }


def main() -> int:
    for mode in MODES:
        result = run(mode)
        print(
            f"{mode}: {result['invoices_per_minute_per_worker']:.0f} invoices/min/worker; per invoice "
            f"{result['fortnox_calls_per_invoice']:.2f} Fortnox calls, "
            f"{result['token_requests_per_invoice']:.2f} token requests, "
            f"{result['secret_reads_per_invoice']:.2f} secret reads; queue-to-Fortnox p50 "
            f"{result['queue_to_fortnox_p50_ms']:.0f} ms, p99 {result['queue_to_fortnox_p99_ms']:.0f} ms"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
