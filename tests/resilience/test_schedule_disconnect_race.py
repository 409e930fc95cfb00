"""A tenant disconnects (``DELETE /tenants/{id}/connection``) at the moment its payment-sync settings are saved
(``PUT /tenants/{id}/settings``). The schedule keeps a tenant that is not connected out of its index: whichever of
the two lands first, a disconnected tenant must end up out of it, or every tick reads it and passes over it until it
reconnects. And the settings' answer to a disconnect must not undo a connect that lands right after it. Through the
management API's settings route and the real disconnect and connect paths, against moto and the sandbox; the
interleavings are forced at the one point where the paths meet."""

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

FAR_AHEAD = timedelta(days=2)
"""Past any poll interval: a tenant in the index is due by then."""


def _save_settings(gateway: Any, tenant: TenantId, *, sync: bool, interval: int = 15) -> None:
    features = ["invoice_export", "payment_sync"] if sync else ["invoice_export"]
    with httpx.Client(base_url=gateway.url, headers={"x-api-key": LOCAL_API_KEY}, timeout=60) as management:
        answer = management.put(
            f"/tenants/{tenant}/settings",
            json={"features": features, "payment_sync": {"interval_minutes": interval}},
        )
    assert answer.status_code == 200, answer.text


def _read_by_ticks(table: Any, tenant: TenantId) -> bool:
    """The tenant is in the index each tick queries (``PAYMENT_POLL_DUE``)."""
    return tenant in PaymentSchedule(table).due(datetime.now(UTC) + FAR_AHEAD)


def _state(table: Any, tenant: TenantId) -> ConnectionState | None:
    connection = ConnectionStore(table).get(tenant)
    return connection.state if connection is not None else None


@pytest.mark.parametrize("sync_before", [True, False], ids=["interval-changed", "switched-on"])
def test_a_disconnect_landing_while_sync_settings_are_saved_leaves_the_tenant_out_of_the_schedule(
    gateway: Any, scene: Scene, unique: str, table: Any, monkeypatch: pytest.MonkeyPatch, sync_before: bool
) -> None:
    # Given a connected tenant, with payment sync already on (and so in the index) or not yet
    tenant = connect_as_a_person(gateway, scene, unique, "Avslutas AB").tenant_id
    if sync_before:
        _save_settings(gateway, tenant, sync=True)
        assert _read_by_ticks(table, tenant)
    write = PaymentSchedule._schedule
    writes: list[bool] = []
    disconnected: list[TenantId] = []
    # The settings' first write assumes no schedule yet; for a tenant already scheduled it is refused and the second,
    # conditioned on the due time read, is the one that lands.
    landing = 2 if sync_before else 1

    def disconnect_lands_first(self: PaymentSchedule, *args: Any, **kwargs: Any) -> bool:
        # The write read the tenant connected; the disconnect (its mark and its ``pause``) lands before the write
        # does. What ``DELETE /tenants/{id}/connection`` does, in this process: the gateway runs one handler at a
        # time, and this one is the settings'.
        writes.append(kwargs["indexed"])
        if len(writes) == landing:
            disconnected.append(tenant)
            wiring.connect_service().disconnect(tenant)
        return write(self, *args, **kwargs)

    monkeypatch.setattr(PaymentSchedule, "_schedule", disconnect_lands_first)

    # When the settings are saved with payment sync on
    _save_settings(gateway, tenant, sync=True, interval=30)

    # Then the tenant is disconnected, and no tick reads it
    assert disconnected == [tenant] and writes == [True] * landing
    assert _state(table, tenant) is ConnectionState.REVOKED
    assert not _read_by_ticks(table, tenant)


def test_a_connect_landing_right_after_that_disconnect_leaves_the_tenant_in_the_schedule(
    gateway: Any, scene: Scene, unique: str, table: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The settings' write lands after a disconnect, reads the tenant disconnected and takes it out of the index; a
    # connect completes between that read and that ``pause``, its own ``resume`` calls finding the tenant in the
    # index. The settings' answer to the disconnect must not leave the connected tenant out of the index.
    connection = connect_as_a_person(gateway, scene, unique, "Tillbaka AB")
    tenant = connection.tenant_id
    _save_settings(gateway, tenant, sync=True)
    write, pause = PaymentSchedule._schedule, PaymentSchedule.pause
    steps: list[str] = []

    def disconnect_lands_first(self: PaymentSchedule, *args: Any, **kwargs: Any) -> bool:
        # The second write is the one that lands (the tenant is scheduled already: the first assumes it is not).
        steps.append("write")
        if steps == ["write", "write"]:
            steps.append("disconnected")
            wiring.connect_service().disconnect(tenant)
        return write(self, *args, **kwargs)

    def reconnect_before_the_settings_pause(self: PaymentSchedule, of: TenantId) -> None:
        # The disconnect's own ``pause`` comes first; the next one is the settings', following the disconnect.
        if steps[-2:] == ["disconnected", "paused by the disconnect"]:
            steps.append("reconnected")
            ConnectionStore(table).bind(connection.model_copy(update={"connected_at": datetime.now(UTC)}))
        elif steps[-1:] == ["disconnected"]:
            steps.append("paused by the disconnect")
        pause(self, of)

    monkeypatch.setattr(PaymentSchedule, "_schedule", disconnect_lands_first)
    monkeypatch.setattr(PaymentSchedule, "pause", reconnect_before_the_settings_pause)

    _save_settings(gateway, tenant, sync=True, interval=30)

    assert steps == ["write", "write", "disconnected", "paused by the disconnect", "reconnected"]
    assert _state(table, tenant) is ConnectionState.CONNECTED
    assert _read_by_ticks(table, tenant)
