"""Issue 8, point 6 and point 1's token claim: a lease that outlives the refresh, writes fenced on the version
read, one attempt and one event per lost connection, and tokens used only for the company they belong to.

A tenant that consented as a person holds single-use refresh tokens. These tests export through the invoice queue
and the real handler, and run workers in threads the way Lambdas running at once would, against the sandbox and
moto. The local runner runs one invocation at a time, so races between workers are staged with threads.
"""

import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from fortnox_bridge import wiring
from fortnox_bridge.fortnox.oauth import TokenEndpoint, fortnox_tenant_claim
from fortnox_bridge.ids import FortnoxTenantId, TenantId
from fortnox_bridge.store.connections import Connection, ConnectionState, ConnectionStore
from fortnox_bridge.store.locks import LockStore
from fortnox_bridge.tokens.secret_store import StoredTokens
from fortnox_bridge.tokens.tenant_tokens import ConnectionLost, TenantTokens, TokensReplaced
from tests.conftest import Scene
from tests.exporting import Export, connect_as_a_person, person_export

pytestmark = pytest.mark.integration
__all__ = ["person_export"]  # the fixture, imported so pytest finds it


def _refresh_calls(scene: Scene, since: int) -> list[dict[str, Any]]:
    return [
        row
        for row in scene.control.requests()[since:]
        if row["path"] == "/oauth-v1/token" and row["grant_type"] == "refresh_token"
    ]


def _revoke(scene: Scene, refresh_token: str) -> None:
    httpx.post(
        f"{scene.url}/oauth-v1/revoke",
        data={"token": refresh_token},
        auth=(scene.app.client_id, scene.app.client_secret),
    )


def test_twenty_invoices_on_a_revoked_refresh_token_cost_one_refresh_and_one_event(
    person_export: Export, events_tap: Any
) -> None:
    # Given a tenant whose access token has expired and whose refresh token was revoked at Fortnox
    export = person_export
    stored = wiring.secrets_store().read(TenantId(export.tenant))
    assert stored is not None and stored.refresh_token is not None
    _revoke(export.scene, stored.refresh_token.get_secret_value())
    export.scene.control.advance_clock(3601)
    events_tap.received()
    before = len(export.scene.control.requests())

    # When twenty invoices arrive on its queue
    export.send(*[export.event(str(200000 + n)) for n in range(20)])

    # Then Fortnox saw one refresh attempt, upstream heard once that the tenant must reconnect, and each invoice
    # was refused with the reason instead of vanishing
    assert len(_refresh_calls(export.scene, before)) == 1
    published = events_tap.received()
    assert [event.detail_type for event in published].count("connection.needs_reconnect") == 1
    assert [event.detail_type for event in published].count("invoice.export_failed") == 20
    connection = ConnectionStore(export.table).get(TenantId(export.tenant))
    assert connection is not None and connection.state is ConnectionState.NEEDS_RECONNECT
    assert export.invoices() == []


