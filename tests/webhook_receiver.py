"""A tenant's webhook endpoint on 127.0.0.1: it checks every request's signature with the tenant's secret, the way
a receiver is told to (``fortnox_bridge.webhooks.signing.verify``), and records what arrived.

It can be told to answer another status, to be down (nothing listens on its port) or to be slow (it holds each
request until released, so the worker's timeout decides).
"""

import json
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest

from fortnox_bridge import wiring
from fortnox_bridge.events import PaymentEvent, PaymentFigures, PaymentReceived
from fortnox_bridge.ids import FortnoxTenantId, TenantId
from fortnox_bridge.webhooks.signing import (
    EVENT_ID_HEADER,
    EVENT_TYPE_HEADER,
    SIGNATURE_HEADER,
    SignatureRefused,
    verify,
)
from local_stack.moto_server import REGION
from local_stack.runner import BatchOutcome, LocalRunner
from local_stack.template import FunctionSpec
from tests.conftest import LOCAL_API_KEY


@dataclass(frozen=True)
class Received:
    tenant: str
    event_id: str | None
    event_type: str | None
    signature: str | None
    body: str
    verified: bool
    refusal: str | None
    host: str | None

    @property
    def payload(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(self.body)
        return loaded


class WebhookReceiver:
    """Serves ``/hooks/{tenant}``; a request is verified with the secret given to ``trust`` for that tenant."""

    def __init__(self, certificate: tuple[Path, Path] | None = None) -> None:
        """``certificate``: serve https with this (certificate, key) pair instead of plain http."""
        self._certificate = certificate
        self.received: list[Received] = []
        self._secrets: dict[str, str] = {}
        self._status = 204
        self._held = threading.Event()
        self._slow = False
        self._guard = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self.port = 0

    def trust(self, tenant: str, secret: str) -> None:
        """The secret this tenant's endpoint holds (a receiver switching secrets after a rotation calls it again)."""
        self._secrets[tenant] = secret

    def url(self, tenant: str, query: str = "", host: str = "127.0.0.1") -> str:
        scheme = "https" if self._certificate else "http"
        return f"{scheme}://{host}:{self.port}/hooks/{tenant}{'?' + query if query else ''}"

    def answer(self, status: int) -> None:
        self._status = status

    def slow(self) -> None:
        """Hold every request until ``stop``: the worker gives up on its own timeout."""
        self._slow = True

    def for_tenant(self, tenant: str) -> list[Received]:
        with self._guard:
            return [item for item in self.received if item.tenant == tenant]

    def start(self) -> "WebhookReceiver":
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), self._handler())
        self._server.daemon_threads = True
        if self._certificate is not None:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(*self._certificate)
            self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def down(self) -> None:
        """Nothing listens on the port any more: a connection is refused."""
        self._held.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def stop(self) -> None:
        self.down()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
                tenant = self.path.split("?", 1)[0].removeprefix("/hooks/")
                signature = self.headers.get(SIGNATURE_HEADER)
                refusal = receiver._refusal(tenant, signature, body)
                with receiver._guard:
                    receiver.received.append(
                        Received(
                            tenant=tenant,
                            event_id=self.headers.get(EVENT_ID_HEADER),
                            event_type=self.headers.get(EVENT_TYPE_HEADER),
                            signature=signature,
                            body=body,
                            verified=refusal is None,
                            refusal=refusal,
                            host=self.headers.get("Host"),
                        )
                    )
                if receiver._slow:
                    receiver._held.wait()
                # A receiver refuses what it cannot verify, as it is told to.
                status = 401 if refusal is not None else receiver._status
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return

        return Handler

    def _refusal(self, tenant: str, signature: str | None, body: str) -> str | None:
        secret = self._secrets.get(tenant)
        if secret is None:
            return "no secret for this tenant"
        if signature is None:
            return "no signature"
        try:
            verify(signature, body, secret, datetime.now(UTC))
        except SignatureRefused as refused:
            return str(refused)
        return None


@pytest.fixture
def webhook_receiver() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver().start()
    yield receiver
    receiver.stop()


def payment_event(tenant: str, payment: str = "1", invoice: str = "1001") -> PaymentReceived:
    """A payment as the poller publishes it: 1 250 SEK on Fortnox invoice ``invoice``, which it pays in full."""
    return PaymentReceived(
        event_id=f"pay-{tenant}-{payment}-received",
        tenant_id=TenantId(tenant),
        fortnox_tenant_id=FortnoxTenantId(1000001),
        payment_number=payment,
        sequence=1,
        fortnox_invoice_number=invoice,
        ocr=f"{invoice}05",
        upstream_invoice_number="100353",
        export_id=None,
        payment=PaymentFigures(
            payment_date=date(2026, 11, 20),
            amount_sek=Decimal("1250.00"),
            amount_in_currency=Decimal("1250.00"),
            currency="SEK",
            currency_rate=Decimal("1"),
            currency_unit=Decimal("1"),
        ),
        invoice_total=Decimal("1250.00"),
        invoice_balance=Decimal("0.00"),
        invoice_status="fully_paid",
    )


@dataclass(frozen=True)
class DeadLetter:
    body: dict[str, Any]
    attributes: dict[str, str]


