"""A disconnect whose revoke Fortnox answers with a server error, which it may send after it revoked (the sandbox's
``500_after_commit``), and a disconnect whose invocation has no time to ask twice. Through the management API over
the local gateway, the sandbox and moto."""

from typing import Any

import httpx
import pytest

from fortnox_bridge import wiring
from fortnox_bridge.connect.service import AFTER_REVOKE_SECONDS
from fortnox_bridge.fortnox.oauth import TOKEN_TIMEOUT, longest_attempt
from local_stack import runner as runner_module
from tests.conftest import LOCAL_API_KEY, Scene
from tests.disconnect_checks import REVOKE, alive_at_fortnox, held_refresh_token, revokes, with_seconds_left
from tests.exporting import connect_as_a_person

pytestmark = pytest.mark.integration

ONE_REVOKE_SECONDS = longest_attempt(TOKEN_TIMEOUT)


def _disconnect(gateway: Any, tenant: str) -> dict[str, Any]:
    management = httpx.Client(base_url=gateway.url, headers={"x-api-key": LOCAL_API_KEY}, timeout=60)
    answer = management.delete(f"/tenants/{tenant}/connection")
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


@pytest.mark.parametrize(
    "first",
    [
        "500",  # Fortnox failed before it revoked
        "500_after_commit",  # Fortnox revoked, then failed to say so
    ],
)
def test_a_revoke_answered_with_a_server_error_is_asked_again_and_ends_the_grant_once(
    gateway: Any, scene: Scene, unique: str, events_tap: Any, first: str
) -> None:
    # Given a connected tenant, and Fortnox answering its first revoke with a 500
    connect_as_a_person(gateway, scene, unique, "Serverfel AB")
    refresh_token = held_refresh_token(unique)
    events_tap.received()
    before = revokes(scene)
    scene.control.fault(first, method="POST", path_prefix=REVOKE)

    # When the SaaS backend disconnects it
    body = _disconnect(gateway, unique)

    # Then the revoke was asked once more, and the connection ended with the grant dead at Fortnox, as the answer
    # and the event say; the tenant has nothing left to do in Fortnox
    assert revokes(scene) - before == 2
    assert body["state"] == "revoked" and body["revoked_at_fortnox"] is True and body["tenant_action"] is None
    assert not alive_at_fortnox(scene, refresh_token)
    assert wiring.secrets_store().read(unique) is None  # type: ignore[arg-type]
    told = [(event.detail_type, event.detail["revoked_at_fortnox"]) for event in events_tap.received()]
    assert told == [("connection.revoked", True)]


def test_a_revoke_in_doubt_twice_ends_the_connection_here_unconfirmed(
    gateway: Any, scene: Scene, unique: str, events_tap: Any
) -> None:
    # Given a connected tenant, and Fortnox revoking but answering 500, then answering 500 again
    connect_as_a_person(gateway, scene, unique, "Tvivel AB")
    events_tap.received()
    scene.control.fault("500_after_commit", method="POST", path_prefix=REVOKE)
    scene.control.fault("500", method="POST", path_prefix=REVOKE)

    # When the SaaS backend disconnects it
    body = _disconnect(gateway, unique)

    # Then the connection is ended here (the first 500 may have revoked: stopping would show a dead grant as
    # connected), the tokens forgotten, and neither the answer nor the event claims what Fortnox never confirmed
    assert body["state"] == "revoked" and body["revoked_at_fortnox"] is False
    assert body["tenant_action"]["en"].startswith("Fortnox did not confirm that it revoked the access")
    assert wiring.secrets_store().read(unique) is None  # type: ignore[arg-type]
    told = [(event.detail_type, event.detail["revoked_at_fortnox"]) for event in events_tap.received()]
    assert told == [("connection.revoked", False)]


def test_a_revoke_in_doubt_with_no_time_left_to_ask_again_ends_the_connection_after_one_request(
    gateway: Any, scene: Scene, unique: str, events_tap: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a connected tenant, and Fortnox taking a second over its revoke and never answering
    connect_as_a_person(gateway, scene, unique, "Sista Sekunden AB")
    events_tap.received()
    before = revokes(scene)
    scene.control.fault("timeout", method="POST", path_prefix=REVOKE, delay_seconds=1.0)
    # And the management function's invocation with time for one revoke at its longest and the steps after it, and
    # not for a second revoke once the first has taken its second
    monkeypatch.setattr(
        runner_module, "LambdaContext", with_seconds_left(AFTER_REVOKE_SECONDS + ONE_REVOKE_SECONDS + 0.5)
    )

    # When the SaaS backend disconnects it
    body = _disconnect(gateway, unique)

    # Then it answered in time rather than be cut off between a revoke and its mark: one revoke, the connection
    # ended here, the tokens forgotten, and the tenant told how to end the grant in Fortnox
    assert revokes(scene) - before == 1
    assert body["state"] == "revoked" and body["revoked_at_fortnox"] is False
    assert body["tenant_action"] is not None
    assert wiring.secrets_store().read(unique) is None  # type: ignore[arg-type]
    told = [(event.detail_type, event.detail["revoked_at_fortnox"]) for event in events_tap.received()]
    assert told == [("connection.revoked", False)]
