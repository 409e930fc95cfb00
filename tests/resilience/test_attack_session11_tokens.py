"""Session 11's attack on the token endpoint's ``500_after_commit`` (the sandbox's new fault, commit 364bf65): Fortnox
did the work (rotated a refresh token, exchanged a code, issued a token) and answered 500 in place of it. Through the
scheduled keep-alive, the invoice queue, the payment poll queue, the hosted connect callback and the management API,
with the sandbox and moto."""

import threading
from typing import Any

import httpx
import pytest

from fortnox_bridge.connect.consent_state import StateRefused
from fortnox_bridge.connect.service import ConnectService
from fortnox_bridge.fortnox.oauth import TokenEndpoint
from fortnox_bridge.fortnox.retry import RetryPolicy
from fortnox_bridge.ids import TenantId
from fortnox_bridge.store.mappings import MappingStore
from local_stack.connect_walk import approve, consent_url, walk
from local_stack.event_tap import EventTap
from local_stack.runner import LocalRunner
from tests.conftest import LOCAL_API_KEY, Scene
from tests.connect_service import service
from tests.exporting import Export, connect_as_a_person, export, freight_mapping, person_export
from tests.keepalive_due import due, make_due
from tests.paying import PaymentSync

pytestmark = pytest.mark.integration
__all__ = ["due", "export", "person_export", "service"]  # the fixtures, imported so pytest finds them

TOKEN = "/oauth-v1/token"
AN_HOUR_AND_A_SECOND = 3601
"""Past the access token's life at Fortnox: the next API call is refused and the bridge refreshes."""