def test_twenty_workers_on_a_revoked_refresh_token_make_one_attempt_and_one_event(
    gateway: Any, scene: Scene, unique: str, events_tap: Any
) -> None:
    # Given a tenant whose refresh token was revoked, and twenty workers (separate Lambdas) that each read its
    # connection while it was still connected and find its access token expired at Fortnox
    connection = connect_as_a_person(gateway, scene, unique, "Återkallad AB")
    stored = wiring.secrets_store().read(connection.tenant_id)
    assert stored is not None and stored.refresh_token is not None
    _revoke(scene, stored.refresh_token.get_secret_value())
    scene.control.set_rate_limit(1000, 5.0)
    scene.control.advance_clock(3601)
    events_tap.received()
    before = len(scene.control.requests())
    failures: list[BaseException] = []

    # When all twenty call Fortnox at once
    def work() -> None:
        try:
            with wiring.fortnox_client(connection) as client:
                client.company_information.get()
        except BaseException as error:
            failures.append(error)

    threads = [threading.Thread(target=work) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # Then the dead refresh token went to Fortnox once, upstream heard of the loss once, and every worker was told
    # the tenant must reconnect
    assert len(_refresh_calls(scene, before)) == 1
    kinds = [event.detail_type for event in events_tap.received()]
    assert kinds.count("connection.needs_reconnect") == 1
    assert len(failures) == 20 and all(isinstance(failure, ConnectionLost) for failure in failures)
    lost = ConnectionStore(wiring.table()).get(connection.tenant_id)
    assert lost is not None and lost.state is ConnectionState.NEEDS_RECONNECT


def _worker(
    connection: Connection,
    clock: Callable[[], float],
    *,
    http: httpx.Client | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> TenantTokens:
    """One worker's token provider as wiring.tokens_for builds it, on the test's clock and (optionally) transport."""
    config = wiring.fortnox_settings()

    def lost(tenant: TenantId, reason: str) -> None:
        wiring.connect_service().mark_needs_reconnect(tenant, reason, generation=connection.generation)

    return TenantTokens(
        connection.tenant_id,
        company=connection.fortnox_tenant_id,
        secrets=wiring.secrets_store(),
        locks=LockStore(wiring.table(), clock=clock),
        endpoint=TokenEndpoint(
            auth_url=str(config.auth_url), client_id=config.client_id, client_secret=wiring.client_secret, http=http
        ),
        connections=ConnectionStore(wiring.table()),
        notify_lost=lost,
        clock=clock,
        sleep=sleep,
    )


def _signalling(waiting: threading.Event) -> Callable[[float], None]:
    """A worker's pause between polls that says it is waiting; the test's clock does not move meanwhile."""

    def pause(_: float) -> None:
        waiting.set()
        time.sleep(0.01)

    return pause


def _held_at_the_answer(answered: threading.Event, release: threading.Event) -> httpx.Client:
    """A transport that stops each token answer after Fortnox has acted on it, until the test releases it."""

    def hold(response: httpx.Response) -> None:
        if response.request.url.path == "/oauth-v1/token":
            answered.set()
            release.wait(60)

    return httpx.Client(event_hooks={"response": [hold]})


def test_a_refresh_answered_after_31_s_keeps_three_other_workers_waiting_for_it(
    gateway: Any, scene: Scene, unique: str, events_tap: Any
) -> None:
    # Given a worker whose refresh Fortnox has carried out but answers only 31 s after it began (the tried case)
    connection = connect_as_a_person(gateway, scene, unique, "Långsam AB")
    events_tap.received()
    now = [time.time()]
    clock: Callable[[], float] = lambda: now[0]  # noqa: E731 - the test's clock, moved by hand
    answered, release = threading.Event(), threading.Event()
    holder = _worker(connection, clock, http=_held_at_the_answer(answered, release))
    old = holder.access_token()
    before = len(scene.control.requests())
    got: dict[str, str | BaseException] = {}
    done: dict[str, threading.Event] = {}

    def run(name: str, worker: TenantTokens) -> None:
        try:
            worker.invalidate(old)  # each worker had its call refused with the old token
            got[name] = worker.access_token()
        except BaseException as error:
            got[name] = error
        finally:
            done[name].set()

    def start(name: str, worker: TenantTokens) -> threading.Thread:
        thread = threading.Thread(target=run, args=(name, worker))
        thread.start()
        return thread

    done["holder"] = threading.Event()
    threads = [start("holder", holder)]
    assert answered.wait(30)
    now[0] += 31

    # When three more workers need a token before that answer reaches the holder
    for name in ("b", "c", "d"):
        waiting = done[name] = threading.Event()
        threads.append(start(name, _worker(connection, clock, sleep=_signalling(waiting))))
        assert waiting.wait(30)  # it is waiting for the holder (or, on a short lease, has already acted)
    release.set()
    for thread in threads:
        thread.join(60)

    # Then they all use the holder's new token: one refresh, and the tenant stays connected
    assert not [value for value in got.values() if isinstance(value, BaseException)]
    assert len(set(got.values())) == 1 and got["holder"] != old
    assert len(_refresh_calls(scene, before)) == 1
    kept = ConnectionStore(wiring.table()).get(connection.tenant_id)
    assert kept is not None and kept.state is ConnectionState.CONNECTED
    assert "connection.needs_reconnect" not in [event.detail_type for event in events_tap.received()]


def _tokens_of(scene: Scene, company: int) -> StoredTokens:
    """A person's fresh consent to ``company``: the tokens a connect to it would store."""
    code = scene.control.consent(scene.app, company)
    endpoint = TokenEndpoint(
        auth_url=scene.url, client_id=scene.app.client_id, client_secret=lambda: scene.app.client_secret
    )
    return StoredTokens.from_token_set(endpoint.exchange_code(code, redirect_uri=None))


def test_a_refresh_never_writes_over_the_tokens_of_a_reconnect_that_landed_meanwhile(
    person_export: Export, events_tap: Any
) -> None:
    # Given a worker refreshing the tenant's tokens for company A, held after Fortnox answered
    export = person_export
    connection = ConnectionStore(export.table).get(TenantId(export.tenant))
    assert connection is not None
    second = export.scene.new_company("Andra Bolaget AB")
    reconnected: list[StoredTokens] = []

    def reconnect_to_the_second_company(response: httpx.Response) -> None:
        # While that answer is on its way, the tenant reconnects to company B: a connect writes the secret and the
        # connection, as ConnectService.complete does
        if response.request.url.path != "/oauth-v1/token" or reconnected:
            return
        reconnected.append(_tokens_of(export.scene, second))
        wiring.secrets_store().write(connection.tenant_id, reconnected[0])
        ConnectionStore(export.table).bind(
            connection.model_copy(
                update={"fortnox_tenant_id": FortnoxTenantId(second), "company_name": "Andra Bolaget AB"}
            ),
            previous=connection.fortnox_tenant_id,
        )

    holder = _worker(
        connection, time.time, http=httpx.Client(event_hooks={"response": [reconnect_to_the_second_company]})
    )
    holder.invalidate(holder.access_token())

    # When the refresh's answer reaches the worker
    with pytest.raises(TokensReplaced):
        holder.access_token()

    # Then the secret still holds company B's tokens, and the next invoice goes to company B, not to A
    stored = wiring.secrets_store().read(connection.tenant_id)
    assert stored is not None and fortnox_tenant_claim(stored.access_token.get_secret_value()) == second
    export.send(export.event("300001"))
    assert export.invoices() == []
    assert [invoice["ExternalInvoiceReference1"] for invoice in export.scene.control.company(second)["invoices"]] == [
        f"FB:{export.tenant}:300001"
    ]


def test_tokens_of_another_company_in_the_secret_are_never_sent(person_export: Export, events_tap: Any) -> None:
    # Given a tenant connected to company A whose secret holds a person's tokens for company B
    export = person_export
    other = export.scene.new_company("Främmande AB")
    wiring.secrets_store().write(TenantId(export.tenant), _tokens_of(export.scene, other))
    events_tap.received()
    before = len(export.scene.control.requests(other))

    # When an invoice arrives for the tenant, and later one more after the access token expired
    export.send(export.event("400001"))
    export.scene.control.advance_clock(3601)
    export.send(export.event("400002"))

    # Then nothing reached Fortnox with B's tokens (no API call, no refresh), neither company got an invoice, and
    # both exports were refused with the reason
    assert export.scene.control.requests(other)[before:] == []
    assert export.scene.control.company(other)["invoices"] == [] and export.invoices() == []
    failed = [event.detail for event in events_tap.received() if event.detail_type == "invoice.export_failed"]
    assert [detail["invoice_number"] for detail in failed] == ["400001", "400002"]
    assert all(f"belong to Fortnox company {other}" in detail["reason_en"] for detail in failed)
