"""The demo's payment story: an exported, booked invoice paid in two parts in the sandbox (as a Fortnox user pays),
one tick of the payment schedule through its handler, the poll job drained through the poll worker, and the events
that went upstream: on the bus, and signed to the tenant's webhook (a receiver on 127.0.0.1 that checks each
signature with the secret the management API issued)."""

import json
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
import httpx

from fortnox_bridge.webhooks.signing import EVENT_TYPE_HEADER, SIGNATURE_HEADER, SignatureRefused, verify
from local_stack.demo_exports import sample_event
from local_stack.event_tap import EventTap
from local_stack.moto_server import REGION
from local_stack.stack import LocalStack

PAID_INVOICE = "100390"
PAYMENT_EVENTS = ("payment.received", "payment.changed", "payment.removed")


@dataclass
class Receiver:
    """The tenant's webhook endpoint: keeps what arrived and whether its signature held."""

    secret: str = ""
    received: list[tuple[str, bool]] = field(default_factory=list)
    """(event type, signature verified) of each request."""

    def start(self) -> ThreadingHTTPServer:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
                try:
                    verify(self.headers.get(SIGNATURE_HEADER, ""), body, receiver.secret, datetime.now(UTC))
                    verified = True
                except SignatureRefused:
                    verified = False
                receiver.received.append((self.headers.get(EVENT_TYPE_HEADER, "?"), verified))
                self.send_response(204 if verified else 401)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return server


@dataclass(frozen=True)
class PaymentStory:
    fan_out: dict[str, int]
    polls: list[tuple[int, int]]
    events: list[dict[str, Any]]
    webhooks: list[tuple[str, bool]]

    @property
    def ok(self) -> bool:
        received = [event for event in self.events if event["type"] == "payment.received"]
        return (
            self.fan_out.get("enqueued", 0) >= 1
            and self.polls == [(1, 0)]
            and len(received) == 2
            and received[-1]["invoice_status"] == "fully_paid"
            and self.webhooks == [("payment.received", True)] * 2
        )


def sync_payments(stack: LocalStack, management: httpx.Client, tenant: str, company: int) -> PaymentStory:
    settings = management.get(f"/tenants/{tenant}/settings").json()
    receiver = Receiver()
    server = receiver.start()
    try:
        settings["features"] = sorted({*settings["features"], "invoice_export", "payment_sync"})
        settings["invoice_export"] = {**settings.get("invoice_export", {}), "bookkeep": True}
        settings["payment_sync"] = {
            **settings.get("payment_sync", {}),
            "webhook_url": f"http://127.0.0.1:{server.server_port}/hooks/{tenant}",
        }
        management.put(f"/tenants/{tenant}/settings", json=settings).raise_for_status()
        issued = management.post(f"/tenants/{tenant}/webhook-secret")
        issued.raise_for_status()
        receiver.secret = issued.json()["secret"]

        document = _export_booked_invoice(stack, tenant, company)
        total = Decimal(str(_invoice(stack, company, document)["Total"]))
        partial = (total * Decimal("0.4")).quantize(Decimal("0.01"))
        stack.control.register_payment(company, document, partial)
        stack.control.register_payment(company, document, total - partial)

        tap = EventTap(stack.moto_url, stack.logical("Events"))
        fan_out = stack.runner.run_scheduled(stack.runner.function("PaymentSyncFanOut"))
        polls = stack.runner.drain(stack.runner.function("PaymentSyncPoller"))
        events = [
            {"type": seen.detail_type, **seen.detail}
            for seen in tap.received()
            if seen.detail_type in PAYMENT_EVENTS and seen.detail.get("tenant_id") == tenant
        ]
        stack.runner.drain(stack.runner.function("PaymentSyncWebhookDeliverer"))
    finally:
        server.shutdown()
        server.server_close()
    return PaymentStory(
        fan_out=dict(fan_out),
        polls=[(outcome.received, outcome.failed) for outcome in polls],
        events=events,
        webhooks=receiver.received,
    )


def _export_booked_invoice(stack: LocalStack, tenant: str, company: int) -> str:
    """Export one more sample invoice (booked, as the tenant's settings now say); its Fortnox document number."""
    event = sample_event("invoice.ready", tenant, stack.logical("InvoiceExportPdfs"), invoice_number=PAID_INVOICE)
    event["id"] = f"opter-evt-{PAID_INVOICE}"
    event["data"].pop("pdf", None)
    sqs = boto3.client("sqs", endpoint_url=stack.moto_url, region_name=REGION)
    sqs.send_message(QueueUrl=stack.logical("InvoiceExportWorkQueue"), MessageBody=json.dumps(event))
    stack.runner.drain(stack.runner.function("InvoiceExportExporter"))
    marker = f"FB:{tenant}:{PAID_INVOICE}"
    (invoice,) = [
        row for row in stack.control.company(company)["invoices"] if row["ExternalInvoiceReference1"] == marker
    ]
    return str(invoice["DocumentNumber"])


def _invoice(stack: LocalStack, company: int, document: str) -> dict[str, Any]:
    (invoice,) = [row for row in stack.control.company(company)["invoices"] if str(row["DocumentNumber"]) == document]
    return dict(invoice)


def story_lines(story: PaymentStory) -> list[str]:
    lines = [
        f"schedule tick: {story.fan_out.get('due', 0)} due, {story.fan_out.get('enqueued', 0)} poll job(s) enqueued",
        f"poll worker batches: {story.polls} (received, failed)",
    ]
    for event in story.events:
        lines.append(
            f"{event['type']}: payment {event['payment_number']} of {event['payment']['amount_sek']} SEK on upstream "
            f"invoice {event['upstream_invoice_number']} (Fortnox {event['fortnox_invoice_number']}, export "
            f"{event['export_id']}), invoice now {event['invoice_status']}, balance {event['invoice_balance']}; "
            f"id {event['event_id']}"
        )
    lines.append(
        f"webhook: {len(story.webhooks)} signed POST(s) to 127.0.0.1, signatures verified: "
        f"{sum(1 for _, verified in story.webhooks if verified)}"
    )
    return lines
