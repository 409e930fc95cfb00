"""Session 11's attack on the disconnect whose revoke Fortnox answers in doubt (commit b1f4e92: a 5xx is in doubt like
a lost answer, and the disconnect answers within its invocation): every pair of first and second answers, a resend
after each, a refresh racing it, what the tenant's status and status page say afterwards. Through the management API
over the local gateway, the connect service as the management function builds it, the sandbox and moto."""

import html
import re
from typing import Any

import httpx
import pytest

from fortnox_bridge import wiring
from fortnox_bridge.connect.endings import UNCONFIRMED_REASON
from fortnox_bridge.connect.service import ConnectService, Disconnected, NotConnected
from fortnox_bridge.fortnox.oauth import TokenEndpoint
from fortnox_bridge.ids import FortnoxTenantId, TenantId
from fortnox_bridge.store.connections import ConnectionStore
from local_stack.connect_walk import walk
from tests.conftest import LOCAL_API_KEY, Scene
from tests.connect_service import service
from tests.disconnect_checks import (
    REVOKE,
    alive_at_fortnox,
    connected_event_refused_once,
    held_refresh_token,
    revokes,
    secrets_down_once,
)
from tests.exporting import connect_as_a_person
from tests.outside_invocation import run_outside_invocation

pytestmark = pytest.mark.integration
__all__ = ["service"]  # the fixture, imported so pytest finds it


def _management(gateway: Any) -> httpx.Client:
    return httpx.Client(base_url=gateway.url, headers={"x-api-key": LOCAL_API_KEY}, timeout=60)


def _fault(scene: Scene, kind: str) -> None:
    scene.control.fault(kind, count=1, method="POST", path_prefix=REVOKE, delay_seconds=0)


@pytest.mark.parametrize(
    "first",
    [
        "500",  # Fortnox failed before it revoked
        "500_after_commit",  # Fortnox revoked, then answered 500
        "drop_after_commit",  # Fortnox revoked, and the answer was lost
    ],
)
@pytest.mark.parametrize(
    ("second", "confirmed"),
    [
        (None, True),  # answered
        ("invalid_grant", True),  # the token is dead at Fortnox
        ("500_after_commit", False),
        ("drop_after_commit", False),
        ("429", False),
        ("invalid_client", False),
    ],
)
def test_every_second_answer_after_a_first_in_doubt_ends_the_connection_once_and_a_resend_changes_nothing(
    scene: Scene,
    unique: str,
    gateway: Any,
    events_tap: Any,
    service: ConnectService,
    monkeypatch: pytest.MonkeyPatch,
    first: str,
    second: str | None,
    confirmed: bool,
) -> None:
    # Given a connected tenant, and Fortnox answering its revoke in doubt, then ``second`` (set once the first has
    # been answered: the sandbox's refusals would otherwise be spent on the first request)
    connection = connect_as_a_person(gateway, scene, unique, "Två Svar AB")
    refresh_token = held_refresh_token(unique)
    events_tap.received()
    before = revokes(scene)
    _fault(scene, first)
    revoke = service._endpoint.revoke
    asked: list[str] = []

    def then_second(token: str, *, within: float) -> None:
        asked.append(token)
        try:
            revoke(token, within=within)
        finally:
            if len(asked) == 1 and second is not None:
                _fault(scene, second)

    monkeypatch.setattr(service._endpoint, "revoke", then_second)

    # When the SaaS backend disconnects it
    try:
        answer = service.disconnect(connection.tenant_id)
    finally:
        scene.control.clear_faults()

    # Then Fortnox was asked twice, the connection is ended here whatever the answers, and the answer claims a dead
    # grant only when Fortnox confirmed it; otherwise the tenant is told how to end it in Fortnox
    assert revokes(scene) - before == 2
    assert (answer.state, answer.revoked_at_fortnox) == ("revoked", confirmed)
    assert (answer.tenant_action is None) is confirmed
    if second is None:
        assert not alive_at_fortnox(scene, refresh_token)  # (the sandbox's invalid_grant is a refusal, no revoke)
    assert wiring.secrets_store().read(connection.tenant_id) is None
    assert ConnectionStore(wiring.table()).bound_tenant(FortnoxTenantId(connection.fortnox_tenant_id)) is None
    told = [(event.detail_type, event.detail["revoked_at_fortnox"]) for event in events_tap.received()]
    assert told == [("connection.revoked", confirmed)]
    # And the tenant's status keeps whether Fortnox confirmed, for a backend that lost the answer
    shown = _management(gateway).get(f"/tenants/{unique}").json()
    assert shown["state"] == "revoked"
    assert (shown["reason"] == UNCONFIRMED_REASON) is not confirmed

    # When the backend sends the disconnect again, it hears that nothing is connected, Fortnox is not asked, and
    # upstream is not told again
    with pytest.raises(NotConnected):
        service.disconnect(connection.tenant_id)
    assert revokes(scene) - before == 2
    assert events_tap.received() == []


