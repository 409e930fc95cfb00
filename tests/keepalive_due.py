"""Connections made due for the keep-alive (last refreshed a month ago), and fresh again after the test."""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from fortnox_bridge.ids import TenantId
from fortnox_bridge.store.connections import Connection, ConnectionStore
from tests.conftest import Scene
from tests.exporting import connect_as_a_person


def last_refreshed(table: Any, tenant: str, when: datetime) -> None:
    table.update_item(
        Key={"PK": f"TENANT#{tenant}", "SK": "CONNECTION"},
        UpdateExpression="SET last_refresh_at = :when, GSI1SK = :when",
        ExpressionAttributeValues={":when": when.isoformat()},
    )


@pytest.fixture
def due(table: Any) -> Iterator[list[str]]:
    """Tenants the test made stale, fresh again after it: the session's table is shared, and a tenant left due and
    connected would be refreshed (or fail) in every later test's keep-alive run."""
    tenants: list[str] = []
    yield tenants
    store = ConnectionStore(table)
    for tenant in tenants:
        connection = store.get(TenantId(tenant))
        if connection is not None and connection.state.value == "connected":
            last_refreshed(table, tenant, datetime.now(UTC))


def make_due(table: Any, due: list[str], tenant: str) -> None:
    """``tenant`` last refreshed a month ago, so the keep-alive's next run refreshes it; in ``due`` (the fixture), so
    it is fresh again after the test."""
    due.append(tenant)
    last_refreshed(table, tenant, datetime.now(UTC) - timedelta(days=31))


@pytest.fixture
def due_connection(gateway: Any, scene: Scene, unique: str, table: Any, due: list[str]) -> Connection:
    """A tenant a person connected, last refreshed a month ago: the keep-alive's next run refreshes it. A module
    that asks for it imports ``due`` too."""
    connection = connect_as_a_person(gateway, scene, unique, "Förfallen AB")
    make_due(table, due, connection.tenant_id)
    return connection
