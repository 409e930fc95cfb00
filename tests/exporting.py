"""A connected tenant's invoice queue, for tests that export through the real handler and queue path."""

import copy
import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import boto3
import httpx
import pytest

from fortnox_bridge import wiring
from fortnox_bridge.fortnox.client import FortnoxClient
from fortnox_bridge.fortnox.models.vouchers import Voucher
from fortnox_bridge.fortnox.ports import NoRateLimit, StaticToken
from fortnox_bridge.ids import FortnoxTenantId, TenantId
from fortnox_bridge.mapping.rules import MappingRule, TenantMapping
from fortnox_bridge.mapping.vouchers import LocationRule, VoucherMapping
from fortnox_bridge.store.connections import Connection, ConnectionStore
from fortnox_bridge.store.ledger import ExportLedger, ExportScope, LedgerEntry
from fortnox_bridge.store.mappings import MappingStore
from fortnox_bridge.store.table import ledger_key, plain
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

    def ours(self, number: str) -> list[dict[str, Any]]:
        """The company's invoices carrying the export marker of upstream invoice ``number``."""
        ref = f"FB:{self.tenant}:{number}"
        return [invoice for invoice in self.invoices() if invoice.get("ExternalInvoiceReference1") == ref]

    def put_pdf(self, key: str) -> dict[str, str]:
        """A PDF in the tenant's bucket, as an event's ``pdf`` names it."""
        boto3.client("s3", region_name=REGION).put_object(Bucket=self.bucket, Key=key, Body=b"%PDF-1.4 faktura")
        return {"bucket": self.bucket, "key": key}

    def ledger_item(self, kind: str, number: str) -> dict[str, Any] | None:
        """The export ledger's item of upstream document ``number``, as stored."""
        key = ledger_key(TenantId(self.tenant), FortnoxTenantId(self.company), kind, number)
        item = self.table.get_item(Key=key, ConsistentRead=True).get("Item")
        return plain(item) if item else None

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
    management = httpx.Client(base_url=gateway.url, headers={"x-api-key": LOCAL_API_KEY}, timeout=60)
    created = management.put(f"/tenants/{tenant}", json={"display_name": company_name})
    assert created.status_code in (200, 201), created.text
    link = management.post(f"/tenants/{tenant}/connect-links", json={}).json()["url"]
    walked = walk(link, company)
    assert walked.status == 200, (walked.status, walked.page[:1000])
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


# -- voucher export (issue 10) --------------------------------------------------------------------------------------
SALES_DAY: dict[str, Any] = json.loads((ROOT / "events" / "sales.day_closed.json").read_text())
JOURNAL: dict[str, Any] = json.loads((ROOT / "events" / "voucher.ready.json").read_text())


def cafe_mapping() -> TenantMapping:
    """Seed 001's matching of payment methods, product groups and tips, on the accounts the sandbox company has."""
    return TenantMapping(
        vouchers=VoucherMapping(
            series="A",
            payment_methods={"card": 1940, "cash": 1910, "swish": 1930},
            default_sales_accounts={25: 3001, 12: 3002, 6: 3003, 0: 3004},
            output_vat_accounts={25: 2610, 12: 2620, 6: 2630},
            allow_tips=True,
            tips_account=2890,
            gift_card_account=2420,
            keys={"card": 1940, "memberships": 3003},
            locations={"kassa-1": LocationRule(cost_center="STHLM")},
        )
    )


