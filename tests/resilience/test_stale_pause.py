"""A connection is marked lost on the refresh path, and the process that marked it stalls before it takes the tenant
out of the payment schedule's index; meanwhile the tenant reconnects. The late ``pause`` must not undo the
reconnect's ``resume``: a connected tenant out of the index is never polled, and nothing but a settings save would
put it back. Through the real connect service and the hosted connect flow, against moto and the sandbox; the
interleaving is forced at the pause."""

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from fortnox_bridge import wiring
from fortnox_bridge.ids import TenantId
from fortnox_bridge.store.connections import ConnectionState, ConnectionStore
from fortnox_bridge.store.payment_schedule import PaymentSchedule
from tests.conftest import LOCAL_API_KEY, Scene
from tests.exporting import connect_as_a_person

pytestmark = pytest.mark.integration


def _polled_by_ticks(table: Any, tenant: TenantId) -> bool:
    return tenant in PaymentSchedule(table).due(datetime.now(UTC) + timedelta(days=2))


def _sync_on(gateway: Any, tenant: TenantId) -> None:
    with httpx.Client(base_url=gateway.url, headers={"x-api-key": LOCAL_API_KEY}, timeout=60) as management:
        answer = management.put(
            f"/tenants/{tenant}/settings",
            json={"features": ["invoice_export", "payment_sync"], "payment_sync": {"interval_minutes": 15}},
        )
    assert answer.status_code == 200, answer.text


def test_a_late_pause_leaves_a_tenant_that_reconnected_meanwhile_in_the_schedule(
    gateway: Any, scene: Scene, unique: str, table: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    lost = connect_as_a_person(gateway, scene, unique, "Tappad AB")
    tenant = lost.tenant_id
    _sync_on(gateway, tenant)
    assert _polled_by_ticks(table, tenant)
    pause = PaymentSchedule.pause
    reconnected: list[str] = []

    def reconnect_lands_first(self: PaymentSchedule, paused: TenantId) -> None:
        if not reconnected:
            reconnected.append(connect_as_a_person(gateway, scene, unique, "Nystart AB").fortnox_tenant_id)
        pause(self, paused)

    monkeypatch.setattr(PaymentSchedule, "pause", reconnect_lands_first)

    moved = wiring.connect_service().mark_needs_reconnect(tenant, "refresh refused", generation=lost.generation)

    connection = ConnectionStore(table).get(tenant)
    assert moved and connection is not None and connection.fortnox_tenant_id == reconnected[0]
    assert connection.state is ConnectionState.CONNECTED
    assert _polled_by_ticks(table, tenant)


def test_a_tenant_marked_lost_leaves_the_schedule(gateway: Any, scene: Scene, unique: str, table: Any) -> None:
    lost = connect_as_a_person(gateway, scene, unique, "Borta AB")
    _sync_on(gateway, lost.tenant_id)

    assert wiring.connect_service().mark_needs_reconnect(lost.tenant_id, "refresh refused", generation=lost.generation)

    assert not _polled_by_ticks(table, lost.tenant_id)
