"""The daily keep-alive on a bad day: the scheduler delivers the same run twice, and a tenant disconnects between the
run listing it and refreshing it. Through the real keep-alive function, moto and the sandbox's token endpoint."""

import json
import logging
from datetime import datetime
from typing import Any

import pytest

from fortnox_bridge import wiring
from fortnox_bridge.store.connections import Connection, ConnectionStore
from local_stack.runner import LocalRunner
from tests.conftest import Scene
from tests.keepalive_due import due, due_connection
from tests.outside_invocation import run_outside_invocation

pytestmark = pytest.mark.integration
__all__ = ["due", "due_connection"]  # the fixtures, imported so pytest finds them

SCHEDULED = {"source": "aws.events", "detail-type": "Scheduled Event"}


def _refreshes(scene: Scene, since: int) -> int:
    return sum(
        1
        for row in scene.control.requests()[since:]
        if row["path"] == "/oauth-v1/token" and row["grant_type"] == "refresh_token" and row["status"] == 200
    )


def _errors(log_capture: Any, since: int) -> list[str]:
    records = [json.loads(line) for line in log_capture.lines[since:]]
    return [str(record.get("message")) for record in records if record["levelno"] >= logging.ERROR]


def test_a_redelivered_keep_alive_run_refreshes_each_connection_once(
    runner: LocalRunner, scene: Scene, due_connection: Connection, log_capture: Any
) -> None:
    connection = due_connection
    before, logged = len(scene.control.requests()), len(log_capture.lines)

    first = runner.invoke(runner.function("ConnectKeepAlive"), SCHEDULED)
    second = runner.invoke(runner.function("ConnectKeepAlive"), SCHEDULED)

    assert connection.tenant_id in first["refreshed"]
    assert connection.tenant_id not in second["refreshed"] + second["failed"] + second["lost"]
    assert _refreshes(scene, before) == 1 and _errors(log_capture, logged) == []


def test_a_tenant_that_disconnects_while_the_keep_alive_runs_is_passed_over_without_an_alarm(
    runner: LocalRunner, due_connection: Connection, log_capture: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    connection = due_connection
    listed = ConnectionStore.due_for_refresh

    def listed_then_disconnected(self: ConnectionStore, refreshed_before: datetime) -> list[Connection]:
        found = listed(self, refreshed_before)
        # What ``DELETE /tenants/{id}/connection`` does, called directly: the gateway would hand it to the runner,
        # which answers one invocation at a time and is busy with the keep-alive's.
        run_outside_invocation(lambda: wiring.connect_service().disconnect(connection.tenant_id))
        return found

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
