"""Fortnox calls per exported invoice, and invoices per minute per tenant against the rate-limit bound."""

import json
import os
import sys
import time
import warnings
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import boto3

from fortnox_bridge import wiring
from fortnox_bridge.ids import TenantId
from fortnox_bridge.observability import logger
from infra.names import ROOT
from local_stack.moto_server import REGION
from local_stack.onboarding import connect_service_account
from local_stack.stack import LocalStack, local_stack, synthesize

INVOICES = 100
LIMIT = 25
WINDOW_SECONDS = 5.0


def _event(tenant: str, number: int, customer: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((ROOT / "events" / "invoice.ready.json").read_text())
    event.update(tenant_id=tenant, id=f"bench-{customer}-{number}")
    event["data"].update(
        invoice_number=str(number),
        invoice_date=date.today().isoformat(),
        due_date=(date.today() + timedelta(days=30)).isoformat(),
    )
    event["data"].pop("pdf")
    event["data"]["customer"] = {**event["data"]["customer"], "customer_number": customer}
    return event


def _run(stack: LocalStack, tenant: str, company: int, events: list[dict[str, Any]]) -> tuple[float, float]:
    sqs = boto3.client("sqs", endpoint_url=stack.moto_url, region_name=REGION)
    queue = stack.logical("InvoiceExportWorkQueue")
    for event in events:
        sqs.send_message(QueueUrl=queue, MessageBody=json.dumps(event))
    before = len(stack.control.requests(company))
    started = time.monotonic()
    stack.runner.drain(stack.runner.function("InvoiceExportExporter"))
    seconds = time.monotonic() - started
    calls = [row for row in stack.control.requests(company)[before:] if row["path"].startswith("/3/")]
    return len(calls) / len(events), seconds


def main() -> int:
    logger.setLevel("ERROR")
    warnings.filterwarnings("ignore")
    results: dict[str, Any] = {"invoices_per_run": INVOICES, "limit": LIMIT, "window_seconds": WINDOW_SECONDS}
    with local_stack(synthesize(), rate_limit=LIMIT, rate_window_seconds=WINDOW_SECONDS) as stack:
        os.environ.update(stack.runner.environment(stack.runner.function("InvoiceExportExporter")))
        wiring.reset()
        company = stack.control.create_company(name="Bänkens Åkeri AB")
        connect_service_account(
            wiring.table(),
            stack.control,
            stack.app,
            tenant_id=TenantId("bench"),
            fortnox_tenant_id=company,
            display_name="Bänk",
        )
        # Warm: the customer is known and unchanged for every invoice of the first run.
        _run(stack, "bench", company, [_event("bench", 1, "1042")])
        known, known_seconds = _run(
            stack, "bench", company, [_event("bench", 100 + n, "1042") for n in range(INVOICES)]
        )
        new, _ = _run(stack, "bench", company, [_event("bench", 1000 + n, f"C{n}") for n in range(INVOICES)])
    per_minute = INVOICES / known_seconds * 60
    bound = LIMIT / WINDOW_SECONDS * 60 / known
    results.update(
        calls_per_invoice_known_customer=known,
        calls_per_invoice_new_customer=new,
        invoices_per_minute=per_minute,
        bound_per_minute=bound,
        fraction_of_bound=per_minute / bound,
    )
    print(
        f"Fortnox calls per invoice: {known:.2f} with a known, unchanged customer (goal <= 1.05); "
        f"{new:.2f} with a new customer (goal <= 2.05)"
    )
    print(
        f"Invoices per minute per tenant: {per_minute:.0f}; the rate limit allows {bound:.0f} at that call count "
        f"({per_minute / bound:.0%} of the bound)"
    )
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    (out / "invoice_export.json").write_text(json.dumps(results, indent=2))
    return 0 if known <= 1.05 and new <= 2.05 else 1


if __name__ == "__main__":
    sys.exit(main())
