"""A disconnect meets the keep-alive, and a disconnect stops half-way, through the real connect service and keep-alive
function against moto and the sandbox.

The interleavings are forced by wrappers on the stores and the token endpoint, not by sleeps: the keep-alive lists
the tenant, then refreshes it right after a chosen step of the disconnect, in a thread of its own; or the disconnect
starts, in its own thread, right after Fortnox answered the keep-alive's refresh. The side that started first goes
on once the other has finished or stands waiting for the tenant's refresh lease (seen on the lock store), so each
interleaving happens the same way every time."""

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from botocore.exceptions import ClientError

from fortnox_bridge import wiring
from fortnox_bridge.connect.service import ConnectService, Disconnected
from fortnox_bridge.events import EventBridgePublisher, PublishedEvent
from fortnox_bridge.fortnox.oauth import TokenEndpoint
from fortnox_bridge.ids import FortnoxTenantId, TenantId
from fortnox_bridge.store.connections import Connection, ConnectionState, ConnectionStore
from fortnox_bridge.store.links import LinkStore
from fortnox_bridge.store.locks import LockStore
from fortnox_bridge.tokens.secret_store import SecretTokenStore, StoredTokens
from fortnox_bridge.tokens.tenant_tokens import refresh_lock_name
from local_stack.runner import LocalRunner
from tests.conftest import LOCAL_API_KEY, Scene
from tests.exporting import connect_as_a_person
from tests.keepalive_due import due, last_refreshed

pytestmark = pytest.mark.integration
__all__ = ["due"]  # the fixture, imported so pytest finds it

WAIT_SECONDS = 60.0
"""Only a bound on a hang: each step below waits for an event the code under test causes."""


@pytest.fixture
def service(runner: LocalRunner, monkeypatch: pytest.MonkeyPatch) -> ConnectService:
    """The connect service the management API's disconnect runs, built with the hosted function's settings."""
    for name, value in runner.environment(runner.function("ConnectHosted")).items():
        monkeypatch.setenv(name, value)
    wiring.reset()
    return wiring.connect_service()


class KeepAliveAlongside:
    """The daily keep-alive in its own thread: it lists the due connections before the disconnect begins, and
    refreshes them when a step of the disconnect lets it."""

    def __init__(self, runner: LocalRunner, tenant: TenantId, monkeypatch: pytest.MonkeyPatch) -> None:
        self._runner = runner
        self._listed = threading.Event()
        self._go = threading.Event()
        self._finished = threading.Event()
        self._waiting = threading.Event()
        self._thread = threading.Thread(target=self._run, name="keep-alive", daemon=True)
        self._report: dict[str, Any] | None = None
        self._failure: BaseException | None = None
        listed, acquire = ConnectionStore.due_for_refresh, LockStore.acquire
        lease = refresh_lock_name(tenant)

        def list_then_hold(store: ConnectionStore, refreshed_before: datetime) -> list[Connection]:
            due = listed(store, refreshed_before)
            if threading.current_thread() is self._thread:
                self._listed.set()
                assert self._go.wait(WAIT_SECONDS), "no step of the disconnect let the keep-alive go on"
            return due

        def seen_waiting(store: LockStore, name: str, *, owner: str, lease_seconds: float) -> bool:
            taken = acquire(store, name, owner=owner, lease_seconds=lease_seconds)
            if not taken and name == lease and threading.current_thread() is self._thread:
                self._waiting.set()
            return taken

        monkeypatch.setattr(ConnectionStore, "due_for_refresh", list_then_hold)
        monkeypatch.setattr(LockStore, "acquire", seen_waiting)

    def _run(self) -> None:
        try:
            self._report = self._runner.run_scheduled(self._runner.function("ConnectKeepAlive"))
        except BaseException as failure:  # handed to the test's thread by ``report``
            self._failure = failure
        finally:
            self._finished.set()

    def list_due(self) -> None:
        self._thread.start()
        assert self._listed.wait(WAIT_SECONDS) or self._finished.is_set(), "the keep-alive listed nothing"

    def refresh_now(self) -> None:
        """Let the run go on; come back when it is over or waits for the tenant's refresh lease."""
        self._go.set()
        deadline = time.monotonic() + WAIT_SECONDS
        while not (self._finished.wait(0.01) or self._waiting.is_set()):
            assert time.monotonic() < deadline, "the keep-alive neither finished nor waited for the refresh lease"

    def report(self) -> dict[str, Any]:
        self._thread.join(WAIT_SECONDS)
        assert self._finished.is_set(), "the keep-alive did not finish once the disconnect had"
        if self._failure is not None:
            raise self._failure
        assert self._report is not None
        return self._report


