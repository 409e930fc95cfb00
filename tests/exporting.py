"""A connected tenant's invoice queue, for tests that export through the real handler and queue path."""

import copy
import json
from datetime import date, timedelta
from typing import Any

import boto3
import httpx
import pytest

from fortnox_bridge import wiring
from fortnox_bridge.ids import TenantId
from fortnox_bridge.mapping.rules import MappingRule, TenantMapping
from fortnox_bridge.store.connections import Connection, ConnectionStore
from fortnox_bridge.store.mappings import MappingStore
from fortnox_bridge.store.tenants import InvoiceExportSettings, TenantSettings, TenantStore
from infra.names import ROOT
from local_stack.connect_walk import walk
from local_stack.moto_server import REGION
from local_stack.onboarding import connect_service_account
from local_stack.runner import LocalRunner
from tests.conftest import LOCAL_API_KEY, Scene

SAMPLE: dict[str, Any] = json.loads((ROOT / "events" / "invoice.ready.json").read_text())
CREDIT_NOTE: dict[str, Any] = json.loads((ROOT / "events" / "credit_note.ready.json").read_text())
CUSTOMER: dict[str, Any] = json.loads((ROOT / "events" / "customer.upserted.json").read_text())


class Export:
    """A connected tenant, its queue and what the sandbox holds for it."""

    def __init__(self, runner: LocalRunner, deployed: Any, scene: Scene, table: Any, tenant: str, company: int) -> None:
        self.runner = runner
        self.scene = scene
        self.table = table
        self.tenant = tenant
        self.company = company
        self.queue = next(v for k, v in deployed.physical_ids.items() if k.startswith("InvoiceExportWorkQueue"))
        self.dead = next(v for k, v in deployed.physical_ids.items() if k.startswith("InvoiceExportWorkDeadLetters"))
        self.bucket = next(v for k, v in deployed.physical_ids.items() if k.startswith("InvoiceExportPdfs"))
        self.sqs = boto3.client("sqs", region_name=REGION)

    def event(self, number: str = "100353", event_id: str | None = None, **data: Any) -> dict[str, Any]:
        event = copy.deepcopy(SAMPLE)
        event["tenant_id"] = self.tenant
        event["id"] = event_id or f"evt-{number}-{len(data)}"
        event["data"]["invoice_number"] = number
        # Dated today, so the sandbox company's financial years hold it (bookkeeping needs one).
        event["data"]["invoice_date"] = date.today().isoformat()
        event["data"]["due_date"] = (date.today() + timedelta(days=30)).isoformat()
        event["data"].pop("pdf", None)
        event["data"].update(data)
        return event

    def credit_note(
        self, number: str = "100371", credits: str = "100353", event_id: str | None = None
    ) -> dict[str, Any]:
        """A linked correction invoice of ``credits``, dated today."""
        note = copy.deepcopy(CREDIT_NOTE)
        note["tenant_id"] = self.tenant
        note["id"] = event_id or f"evt-note-{number}"
        note["data"]["invoice_number"] = number
        note["data"]["credits_invoice_number"] = credits
        note["data"]["invoice_date"] = date.today().isoformat()
        note["data"]["due_date"] = (date.today() + timedelta(days=30)).isoformat()
        return note

    def credit(self, number: str, event_id: str | None = None) -> dict[str, Any]:
        """A full credit of upstream invoice ``number``."""
        return {
            "type": "invoice.credited",
            "id": event_id or f"evt-credit-{number}",
            "tenant_id": self.tenant,
            "occurred_at": "2024-10-01T08:00:00Z",
            "data": {"invoice_number": number},
        }

    def customer(self, event_id: str = "evt-customer", **data: Any) -> dict[str, Any]:
        event = copy.deepcopy(CUSTOMER)
        event["tenant_id"] = self.tenant
        event["id"] = event_id
        event["data"].update(data)
        return event

    def send(self, *events: dict[str, Any] | str) -> list[Any]:
        self._enqueue(events)
        return self.runner.drain(self.runner.function("InvoiceExportExporter"))

    def deliver_once(self, *events: dict[str, Any] | str) -> Any:
        """Queue the events and deliver one batch: what failed stays on the queue for the next ``send``."""
        self._enqueue(events)
        spec = self.runner.function("InvoiceExportExporter")
        return self.runner.deliver_batch(spec, spec.event_sources[0])

    def _enqueue(self, events: tuple[dict[str, Any] | str, ...]) -> None:
        for event in events:
            self.sqs.send_message(
                QueueUrl=self.queue, MessageBody=event if isinstance(event, str) else json.dumps(event)
            )

    def dead_letters(self) -> list[Any]:
        """This tenant's messages on the dead-letter queue, which the whole session shares: each is received and
        made visible again, so other tests' messages stay where they are."""
        found: dict[str, Any] = {}
        while True:
            messages = self.sqs.receive_message(
                QueueUrl=self.dead, MaxNumberOfMessages=10, VisibilityTimeout=60, WaitTimeSeconds=0
            ).get("Messages", [])
            if not messages:
                break
            for message in messages:
                found[message["MessageId"]] = message
        for message in found.values():
            self.sqs.change_message_visibility(
                QueueUrl=self.dead, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
            )
        bodies = [
            json.loads(message["Body"]) if message["Body"].startswith("{") else None for message in found.values()
        ]
        return [body for body in bodies if isinstance(body, dict) and body.get("tenant_id") == self.tenant]

    def reconnect(self, company: int) -> None:
        """The tenant connects another Fortnox company; its mapping stays, its settings start from the defaults."""
        connect_service_account(
            self.table,
            self.scene.control,
            self.scene.app,
            tenant_id=TenantId(self.tenant),
            fortnox_tenant_id=company,
            display_name="Åkeri",
        )
        self.company = company

    def invoices(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self.scene.control.company(self.company)["invoices"]
        return found

    def settings(self, **export: Any) -> None:
        TenantStore(self.table).put_settings(
            TenantId(self.tenant), TenantSettings(invoice_export=InvoiceExportSettings(**export))
        )


def freight_mapping() -> TenantMapping:
    return TenantMapping(
        rules=[
            MappingRule(match_on="service_type", value="FREIGHT", account=3041, label="Frakt"),
            MappingRule(match_on="service_type", value="FUEL", account=3041, label="Frakt"),
            MappingRule(match_on="service_type", value="INTEREST", account=8310, label="Dröjsmålsränta"),
        ]
    )


def connect_as_a_person(gateway: Any, scene: Scene, tenant: str, company_name: str) -> Connection:
    """Connect through the hosted flow with a person's consent: the secret holds a single-use refresh token."""
    company = scene.new_company(company_name)
    management = httpx.Client(base_url=gateway.url, headers={"x-api-key": LOCAL_API_KEY})
    management.put(f"/tenants/{tenant}", json={"display_name": company_name})
    link = management.post(f"/tenants/{tenant}/connect-links", json={}).json()["url"]
    assert walk(link, company).status == 200
    connection = ConnectionStore(wiring.table()).get(TenantId(tenant))
    assert connection is not None and not connection.service_account
    return connection


@pytest.fixture
def export(runner: LocalRunner, deployed: Any, scene: Scene, table: Any, unique: str) -> Export:
    """A tenant connected with a service account."""
    company = scene.new_company("Sandlådan Åkeri AB")
    connect_service_account(
        table, scene.control, scene.app, tenant_id=TenantId(unique), fortnox_tenant_id=company, display_name="Åkeri"
    )
    scene.control.set_rate_limit(1000, 5.0)
    MappingStore(table).put(TenantId(unique), freight_mapping())
    return Export(runner, deployed, scene, table, unique, company)


@pytest.fixture
def person_export(runner: LocalRunner, deployed: Any, gateway: Any, scene: Scene, table: Any, unique: str) -> Export:
    """A tenant connected by a person: its exports go through the single-use refresh token."""
    connection = connect_as_a_person(gateway, scene, unique, "Personligt Åkeri AB")
    scene.control.set_rate_limit(1000, 5.0)
    MappingStore(table).put(TenantId(unique), freight_mapping())
    return Export(runner, deployed, scene, table, unique, connection.fortnox_tenant_id)


def rejected(table: Any, tenant: str) -> list[dict[str, Any]]:
    """What the rejection store keeps for ``tenant``: each refused body with its reason."""
    items: list[dict[str, Any]] = table.query(
        KeyConditionExpression=boto3.dynamodb.conditions.Key("PK").eq(f"REJECTED#{tenant}")
    )["Items"]
    return items


def rejected_by_event(table: Any, tenant: str) -> dict[str, dict[str, Any]]:
    """The same, by the refused event's id."""
    return {json.loads(item["body"])["id"]: item for item in rejected(table, tenant)}
