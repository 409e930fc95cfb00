"""The metrics the dashboards and alarms read, as the handlers print them (CloudWatch's embedded metric format on
stdout), through the real queue and handler path against the sandbox: an export, a refusal, a token refresh, a lost
connection, a payment poll, and a keep-alive that postpones a tenant."""

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from fortnox_bridge import wiring
from fortnox_bridge.observability import metrics
from infra.constructs.monitoring import FLOWS, KEEPALIVE_SERVICE
from local_stack.runner import LocalRunner
from tests.conftest import Scene
from tests.exporting import Export, connect_as_a_person, export
from tests.paying import PaymentSync

pytestmark = pytest.mark.integration
__all__ = ["export"]  # the fixture, imported so pytest finds it


@dataclass
class Emitted:
    """What the handlers flushed: each metric's total, and every blob as printed."""

    totals: Counter[str] = field(default_factory=Counter)
    blobs: list[dict[str, Any]] = field(default_factory=list)


class Metrics:
    def __init__(self, capsys: pytest.CaptureFixture[str]) -> None:
        self._capsys = capsys

    def start(self) -> None:
        """Forget what the fixtures printed or counted without flushing (connecting a tenant refreshes tokens)."""
        metrics.clear_metrics()
        self._capsys.readouterr()

    def emitted(self) -> Emitted:
        found = Emitted()
        for line in self._capsys.readouterr().out.splitlines():
            if not line.startswith("{"):
                continue
            blob = json.loads(line)
            if "_aws" not in blob:
                continue  # a log line
            found.blobs.append(blob)
            for directive in blob["_aws"]["CloudWatchMetrics"]:
                for metric in directive["Metrics"]:
                    value = blob[metric["Name"]]
                    found.totals[metric["Name"]] += sum(value) if isinstance(value, list) else value
        return found


@pytest.fixture
def emf(capsys: pytest.CaptureFixture[str]) -> Metrics:
    return Metrics(capsys)


def _flow_metrics(slug: str) -> set[str]:
    return {metric.name for flow in FLOWS if flow.slug == slug for metric in flow.metrics}


def _dimensioned_by_service_only(emitted: Emitted, *tenants: str) -> None:
    """Cost and privacy: a tenant dimension would be a billed metric per tenant and the tenant's id in CloudWatch."""
    assert emitted.blobs
    for blob in emitted.blobs:
        for directive in blob["_aws"]["CloudWatchMetrics"]:
            assert directive["Dimensions"] == [["service"]]
        printed = json.dumps(blob)
        assert not any(tenant in printed for tenant in tenants)


def test_an_exported_invoice_is_counted_once_and_its_redelivery_is_not(export: Export, emf: Metrics) -> None:
    emf.start()
    export.send(export.event("100353"))
    first = emf.emitted()
    export.send(export.event("100353"))
    again = emf.emitted()

    assert first.totals["InvoiceExported"] == 1
    assert again.totals["InvoiceExported"] == 0
    assert first.totals["InvoiceRefused"] == 0 and first.totals["InvoiceFailed"] == 0
    assert {"InvoiceExported", "InvoiceRefused", "InvoiceFailed"} <= _flow_metrics("invoice-export")
    _dimensioned_by_service_only(first, export.tenant)


def test_an_updated_invoice_is_counted_as_an_update(export: Export, emf: Metrics) -> None:
    export.send(export.event("100354"))
    emf.start()
    export.send(export.event("100354", event_id="changed", our_reference="Ny"))
    assert emf.emitted().totals["InvoiceUpdated"] == 1


def test_an_invoice_the_tenant_must_fix_is_counted_as_refused(export: Export, emf: Metrics) -> None:
    export.scene.control.patch_account(export.company, 3041, Active=False)
    emf.start()
    export.send(export.event("100355"))
    emitted = emf.emitted()
    assert (emitted.totals["InvoiceRefused"], emitted.totals["InvoiceExported"]) == (1, 0)
    _dimensioned_by_service_only(emitted, export.tenant)


def test_a_passing_failure_is_counted_and_so_is_the_retry_that_exports(export: Export, emf: Metrics) -> None:
    export.scene.control.fault("500", method="POST", path_prefix="/3/invoices")
    emf.start()
    export.deliver_once(export.event("100356"))
    failed = emf.emitted()
    export.send()
    retried = emf.emitted()
    assert (failed.totals["InvoiceFailed"], failed.totals["InvoiceExported"]) == (1, 0)
    assert (retried.totals["InvoiceFailed"], retried.totals["InvoiceExported"]) == (0, 1)


