"""Session 11b's attack on today's connect changes (f7cc78a, fe773d4): what a reloaded callback answers after each
way its first arrival went, what the callback page says when telling upstream fails after the connection was
written, and how the status page tells each ended connection what is left to do in Fortnox. Through the hosted
connect function and the management API over the local gateway, the sandbox and moto."""

import html
from typing import Any

import httpx
import pytest
from botocore.exceptions import ClientError

from fortnox_bridge.fortnox.retry import RetryPolicy
from fortnox_bridge.ids import TenantId
from fortnox_bridge.store.links import ConsentStates
from local_stack.connect_walk import walk
from local_stack.onboarding import connect_service_account
from tests.conftest import LOCAL_API_KEY, Scene
from tests.disconnect_checks import REVOKE, connected_event_refused_once, secrets_down_once
from tests.exporting import connect_as_a_person

pytestmark = pytest.mark.integration

TOKEN = "/oauth-v1/token"


@pytest.fixture(autouse=True)
def _no_waits(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(RetryPolicy, "backoff", lambda self, attempt: 0.0)


def _management(gateway: Any) -> httpx.Client:
    return httpx.Client(base_url=gateway.url, headers={"x-api-key": LOCAL_API_KEY}, timeout=60)


def _tenant_with_link(gateway: Any, unique: str, name: str) -> str:
    management = _management(gateway)
    assert management.put(f"/tenants/{unique}", json={"display_name": name}).status_code == 201
    return str(management.post(f"/tenants/{unique}/connect-links", json={}).json()["url"])


def _kind(page: str) -> str | None:
    start = page.find('data-kind="')
    return None if start < 0 else page[start + len('data-kind="') :].split('"', 1)[0]


def _spent_states(table: Any) -> dict[str, dict[str, Any]]:
    """The consent states that came back so far, by key."""
    items = table.scan(
        FilterExpression="begins_with(PK, :p)", ExpressionAttributeValues={":p": "CONSENTSTATE#"}, ConsistentRead=True
    )["Items"]
    return {item["PK"]: item for item in items}


# --- the callback page when upstream cannot be told ----------------------------------------------------------------


def test_a_connect_whose_connected_event_fails_after_the_write_does_not_tell_the_person_nothing_changed(
    gateway: Any, scene: Scene, unique: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a tenant's connect link, and the event bus refusing connection.connected once (a bad day at AWS)
    company = scene.new_company("Tyst Buss AB")
    link = _tenant_with_link(gateway, unique, "Tyst Buss AB")
    refused = connected_event_refused_once(monkeypatch)

    # When the person approves in Fortnox and lands on the callback
    walked = walk(link, company)

    # Then the tenant is connected (the write went through)
    assert refused
    assert _management(gateway).get(f"/tenants/{unique}").json()["state"] == "connected"
    # And the page does not say that nothing was changed and to open the (now used) link again
    assert "Inget har ändrats" not in walked.page, (walked.status, _kind(walked.page))
    assert walked.status == 200


# --- reloads ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("failure", "first_kind"),
    [
        ("fortnox_500", "fortnox"),  # Fortnox refused the code exchange outright
        ("company_taken", "company_taken"),  # the company is another tenant's
        ("note_lost", "fortnox"),  # the arrival failed and its note did not reach the table (a crash before it)
    ],
)
def test_a_reload_after_a_failed_first_arrival_never_says_done_and_the_link_still_connects(
    gateway: Any, scene: Scene, unique: str, table: Any, monkeypatch: pytest.MonkeyPatch, failure: str, first_kind: str
) -> None:
    company = scene.new_company("Omladdning AB")
    if failure == "company_taken":
        company = connect_as_a_person(gateway, scene, f"{unique}-h", "Delat Bolag AB").fortnox_tenant_id
    link = _tenant_with_link(gateway, unique, "Omladdning AB")
    if failure == "fortnox_500":
        scene.control.fault("500", method="POST", path_prefix=TOKEN, count=10)
    if failure == "note_lost":

        def note_lost(states: ConsentStates, nonce: str) -> None:
            raise ClientError({"Error": {"Code": "InternalServerError", "Message": "lost"}}, "UpdateItem")

        monkeypatch.setattr(ConsentStates, "failed", note_lost)
        # a failure before the write: the company read is refused after the exchange
        scene.control.fault("500", method="GET", path_prefix="/3/companyinformation", count=10)

    before = _spent_states(table)
    first = walk(link, company)
    scene.control.clear_faults()
    assert _kind(first.page) == first_kind, (first.status, first.page[:400])
    assert first.callback_url is not None

    # When the person reloads at once
    reloaded = httpx.get(first.callback_url, timeout=30)
    expected_now = "in_progress" if failure == "note_lost" else "approval_used"
    assert _kind(reloaded.text) == expected_now, reloaded.text[:400]

    # And once the first arrival's time is surely up (its spent state aged past the hosted function's 30 s)
    [key] = set(_spent_states(table)) - set(before)
    table.update_item(
        Key={"PK": key, "SK": "STATE"},
        UpdateExpression="SET used_at = used_at - :age",
        ExpressionAttributeValues={":age": 31},
    )
    later = httpx.get(first.callback_url, timeout=30)
    assert _kind(later.text) == "approval_used", later.text[:400]

    # And the link still connects (the company's holder aside)
    if failure != "company_taken":
        assert walk(link, company).status == 200
        assert _management(gateway).get(f"/tenants/{unique}").json()["state"] == "connected"


@pytest.mark.parametrize("first_went", ["connected", "failed"])
def test_a_state_spent_before_used_at_was_kept_answers_by_its_link(
    gateway: Any, scene: Scene, unique: str, table: Any, first_went: str
) -> None:
    # Given a consent state spent by a bridge from before 'used_at' and 'failed' were written
    company = scene.new_company("Gammalt Tillstånd AB")
    link = _tenant_with_link(gateway, unique, "Gammalt Tillstånd AB")
    if first_went == "failed":
        scene.control.fault("500", method="POST", path_prefix=TOKEN, count=10)
    before = _spent_states(table)
    first = walk(link, company)
    scene.control.clear_faults()
    [key] = set(_spent_states(table)) - set(before)
    table.update_item(Key={"PK": key, "SK": "STATE"}, UpdateExpression="REMOVE used_at, failed")
    assert first.callback_url is not None

    # When it comes back
    reloaded = httpx.get(first.callback_url, timeout=30)

    # Then a connected link says done, a failed one says to open the link again (never "in progress")
    assert _kind(reloaded.text) == ("replayed" if first_went == "connected" else "approval_used"), reloaded.text[:300]


def test_a_reloaded_cancellation_is_not_told_an_approval_was_used(gateway: Any, scene: Scene, unique: str) -> None:
    company = scene.new_company("Avbrutet AB")
    link = _tenant_with_link(gateway, unique, "Avbrutet AB")
    cancelled = walk(link, company, decision="deny")
    assert _kind(cancelled.page) == "denied" and cancelled.callback_url is not None

    reloaded = httpx.get(cancelled.callback_url, timeout=30)

    assert _kind(reloaded.text) != "approval_used", reloaded.text[:400]
    assert "godkännandet" not in reloaded.text.lower() and "approval" not in reloaded.text.lower()


# --- the status page's endings ---------------------------------------------------------------------------------------


def _status_page(gateway: Any, tenant: str) -> str:
    management = _management(gateway)
    answer = management.post(f"/tenants/{tenant}/status-links", json={})
    assert answer.status_code == 201, answer.text
    page = httpx.get(answer.json()["url"], timeout=60)
    assert page.status_code == 200, page.text[:300]
    return html.unescape(page.text)


@pytest.mark.parametrize("account", ["person", "service_account"])
def test_the_status_page_says_in_swedish_what_an_ended_connection_leaves_to_do_in_fortnox(
    gateway: Any, scene: Scene, unique: str, table: Any, account: str
) -> None:
    # Given a tenant connected by a person (Fortnox confirms the revoke) or with a service account (nothing to revoke)
    if account == "person":
        connect_as_a_person(gateway, scene, unique, "Avslutat AB")
    else:
        company = scene.new_company("Avslutat Servicekonto AB")
        connect_service_account(
            table, scene.control, scene.app, tenant_id=TenantId(unique), fortnox_tenant_id=company, display_name="SK"
        )
    # When the SaaS backend disconnects it
    answer = _management(gateway).delete(f"/tenants/{unique}/connection")
    assert answer.status_code == 200, answer.text

    # Then the bookkeeper's page says in Swedish how the ending stands at Fortnox, as the disconnect's answer did
    page = _status_page(gateway, unique)
    if account == "person":
        assert 'data-ending="revoked"' in page
        assert "Fortnox har återkallat behörigheten. Inget mer behöver göras i Fortnox." in page
        assert answer.json()["tenant_action"] is None
    else:
        assert 'data-ending="disconnected"' in page
        assert answer.json()["tenant_action"]["sv"] in page
        assert "Inställningar > Integrationer" in page
    assert "disconnected on request" not in page  # the internal English reason stays off the Swedish page


def test_a_resend_that_confirms_an_unconfirmed_revoke_changes_the_status_page_to_nothing_left_to_do(
    gateway: Any, scene: Scene, unique: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a person's connection whose disconnect Fortnox revoked but answered 500 twice (unconfirmed), and Secrets
    # Manager failing once as the tokens are forgotten: the disconnect stopped after its mark, holding the token
    connect_as_a_person(gateway, scene, unique, "Uppgraderad AB")
    secrets_down_once(monkeypatch)
    for kind in ("500_after_commit", "500"):
        scene.control.fault(kind, count=1, method="POST", path_prefix=REVOKE, delay_seconds=0)
    management = _management(gateway)
    assert management.delete(f"/tenants/{unique}/connection").status_code >= 500
    assert "bekräftade inte" in _status_page(gateway, unique)

    # When the SaaS backend sends the disconnect again and Fortnox answers (the token is dead there: invalid_grant)
    again = management.delete(f"/tenants/{unique}/connection")

    # Then the answer and the bookkeeper's page agree that nothing is left to do in Fortnox
    assert again.status_code == 200, again.text
    assert (again.json()["revoked_at_fortnox"], again.json()["tenant_action"]) == (True, None)
    page = _status_page(gateway, unique)
    assert "Inget mer behöver göras i Fortnox." in page
    assert "bekräftade inte" not in page
