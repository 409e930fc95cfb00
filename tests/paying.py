"""A tenant with payment sync on: invoices exported and booked through the real export path, payments made in the
sandbox as a Fortnox user makes them, and polls run through the poll queue and its Lambda handler."""

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import boto3
import botocore.client
import pytest
from botocore.exceptions import ClientError

from fortnox_bridge.fortnox.client import FortnoxClient
from fortnox_bridge.fortnox.models.customers import CustomerWrite
from fortnox_bridge.fortnox.models.invoices import InvoiceRowWrite, InvoiceWrite
from fortnox_bridge.fortnox.ports import NoRateLimit, StaticToken
from fortnox_bridge.ids import FortnoxTenantId, TenantId
from fortnox_bridge.payments.poll_request import PollRequested
from fortnox_bridge.store.ledger import ExportScope
from fortnox_bridge.store.mappings import MappingStore
from fortnox_bridge.store.payment_sync import PaymentSyncStatus, PaymentSyncStore
from fortnox_bridge.store.tenants import (
    Feature,
    InvoiceExportSettings,
    PaymentSyncSettings,
    TenantSettings,
    TenantStore,
)
from local_stack.event_tap import EventTap
from local_stack.moto_server import REGION
from local_stack.onboarding import connect_service_account
from local_stack.runner import BatchOutcome, LocalRunner
from tests.conftest import Scene
from tests.exporting import Export, freight_mapping

PAYMENT_EVENTS = ("payment.received", "payment.changed", "payment.removed")


