"""Attacks on the disconnect under the tenant's refresh lease (session 10): a revoke whose answer is lost, a refresh
holding the lease, a disconnect sent many times at once, the bridge's client refused at Fortnox. Through the management
API over the local gateway, the scheduled keep-alive function, the sandbox and moto."""

import threading
from typing import Any

import httpx
import pytest

from fortnox_bridge import wiring
from fortnox_bridge.connect.service import AFTER_REVOKE_SECONDS, ConnectService, Disconnected, NotConnected
from fortnox_bridge.ids import FortnoxTenantId
from fortnox_bridge.store.connections import ConnectionStore
from fortnox_bridge.store.locks import LockStore
from fortnox_bridge.tokens.tenant_tokens import refresh_lock_name
from local_stack import runner as runner_module
from local_stack.runner import LocalRunner
from tests.conftest import LOCAL_API_KEY, Scene
from tests.connect_service import service
from tests.disconnect_checks import REVOKE, alive_at_fortnox, held_refresh_token, revokes, with_seconds_left
from tests.exporting import connect_as_a_person
from tests.keepalive_due import due, make_due

pytestmark = pytest.mark.integration
__all__ = ["due", "service"]  # the fixtures, imported so pytest finds them


def _management(gateway: Any) -> httpx.Client:
    return httpx.Client(base_url=gateway.url, headers={"x-api-key": LOCAL_API_KEY}, timeout=60)


def test_a_disconnect_whose_revoke_answer_is_lost_leaves_no_dead_grant_shown_as_connected(
    gateway: Any, runner: LocalRunner, scene: Scene, unique: str, table: Any, due: list[str], events_tap: Any
) -> None:
    # Given a connected tenant the keep-alive will refresh tonight
    connection = connect_as_a_person(gateway, scene, unique, "Tappat Svar AB")
    make_due(table, due, connection.tenant_id)
    refresh_token = held_refresh_token(unique)
    events_tap.received()

    # When the SaaS backend disconnects it and Fortnox revokes the token but its answer is lost on the way back
    scene.control.fault("drop_after_commit", method="POST", path_prefix=REVOKE)
    answer = _management(gateway).delete(f"/tenants/{unique}/connection")
    shown = _management(gateway).get(f"/tenants/{unique}").json()["state"]
    # and the keep-alive runs before the backend sends the disconnect again
    report = runner.run_scheduled(runner.function("ConnectKeepAlive"))

    # Then a tenant still shown connected holds a live grant, or the disconnect did not say it changed nothing
    said_nothing_changed = answer.status_code == 503 and answer.json()["error"] == "try_again"
    assert not (said_nothing_changed and shown == "connected" and not alive_at_fortnox(scene, refresh_token))
    # And a connection ended on request is not counted lost, nor is upstream told to reconnect it
    assert connection.tenant_id not in report["lost"]
    told = [(event.detail_type, event.detail["tenant_id"]) for event in events_tap.received()]
    assert ("connection.needs_reconnect", connection.tenant_id) not in told


@pytest.mark.parametrize(
    ("fault", "revoked", "tenant_action"),
    [
        # Fortnox no longer honours the token (used, expired or revoked there): nothing is left to revoke.
        ("invalid_grant", True, None),
        # Fortnox never answered the revoke, asked twice (it never got the requests): the grant may live on there.
        ("timeout", False, "Fortnox did not confirm that it revoked the access"),
    ],
    ids=["grant-already-dead", "never-answered"],
)
def test_a_disconnect_fortnox_cannot_confirm_ends_the_connection_here_and_says_what_fortnox_knows(
    gateway: Any, scene: Scene, unique: str, events_tap: Any, fault: str, revoked: bool, tenant_action: str | None
) -> None:
    # Given a connected tenant, and Fortnox's revoke endpoint refusing its token or giving no answer
    connect_as_a_person(gateway, scene, unique, "Inget Besked AB")
    events_tap.received()
    scene.control.fault(fault, count=2 if fault == "timeout" else 1, method="POST", path_prefix=REVOKE, delay_seconds=0)

    # When the SaaS backend disconnects it
    answer = _management(gateway).delete(f"/tenants/{unique}/connection")

    # Then the connection is ended here and its tokens forgotten, and the answer and the event say whether Fortnox
    # is known to have ended the grant, and if not, how to end it there
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["state"] == "revoked" and body["revoked_at_fortnox"] is revoked
    assert (body["tenant_action"] or {}).get("en", "").startswith(tenant_action or "")
    assert (body["tenant_action"] is None) is (tenant_action is None)
    assert wiring.secrets_store().read(unique) is None  # type: ignore[arg-type]
    told = [(event.detail_type, event.detail["revoked_at_fortnox"]) for event in events_tap.received()]
    assert told == [("connection.revoked", revoked)]


