"""Attacks on the disconnect's revoke (``ConnectService._revoke_to_disconnect``, session 10b): Fortnox's two answers
in the combinations a bad day gives (lost, 500, 429, invalid_client, invalid_grant), and a disconnect that stops
after its revoke went unconfirmed and is sent again. Through the connect service as the management function builds
it, the sandbox's faults and moto."""

from typing import Any

import pytest

from fortnox_bridge import wiring
from fortnox_bridge.connect.service import ConnectService, Disconnected
from fortnox_bridge.events import PublishedEvent
from fortnox_bridge.fortnox.errors import FortnoxError
from fortnox_bridge.ids import FortnoxTenantId
from fortnox_bridge.store.connections import ConnectionStore
from tests.conftest import Scene
from tests.connect_service import service
from tests.disconnect_checks import REVOKE, alive_at_fortnox, held_refresh_token
from tests.exporting import connect_as_a_person

pytestmark = pytest.mark.integration
__all__ = ["service"]  # the fixture, imported so pytest finds it


class BusDown(RuntimeError):
    """EventBridge refusing the put, as on a bad day at AWS."""


def _fault(scene: Scene, kind: str) -> None:
    """One revoke answered ``kind``: ``timeout`` is an answer lost on the way (the request never reached Fortnox)."""
    scene.control.fault(kind, count=1, method="POST", path_prefix=REVOKE, delay_seconds=0)


def test_a_disconnect_sent_again_after_an_unconfirmed_revoke_does_not_claim_fortnox_revoked(
    gateway: Any, scene: Scene, unique: str, events_tap: Any, service: ConnectService, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a connected tenant, Fortnox's revoke endpoint giving no answer twice, and the event bus refusing the
    # disconnect's event once (a bad day at AWS)
    connection = connect_as_a_person(gateway, scene, unique, "Obekräftad AB")
    refresh_token = held_refresh_token(unique)
    events_tap.received()
    scene.control.fault("timeout", count=2, method="POST", path_prefix=REVOKE, delay_seconds=0)
    publish = service._publisher.publish
    refused: list[PublishedEvent] = []

    def bus_down_once(event: PublishedEvent) -> None:
        if not refused:
            refused.append(event)
            raise BusDown("EventBridge PutEvents failed")
        publish(event)

    monkeypatch.setattr(service._publisher, "publish", bus_down_once)

    # When the SaaS backend disconnects it: the revoke goes unconfirmed, the tokens are forgotten, and the disconnect
    # stops at the event
    with pytest.raises(BusDown):
        service.disconnect(connection.tenant_id)
    assert refused and refused[0].model_dump()["revoked_at_fortnox"] is False
    # and, as the answer told it, the backend sends the disconnect again
    again = service.disconnect(connection.tenant_id)

    # Then the disconnect is finished: ended here, the company released
    assert isinstance(again, Disconnected) and again.state == "revoked"
    assert ConnectionStore(wiring.table()).bound_tenant(FortnoxTenantId(connection.fortnox_tenant_id)) is None
    # And the grant still lives at Fortnox (no revoke ever reached it), so neither the answer nor the event may say
    # Fortnox revoked it, and the tenant must still be told how to end it there
    assert alive_at_fortnox(scene, refresh_token)
    assert again.revoked_at_fortnox is False
    assert again.tenant_action is not None
    told = [(event.detail_type, event.detail["revoked_at_fortnox"]) for event in events_tap.received()]
    assert told == [("connection.revoked", False)]


@pytest.mark.parametrize(
    ("second", "revoked"),
    [
        ("500", False),
        ("429", False),
        ("invalid_client", False),
        ("invalid_grant", True),
        ("timeout", False),
    ],
)
def test_a_revoke_whose_first_answer_is_lost_ends_the_connection_whatever_the_second_answer(
    gateway: Any, scene: Scene, unique: str, events_tap: Any, service: ConnectService, second: str, revoked: bool
) -> None:
    # Given a connected tenant, and Fortnox's revoke endpoint losing its first answer and answering the second
    # with ``second``
    connection = connect_as_a_person(gateway, scene, unique, "Andra Svaret AB")
    events_tap.received()
    _fault(scene, "timeout")
    _fault(scene, second)

    # When the SaaS backend disconnects it
    try:
        answer = service.disconnect(connection.tenant_id)
    finally:
        scene.control.clear_faults()

    # Then the connection is ended here whatever the second answer (the first may have revoked), the tokens are
    # forgotten, the company released, and only a dead grant is reported revoked; otherwise the tenant is told
    # how to end the grant in Fortnox
    assert answer.state == "revoked"
    assert answer.revoked_at_fortnox is revoked
    assert (answer.tenant_action is None) is revoked
    assert wiring.secrets_store().read(connection.tenant_id) is None
    assert ConnectionStore(wiring.table()).bound_tenant(FortnoxTenantId(connection.fortnox_tenant_id)) is None
    told = [(event.detail_type, event.detail["revoked_at_fortnox"]) for event in events_tap.received()]
    assert told == [("connection.revoked", revoked)]


@pytest.mark.parametrize("first", ["429", "invalid_client"])
def test_a_revoke_fortnox_refuses_first_changes_nothing_and_the_resend_is_whole(
    gateway: Any, scene: Scene, unique: str, events_tap: Any, service: ConnectService, first: str
) -> None:
    # Given a connected tenant, and Fortnox refusing the first revoke before looking at it (a 5xx is in doubt:
    # tests/resilience/test_disconnect_answers_in_doubt.py)
    connection = connect_as_a_person(gateway, scene, unique, "Första Felet AB")
    refresh_token = held_refresh_token(unique)
    events_tap.received()
    _fault(scene, first)

    # When the SaaS backend disconnects it
    with pytest.raises(FortnoxError):
        service.disconnect(connection.tenant_id)

    # Then nothing changed: connected, the same live grant, nothing told upstream
    assert service.status(connection.tenant_id).state == "connected"
    assert held_refresh_token(unique) == refresh_token
    assert events_tap.received() == []
    # When it sends the disconnect again, it is whole and says Fortnox revoked the grant
    again = service.disconnect(connection.tenant_id)
    assert again.state == "revoked" and again.revoked_at_fortnox and again.tenant_action is None
    assert not alive_at_fortnox(scene, refresh_token)
    told = [(event.detail_type, event.detail["revoked_at_fortnox"]) for event in events_tap.received()]
    assert told == [("connection.revoked", True)]