class WebhookTenant:
    """A tenant with payment sync and a webhook, set up through the management API; its events go through the
    outbox onto the webhook queue and are delivered by the webhook function, drained by the local runner."""

    def __init__(self, runner: LocalRunner, deployed: Any, gateway: Any, receiver: WebhookReceiver, tenant: str):
        self.runner = runner
        self.receiver = receiver
        self.tenant = tenant
        self.management = httpx.Client(base_url=gateway.url, headers={"x-api-key": LOCAL_API_KEY})
        self.function = next(spec for spec in deployed.functions if "WebhookDeliverer" in spec.logical_id)
        self.queue = _physical(deployed, "WebhookWorkQueue")
        self.dead = _physical(deployed, "WebhookWorkDeadLetters")
        self.sqs = boto3.client("sqs", region_name=REGION)
        self.secret: str | None = None

    def create(self, url: str | None = None) -> "WebhookTenant":
        assert self.management.put(f"/tenants/{self.tenant}", json={"display_name": "Åkeri"}).status_code in (200, 201)
        self.point_at(url or self.receiver.url(self.tenant))
        return self

    def point_at(self, url: str | None) -> None:
        settings = {"features": ["invoice_export", "payment_sync"], "payment_sync": {"webhook_url": url}}
        answer = self.management.put(f"/tenants/{self.tenant}/settings", json=settings)
        assert answer.status_code == 200, answer.text

    def issue_secret(self, *, receiver_switches: bool = True) -> dict[str, Any]:
        """Create or rotate the tenant's secret through the API; the receiver takes the new one unless told not."""
        answer = self.management.post(f"/tenants/{self.tenant}/webhook-secret")
        assert answer.status_code in (200, 201), answer.text
        issued: dict[str, Any] = answer.json()
        self.secret = issued["secret"]
        if receiver_switches:
            self.receiver.trust(self.tenant, issued["secret"])
        return issued

    def enqueue(self, *events: PaymentEvent) -> None:
        wiring.webhook_outbox().enqueue(TenantId(self.tenant), events)

    def send(self, *events: PaymentEvent) -> list[BatchOutcome]:
        self.enqueue(*events)
        return self.drain()

    def drain(self) -> list[BatchOutcome]:
        return self.runner.drain(self.function)

    def deliver_once(self) -> BatchOutcome | None:
        return self.runner.deliver_batch(self.function, self.function.event_sources[0])

    def waiting(self) -> int:
        """Messages on the work queue, visible or hidden for a retry."""
        attributes = self.sqs.get_queue_attributes(
            QueueUrl=self.queue,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return sum(int(value) for value in attributes.values())

    def dead_letters(self) -> list[DeadLetter]:
        """This tenant's webhook dead letters (the queue is the session's: others' are made visible again)."""
        found: dict[str, Any] = {}
        while True:
            messages = self.sqs.receive_message(
                QueueUrl=self.dead,
                MaxNumberOfMessages=10,
                VisibilityTimeout=60,
                WaitTimeSeconds=0,
                MessageAttributeNames=["All"],
            ).get("Messages", [])
            if not messages:
                break
            found.update({message["MessageId"]: message for message in messages})
        for message in found.values():
            self.sqs.change_message_visibility(
                QueueUrl=self.dead, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
            )
        letters = [
            DeadLetter(
                body=json.loads(message["Body"]),
                attributes={name: value["StringValue"] for name, value in message.get("MessageAttributes", {}).items()},
            )
            for message in found.values()
        ]
        return [letter for letter in letters if letter.attributes.get("tenant_id") == self.tenant]


def _physical(deployed: Any, part: str) -> str:
    return str(next(value for key, value in deployed.physical_ids.items() if part in key))


@pytest.fixture
def webhooks(
    runner: LocalRunner,
    deployed: Any,
    gateway: Any,
    webhook_receiver: WebhookReceiver,
    unique: str,
    monkeypatch: pytest.MonkeyPatch,
) -> WebhookTenant:
    """A tenant whose webhook is the receiver, with a secret both sides hold. The test runner allows loopback
    destinations (``WEBHOOK_ALLOW_LOOPBACK``), as ``make demo`` does; a test of hostile destinations turns it off
    (``strict_runner``). The outbox reads the webhook queue's URL from the process environment."""
    hooks = WebhookTenant(runner, deployed, gateway, webhook_receiver, unique)
    for name, value in runner.environment(hooks.function).items():
        if name.startswith("WEBHOOK_"):
            monkeypatch.setenv(name, value)
    hooks.create()
    hooks.issue_secret()
    return hooks


def strict_runner(runner: LocalRunner, deployed: Any, function: FunctionSpec) -> LocalRunner:
    """A runner whose webhook function runs as deployed in AWS: no loopback destinations, no http."""
    return LocalRunner(deployed, overrides={**runner.environment(function), "WEBHOOK_ALLOW_LOOPBACK": "false"})


def self_signed(directory: Path, host: str) -> tuple[Path, Path]:
    """A certificate for ``host`` that no public CA signed: what a hostile or careless receiver might serve."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    certificate_path, key_path = directory / "receiver.pem", directory / "receiver.key"
    certificate_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return certificate_path, key_path


def sqs_record(message: Any) -> dict[str, Any]:
    """A message taken off the webhook queue as Lambda's event source hands it to the function."""
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": message["Attributes"],
        "messageAttributes": {},
        "md5OfBody": message["MD5OfBody"],
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:eu-north-1:123456789012:webhooks",
        "awsRegion": "eu-north-1",
    }