@pytest.fixture(autouse=True)
def _no_waits(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(RetryPolicy, "backoff", lambda self, attempt: 0.0)


def _seen(events_tap: Any, kind: str, tenant: str) -> list[dict[str, Any]]:
    """Events of ``kind`` for ``tenant`` published so far (the tap's queue is read once and kept)."""
    if not hasattr(events_tap, "seen"):
        events_tap.seen = []
    events_tap.seen.extend(events_tap.received())
    return [e.detail for e in events_tap.seen if e.detail_type == kind and e.detail.get("tenant_id") == tenant]


def _client_credentials(export: Export) -> int:
    """Client-credentials tokens Fortnox issued (the sandbox logs what it did, whatever answer replaced it)."""
    rows = export.scene.control.requests()
    return sum(row["path"] == TOKEN and row.get("grant_type") == "client_credentials" for row in rows)


def _management(gateway: Any) -> httpx.Client:
    return httpx.Client(base_url=gateway.url, headers={"x-api-key": LOCAL_API_KEY}, timeout=60)


ROTATED_THEN_ANSWER_GONE = [
    "drop_after_commit",  # the answer lost on the way back
    "500_after_commit",  # Fortnox's 500 in place of the answer (taken as passing before 8c17f42)
]


@pytest.mark.parametrize("fault", ROTATED_THEN_ANSWER_GONE)
def test_a_keep_alive_refresh_rotated_and_answered_in_doubt_counts_the_tenant_lost_at_once(
    gateway: Any,
    runner: LocalRunner,
    scene: Scene,
    unique: str,
    table: Any,
    due: list[str],
    events_tap: Any,
    fault: str,
) -> None:
    # Given a connected tenant the keep-alive refreshes tonight
    connection = connect_as_a_person(gateway, scene, unique, "Nattlig Rotation AB")
    make_due(table, due, connection.tenant_id)
    _seen(events_tap, "connection.needs_reconnect", unique)
    # And Fortnox rotating its refresh token and then losing the answer, or answering 500 in its place
    scene.control.fault(fault, method="POST", path_prefix=TOKEN)

    # When the keep-alive runs
    report = runner.run_scheduled(runner.function("ConnectKeepAlive"))

    # Then the tenant is counted lost tonight (the Lost alarm, not "may pass tomorrow"), shown as needing a reconnect
    # for the reason it happened, and upstream is told once
    assert unique in report["lost"] and unique not in report["postponed"], report
    shown = _management(gateway).get(f"/tenants/{unique}").json()
    assert shown["state"] == "needs_reconnect", shown
    assert shown["reason"] == "Fortnox rotated the refresh token but its answer was lost"
    assert len(_seen(events_tap, "connection.needs_reconnect", unique)) == 1


@pytest.mark.parametrize("fault", ROTATED_THEN_ANSWER_GONE)
def test_an_export_whose_refresh_was_rotated_and_answered_in_doubt_tells_the_tenant_on_that_delivery(
    person_export: Export, gateway: Any, events_tap: Any, fault: str
) -> None:
    export = person_export
    _seen(events_tap, "connection.needs_reconnect", export.tenant)
    # Given a tenant a person connected whose access token has expired at Fortnox
    export.scene.control.advance_clock(AN_HOUR_AND_A_SECOND)
    try:
        # And Fortnox rotating the refresh token the export sends, then losing the answer or answering 500
        export.scene.control.fault(fault, method="POST", path_prefix=TOKEN)
        # When one invoice is delivered once
        outcome = export.deliver_once(export.event("7101"))
    finally:
        export.scene.control.clear_faults()
        export.scene.control.advance_clock(-AN_HOUR_AND_A_SECOND)

    # Then that delivery settles it (the connection cannot survive: the new pair is lost): the tenant is shown as
    # needing a reconnect for the reason it happened, upstream hears it once, and the invoice's failure says to
    # reconnect, rather than the message going back to the queue to find the used token refused a delivery later
    assert (outcome.received, outcome.failed) == (1, 0)
    shown = _management(gateway).get(f"/tenants/{export.tenant}").json()
    assert (shown["state"], shown["reason"]) == (
        "needs_reconnect",
        "Fortnox rotated the refresh token but its answer was lost",
    )
    assert len(_seen(events_tap, "connection.needs_reconnect", export.tenant)) == 1
    (failed,) = _seen(events_tap, "invoice.export_failed", export.tenant)
    assert failed["reason_sv"].startswith("Fortnox godtar inte längre integrationens anslutning")
    assert export.invoices() == []


@pytest.fixture
def person_sync(
    runner: LocalRunner, deployed: Any, gateway: Any, scene: Scene, table: Any, events_tap: EventTap, unique: str
) -> PaymentSync:
    """A tenant a person connected (single-use refresh tokens), payment sync on."""
    scene.control.set_rate_limit(1000, 5.0)
    connection = connect_as_a_person(gateway, scene, unique, "Betalande Person AB")
    MappingStore(table).put(TenantId(unique), freight_mapping())
    sync = PaymentSync(runner, deployed, scene, table, events_tap, unique, int(connection.fortnox_tenant_id))
    sync.settings()
    return sync


@pytest.mark.parametrize("fault", ROTATED_THEN_ANSWER_GONE)
def test_a_payment_poll_whose_refresh_was_rotated_and_answered_in_doubt_tells_the_tenant_on_that_poll(
    person_sync: PaymentSync, gateway: Any, fault: str
) -> None:
    sync = person_sync
    _seen(sync.tap, "connection.needs_reconnect", sync.tenant)
    # Given a tenant a person connected whose access token has expired at Fortnox
    sync.scene.control.advance_clock(AN_HOUR_AND_A_SECOND)
    try:
        # And Fortnox rotating the refresh token the poll sends, then losing the answer or answering 500
        sync.scene.control.fault(fault, method="POST", path_prefix=TOKEN)
        # When the tenant's poll is delivered once
        outcome = sync.deliver_once()
    finally:
        sync.scene.control.clear_faults()
        sync.scene.control.advance_clock(-AN_HOUR_AND_A_SECOND)

    # Then that poll settles it: the bookkeeper reads that Fortnox must be connected again, the tenant is shown as
    # needing a reconnect for the reason it happened, and upstream hears it once
    assert outcome is not None and (outcome.received, outcome.failed) == (1, 0)
    status = sync.status()
    assert status is not None and status.last_reason_sv is not None and "Anslut Fortnox igen" in status.last_reason_sv
    shown = _management(gateway).get(f"/tenants/{sync.tenant}").json()
    assert (shown["state"], shown["reason"]) == (
        "needs_reconnect",
        "Fortnox rotated the refresh token but its answer was lost",
    )
    assert len(_seen(sync.tap, "connection.needs_reconnect", sync.tenant)) == 1


def test_a_code_exchange_answered_500_after_commit_asks_the_person_to_try_again_and_never_says_it_is_done(
    gateway: Any, scene: Scene, unique: str, events_tap: Any
) -> None:
    # Given a tenant with a connect link, and Fortnox exchanging the code (a grant made at Fortnox) but answering 500
    company = scene.new_company("Utbytt Kod AB")
    management = _management(gateway)
    assert management.put(f"/tenants/{unique}", json={"display_name": "Utbytt Kod AB"}).status_code == 201
    link = management.post(f"/tenants/{unique}/connect-links", json={}).json()["url"]
    scene.control.fault("500_after_commit", method="POST", path_prefix=TOKEN)

    # When the person approves in Fortnox and lands on the callback
    walked = walk(link, company)

    # Then the page says Fortnox failed and to try again, the tenant is not connected and upstream hears nothing
    assert walked.status == 502 and 'data-kind="fortnox"' in walked.page
    assert management.get(f"/tenants/{unique}").json()["state"] == "not_connected"
    assert _seen(events_tap, "connection.connected", unique) == []
    # And a person who reloads that page (what "try again" invites) is not told the connection was completed
    assert walked.callback_url is not None
    reloaded = httpx.get(walked.callback_url, timeout=30)
    assert reloaded.status_code == 409 and 'data-kind="approval_used"' in reloaded.text, reloaded.text[:400]
    # And opening the link again connects the company
    assert walk(link, company).status == 200
    assert management.get(f"/tenants/{unique}").json()["state"] == "connected"


def test_a_service_account_token_issued_and_answered_500_costs_a_retry_not_the_connection(
    export: Export, gateway: Any, events_tap: Any
) -> None:
    # Given a tenant connected with a service account, and Fortnox issuing its client-credentials token but
    # answering 500 in place of it (nothing is lost: the consent lives on, and a token is asked for again)
    _seen(events_tap, "invoice.exported", export.tenant)
    before = _client_credentials(export)
    export.scene.control.fault("500_after_commit", method="POST", path_prefix=TOKEN)

    # When an invoice is exported
    outcomes = export.send(export.event("7201"))

    # Then the queue's retry carries it: one invoice, exported once, still connected, nothing told about the
    # connection, and the token endpoint was asked again
    assert [(outcome.received, outcome.failed) for outcome in outcomes][-1] == (1, 0)
    assert len(export.invoices()) == 1
    assert len(_seen(events_tap, "invoice.exported", export.tenant)) == 1
    assert _seen(events_tap, "invoice.export_failed", export.tenant) == []
    assert _seen(events_tap, "connection.needs_reconnect", export.tenant) == []
    assert _management(gateway).get(f"/tenants/{export.tenant}").json()["state"] == "connected"
    assert _client_credentials(export) - before == 2  # the one answered 500 (done all the same), then the retry


def test_a_callback_reloaded_while_the_first_arrival_still_exchanges_its_code_is_not_told_it_failed(
    gateway: Any, scene: Scene, unique: str, service: ConnectService, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a tenant whose person approved in Fortnox, and the callback's first arrival held inside its code exchange
    # (Fortnox is slow to answer)
    company = scene.new_company("Otålig Person AB")
    management = _management(gateway)
    assert management.put(f"/tenants/{unique}", json={"display_name": "Otålig Person AB"}).status_code == 201
    link = management.post(f"/tenants/{unique}/connect-links", json={}).json()["url"]
    callback = httpx.URL(approve(consent_url(link), company))
    state, code = callback.params["state"], callback.params["code"]
    exchange = TokenEndpoint.exchange_code
    inside, go_on = threading.Event(), threading.Event()

    def slow_exchange(endpoint: TokenEndpoint, *args: Any, **kwargs: Any) -> Any:
        inside.set()
        assert go_on.wait(60)
        return exchange(endpoint, *args, **kwargs)

    monkeypatch.setattr(TokenEndpoint, "exchange_code", slow_exchange)
    first: list[object] = []

    def arrive() -> None:
        try:
            first.append(service.complete(state=state, code=code, error=None))
        except BaseException as failure:  # collected for the test's thread
            first.append(failure)

    arriving = threading.Thread(target=arrive, name="first-arrival")
    arriving.start()
    assert inside.wait(60)

    # When the person, tired of waiting, reloads the page: the same callback arrives again
    with pytest.raises(StateRefused) as reloaded:
        service.complete(state=state, code=code, error=None)
    go_on.set()
    arriving.join(60)

    # Then the first arrival connected the company
    assert len(first) == 1 and not isinstance(first[0], BaseException), first
    assert management.get(f"/tenants/{unique}").json()["state"] == "connected"
    # And the reload was told the connection is still being completed, not that it failed and to open the link
    # again (the link is used by then: opening it says so, and the person asks for a new one for a company that is
    # connected)
    assert reloaded.value.reason == "in_progress"


def test_an_invoice_failed_by_a_lost_rotation_does_not_tell_the_bookkeeper_the_consent_was_withdrawn(
    person_export: Export, events_tap: Any
) -> None:
    export = person_export
    # Given a tenant a person connected whose access token has expired at Fortnox, and Fortnox rotating the refresh
    # token the export sends and answering 500 in place of the new pair
    export.scene.control.advance_clock(AN_HOUR_AND_A_SECOND)
    try:
        export.scene.control.fault("500_after_commit", method="POST", path_prefix=TOKEN)
        # When an invoice is exported
        export.deliver_once(export.event("7301"))
    finally:
        export.scene.control.clear_faults()
        export.scene.control.advance_clock(-AN_HOUR_AND_A_SECOND)

    # Then its failure says to connect again, without sending the bookkeeper to look for who withdrew the consent
    (failed,) = _seen(events_tap, "invoice.export_failed", export.tenant)
    assert "Anslut Fortnox igen" in failed["reason_sv"]
    assert "dragits tillbaka eller gått ut" not in failed["reason_sv"], failed["reason_sv"]
