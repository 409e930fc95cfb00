"""Attacks on the keep-alive beside a disconnect (session 10): a tenant disconnected and at once connected to another
company while the keep-alive is on its way to refresh it. Through the scheduled keep-alive function, the connect
service the management API runs, the sandbox and moto; the interleaving is forced at the keep-alive's read of the
tenant's tokens, not by sleeps."""

from collections.abc import Callable
from typing import Any

import pytest

from fortnox_bridge.connect.service import ConnectService
from fortnox_bridge.ids import TenantId
from fortnox_bridge.observability import metrics
from fortnox_bridge.store.connections import Connection, ConnectionStore
from fortnox_bridge.tokens.secret_store import SecretTokenStore, VersionedTokens
from local_stack.onboarding import connect_service_account
from local_stack.runner import LocalRunner
from tests.conftest import Scene
from tests.connect_service import service
from tests.emitted_metrics import emitted
from tests.keepalive_due import due, due_connection
from tests.outside_invocation import run_outside_invocation

pytestmark = pytest.mark.integration
__all__ = ["due", "due_connection", "service"]  # the fixtures, imported so pytest finds them


def _around_first_read(
    tenant: TenantId, before: Callable[[], object], after: Callable[[], object], monkeypatch: pytest.MonkeyPatch
) -> list[bool]:
    """``before`` runs just before the first read of ``tenant``'s tokens, ``after`` just after it, each as the
    management API would run it: outside the keep-alive's invocation."""
    read = SecretTokenStore.read_versioned
    ran: list[bool] = []

    def wrapped(store: SecretTokenStore, asked: TenantId) -> VersionedTokens | None:
        if asked != tenant or ran:
            return read(store, asked)
        ran.append(True)
        run_outside_invocation(before)
        found = read(store, asked)
        run_outside_invocation(after)
        return found

    monkeypatch.setattr(SecretTokenStore, "read_versioned", wrapped)
    return ran


def test_a_tenant_disconnected_and_at_once_connected_elsewhere_during_the_keep_alive_is_not_counted_lost(
    runner: LocalRunner,
    scene: Scene,
    table: Any,
    due_connection: Connection,
    events_tap: Any,
    service: ConnectService,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a connected tenant the keep-alive will refresh
    connection = due_connection
    elsewhere = scene.new_company("Nya Bolaget AB")
    events_tap.received()
    # And, as the keep-alive goes to read the tenant's tokens, the SaaS backend disconnects the tenant; right after
    # that read the tenant connects another company
    ran = _around_first_read(
        connection.tenant_id,
        before=lambda: service.disconnect(connection.tenant_id),
        after=lambda: connect_service_account(
            table,
            scene.control,
            scene.app,
            tenant_id=connection.tenant_id,
            fortnox_tenant_id=elsewhere,
            display_name="Flyttar",
        ),
        monkeypatch=monkeypatch,
    )
    metrics.clear_metrics()
    capsys.readouterr()

    # When the keep-alive runs
    report = runner.run_scheduled(runner.function("ConnectKeepAlive"))

    # Then the tenant is passed over, not counted lost on the metric the Lost alarm reads
    assert ran == [True]
    assert connection.tenant_id not in report["lost"]
    assert emitted(capsys.readouterr().out)["ConnectionsLost"] == len(report["lost"])
    # And nobody was told the tenant must reconnect: it left on request, and its new connection stands
    told = [(event.detail_type, event.detail["tenant_id"]) for event in events_tap.received()]
    assert ("connection.needs_reconnect", connection.tenant_id) not in told
    shown = ConnectionStore(table).get(connection.tenant_id)
    assert shown is not None and (shown.state.value, shown.fortnox_tenant_id) == ("connected", elsewhere)