@pytest.mark.parametrize("cause", ["refresh_lease_held", "client_refused_at_revoke", "invocation_nearly_spent"])
def test_a_disconnect_that_cannot_go_on_answers_try_again_and_changes_nothing(
    gateway: Any, scene: Scene, unique: str, table: Any, events_tap: Any, cause: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a connected tenant with an unused link made to replace its connection
    connection = connect_as_a_person(gateway, scene, unique, "Vänta Lite AB")
    management = _management(gateway)
    replacing = management.post(f"/tenants/{unique}/connect-links", json={"replace_connection": True}).json()["url"]
    held = wiring.secrets_store().read(connection.tenant_id)
    events_tap.received()
    # And either a refresh elsewhere holding the tenant's refresh lease past the disconnect's wait, Fortnox refusing
    # the bridge's client (a client secret rotated at Fortnox and not yet here), or the management function's
    # invocation with less time left than one revoke at its longest and the steps after it (it waited for locks)
    lease, holder = refresh_lock_name(connection.tenant_id), "refresh-in-another-worker"
    revokes_before = revokes(scene)
    if cause == "refresh_lease_held":
        assert LockStore(table).acquire(lease, owner=holder, lease_seconds=120)
    elif cause == "client_refused_at_revoke":
        scene.control.fault("invalid_client", count=5, path_prefix=REVOKE)
    else:
        monkeypatch.setattr(runner_module, "LambdaContext", with_seconds_left(AFTER_REVOKE_SECONDS + 12))

    # When the SaaS backend disconnects the tenant
    answer = management.delete(f"/tenants/{unique}/connection")

    # Then it is asked to try again, and nothing changed: still connected to the same company with the same tokens,
    # the grant alive at Fortnox, the company held, the replacing link working, upstream told nothing
    assert (answer.status_code, answer.json()["error"]) == (503, "try_again")
    assert management.get(f"/tenants/{unique}").json()["state"] == "connected"
    assert wiring.secrets_store().read(connection.tenant_id) == held
    assert held is not None and held.refresh_token is not None
    assert ConnectionStore(table).bound_tenant(FortnoxTenantId(connection.fortnox_tenant_id)) == unique
    assert httpx.get(replacing, timeout=30).status_code == 200
    assert [event.detail_type for event in events_tap.received()] == []
    # And the refresh lease is as the refresh left it: the disconnect took nothing it did not give back
    if cause == "refresh_lease_held":
        assert not LockStore(table).acquire(lease, owner="someone-else", lease_seconds=1)
        LockStore(table).release(lease, owner=holder)
    elif cause == "client_refused_at_revoke":
        scene.control.clear_faults()
    else:
        assert revokes(scene) == revokes_before  # Fortnox was never asked
        monkeypatch.undo()

    # When the cause is gone and the backend sends the disconnect again, it is whole
    again = management.delete(f"/tenants/{unique}/connection")
    assert again.status_code == 200 and again.json()["state"] == "revoked"
    assert not alive_at_fortnox(scene, held.refresh_token.get_secret_value())


def test_a_disconnect_sent_many_times_at_once_ends_the_connection_once(
    gateway: Any, scene: Scene, unique: str, table: Any, events_tap: Any, service: ConnectService
) -> None:
    # Given a connected tenant
    connection = connect_as_a_person(gateway, scene, unique, "Många Gånger AB")
    refresh_token = held_refresh_token(unique)
    events_tap.received()
    start = threading.Barrier(4, timeout=60)
    answers: list[Disconnected | BaseException] = []

    def disconnect() -> None:
        start.wait()
        try:
            answers.append(service.disconnect(connection.tenant_id))
        except BaseException as failure:  # collected for the test's thread
            answers.append(failure)

    # When a careless backend sends the disconnect four times at once
    threads = [threading.Thread(target=disconnect, name=f"disconnect-{n}") for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(90)

    # Then one of them ended the connection and the others found it ended
    ended = [answer for answer in answers if isinstance(answer, Disconnected)]
    refused = [answer for answer in answers if isinstance(answer, NotConnected)]
    assert (len(ended), len(refused)) == (1, 3), answers
    assert ended[0].state == "revoked" and ended[0].revoked_at_fortnox
    # And it is whole, and upstream heard it once
    assert wiring.secrets_store().read(connection.tenant_id) is None
    assert not alive_at_fortnox(scene, refresh_token)
    assert ConnectionStore(table).bound_tenant(FortnoxTenantId(connection.fortnox_tenant_id)) is None
    told = [event.detail_type for event in events_tap.received() if event.detail["tenant_id"] == unique]
    assert told == ["connection.revoked"]


def test_a_disconnect_of_a_tenant_that_never_connected_changes_nothing_and_holds_nothing(
    gateway: Any, scene: Scene, unique: str, events_tap: Any
) -> None:
    # Given a tenant that was created and never connected
    management = _management(gateway)
    assert management.put(f"/tenants/{unique}", json={"display_name": "Aldrig Ansluten"}).status_code == 201
    events_tap.received()

    # When a careless backend disconnects it, twice
    answers = [management.delete(f"/tenants/{unique}/connection") for _ in range(2)]

    # Then it hears that there is nothing to disconnect, and nothing happened
    assert [(answer.status_code, answer.json()["error"]) for answer in answers] == [(409, "not_connected")] * 2
    assert management.get(f"/tenants/{unique}").json()["state"] == "not_connected"
    assert [event.detail_type for event in events_tap.received()] == []
    # And it left no lease behind: the tenant connects at once
    assert connect_as_a_person(gateway, scene, unique, "Aldrig Ansluten").tenant_id == unique
