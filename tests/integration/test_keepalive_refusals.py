"""The keep-alive meets Fortnox refusing a refresh, as the sandbox refuses it on request with Fortnox's own answers,
through the real scheduled handler against the sandbox and moto: ``invalid_grant`` loses the connection (marked and
told upstream once), ``invalid_client`` postpones it (the client secret may have been rotated; tomorrow may pass)."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from fortnox_bridge import wiring
from fortnox_bridge.observability import metrics
from fortnox_bridge.store.connections import ConnectionStore
from local_stack.runner import LocalRunner
from tests.conftest import Scene
from tests.emitted_metrics import emitted
from tests.exporting import connect_as_a_person
from tests.keepalive_due import due, last_refreshed

pytestmark = pytest.mark.integration
__all__ = ["due"]  # the fixture, imported so pytest finds it

TOKEN_ENDPOINT = "/oauth-v1/token"


def _token_answers(scene: Scene, since: int) -> list[int]:
    return [row["status"] for row in scene.control.requests()[since:] if row["path"] == TOKEN_ENDPOINT]


def test_a_refresh_refused_with_invalid_grant_loses_the_connection_and_says_so_once(
    gateway: Any,
    runner: LocalRunner,
    scene: Scene,
    unique: str,
    table: Any,
    due: list[str],
    events_tap: Any,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given a connected tenant due for its keep-alive, whose refresh Fortnox refuses with invalid_grant from now on
    connection = connect_as_a_person(gateway, scene, unique, "Utgången AB")
    due.append(connection.tenant_id)
    last_refreshed(table, connection.tenant_id, datetime.now(UTC) - timedelta(days=31))
    held = wiring.secrets_store().read(connection.tenant_id)
    scene.control.fault("invalid_grant", count=100, path_prefix=TOKEN_ENDPOINT, tenant_id=connection.fortnox_tenant_id)
    events_tap.received()
    metrics.clear_metrics()
    capsys.readouterr()
    asked = len(scene.control.requests())

    # When the keep-alive runs, and runs again the next day
    first = runner.run_scheduled(runner.function("ConnectKeepAlive"))
    first_metrics = emitted(capsys.readouterr().out)
    second = runner.run_scheduled(runner.function("ConnectKeepAlive"))

    # Then the first run counts the tenant lost, on the metric the Lost alarm reads, after one refused refresh
    assert connection.tenant_id in first["lost"]
    assert connection.tenant_id not in first["postponed"] + first["failed"] + first["skipped"]
    assert first_metrics["ConnectionsLost"] == len(first["lost"]) >= 1
    assert _token_answers(scene, asked) == [400]
    # And the tenant reads needs_reconnect with Fortnox's reason, with its tokens left as they were
    lost = ConnectionStore(table).get(connection.tenant_id)
    assert lost is not None and lost.state.value == "needs_reconnect"
    assert lost.reason == "Fortnox refused the refresh token (used, expired or revoked)"
    assert wiring.secrets_store().read(connection.tenant_id) == held
    # And upstream heard it once: the next run neither lists the tenant nor tells anyone again
    assert all(connection.tenant_id not in tenants for tenants in second.values())
    told = [
        event.detail
        for event in events_tap.received()
        if event.detail_type == "connection.needs_reconnect" and event.detail["tenant_id"] == connection.tenant_id
    ]
    assert told == [{"tenant_id": connection.tenant_id, "reason": lost.reason}]


def test_a_refresh_refused_with_invalid_client_is_postponed_and_counted_for_its_alarm(
    gateway: Any,
    runner: LocalRunner,
    scene: Scene,
    unique: str,
    table: Any,
    due: list[str],
    events_tap: Any,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given a connected tenant due for its keep-alive, and Fortnox refusing the bridge's client secret today
    connection = connect_as_a_person(gateway, scene, unique, "Nyckelbyte AB")
    due.append(connection.tenant_id)
    last_refreshed(table, connection.tenant_id, datetime.now(UTC) - timedelta(days=31))
    held = wiring.secrets_store().read(connection.tenant_id)
    scene.control.fault("invalid_client", count=100, path_prefix=TOKEN_ENDPOINT, tenant_id=connection.fortnox_tenant_id)
    events_tap.received()
    metrics.clear_metrics()
    capsys.readouterr()
    asked = len(scene.control.requests())

    # When the keep-alive runs
    report = runner.run_scheduled(runner.function("ConnectKeepAlive"))

    # Then the tenant is postponed, not lost nor failed, and counted on the metric the Postponed alarm reads
    assert connection.tenant_id in report["postponed"]
    assert connection.tenant_id not in report["lost"] + report["failed"] + report["skipped"]
    totals = emitted(capsys.readouterr().out)
    assert totals["ConnectionsPostponed"] == len(report["postponed"]) >= 1
    assert totals["ConnectionsLost"] == len(report["lost"])
    # The secret was read again past its cache and was the same: no second try with it, nothing else asked
    assert _token_answers(scene, asked) == [401]
    # And the connection stands untouched: still connected and due, its tokens as they were, nobody told to reconnect
    standing = ConnectionStore(table).get(connection.tenant_id)
    assert standing is not None and standing.state.value == "connected"
    assert wiring.secrets_store().read(connection.tenant_id) == held
    assert "connection.needs_reconnect" not in [event.detail_type for event in events_tap.received()]

    # When Fortnox takes the client secret again, the next run refreshes the tenant
    scene.control.clear_faults()
    again = runner.run_scheduled(runner.function("ConnectKeepAlive"))
    assert connection.tenant_id in again["refreshed"]
