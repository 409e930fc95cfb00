"""The demo's invoice story: the sample events through the queue and the real exporter into the sandbox."""

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import httpx

from infra.names import ROOT
from local_stack.moto_server import REGION
from local_stack.stack import LocalStack

MAPPING = {
    "rules": [
        {"match_on": "service_type", "value": "FREIGHT", "account": 3041, "label": "Frakt"},
        {"match_on": "service_type", "value": "FUEL", "account": 3041, "label": "Frakt"},
        {"match_on": "service_type", "value": "INTEREST", "account": 8310, "label": "Dröjsmålsränta"},
    ],
}


def sample_event(name: str, tenant: str, bucket: str, **data: Any) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((ROOT / "events" / f"{name}.json").read_text())
    event["tenant_id"] = tenant
    if "invoice_date" in event["data"]:
        # Dated today, so the sandbox company's financial year holds them.
        event["data"]["invoice_date"] = datetime.now(UTC).date().isoformat()
        event["data"]["due_date"] = (datetime.now(UTC).date() + timedelta(days=30)).isoformat()
    if "pdf" in event["data"]:
        event["data"]["pdf"]["bucket"] = bucket
    event["data"].update(data)
    return event


def export_samples(stack: LocalStack, management: httpx.Client, tenant: str) -> list[tuple[str, ...]]:
    """Export the samples and return rows of (upstream, Fortnox number, kind, total, note)."""
    management.put(f"/tenants/{tenant}/mapping", json=MAPPING).raise_for_status()
    bucket = stack.logical("InvoiceExportPdfs")
    s3 = boto3.client("s3", endpoint_url=stack.moto_url, region_name=REGION)
    s3.put_object(Bucket=bucket, Key=f"{tenant}/100353.pdf", Body=b"%PDF-1.4\n% Opter invoice 100353\n%%EOF\n")
    events = [
        sample_event("invoice.ready", tenant, bucket, pdf={"bucket": bucket, "key": f"{tenant}/100353.pdf"}),
        sample_event("invoice.ready", tenant, bucket, invoice_number="100354", order_number="4560"),
        sample_event("invoice.ready.interest", tenant, bucket),
        sample_event("credit_note.ready", tenant, bucket),
        {
            "type": "invoice.credited",
            "id": "demo-credit-100354",
            "tenant_id": tenant,
            "occurred_at": "2024-10-01T08:00:00Z",
            "data": {"invoice_number": "100354"},
        },
    ]
    events[1]["id"] = "opter-evt-100354-1"
    events[1]["data"].pop("pdf", None)
    sqs = boto3.client("sqs", endpoint_url=stack.moto_url, region_name=REGION)
    queue = stack.logical("InvoiceExportWorkQueue")
    for event in events:
        sqs.send_message(QueueUrl=queue, MessageBody=json.dumps(event))
        # Credits name invoices exported before them: one at a time, as upstream would send them.
        stack.runner.drain(stack.runner.function("InvoiceExportExporter"))
    company = stack.control.company(1000001)
    rows: list[tuple[str, ...]] = []
    for invoice in company["invoices"]:
        upstream = (
            invoice["ExternalInvoiceReference1"].rsplit(":", 1)[-1] if invoice["ExternalInvoiceReference1"] else "-"
        )
        kind = (
            "interest invoice"
            if invoice["InvoiceType"] == "INTRESTINVOICE"
            else ("credit invoice" if invoice["Credit"] == "true" else "invoice")
        )
        note = f"credits {invoice['InvoiceReference']}" if invoice["InvoiceReference"] != "0" else invoice["Remarks"]
        rows.append((upstream, str(invoice["DocumentNumber"]), kind, str(invoice["Total"]), note))
    return rows
