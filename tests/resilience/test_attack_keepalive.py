"""The daily keep-alive on a bad day: the scheduler delivers the same run twice, and a tenant disconnects between the
run listing it and refreshing it. Through the real keep-alive function, moto and the sandbox's token endpoint."""

import json
import logging
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from fortnox_bridge import wiring
from fortnox_bridge.ids import TenantId
from fortnox_bridge.store.connections import Connection, ConnectionStore
from local_stack.runner import LocalRunner
from tests.conftest import Scene
from tests.exporting import connect_as_a_person

pytestmark = pytest.mark.integration

SCHEDULED = {"source": "aws.events", "detail-type": "Scheduled Event"}


def _refreshes(scene: Scene, since: int) -> int:
    return sum(
        1
        for row in scene.control.requests()[since:]
        if row["path"] == "/oauth-v1/token" and row["grant_type"] == "refresh_token" and row["status"] == 200
    )


def _idle_for_31_days(table: Any, scene: Scene, tenant: TenantId) -> None:
    old = (datetime.now(UTC) - timedelta(days=31)).isoformat()
    table.update_item(
        Key={"PK": f"TENANT#{tenant}", "SK": "CONNECTION"},
        UpdateExpression="SET last_refresh_at = :old, GSI1SK = :old",
        ExpressionAttributeValues={":old": old},
    )


def _errors(log_capture: Any, since: int) -> list[str]:
    records = [json.loads(line) for line in log_capture.lines[since:]]
    return [str(record.get("message")) for record in records if record["levelno"] >= logging.ERROR]


def test_a_redelivered_keep_alive_run_refreshes_each_connection_once(
    gateway: Any, runner: LocalRunner, scene: Scene, unique: str, table: Any, log_capture: Any
) -> None:
    connection = connect_as_a_person(gateway, scene, unique, "Dubbel AB")
    _idle_for_31_days(table, scene, connection.tenant_id)
    before, logged = len(scene.control.requests()), len(log_capture.lines)

    first = runner.invoke(runner.function("ConnectKeepAlive"), SCHEDULED)
    second = runner.invoke(runner.function("ConnectKeepAlive"), SCHEDULED)

    assert connection.tenant_id in first["refreshed"]
    assert connection.tenant_id not in second["refreshed"] + second["failed"] + second["lost"]
    assert _refreshes(scene, before) == 1 and _errors(log_capture, logged) == []


def test_a_tenant_that_disconnects_while_the_keep_alive_runs_is_passed_over_without_an_alarm(
    gateway: Any,
    runner: LocalRunner,
    scene: Scene,
    unique: str,
    table: Any,
    log_capture: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    connection = connect_as_a_person(gateway, scene, unique, "Avslutad AB")
    _idle_for_31_days(table, scene, connection.tenant_id)
    listed = ConnectionStore.due_for_refresh

    def listed_then_disconnected(self: ConnectionStore, refreshed_before: datetime) -> list[Connection]:
        due = listed(self, refreshed_before)
        # What ``DELETE /tenants/{id}/connection`` does, in this process: the gateway's handler runs in the one
        # the keep-alive holds.
        # In a thread of its own, as the management API would: not inside the keep-alive's invocation, whose role
        # the session's IAM guard would otherwise charge with the disconnect's calls.
        elsewhere = threading.Thread(target=wiring.connect_service().disconnect, args=(connection.tenant_id,))
        elsewhere.start()
        elsewhere.join()
        return due

    monkeypatch.setattr(ConnectionStore, "due_for_refresh", listed_then_disconnected)
    logged = len(log_capture.lines)

    report = runner.invoke(runner.function("ConnectKeepAlive"), SCHEDULED)

    assert connection.tenant_id not in report["failed"] and _errors(log_capture, logged) == []
    # A tenant that left on request is no lost connection: the Lost alarm says "Fortnox refused tenants' refresh
    # tokens: they must reconnect (upstream was told)", and neither is true. It is passed over, and said so.
    assert connection.tenant_id not in report["lost"] + report["postponed"]
    assert connection.tenant_id in report["skipped"]
    assert any(
        record.get("tenant_id") == connection.tenant_id and "passed over" in str(record.get("message"))
        for record in map(json.loads, log_capture.lines[logged:])
    )
