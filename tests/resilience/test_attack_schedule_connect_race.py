"""Payment sync switched on (``PUT /tenants/{id}/settings``) at the moment the tenant's connect completes. The schedule
now keeps a tenant that is not connected out of its index and puts it in when it connects: whichever of the two
lands first, a connected tenant with payment sync on must end up in the index, or no tick ever polls it. The two are
interleaved at the one point where they meet, against moto and the sandbox's consent."""

from datetime import UTC, datetime
from typing import Any

import pytest

from fortnox_bridge.ids import TenantId
from fortnox_bridge.store.payment_schedule import PaymentSchedule
from fortnox_bridge.store.table import PAYMENT_POLL_DUE, payment_schedule_key
from fortnox_bridge.store.tenants import Feature, Tenant, TenantSettings, TenantStore
from local_stack.onboarding import connect_service_account
from tests.conftest import Scene

pytestmark = pytest.mark.integration

SYNC_ON = TenantSettings(features=[Feature.INVOICE_EXPORT, Feature.PAYMENT_SYNC])


def test_sync_switched_on_while_the_connect_completes_leaves_the_tenant_in_the_schedule(
    table: Any, scene: Scene, unique: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    tenant = TenantId(unique)
    TenantStore(table).put(Tenant(tenant_id=tenant, display_name="Samtidig AB"))
    TenantStore(table).put_settings(tenant, SYNC_ON)
    company = scene.new_company("Samtidig AB")
    write = PaymentSchedule._schedule

    def connect_completes_first(self: PaymentSchedule, *args: Any, **kwargs: Any) -> bool:
        # The settings' write read the connection (none yet); the tenant's consent lands before the write does.
        if not calls:
            connect_service_account(
                table, scene.control, scene.app, tenant_id=tenant, fortnox_tenant_id=company, display_name="Samtidig AB"
            )
        calls.append(kwargs)
        return write(self, *args, **kwargs)

    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(PaymentSchedule, "_schedule", connect_completes_first)

    PaymentSchedule(table).apply(tenant, SYNC_ON, datetime.now(UTC))

    item = table.get_item(Key=payment_schedule_key(tenant), ConsistentRead=True).get("Item")
    assert item is not None and item.get("GSI1PK") == PAYMENT_POLL_DUE


def test_a_connect_that_writes_its_connection_after_sync_is_switched_on_leaves_the_tenant_in_the_schedule(
    table: Any, scene: Scene, unique: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The other way round: the connect's first ``resume`` finds no schedule item, the settings' write then reads the
    # tenant not yet connected and schedules it out of the index, and only then is the connection written.
    tenant = TenantId(unique)
    TenantStore(table).put(Tenant(tenant_id=tenant, display_name="Omvänd AB"))
    TenantStore(table).put_settings(tenant, SYNC_ON)
    resume = PaymentSchedule.resume

    def settings_saved_meanwhile(self: PaymentSchedule, of: TenantId, now: datetime) -> None:
        resume(self, of, now)
        if not calls:
            calls.append(of)
            PaymentSchedule(table).apply(tenant, SYNC_ON, datetime.now(UTC))
            assert "GSI1PK" not in table.get_item(Key=payment_schedule_key(tenant), ConsistentRead=True)["Item"]

    calls: list[TenantId] = []
    monkeypatch.setattr(PaymentSchedule, "resume", settings_saved_meanwhile)

    connect_service_account(
        table,
        scene.control,
        scene.app,
        tenant_id=tenant,
        fortnox_tenant_id=scene.new_company("Omvänd AB"),
        display_name="Omvänd AB",
    )

    assert calls == [tenant]
    item = table.get_item(Key=payment_schedule_key(tenant), ConsistentRead=True)["Item"]
    assert item.get("GSI1PK") == PAYMENT_POLL_DUE


def test_sync_switched_on_before_the_connect_puts_the_tenant_in_the_schedule_when_it_connects(
    table: Any, scene: Scene, unique: str
) -> None:
    tenant = TenantId(unique)
    TenantStore(table).put(Tenant(tenant_id=tenant, display_name="Ordning AB"))
    TenantStore(table).put_settings(tenant, SYNC_ON)
    PaymentSchedule(table).apply(tenant, SYNC_ON, datetime.now(UTC))
    waiting = table.get_item(Key=payment_schedule_key(tenant), ConsistentRead=True)["Item"]
    assert "GSI1PK" not in waiting  # not connected: no tick reads it

    connect_service_account(
        table,
        scene.control,
        scene.app,
        tenant_id=tenant,
        fortnox_tenant_id=scene.new_company("Ordning AB"),
        display_name="Ordning AB",
    )

    item = table.get_item(Key=payment_schedule_key(tenant), ConsistentRead=True)["Item"]
    assert item.get("GSI1PK") == PAYMENT_POLL_DUE
