"""Payment sync's Fortnox calls, local: per idle poll, and per 100 new payments.

One service-account tenant with payment sync on exports ten invoices, booked (the invoice export's queue and
handler). A first poll sets the cursor; then the tenant is idle for a poll; then a Fortnox user registers 100
partial payments on those invoices and the next poll picks them up; then idle again. Each poll is one job on the
payment poll queue drained through the poll worker's handler, in this process through the local runner (the figures
are counts, which no interpreter, latency or load changes). Calls are the sandbox's request log for the tenant's
company, counted between the poll's start and end. Issue 11's goal: an idle tenant costs at most two calls a poll.
"""

import json
import sys
import uuid
from collections import Counter
from contextlib import nullcontext
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import boto3

from bench.processes import BenchStack, bench_stack
from bench.report import IDLE_POLL_CALLS_GOAL
from bench.tenants import connected_tenant
from fortnox_bridge import wiring
from fortnox_bridge.ids import TenantId
from fortnox_bridge.mapping.rules import TenantMapping
from fortnox_bridge.payments.poll_request import PollRequested
from fortnox_bridge.store.mappings import MappingStore
from fortnox_bridge.store.tenants import Feature, InvoiceExportSettings, TenantSettings, TenantStore
from infra.names import ROOT
from local_stack.demo_exports import MAPPING
from local_stack.moto_server import REGION
from local_stack.runner import LocalRunner, applied_environment

INVOICES = 10
PAYMENTS = 100


def _invoice_event(tenant: str, number: int) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((ROOT / "events" / "invoice.ready.json").read_text())
    event.update(tenant_id=tenant, id=f"bench-payments-{number}")
    event["data"].update(
        invoice_number=str(number),
        invoice_date=datetime.now(UTC).date().isoformat(),
        due_date=(datetime.now(UTC).date() + timedelta(days=30)).isoformat(),
    )
    event["data"].pop("pdf", None)
    return event


class PaymentBench:
    def __init__(self, stack: BenchStack, tenant: str, company: int) -> None:
        self.stack = stack
        self.tenant = tenant
        self.company = company
        self.runner = LocalRunner(stack.deployed, overrides=stack.overrides)
        self.sqs = boto3.client("sqs", endpoint_url=stack.moto_url, region_name=REGION)

    def export_invoices(self) -> list[str]:
        queue = self.stack.physical_id("InvoiceExportWorkQueue")
        for number in range(INVOICES):
            self.sqs.send_message(QueueUrl=queue, MessageBody=json.dumps(_invoice_event(self.tenant, 900_000 + number)))
        self.runner.drain(self.runner.function("InvoiceExportExporter"))
        invoices = self.stack.control.company(self.company)["invoices"]
        return [str(invoice["DocumentNumber"]) for invoice in invoices if invoice["ExternalInvoiceReference1"]]

    def poll(self) -> list[dict[str, Any]]:
        """One poll through the queue and the handler; the Fortnox requests it made."""
        before = len(self._calls())
        job = PollRequested(tenant_id=TenantId(self.tenant), due_at=datetime.now(UTC))
        self.sqs.send_message(
            QueueUrl=self.stack.physical_id("PaymentSyncPollWorkQueue"), MessageBody=job.model_dump_json()
        )
        outcomes = self.runner.drain(self.runner.function("PaymentSyncPoller"))
        if [(outcome.received, outcome.failed) for outcome in outcomes] != [(1, 0)]:
            raise RuntimeError(f"payments: the poll failed ({outcomes})")
        return self._calls()[before:]

    def _calls(self) -> list[dict[str, Any]]:
        return [row for row in self.stack.control.requests(self.company) if str(row["path"]).startswith("/3/")]


def run(stack: BenchStack | None = None) -> dict[str, Any]:
    with nullcontext(stack) if stack is not None else bench_stack() as running:
        tenant = connected_tenant(running, f"payments-{uuid.uuid4().hex[:6]}")
        with applied_environment(running.environment("PaymentSyncPoller")):
            wiring.reset()
            table = wiring.table()
            MappingStore(table).put(TenantId(tenant.tenant_id), TenantMapping.model_validate(MAPPING))
            TenantStore(table).put_settings(
                TenantId(tenant.tenant_id),
                TenantSettings(
                    features=[Feature.INVOICE_EXPORT, Feature.PAYMENT_SYNC],
                    invoice_export=InvoiceExportSettings(bookkeep=True),
                ),
            )
            bench = PaymentBench(running, tenant.tenant_id, tenant.company)
            invoices = bench.export_invoices()
            if len(invoices) != INVOICES:
                raise RuntimeError(f"payments: {len(invoices)}/{INVOICES} invoices exported")
            bench.poll()
            idle_before = bench.poll()
            for number in range(PAYMENTS):
                running.control.register_payment(tenant.company, invoices[number % INVOICES], Decimal("10.00"))
            new = bench.poll()
            idle_after = bench.poll()
            wiring.reset()
    idle = max(len(idle_before), len(idle_after))
    return {
        "invoices": INVOICES,
        "new_payments": PAYMENTS,
        "fortnox_calls_per_idle_poll": idle,
        "idle_calls": sorted(f"{row['method']} {row['path']}" for row in idle_after),
        "fortnox_calls_per_100_new_payments": len(new) * 100 / PAYMENTS,
        "new_payment_calls": dict(Counter(f"{row['method']} {row['path']}" for row in new)),
    }


def main() -> int:
    result = run()
    print("| figure | value | goal |\n|---|---|---|")
    print(f"| Fortnox calls per idle poll | {result['fortnox_calls_per_idle_poll']} | <= {IDLE_POLL_CALLS_GOAL} |")
    print(f"| Fortnox calls per 100 new payments | {result['fortnox_calls_per_100_new_payments']:.0f} | - |")
    print(json.dumps(result, indent=2))
    return 0 if result["fortnox_calls_per_idle_poll"] <= IDLE_POLL_CALLS_GOAL else 1


if __name__ == "__main__":
    sys.exit(main())