CONNECTION = re.compile(r'<p id="connection"[^>]*>(.*?)</p>', re.S)


def test_the_status_page_after_an_unconfirmed_disconnect_tells_the_bookkeeper_in_swedish_what_to_do_in_fortnox(
    gateway: Any, scene: Scene, unique: str
) -> None:
    # Given a connected tenant with a status link, and Fortnox answering its revoke 500 twice (the first after it
    # revoked, so stopping would show a dead grant as connected)
    connect_as_a_person(gateway, scene, unique, "Statussida AB")
    management = _management(gateway)
    link = management.post(f"/tenants/{unique}/status-links", json={}).json()["url"]
    _fault(scene, "500_after_commit")
    _fault(scene, "500")

    # When the SaaS backend disconnects it
    answer = management.delete(f"/tenants/{unique}/connection").json()
    assert answer["revoked_at_fortnox"] is False and answer["tenant_action"] is not None

    # Then the bookkeeper's page (Swedish) says the connection ended and what they may still do in Fortnox, in
    # Swedish, and not the bridge's internal English reason
    page = httpx.get(link, timeout=30).text
    found = CONNECTION.search(page)
    assert found is not None, page[:500]
    section = html.unescape(found.group(1))
    assert "inte längre anslutet" in section
    assert UNCONFIRMED_REASON not in section
    assert answer["tenant_action"]["sv"] in section


@pytest.mark.parametrize("fortnox_now", [("500", "500"), ("429",)], ids=["server-errors", "rate-limited"])
def test_a_resend_after_a_confirmed_revoke_that_stopped_half_way_finishes_without_unsaying_fortnox(
    gateway: Any,
    scene: Scene,
    unique: str,
    events_tap: Any,
    monkeypatch: pytest.MonkeyPatch,
    fortnox_now: tuple[str, ...],
) -> None:
    # Given a connected tenant whose disconnect Fortnox confirmed, and Secrets Manager failing once as it forgets the
    # tokens: the tenant is marked revoked (confirmed), the disconnect answers 5xx, and upstream has heard nothing
    connect_as_a_person(gateway, scene, unique, "Bekräftad Först AB")
    refresh_token = held_refresh_token(unique)
    events_tap.received()
    secrets_down_once(monkeypatch)
    management = _management(gateway)
    assert management.delete(f"/tenants/{unique}/connection").status_code >= 500
    shown = management.get(f"/tenants/{unique}").json()
    assert (shown["state"], shown["reason"]) == ("revoked", "disconnected on request")
    assert not alive_at_fortnox(scene, refresh_token)
    # And Fortnox's revoke endpoint having a bad day of its own when the backend sends the disconnect again
    for kind in fortnox_now:
        _fault(scene, kind)

    # When the SaaS backend sends the disconnect again, as the 5xx told it to
    try:
        again = management.delete(f"/tenants/{unique}/connection")
    finally:
        scene.control.clear_faults()

    # Then it finishes, and neither the answer nor upstream unsays what Fortnox confirmed: the tenant has nothing to
    # do in Fortnox
    assert again.status_code == 200, again.text
    body = again.json()
    assert (body["state"], body["revoked_at_fortnox"], body["tenant_action"]) == ("revoked", True, None)
    assert wiring.secrets_store().read(unique) is None  # type: ignore[arg-type]
    told = [(event.detail_type, event.detail["revoked_at_fortnox"]) for event in events_tap.received()]
    assert told == [("connection.revoked", True)]