def test_a_payment_poll_counts_its_outcome_and_the_payments_it_found(payment_sync: PaymentSync, emf: Metrics) -> None:
    invoice = payment_sync.exported_invoice("100357")
    total = Decimal(str(payment_sync.invoice(invoice)["Total"]))
    payment_sync.pay(invoice, str(total))
    emf.start()
    [_] = payment_sync.poll()
    emitted = emf.emitted()
    assert (emitted.totals["PaymentPollSucceeded"], emitted.totals["PaymentsReceived"]) == (1, 1)
    assert {"PaymentPollSucceeded", "PaymentsReceived"} <= _flow_metrics("payment-sync")
    _dimensioned_by_service_only(emitted, payment_sync.tenant)


def _due_for_the_keepalive(table: Any, *tenants: str) -> None:
    old = (datetime.now(UTC) - timedelta(days=31)).isoformat()
    for tenant in tenants:
        table.update_item(
            Key={"PK": f"TENANT#{tenant}", "SK": "CONNECTION"},
            UpdateExpression="SET last_refresh_at = :old, GSI1SK = :old",
            ExpressionAttributeValues={":old": old},
        )


def _keepalive(runner: LocalRunner) -> dict[str, Any]:
    report: dict[str, Any] = runner.run_scheduled(runner.function("ConnectKeepAlive"))
    return report


def test_the_keepalive_counts_refreshed_and_lost_connections_and_the_token_code_says_why(
    gateway: Any, runner: LocalRunner, scene: Scene, unique: str, table: Any, emf: Metrics
) -> None:
    alive = connect_as_a_person(gateway, scene, f"{unique}-alive", "Vaken AB")
    dead = connect_as_a_person(gateway, scene, f"{unique}-dead", "Sovande AB")
    _due_for_the_keepalive(table, alive.tenant_id, dead.tenant_id)
    stored = wiring.secrets_store().read(dead.tenant_id)
    assert stored is not None and stored.refresh_token is not None
    httpx.post(
        f"{scene.url}/oauth-v1/revoke",
        data={"token": stored.refresh_token.get_secret_value()},
        auth=(scene.app.client_id, scene.app.client_secret),
    )
    emf.start()

    report = _keepalive(runner)

    emitted = emf.emitted()
    assert alive.tenant_id in report["refreshed"] and dead.tenant_id in report["lost"]
    assert emitted.totals["ConnectionsRefreshed"] == len(report["refreshed"])
    assert emitted.totals["ConnectionsLost"] == len(report["lost"])
    # The token code counts what happened to each refresh, whichever function asked.
    assert emitted.totals["TokenRefreshed"] == len(report["refreshed"])
    assert emitted.totals["TokenConnectionLost"] == len(report["lost"])
    assert {"ConnectionsRefreshed", "ConnectionsLost", "TokenRefreshed", "TokenConnectionLost"} <= _flow_metrics(
        "connect"
    )
    _dimensioned_by_service_only(emitted, alive.tenant_id, dead.tenant_id)


def test_a_keepalive_that_cannot_reach_fortnox_counts_the_tenant_postponed(
    gateway: Any, runner: LocalRunner, scene: Scene, unique: str, table: Any, emf: Metrics
) -> None:
    waiting = connect_as_a_person(gateway, scene, unique, "Väntande AB")
    _due_for_the_keepalive(table, waiting.tenant_id)
    scene.control.fault("500", method="POST", path_prefix="/oauth-v1/token", count=1000)
    emf.start()

    report = _keepalive(runner)

    emitted = emf.emitted()
    assert waiting.tenant_id in report["postponed"]
    # The alarm reads exactly this metric of exactly this service (monitoring.py).
    assert emitted.totals["ConnectionsPostponed"] == len(report["postponed"]) >= 1
    assert emitted.totals["TokenRefreshFailed"] >= 1
    assert emitted.totals["ConnectionsRefreshed"] == 0
    assert "ConnectionsPostponed" in _flow_metrics("connect")
    assert any(
        metric.name == "ConnectionsPostponed" and metric.service == KEEPALIVE_SERVICE
        for flow in FLOWS
        for metric in flow.metrics
    )
    _dimensioned_by_service_only(emitted, waiting.tenant_id)
