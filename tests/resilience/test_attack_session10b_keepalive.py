"""Attacks on the keep-alive's "left on request" (``tokens/keepalive.py``, ``_left_on_request`` with the listed
connection, session 10b): the tenant reconnects to the same company while the run is under way, and Fortnox then
refuses the new connection's refresh token. Through the scheduled keep-alive function, the connect service the
management API and the hosted connect run (in-process: the local runner answers one invocation at a time), the
sandbox and moto; the interleaving is forced right after the run lists its tenants, not by sleeps."""

from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from fortnox_bridge.connect.service import ConnectService
from fortnox_bridge.ids import TenantId
from fortnox_bridge.observability import metrics
from fortnox_bridge.store.connections import Connection, ConnectionStore
from local_stack.connect_walk import approve
from local_stack.runner import LocalRunner
from tests.conftest import Scene
from tests.connect_service import service
from tests.emitted_metrics import emitted
from tests.keepalive_due import due, due_connection
from tests.outside_invocation import run_outside_invocation

pytestmark = pytest.mark.integration
__all__ = ["due", "due_connection", "service"]  # the fixtures, imported so pytest finds them


def _after_listing(then: Callable[[], None], monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """``then`` runs once the keep-alive has listed the connections it will refresh, before it refreshes any, as the
    management API and the hosted connect would run it: outside the keep-alive's invocation."""
    listing = ConnectionStore.due_for_refresh
    ran: list[bool] = []

    def wrapped(store: ConnectionStore, refreshed_before: datetime) -> list[Connection]:
        listed = listing(store, refreshed_before)
        if not ran:
            ran.append(True)
            run_outside_invocation(then)
        return listed

    monkeypatch.setattr(ConnectionStore, "due_for_refresh", wrapped)
    return ran


def _reconnect_same_company(service: ConnectService, tenant: TenantId, company: int) -> None:
    """The person opens a link made to replace the connection, confirms, and approves the same company again."""
    link = service.create_link(tenant, replace_connection=True)
    landing = service.landing(link.url.rsplit("/", 1)[1], confirmed=True)
    assert landing.authorize_url is not None
    callback = parse_qs(urlsplit(approve(landing.authorize_url, company)).query)
    service.complete(state=callback["state"][0], code=callback["code"][0], error=None)


def test_a_connection_made_during_the_run_and_refused_by_fortnox_is_counted_lost(
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
    listed = due_connection
    events_tap.received()

    # And, once the run has listed it, the tenant reconnects to the same company, and the person then ends the new
    # grant in Fortnox (its refresh token is refused)
    def reconnect_then_refused() -> None:
        _reconnect_same_company(service, listed.tenant_id, listed.fortnox_tenant_id)
        scene.control.fault("invalid_grant", count=1, path_prefix="/oauth-v1/token", tenant_id=listed.fortnox_tenant_id)

    ran = _after_listing(reconnect_then_refused, monkeypatch)
    metrics.clear_metrics()
    capsys.readouterr()

    # When the keep-alive runs
    try:
        report = runner.run_scheduled(runner.function("ConnectKeepAlive"))
    finally:
        scene.control.clear_faults()

    # Then the new connection is lost (it is the one the run refreshed, and Fortnox refused it), upstream is told
    # once to reconnect, and the run counts it lost on the metric the Lost alarm reads, as it would have with no
    # reconnect before it
    assert ran == [True]
    shown = ConnectionStore(table).get(listed.tenant_id)
    assert shown is not None and shown.state.value == "needs_reconnect" and shown.generation != listed.generation
    told = [(event.detail_type, event.detail["tenant_id"]) for event in events_tap.received()]
    assert told.count(("connection.needs_reconnect", listed.tenant_id)) == 1
    assert listed.tenant_id in report["lost"] and listed.tenant_id not in report["skipped"]
    assert emitted(capsys.readouterr().out)["ConnectionsLost"] == len(report["lost"])