def test_a_disconnect_landing_while_a_replacing_connect_gives_back_the_old_grant_is_the_last_word_upstream(
    gateway: Any,
    scene: Scene,
    unique: str,
    events_tap: Any,
    service: ConnectService,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a connected tenant whose person reconnects it to another company through a replacing link
    connect_as_a_person(gateway, scene, unique, "Gamla Bolaget AB")
    old_token = held_refresh_token(unique)
    elsewhere = scene.new_company("Nya Bolaget AB")
    management = _management(gateway)
    replacing = management.post(f"/tenants/{unique}/connect-links", json={"replace_connection": True}).json()["url"]
    events_tap.received()
    # And the SaaS backend disconnecting the tenant just as the callback, its new connection written, gives the old
    # grant back to Fortnox
    revoke = TokenEndpoint.revoke
    disconnected: list[Disconnected] = []

    def disconnect_first(endpoint: TokenEndpoint, token: str, **kwargs: Any) -> None:
        if token == old_token and not disconnected:
            run_outside_invocation(lambda: disconnected.append(service.disconnect(TenantId(unique))))
        revoke(endpoint, token, **kwargs)

    monkeypatch.setattr(TokenEndpoint, "revoke", disconnect_first)

    # When the person completes the replacing connect
    walked = walk(replacing, elsewhere)

    # Then the disconnect ended the new connection
    assert len(disconnected) == 1 and disconnected[0].state == "revoked", walked.page[:300]
    assert management.get(f"/tenants/{unique}").json()["state"] == "revoked"
    # And upstream's last word on the tenant is that it was disconnected, not that it is connected
    told = [e.detail_type for e in events_tap.received() if e.detail.get("tenant_id") == unique]
    assert told and told[-1] == "connection.revoked", told


def test_a_resend_after_an_unconfirmed_revoke_that_stopped_half_way_revokes_with_the_token_it_still_holds(
    gateway: Any,
    scene: Scene,
    unique: str,
    events_tap: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a connected tenant whose disconnect got no answer from Fortnox twice (the requests never reached it), and
    # Secrets Manager failing once as it forgets the tokens: marked revoked, unconfirmed, the token still held here
    connect_as_a_person(gateway, scene, unique, "Obekräftad Halvvägs AB")
    refresh_token = held_refresh_token(unique)
    events_tap.received()
    scene.control.fault("timeout", count=2, method="POST", path_prefix=REVOKE, delay_seconds=0)
    secrets_down_once(monkeypatch)
    management = _management(gateway)
    assert management.delete(f"/tenants/{unique}/connection").status_code >= 500
    shown = management.get(f"/tenants/{unique}").json()
    assert (shown["state"], shown["reason"]) == ("revoked", UNCONFIRMED_REASON)

    # When the SaaS backend sends the disconnect again, Fortnox answering as usual
    again = management.delete(f"/tenants/{unique}/connection")

    # Then the token it still held is revoked, and the answer and upstream say so: nothing is left to do in Fortnox
    assert again.status_code == 200, again.text
    assert not alive_at_fortnox(scene, refresh_token)
    body = again.json()
    assert (body["state"], body["revoked_at_fortnox"], body["tenant_action"]) == ("revoked", True, None)
    told = [(event.detail_type, event.detail["revoked_at_fortnox"]) for event in events_tap.received()]
    assert told == [("connection.revoked", True)]


def test_a_replacing_connect_whose_connected_event_fails_still_gives_the_replaced_grant_back(
    gateway: Any, scene: Scene, unique: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a connected tenant whose person reconnects it to another company through a replacing link
    connect_as_a_person(gateway, scene, unique, "Utbytt Bolag AB")
    old_token = held_refresh_token(unique)
    elsewhere = scene.new_company("Ersättande Bolag AB")
    management = _management(gateway)
    replacing = management.post(f"/tenants/{unique}/connect-links", json={"replace_connection": True}).json()["url"]
    # And the event bus refusing the callback's connection.connected once (a bad day at AWS)
    refused = connected_event_refused_once(monkeypatch)

    # When the person completes the replacing connect
    walk(replacing, elsewhere)

    # Then whatever the page said, the new connection stands and the grant it replaced is dead at Fortnox: nobody
    # holds it any more
    assert refused
    shown = management.get(f"/tenants/{unique}").json()
    assert (shown["state"], shown["company_name"]) == ("connected", "Ersättande Bolag AB")
    assert not alive_at_fortnox(scene, old_token)