class DynamoDbFault:
    """DynamoDB failing one kind of write (``operation`` whose parameters hold ``marker``), at the boto3 boundary of
    the real handler; moto answers the rest."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, operation: str, marker: str) -> None:
        self.hits = 0
        real = botocore.client.BaseClient._make_api_call

        def failing(client: Any, name: str, params: dict[str, Any]) -> Any:
            if name == operation and marker in str(params):
                self.hits += 1
                raise ClientError({"Error": {"Code": "InternalServerError", "Message": "injected"}}, name)
            return real(client, name, params)

        self._undo = lambda: monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", real)
        monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", failing)

    def heal(self) -> None:
        self._undo()


class PaymentSync:
    """A connected tenant that exports booked invoices and has payment sync on, and what went upstream."""

    POLLER = "PaymentSyncPoller"

    def __init__(
        self, runner: LocalRunner, deployed: Any, scene: Scene, table: Any, tap: EventTap, tenant: str, company: int
    ) -> None:
        self.runner = runner
        self.deployed = deployed
        self.scene = scene
        self.table = table
        self.tenant = tenant
        self.company = company
        self.export = Export(runner, deployed, scene, table, tenant, company)
        self.queue = next(v for k, v in deployed.physical_ids.items() if k.startswith("PaymentSyncPollWorkQueue"))
        self.webhook_queue = next(
            v for k, v in deployed.physical_ids.items() if k.startswith("PaymentSyncWebhookWorkQueue")
        )
        self.tap = tap
        self.sqs = boto3.client("sqs", region_name=REGION)
        self.published: list[dict[str, Any]] = []

    # -- the tenant ---------------------------------------------------------------------------------------------------
    def settings(self, **payment_sync: Any) -> None:
        """Payment sync on with these settings (seed 002's filters), invoices exported and booked."""
        TenantStore(self.table).put_settings(
            TenantId(self.tenant),
            TenantSettings(
                features=[Feature.INVOICE_EXPORT, Feature.PAYMENT_SYNC],
                invoice_export=InvoiceExportSettings(bookkeep=True),
                payment_sync=PaymentSyncSettings(**payment_sync),
            ),
        )

    def reconnect(self, company: int) -> None:
        """The tenant connects another Fortnox company; connecting starts from default settings, so they are put
        back."""
        profile = TenantStore(self.table).require(TenantId(self.tenant))
        self.export.reconnect(company)
        TenantStore(self.table).put_settings(TenantId(self.tenant), profile.settings)
        self.company = company

    def neighbour(self, tenant: str) -> "PaymentSync":
        """Another tenant with payment sync on, in a company of its own."""
        return connected(self.runner, self.deployed, self.scene, self.table, self.tap, tenant)

    # -- invoices and payments in Fortnox -----------------------------------------------------------------------------
    def exported_invoice(self, number: str, **data: Any) -> str:
        """Export upstream invoice ``number`` (booked); its Fortnox document number."""
        outcomes = self.export.send(self.export.event(number, event_id=f"evt-{number}-{self.company}", **data))
        assert [(outcome.received, outcome.failed) for outcome in outcomes] == [(1, 0)]
        return self.fortnox_number(number)

    def fortnox_number(self, upstream: str) -> str:
        marker = f"FB:{self.tenant}:{upstream}"
        [invoice] = [row for row in self.export.invoices() if row["ExternalInvoiceReference1"] == marker]
        return str(invoice["DocumentNumber"])

    def foreign_invoice(self) -> str:
        """A booked invoice made in Fortnox by someone else than the bridge (no marker); its document number."""
        with self.fortnox() as client:
            customer = client.customers.create(CustomerWrite(Name="Kund utan bryggan"))
            made = client.invoices.create(
                InvoiceWrite(
                    CustomerNumber=customer.CustomerNumber,
                    InvoiceRows=[InvoiceRowWrite(AccountNumber=3041, DeliveredQuantity=Decimal(1), Price=Decimal(800))],
                )
            )
            number = str(made.DocumentNumber)
            client.invoices.bookkeep(number)
            return number

    def fortnox(self) -> FortnoxClient:
        """A client of the company under the tenant's service-account consent: what it writes is made by a Fortnox
        user, not by the bridge."""
        answer = self.scene.control.token(
            self.scene.app, {"grant_type": "client_credentials"}, headers={"TenantId": str(self.company)}
        )
        answer.raise_for_status()
        return FortnoxClient(
            base_url=self.scene.url, tokens=StaticToken(answer.json()["access_token"]), rate_limiter=NoRateLimit()
        )

    def invoice(self, document_number: str) -> dict[str, Any]:
        [invoice] = [row for row in self.export.invoices() if str(row["DocumentNumber"]) == document_number]
        return invoice

    def pay(self, document_number: str, amount: str, **fields: Any) -> str:
        """A Fortnox user registers a payment on the invoice; its payment number."""
        payment = self.scene.control.register_payment(self.company, document_number, Decimal(amount), **fields)
        return str(payment["Number"])

    def change(self, payment_number: str, **fields: Any) -> None:
        self.scene.control.change_payment(self.company, payment_number, **fields)

    def delete(self, payment_number: str) -> None:
        self.scene.control.delete_payment(self.company, payment_number)

    # -- polling ------------------------------------------------------------------------------------------------------
    def request_poll(self, body: str | None = None) -> None:
        self._drop_other_tenants_jobs()
        message = body or PollRequested(tenant_id=TenantId(self.tenant), due_at=datetime.now(UTC)).model_dump_json()
        self.sqs.send_message(QueueUrl=self.queue, MessageBody=message)

    def _drop_other_tenants_jobs(self) -> None:
        """The poll queue is the session's: a schedule tick in an earlier test enqueued every tenant then due, those of
        finished tests too. This tenant's own jobs stay (a test may have left one to be retried)."""
        own = []
        while messages := self.sqs.receive_message(
            QueueUrl=self.queue, MaxNumberOfMessages=10, VisibilityTimeout=60
        ).get("Messages"):
            for message in messages:
                if f'"{self.tenant}"' in message["Body"]:
                    own.append(message["ReceiptHandle"])
                else:
                    self.sqs.delete_message(QueueUrl=self.queue, ReceiptHandle=message["ReceiptHandle"])
        for handle in own:
            self.sqs.change_message_visibility(QueueUrl=self.queue, ReceiptHandle=handle, VisibilityTimeout=0)

    def poll(self) -> list[dict[str, Any]]:
        """Queue one poll job and drain it through the handler; the payment events that went upstream."""
        self.request_poll()
        outcomes = self.drain()
        assert [(outcome.received, outcome.failed) for outcome in outcomes] == [(1, 0)]
        return self.events()

    def drain(self) -> list[BatchOutcome]:
        return self.runner.drain(self.runner.function(self.POLLER))

    def discard_poll_jobs(self) -> None:
        """Take every job off the poll queue undelivered (one a test left there on purpose)."""
        while messages := self.sqs.receive_message(QueueUrl=self.queue, MaxNumberOfMessages=10).get("Messages"):
            for message in messages:
                self.sqs.delete_message(QueueUrl=self.queue, ReceiptHandle=message["ReceiptHandle"])

    def deliver_once(self) -> BatchOutcome | None:
        """Queue one poll job and deliver it once: a failed one stays on the queue for the next ``drain``."""
        self.request_poll()
        spec = self.runner.function(self.POLLER)
        return self.runner.deliver_batch(spec, spec.event_sources[0])

    def events(self) -> list[dict[str, Any]]:
        """The payment events published since the last look, in order (the tap sees every event on the bus)."""
        fresh = [
            {"type": seen.detail_type, **seen.detail}
            for seen in self.tap.received()
            if seen.detail_type in PAYMENT_EVENTS and seen.detail.get("tenant_id") == self.tenant
        ]
        self.published.extend(fresh)
        return fresh

    def webhook_deliveries(self) -> list[dict[str, Any]]:
        """This tenant's deliveries waiting on the webhook queue, taken off it (the delivery worker is not run)."""
        found: list[dict[str, Any]] = []
        while messages := self.sqs.receive_message(QueueUrl=self.webhook_queue, MaxNumberOfMessages=10).get("Messages"):
            for message in messages:
                body = json.loads(message["Body"])
                if body.get("tenant_id") == self.tenant:
                    found.append(body)
                    self.sqs.delete_message(QueueUrl=self.webhook_queue, ReceiptHandle=message["ReceiptHandle"])
        return found

    def status(self) -> PaymentSyncStatus | None:
        scope = ExportScope(TenantId(self.tenant), FortnoxTenantId(self.company))
        return PaymentSyncStore(self.table).status(scope)

    def calls(self) -> list[dict[str, Any]]:
        """The Fortnox API requests the company has received so far (the sandbox's request log)."""
        return [row for row in self.scene.control.requests(self.company) if str(row["path"]).startswith("/3/")]


def connected(runner: LocalRunner, deployed: Any, scene: Scene, table: Any, tap: EventTap, tenant: str) -> PaymentSync:
    company = scene.new_company("Sandlådan Åkeri AB")
    connect_service_account(
        table, scene.control, scene.app, tenant_id=TenantId(tenant), fortnox_tenant_id=company, display_name="Åkeri"
    )
    MappingStore(table).put(TenantId(tenant), freight_mapping())
    sync = PaymentSync(runner, deployed, scene, table, tap, tenant, company)
    sync.settings()
    return sync


@pytest.fixture
def payment_sync(
    runner: LocalRunner, deployed: Any, scene: Scene, table: Any, events_tap: EventTap, unique: str
) -> PaymentSync:
    """A tenant connected with a service account, invoices exported and booked, payment sync on."""
    scene.control.set_rate_limit(1000, 5.0)
    return connected(runner, deployed, scene, table, events_tap, unique)