class VoucherExport:
    """A connected tenant with a voucher mapping, the voucher queue, and what the sandbox company holds."""

    EXPORTER = "VoucherExportExporter"

    def __init__(self, runner: LocalRunner, deployed: Any, scene: Scene, table: Any, tenant: str, company: int) -> None:
        self.runner = runner
        self.scene = scene
        self.table = table
        self.tenant = tenant
        self.company = company
        self.queue = next(v for k, v in deployed.physical_ids.items() if k.startswith("VoucherExportWorkQueue"))
        self.dead = next(v for k, v in deployed.physical_ids.items() if k.startswith("VoucherExportWorkDeadLetters"))
        self.sqs = boto3.client("sqs", region_name=REGION)

    def day(
        self, location: str = "kassa-1", event_id: str | None = None, day: date | None = None, **data: Any
    ) -> dict[str, Any]:
        """A closed day of ``location`` (today by default, so the company's financial year holds it)."""
        event = copy.deepcopy(SALES_DAY)
        event["tenant_id"] = self.tenant
        business_day = day or date.today()
        event["id"] = event_id or f"z-{business_day}-{location}"
        event["occurred_at"] = _an_hour_ago()
        event["data"]["business_day"] = business_day.isoformat()
        event["data"]["location"] = location
        event["data"]["location_name"] = f"Kassa {location}"
        event["data"].update(data)
        return event

    def journal(self, journal_id: str = "gym-centrum", event_id: str | None = None, **data: Any) -> dict[str, Any]:
        """A ready-made journal of today, on accounts and mapping keys the sandbox company has."""
        event = copy.deepcopy(JOURNAL)
        event["tenant_id"] = self.tenant
        event["id"] = event_id or f"journal-{journal_id}"
        event["occurred_at"] = _an_hour_ago()
        event["data"]["journal_id"] = journal_id
        event["data"]["transaction_date"] = date.today().isoformat()
        event["data"]["rows"] = [
            {"mapping_key": "card", "debit": "4950.00", "description": "Kortbetalningar"},
            {"account": 1930, "debit": "1300.00", "description": "Swish"},
            {"mapping_key": "memberships", "credit": "5000.00", "description": "Medlemskap 6%"},
            {"account": 2630, "credit": "300.00", "description": "Utgående moms 6%"},
            {"account": 3001, "credit": "760.00", "cost_center": "GBG", "description": "Butik 25%"},
            {"account": 2610, "credit": "190.00", "description": "Utgående moms 25%"},
        ]
        event["data"].update(data)
        return event

    def send(self, *events: dict[str, Any] | str) -> list[Any]:
        self._enqueue(events)
        return self.runner.drain(self.runner.function(self.EXPORTER))

    def deliver_once(self, *events: dict[str, Any] | str) -> Any:
        """Queue the events and deliver one batch: what failed stays on the queue for the next ``send``."""
        self._enqueue(events)
        spec = self.runner.function(self.EXPORTER)
        return self.runner.deliver_batch(spec, spec.event_sources[0])

    def _enqueue(self, events: tuple[dict[str, Any] | str, ...]) -> None:
        for event in events:
            self.sqs.send_message(
                QueueUrl=self.queue, MessageBody=event if isinstance(event, str) else json.dumps(event)
            )

    def fortnox(self) -> FortnoxClient:
        """A client of the company under the tenant's service-account consent (a person's consent would replace
        it): what it reads is what Fortnox holds, and what it writes is made by someone other than the bridge."""
        answer = self.scene.control.token(
            self.scene.app, {"grant_type": "client_credentials"}, headers={"TenantId": str(self.company)}
        )
        answer.raise_for_status()
        return FortnoxClient(
            base_url=self.scene.url, tokens=StaticToken(answer.json()["access_token"]), rate_limiter=NoRateLimit()
        )

    def vouchers(self) -> list[Voucher]:
        """Every voucher of the company in the year of today, with its rows, in series and number order."""
        with self.fortnox() as client:
            year = client.financial_years.for_date(date.today())
            assert year is not None and year.Id is not None
            listed = list(client.vouchers.list(financial_year=year.Id))
            return [
                client.vouchers.get(str(item.VoucherSeries), int(item.VoucherNumber or 0), financial_year=year.Id)
                for item in sorted(listed, key=lambda item: (str(item.VoucherSeries), item.VoucherNumber or 0))
            ]

    def calls(self) -> list[dict[str, Any]]:
        """The Fortnox API requests the company has received so far (the control API's log)."""
        return [row for row in self.scene.control.requests(self.company) if str(row["path"]).startswith("/3/")]

    def reconnect(self, company: int) -> None:
        """The tenant connects another Fortnox company; its mapping stays."""
        connect_service_account(
            self.table,
            self.scene.control,
            self.scene.app,
            tenant_id=TenantId(self.tenant),
            fortnox_tenant_id=company,
            display_name="Café",
        )
        self.company = company
        prepare_voucher_company(self.scene, company)

    def ledger(self, business_key: str) -> LedgerEntry | None:
        connection = ConnectionStore(self.table).get(TenantId(self.tenant))
        assert connection is not None
        scope = ExportScope(TenantId(self.tenant), connection.fortnox_tenant_id)
        return ExportLedger(self.table).get(scope, "voucher", business_key)


def _an_hour_ago() -> str:
    return (datetime.now(UTC) - timedelta(hours=1)).isoformat(timespec="seconds")


def prepare_voucher_company(scene: Scene, company: int) -> None:
    """The accounts a café's mapping names that the sandbox's BAS subset lacks: tips owed to staff, gift cards."""
    scene.control.patch_account(company, 2890, Active=True, Description="Övriga kortfristiga skulder")
    scene.control.patch_account(company, 2420, Active=True, Description="Förskott från kunder")


@pytest.fixture
def voucher_export(runner: LocalRunner, deployed: Any, scene: Scene, table: Any, unique: str) -> VoucherExport:
    """A café connected with a service account, its voucher mapping saved."""
    company = scene.new_company("Café Åkern AB")
    connect_service_account(
        table, scene.control, scene.app, tenant_id=TenantId(unique), fortnox_tenant_id=company, display_name="Café"
    )
    scene.control.set_rate_limit(1000, 5.0)
    prepare_voucher_company(scene, company)
    MappingStore(table).put(TenantId(unique), cafe_mapping())
    return VoucherExport(runner, deployed, scene, table, unique, company)


# -- end of voucher export ------------------------------------------------------------------------------------------