def _after_once(
    target: type,
    name: str,
    then: Callable[[], None],
    monkeypatch: pytest.MonkeyPatch,
    applies: Callable[..., bool] = lambda *_, **__: True,
) -> None:
    """``then`` runs right after the first call of ``target.name`` that this thread makes and ``applies`` to
    returns."""
    original = getattr(target, name)
    caller = threading.current_thread()
    done: list[bool] = []

    def wrapped(*args: Any, **kwargs: Any) -> Any:
        result = original(*args, **kwargs)
        if threading.current_thread() is caller and not done and applies(*args, **kwargs):
            done.append(True)
            then()
        return result

    monkeypatch.setattr(target, name, wrapped)


def _refresh_tokens_written(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every refresh token a refresh stores for any tenant from now on."""
    written: list[str] = []
    replace = SecretTokenStore.replace

    def recorded(store: SecretTokenStore, tenant: TenantId, tokens: StoredTokens, *, read_version: str) -> str | None:
        if tokens.refresh_token is not None:
            written.append(tokens.refresh_token.get_secret_value())
        return replace(store, tenant, tokens, read_version=read_version)

    monkeypatch.setattr(SecretTokenStore, "replace", recorded)
    return written


def _alive_at_fortnox(scene: Scene, refresh_token: str) -> bool:
    answer = scene.control.token(scene.app, {"grant_type": "refresh_token", "refresh_token": refresh_token})
    return answer.status_code == 200


@pytest.mark.parametrize(
    "step",
    [
        "read",  # the disconnect read the refresh token it is about to revoke
        "revoke",  # Fortnox revoked it
        "mark",  # the connection is marked revoked
        "delete",  # the tokens are deleted
    ],
)
def test_a_keep_alive_racing_a_disconnect_passes_the_tenant_over_and_leaves_no_live_token(
    gateway: Any,
    runner: LocalRunner,
    scene: Scene,
    unique: str,
    table: Any,
    due: list[str],
    events_tap: Any,
    service: ConnectService,
    monkeypatch: pytest.MonkeyPatch,
    step: str,
) -> None:
    # Given a connected tenant the keep-alive will refresh, and a note of every refresh token it will ever hold
    connection = connect_as_a_person(gateway, scene, unique, "Avsked AB")
    due.append(connection.tenant_id)
    last_refreshed(table, connection.tenant_id, datetime.now(UTC) - timedelta(days=31))
    first = wiring.secrets_store().read(connection.tenant_id)
    assert first is not None and first.refresh_token is not None
    held = [first.refresh_token.get_secret_value()]
    held_later = _refresh_tokens_written(monkeypatch)
    events_tap.received()
    alongside = KeepAliveAlongside(runner, connection.tenant_id, monkeypatch)
    hooked: dict[str, tuple[type, str]] = {
        "read": (SecretTokenStore, "read"),
        "revoke": (TokenEndpoint, "revoke"),
        "mark": (ConnectionStore, "mark"),
        "delete": (SecretTokenStore, "delete"),
    }
    _after_once(*hooked[step], alongside.refresh_now, monkeypatch)

    # When the keep-alive has listed the tenant as due, the tenant is disconnected, and the keep-alive's refresh
    # lands right after that step of the disconnect
    alongside.list_due()
    disconnected = service.disconnect(connection.tenant_id)
    report = alongside.report()

    # Then the disconnect is whole
    assert disconnected.state == "revoked" and disconnected.revoked_at_fortnox
    assert wiring.secrets_store().read(connection.tenant_id) is None
    # And the keep-alive passed the tenant over: not lost (the Lost alarm says Fortnox refused the tokens and
    # upstream was told), not postponed or failed, not refreshed behind the disconnect's back
    assert connection.tenant_id in report["skipped"]
    assert connection.tenant_id not in report["lost"] + report["postponed"] + report["failed"] + report["refreshed"]
    # And upstream heard only the disconnect, once
    told = [(event.detail_type, event.detail["tenant_id"]) for event in events_tap.received()]
    assert ("connection.needs_reconnect", connection.tenant_id) not in told
    assert told.count(("connection.revoked", connection.tenant_id)) == 1
    # And Fortnox honours no refresh token the tenant ever held
    assert [token for token in held + held_later if _alive_at_fortnox(scene, token)] == []


class DisconnectAlongside:
    """The disconnect, run in its own thread from inside a step of a refresh."""

    def __init__(self, service: ConnectService, tenant: TenantId, monkeypatch: pytest.MonkeyPatch) -> None:
        self._finished = threading.Event()
        self._waiting = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(service, tenant), name="disconnect", daemon=True)
        self._answer: Disconnected | None = None
        self._failure: BaseException | None = None
        acquire = LockStore.acquire
        lease = refresh_lock_name(tenant)

        def seen_waiting(store: LockStore, name: str, *, owner: str, lease_seconds: float) -> bool:
            taken = acquire(store, name, owner=owner, lease_seconds=lease_seconds)
            if not taken and name == lease and threading.current_thread() is self._thread:
                self._waiting.set()
            return taken

        monkeypatch.setattr(LockStore, "acquire", seen_waiting)

    def _run(self, service: ConnectService, tenant: TenantId) -> None:
        try:
            self._answer = service.disconnect(tenant)
        except BaseException as failure:  # handed to the test's thread by ``answer``
            self._failure = failure
        finally:
            self._finished.set()

    def start(self) -> None:
        """Start the disconnect; come back when it is over or waits for the tenant's refresh lease."""
        self._thread.start()
        deadline = time.monotonic() + WAIT_SECONDS
        while not (self._finished.wait(0.01) or self._waiting.is_set()):
            assert time.monotonic() < deadline, "the disconnect neither finished nor waited for the refresh lease"

    def answer(self) -> Disconnected:
        self._thread.join(WAIT_SECONDS)
        assert self._finished.is_set(), "the disconnect did not finish once the refresh had"
        if self._failure is not None:
            raise self._failure
        assert self._answer is not None
        return self._answer


def test_a_disconnect_arriving_during_a_refresh_waits_for_it_and_revokes_what_it_stored(
    gateway: Any,
    runner: LocalRunner,
    scene: Scene,
    unique: str,
    table: Any,
    due: list[str],
    events_tap: Any,
    service: ConnectService,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a connected tenant the keep-alive will refresh, and a note of every refresh token it will ever hold
    connection = connect_as_a_person(gateway, scene, unique, "Mitt i AB")
    due.append(connection.tenant_id)
    last_refreshed(table, connection.tenant_id, datetime.now(UTC) - timedelta(days=31))
    first = wiring.secrets_store().read(connection.tenant_id)
    assert first is not None and first.refresh_token is not None
    held = [first.refresh_token.get_secret_value()]
    held_later = _refresh_tokens_written(monkeypatch)
    events_tap.received()
    alongside = DisconnectAlongside(service, connection.tenant_id, monkeypatch)
    # The disconnect arrives when Fortnox has rotated the tenant's refresh token and before the keep-alive stored the
    # new one
    _after_once(TokenEndpoint, "refresh", alongside.start, monkeypatch, lambda _, token: token == held[0])

    # When the keep-alive runs
    report = runner.run_scheduled(runner.function("ConnectKeepAlive"))
    disconnected = alongside.answer()

    # Then the refresh finished first and says so; it was not postponed as if its tokens had been replaced
    assert connection.tenant_id in report["refreshed"]
    assert connection.tenant_id not in report["lost"] + report["postponed"] + report["failed"]
    # And the disconnect that waited for it is whole, and revoked what the refresh stored
    assert disconnected.state == "revoked" and disconnected.revoked_at_fortnox
    assert wiring.secrets_store().read(connection.tenant_id) is None
    assert len(held_later) == 1
    assert [token for token in held + held_later if _alive_at_fortnox(scene, token)] == []
    told = [(event.detail_type, event.detail["tenant_id"]) for event in events_tap.received()]
    assert ("connection.needs_reconnect", connection.tenant_id) not in told
    assert told.count(("connection.revoked", connection.tenant_id)) == 1


def _fail_once(target: type, name: str, applies: Callable[..., bool], monkeypatch: pytest.MonkeyPatch) -> None:
    """The first call of ``target.name`` that ``applies`` to fails as an AWS service that is down for a moment."""
    original = getattr(target, name)
    failed: list[bool] = []

    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if not failed and applies(*args, **kwargs):
            failed.append(True)
            raise ClientError({"Error": {"Code": "ServiceUnavailable", "Message": "down for a moment"}}, name)
        return original(*args, **kwargs)

    monkeypatch.setattr(target, name, wrapped)


def _is_revoked_event(_: Any, event: PublishedEvent) -> bool:
    return event.detail_type == "connection.revoked"


def _marks_revoked(_: Any, tenant: TenantId, state: ConnectionState, *args: Any, **kwargs: Any) -> bool:
    return state is ConnectionState.REVOKED


def _any(*_: Any, **__: Any) -> bool:
    return True


@pytest.mark.parametrize(
    "step",
    [
        "revoke",  # Fortnox answers 500 to the revoke
        "mark",  # the connection is not marked
        "delete",  # the tokens are not deleted
        "links",  # the tenant's links are not ended
        "publish",  # upstream is not told
        "release",  # the company is not released
    ],
)
def test_a_disconnect_that_stops_half_way_shows_no_live_grant_as_ended_and_finishes_when_sent_again(
    gateway: Any,
    scene: Scene,
    unique: str,
    table: Any,
    events_tap: Any,
    service: ConnectService,
    monkeypatch: pytest.MonkeyPatch,
    step: str,
) -> None:
    # Given a connected tenant with an unused link made to replace its connection
    connection: Connection = connect_as_a_person(gateway, scene, unique, "Halvvägs AB")
    management = httpx.Client(base_url=gateway.url, headers={"x-api-key": LOCAL_API_KEY}, timeout=60)
    replacing = management.post(f"/tenants/{unique}/connect-links", json={"replace_connection": True}).json()["url"]
    stored = wiring.secrets_store().read(connection.tenant_id)
    assert stored is not None and stored.refresh_token is not None
    refresh_token = stored.refresh_token.get_secret_value()
    events_tap.received()
    # And one step of the disconnect failing once
    if step == "revoke":
        scene.control.fault("500", method="POST", path_prefix="/oauth-v1/revoke")
    else:
        failing: dict[str, tuple[type, str, Callable[..., bool]]] = {
            "mark": (ConnectionStore, "mark", _marks_revoked),
            "delete": (SecretTokenStore, "delete", _any),
            "links": (LinkStore, "revoke_all", _any),
            "publish": (EventBridgePublisher, "publish", _is_revoked_event),
            "release": (ConnectionStore, "release", _any),
        }
        _fail_once(*failing[step], monkeypatch)

    # When the SaaS backend disconnects the tenant and the disconnect fails
    failed = management.delete(f"/tenants/{unique}/connection")

    # Then whatever the tenant is shown as, a tenant shown as ended holds no live grant at Fortnox
    assert failed.status_code >= 500
    shown = management.get(f"/tenants/{unique}").json()["state"]
    assert shown in ("connected", "revoked")
    if shown == "revoked":
        assert not _alive_at_fortnox(scene, refresh_token)

    # When the backend sends the disconnect again, it carries on to the end
    again = management.delete(f"/tenants/{unique}/connection")
    assert again.status_code == 200, again.text
    assert again.json()["state"] == "revoked" and again.json()["revoked_at_fortnox"] is True
    assert wiring.secrets_store().read(connection.tenant_id) is None
    assert not _alive_at_fortnox(scene, refresh_token)
    assert ConnectionStore(table).bound_tenant(FortnoxTenantId(connection.fortnox_tenant_id)) is None
    assert httpx.get(replacing, timeout=30).status_code == 410
    told = [event.detail for event in events_tap.received() if event.detail_type == "connection.revoked"]
    # Told once; twice only when the release after the telling failed (events are delivered at least once)
    assert told and all(event["fortnox_tenant_id"] == connection.fortnox_tenant_id for event in told)
    assert len(told) == (2 if step == "release" else 1)
    # And once whole, a third disconnect has nothing left to do
    assert management.delete(f"/tenants/{unique}/connection").status_code == 409
