"""A bad day at Fortnox's token endpoint: client credentials and single-use refresh tokens under faults, through
the real handler and queue path. A fault at the token endpoint is Fortnox's trouble, never the tenant's: the
connection stays connected, no `connection.needs_reconnect` goes upstream, and the invoice is exported once."""

from typing import Any

import pytest

from fortnox_bridge.fortnox.retry import RetryPolicy
from fortnox_bridge.ids import TenantId
from fortnox_bridge.store.connections import ConnectionState, ConnectionStore
from fortnox_bridge_cli.redrive import redrive
from infra.names import MAX_RECEIVE_COUNT
from tests.exporting import Export, person_export

pytestmark = pytest.mark.integration
__all__ = ["person_export"]  # the fixture, imported so pytest finds it


@pytest.fixture(autouse=True)
def _no_waits(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(RetryPolicy, "backoff", lambda self, attempt: 0.0)


def _kinds(events_tap: Any) -> list[str]:
    if not hasattr(events_tap, "seen"):
        events_tap.seen = []
    events_tap.seen.extend(events_tap.received())
    return [e.detail_type for e in events_tap.seen]


def _still_connected(export: Export) -> None:
    connection = ConnectionStore(export.table).get(TenantId(export.tenant))
    assert connection is not None and connection.state is ConnectionState.CONNECTED, connection


def _token_calls(export: Export, grant: str) -> list[dict[str, Any]]:
    return [r for r in export.scene.control.requests() if r["path"] == "/oauth-v1/token" and r["grant_type"] == grant]


@pytest.mark.parametrize("kind", ["500", "429", "timeout", "drop_after_commit"])
def test_one_fault_on_client_credentials_costs_a_retry_not_the_connection(
    export: Export, events_tap: Any, kind: str
) -> None:
    _kinds(events_tap)
    export.scene.control.fault(kind, method="POST", path_prefix="/oauth-v1/token", delay_seconds=0.05)
    event = export.event("6001")
    export.send(event)
    assert len(export.invoices()) == 1
    _still_connected(export)
    kinds = _kinds(events_tap)
    assert "connection.needs_reconnect" not in kinds and "invoice.export_failed" not in kinds
    assert kinds.count("invoice.exported") == 1


def test_a_token_endpoint_down_for_five_receives_is_reported_then_redriven_once(
    export: Export, events_tap: Any
) -> None:
    _kinds(events_tap)
    export.scene.control.fault("500", method="POST", path_prefix="/oauth-v1/token", count=1000)
    event = export.event("6101")
    outcomes = export.send(event)
    assert [(o.received, o.failed) for o in outcomes] == [(1, 1)] * MAX_RECEIVE_COUNT
    _still_connected(export)
    kinds = _kinds(events_tap)
    assert kinds.count("invoice.export_failed") == 1 and "connection.needs_reconnect" not in kinds
    export.scene.control._call("DELETE", "/faults")
    assert redrive(export.sqs, export.queue, tenant=export.tenant) == 1
    export.send()
    assert len(export.invoices()) == 1
    assert _kinds(events_tap).count("invoice.exported") == 1


@pytest.mark.parametrize("kind", ["500", "429", "timeout"])
def test_one_fault_on_a_refresh_keeps_a_person_connection(person_export: Export, events_tap: Any, kind: str) -> None:
    export = person_export
    export.scene.control.advance_clock(3601)  # the access token has expired at Fortnox
    _kinds(events_tap)
    before = len(_token_calls(export, "refresh_token"))
    export.scene.control.fault(kind, method="POST", path_prefix="/oauth-v1/token", delay_seconds=0.05)
    export.send(export.event("6201"))
    assert len(export.invoices()) == 1
    _still_connected(export)
    kinds = _kinds(events_tap)
    assert "connection.needs_reconnect" not in kinds and "invoice.export_failed" not in kinds
    assert len(_token_calls(export, "refresh_token")) - before == 1  # one that worked (faulted ones log no grant)


def test_a_refresh_storm_across_five_receives_keeps_the_connection_and_redrives_once(
    person_export: Export, events_tap: Any
) -> None:
    export = person_export
    export.scene.control.advance_clock(3601)
    _kinds(events_tap)
    export.scene.control.fault("429", method="POST", path_prefix="/oauth-v1/token", count=1000)
    export.send(export.event("6301"), export.event("6302"))
    _still_connected(export)
    kinds = _kinds(events_tap)
    assert kinds.count("invoice.export_failed") == 2 and "connection.needs_reconnect" not in kinds
    export.scene.control._call("DELETE", "/faults")
    assert redrive(export.sqs, export.queue, tenant=export.tenant) == 2
    export.send()
    assert len(export.invoices()) == 2
    assert _kinds(events_tap).count("invoice.exported") == 2
    _still_connected(export)


def test_a_refresh_that_worked_but_whose_write_back_follows_a_fault_on_the_api_call(
    person_export: Export, events_tap: Any
) -> None:
    """The refresh succeeds; the very next API call (the customer) fails five times in a row on every delivery.
    The rotated refresh token must have been stored: a later delivery must not send the used one again."""
    export = person_export
    export.scene.control.advance_clock(3601)
    _kinds(events_tap)
    export.scene.control.fault("500", method="GET", path_prefix="/3/customers", count=5)
    export.scene.control.fault("500", method="POST", path_prefix="/3/customers", count=1)
    export.send(export.event("6401"))
    assert len(export.invoices()) == 1
    _still_connected(export)
    assert "connection.needs_reconnect" not in _kinds(events_tap)
