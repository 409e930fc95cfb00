"""A person's connection whose refresh token was revoked at Fortnox: the poll makes no payment call it cannot make,
the bookkeeper reads why in their own language, and upstream loses nothing. Through the poll queue and its handler,
the hosted connect flow, the sandbox and moto."""

from typing import Any

import httpx
import pytest

from fortnox_bridge import wiring
from fortnox_bridge.fortnox.retry import RetryPolicy
from fortnox_bridge.ids import TenantId
from fortnox_bridge.store.connections import ConnectionState, ConnectionStore
from fortnox_bridge.store.mappings import MappingStore
from fortnox_bridge.store.payment_sync import PollOutcome
from local_stack.event_tap import EventTap
from local_stack.runner import LocalRunner
from tests.conftest import Scene
from tests.exporting import connect_as_a_person, freight_mapping
from tests.paying import PaymentSync

pytestmark = pytest.mark.integration

AN_HOUR_AND_A_SECOND = 3601
"""Past the access token's life: the next call needs the revoked refresh token."""


@pytest.fixture(autouse=True)
def _no_waits(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(RetryPolicy, "backoff", lambda self, attempt: 0.0)


@pytest.fixture
def person_sync(
    runner: LocalRunner, deployed: Any, gateway: Any, scene: Scene, table: Any, events_tap: EventTap, unique: str
) -> PaymentSync:
    """A tenant a person connected (single-use refresh tokens), invoices exported and booked, payment sync on."""
    scene.control.set_rate_limit(1000, 5.0)
    connection = connect_as_a_person(gateway, scene, unique, "Personligt Åkeri AB")
    MappingStore(table).put(TenantId(unique), freight_mapping())
    sync = PaymentSync(runner, deployed, scene, table, events_tap, unique, int(connection.fortnox_tenant_id))
    sync.settings()
    return sync


def _revoke(sync: PaymentSync) -> None:
    stored = wiring.secrets_store().read(TenantId(sync.tenant))
    assert stored is not None and stored.refresh_token is not None
    httpx.post(
        f"{sync.scene.url}/oauth-v1/revoke",
        data={"token": stored.refresh_token.get_secret_value()},
        auth=(sync.scene.app.client_id, sync.scene.app.client_secret),
    )


def test_a_revoked_connection_fails_the_poll_with_a_fix_in_the_bookkeepers_language(
    person_sync: PaymentSync,
) -> None:
    invoice = person_sync.exported_invoice("110800")
    person_sync.pay(invoice, "100.00")
    _revoke(person_sync)
    person_sync.scene.control.advance_clock(AN_HOUR_AND_A_SECOND)
    try:
        person_sync.request_poll()
        outcomes = person_sync.drain()
    finally:
        person_sync.scene.control.advance_clock(-AN_HOUR_AND_A_SECOND)

    assert [(outcome.received, outcome.failed) for outcome in outcomes] == [(1, 0)]
    status = person_sync.status()
    assert status is not None and status.last_outcome is PollOutcome.FAILED and status.cursor is None
    assert status.last_reason_sv is not None and status.last_reason_en is not None
    assert "Anslut Fortnox igen" in status.last_reason_sv
    assert "Reconnect Fortnox" in status.last_reason_en
    # Each reason in one language: the Swedish one quotes no English error.
    assert not {"the", "company", "must", "connect"} & set(status.last_reason_sv.lower().replace(".", " ").split())
    connection = ConnectionStore(person_sync.table).get(TenantId(person_sync.tenant))
    assert connection is not None and connection.state is ConnectionState.NEEDS_RECONNECT
    assert person_sync.events() == []
