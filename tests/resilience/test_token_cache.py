"""The access tokens and the client secret a process keeps (issue 13, point 1), through the real handler and queue
path against the sandbox and moto: a hostile tenant, a bad day at Fortnox and AWS, a careless upstream.

Which token each API call carried is read where Fortnox reads it: a spy on the sandbox's token check records the
``jti`` claim of every bearer token it is shown (never the token itself, so no test output can hold one).
"""

import base64
import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from fortnox_bridge import aws, wiring
from fortnox_bridge.fortnox.oauth import TokenEndpoint
from fortnox_bridge.ids import FortnoxTenantId, TenantId
from fortnox_bridge.store.connections import Connection, ConnectionState, ConnectionStore
from fortnox_bridge.store.ledger import ExportLedger, ExportScope
from fortnox_bridge.store.mappings import MappingStore
from fortnox_bridge.store.tenants import Tenant, TenantSettings, TenantStore
from fortnox_bridge.tokens.cache import HeldToken, TokenCache
from fortnox_bridge.tokens.tenant_tokens import FRESH_ENOUGH_SECONDS
from fortnox_sandbox import tokens as sandbox_tokens
from fortnox_sandbox.control_client import ALL_SCOPES
from fortnox_sandbox.server import SandboxServer
from local_stack.moto_server import REGION
from local_stack.onboarding import connect_service_account
from local_stack.runner import LocalRunner
from tests.conftest import Scene
from tests.exporting import Export, export, freight_mapping, person_export
from tests.resilience.test_connect_links import Management

pytestmark = pytest.mark.integration
__all__ = ["export", "person_export"]  # the fixtures, imported so pytest finds them

ACCESS_TOKEN_SECONDS = 3600
"""Fortnox's access-token lifetime (FACTS.md 1.4), which the sandbox keeps."""


def _claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    claims: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return claims


class Presented:
    """The ``jti`` of every bearer token the sandbox's API was shown, in order."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def since(self, mark: int) -> set[str]:
        return set(self.calls[mark:])

    def before(self, mark: int) -> set[str]:
        return set(self.calls[:mark])


@pytest.fixture
def presented(monkeypatch: pytest.MonkeyPatch) -> Presented:
    seen = Presented()
    real = sandbox_tokens.verify

    def spying(state: Any, authorization: str | None) -> dict[str, Any]:
        if authorization and authorization.startswith("Bearer "):
            try:
                seen.calls.append(str(_claims(authorization.removeprefix("Bearer ").strip())["jti"]))
            except (IndexError, KeyError, ValueError):
                seen.calls.append("unreadable")
        return real(state, authorization)

    monkeypatch.setattr(sandbox_tokens, "verify", spying)
    return seen


def _token_requests(scene: Scene, grant: str) -> int:
    return sum(1 for row in scene.control.requests() if row["path"] == "/oauth-v1/token" and row["grant_type"] == grant)


def _api_calls(scene: Scene, since: int = 0) -> list[dict[str, Any]]:
    return [row for row in scene.control.requests()[since:] if row["path"].startswith("/3/")]


def _later(scene: Scene, seconds: float, monkeypatch: pytest.MonkeyPatch) -> None:
    """Time passes for everyone: at Fortnox and on the bridge's token clock."""
    scene.control.advance_clock(seconds)
    cache = wiring.token_cache()
    clock = cache.clock
    monkeypatch.setattr(cache, "clock", lambda: clock() + seconds)


def _revoke_consent(sandbox: SandboxServer, scene: Scene, company: int) -> None:
    """The company's administrator removes the integration in Fortnox: the consent ends."""
    with sandbox.state.lock:
        sandbox.state.consents[(scene.app.client_id, company)].revoked = True


def _markers(export: Export) -> set[str]:
    return {invoice["ExternalInvoiceReference1"] for invoice in export.invoices()}


def _service_tenant(export: Export, tenant: str, company: int) -> Export:
    connect_service_account(
        export.table,
        export.scene.control,
        export.scene.app,
        tenant_id=TenantId(tenant),
        fortnox_tenant_id=company,
        display_name=tenant,
    )
    MappingStore(export.table).put(TenantId(tenant), freight_mapping())
    return _as(export, tenant, company)


def _as(export: Export, tenant: str, company: int) -> Export:
    """Another tenant on the same queue (the queue is shared by every tenant)."""
    other = object.__new__(Export)
    other.__dict__.update(export.__dict__)
    other.tenant, other.company = tenant, company
    return other


def _guest(export: Export, tenant: str) -> Export:
    """A tenant allowed to share, connecting to ``export``'s company as a service account now: a consent of its own
    at Fortnox, made after the host tenant's."""
    control, app = export.scene.control, export.scene.app
    code = control.consent(app, export.company, ALL_SCOPES, service_account=True)
    granted = TokenEndpoint(
        auth_url=control.base_url, client_id=app.client_id, client_secret=lambda: app.client_secret
    ).exchange_code(code, redirect_uri=None)
    TenantStore(export.table).put(
        Tenant(
            tenant_id=TenantId(tenant), display_name="Gäst", settings=TenantSettings(allow_shared_fortnox_company=True)
        )
    )
    ConnectionStore(export.table).bind(
        Connection(
            tenant_id=TenantId(tenant),
            fortnox_tenant_id=FortnoxTenantId(export.company),
            company_name="Sandlådan Åkeri AB",
            service_account=True,
            scopes=sorted(granted.scopes),
        ),
        allow_shared=True,
    )
    MappingStore(export.table).put(TenantId(tenant), freight_mapping())
    return _as(export, tenant, export.company)


class FailingSecretReads:
    """Secrets Manager stops answering the bridge's own client: every GetSecretValue fails."""

    def __call__(self, **_: Any) -> None:
        raise ClientError(
            {"Error": {"Code": "InternalServiceError", "Message": "Secrets Manager is unavailable"}}, "GetSecretValue"
        )


@pytest.fixture
def secrets_down(runner: LocalRunner) -> Iterator[FailingSecretReads]:
    failing = FailingSecretReads()
    yield failing
    aws.secrets().meta.events.unregister("before-call.secrets-manager.GetSecretValue", failing)


# -- a hostile tenant --------------------------------------------------------------------------------------------------


def test_a_tenant_joining_a_company_never_sends_a_token_asked_for_before_it_connected(
    export: Export, presented: Presented, unique: str
) -> None:
    # Given a warm worker holding the host tenant's token for its company
    export.send(export.event("600001"))
    before_guest = len(presented.calls)

    # When a second tenant connects to the same company (a consent of its own) and its invoice arrives
    guest = _guest(export, f"{unique}-g")
    guest.send(guest.event("600002"))

    # Then no token the host's invoices carried was sent for the guest's, and each invoice is in the company once
    assert presented.since(before_guest), "the guest's invoice reached Fortnox"
    assert presented.since(before_guest).isdisjoint(presented.before(before_guest))
    assert _markers(export) == {f"FB:{export.tenant}:600001", f"FB:{guest.tenant}:600002"}
    assert _token_requests(export.scene, "client_credentials") == 2


def test_a_tenant_connecting_to_a_company_another_tenant_left_gets_a_token_of_its_own(
    export: Export, gateway: Any, presented: Presented, unique: str
) -> None:
    # Given a warm worker holding tenant A's token for company X, and A disconnected by the SaaS backend (a service
    # account's consent, and the token the worker holds, live on at Fortnox)
    left = export.company
    export.send(export.event("610001"))
    tokens_of_a = presented.since(0)
    assert Management(gateway.url).http.delete(f"/tenants/{export.tenant}/connection").status_code == 200

    # When tenant C connects company X and its invoice arrives
    newcomer = _service_tenant(export, f"{unique}-c", left)
    since = len(presented.calls)
    newcomer.send(newcomer.event("610002"))

    # Then C's calls carried none of A's tokens, and X holds A's invoice and C's
    assert presented.since(since)
    assert presented.since(since).isdisjoint(tokens_of_a)
    assert _markers(newcomer) == {f"FB:{export.tenant}:610001", f"FB:{newcomer.tenant}:610002"}


def test_a_revoked_service_account_consent_is_a_lost_connection_announced_once_and_each_invoice_is_explained(
    export: Export, sandbox: SandboxServer, presented: Presented, events_tap: Any
) -> None:
    # Given a warm worker holding a service-account token, and the company removing the integration in Fortnox
    export.send(export.event("620001"))
    kept = presented.since(0)
    _revoke_consent(sandbox, export.scene, export.company)
    since, mark = len(export.scene.control.requests()), len(presented.calls)
    events_tap.received()

    # When two more invoices arrive
    export.send(export.event("620002"))
    export.send(export.event("620003"))

    # Then the kept token was shown once (refused), never again; nothing was created; the connection needs a
    # reconnect, announced once, as a person's lost connection is; both invoices were explained upstream, the first
    # with what happened, and neither waits on a queue
    assert [row["status"] for row in _api_calls(export.scene, since)] == [401]
    assert presented.since(mark) == kept
    assert _markers(export) == {f"FB:{export.tenant}:620001"}
    connection = ConnectionStore(export.table).get(TenantId(export.tenant))
    assert connection is not None and connection.state is ConnectionState.NEEDS_RECONNECT
    received = events_tap.received()
    assert [e.detail_type for e in received].count("connection.needs_reconnect") == 1
    failed = {e.detail["event_id"]: e.detail for e in received if e.detail_type == "invoice.export_failed"}
    assert sorted(failed) == sorted([export.event("620002")["id"], export.event("620003")["id"]])
    assert "removed this integration's consent" in failed[export.event("620002")["id"]]["reason_en"]
    assert export.dead_letters() == []


def test_a_revoked_person_consent_with_a_warm_token_is_lost_once_and_then_nothing_is_sent(
    person_export: Export, sandbox: SandboxServer, events_tap: Any
) -> None:
    export = person_export
    export.send(export.event("630001"))
    _revoke_consent(sandbox, export.scene, export.company)
    since = len(export.scene.control.requests())
    events_tap.received()

    export.send(export.event("630002"))
    export.send(export.event("630003"))

    # One refused call with the kept token, one refused refresh, the connection needs a reconnect, announced once,
    # and the third invoice reached Fortnox not at all
    assert [row["status"] for row in _api_calls(export.scene, since)] == [401]
    assert _token_requests(export.scene, "refresh_token") == 1
    connection = ConnectionStore(export.table).get(TenantId(export.tenant))
    assert connection is not None and connection.state is ConnectionState.NEEDS_RECONNECT
    kinds = [event.detail_type for event in events_tap.received()]
    assert kinds.count("connection.needs_reconnect") == 1
    assert kinds.count("invoice.export_failed") == 2
    assert _markers(export) == {f"FB:{export.tenant}:630001"}


def test_a_disconnected_tenants_events_reach_fortnox_with_no_kept_token(
    export: Export, gateway: Any, events_tap: Any
) -> None:
    # Given a warm worker holding the tenant's token, and the SaaS backend disconnecting the tenant
    export.send(export.event("640001"))
    assert Management(gateway.url).http.delete(f"/tenants/{export.tenant}/connection").status_code == 200
    since = len(export.scene.control.requests())
    events_tap.received()

    # When its next invoice arrives
    export.send(export.event("640002"))

    # Then nothing was sent to Fortnox, and upstream was told why
    assert _api_calls(export.scene, since) == []
    assert [e.detail_type for e in events_tap.received()] == ["invoice.export_failed"]


# -- a bad day at Fortnox and AWS --------------------------------------------------------------------------------------


# A person's refresh whose answer is lost is already tried again at once with the same refresh token, so a single
# timeout is no test of the kept token there.
@pytest.mark.parametrize(("fixture", "fault"), [("export", "500"), ("export", "timeout"), ("person_export", "500")])
def test_a_kept_token_with_life_left_carries_the_invoice_when_the_token_endpoint_fails(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, fixture: str, fault: str
) -> None:
    export: Export = request.getfixturevalue(fixture)
    # Given a warm worker whose kept token is due for replacement (inside the reuse margin) and still has more life
    # at Fortnox than a request needs
    export.send(export.event("650001"))
    margin = wiring.token_margin() if fixture == "export" else max(FRESH_ENOUGH_SECONDS, wiring.token_margin())
    _later(export.scene, ACCESS_TOKEN_SECONDS - margin + 10, monkeypatch)
    assert margin - 10 > wiring.token_lifetime_needed()

    # When the token endpoint fails once, as the next invoice arrives
    export.scene.control.fault(fault, path_prefix="/oauth-v1/token", delay_seconds=0.05)
    try:
        export.deliver_once(export.event("650002"))

        # Then the invoice went on its first delivery with the token Fortnox still accepts
        assert _markers(export) == {f"FB:{export.tenant}:650001", f"FB:{export.tenant}:650002"}
    finally:
        export.send()  # the shared queue is left empty for the next test


def test_a_kept_token_too_short_for_a_request_is_not_used_when_the_token_endpoint_fails(
    export: Export, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a warm worker whose kept token has less life left than a request needs
    export.send(export.event("651001"))
    _later(export.scene, ACCESS_TOKEN_SECONDS - wiring.token_lifetime_needed() + 10, monkeypatch)
    since = len(export.scene.control.requests())

    # When the token endpoint fails once, as the next invoice arrives
    export.scene.control.fault("500", path_prefix="/oauth-v1/token", delay_seconds=0.05)
    try:
        export.deliver_once(export.event("651002"))

        # Then the kept token was not sent: the invoice waits for a new token
        assert _api_calls(export.scene, since) == []
        assert _markers(export) == {f"FB:{export.tenant}:651001"}
    finally:
        export.send()
    assert _markers(export) == {f"FB:{export.tenant}:651001", f"FB:{export.tenant}:651002"}


@pytest.mark.parametrize("fixture", ["export", "person_export"])
def test_a_warm_worker_keeps_exporting_while_secrets_manager_is_down(
    request: pytest.FixtureRequest, secrets_down: FailingSecretReads, fixture: str
) -> None:
    export: Export = request.getfixturevalue(fixture)
    export.send(export.event("660001"))

    aws.secrets().meta.events.register("before-call.secrets-manager.GetSecretValue", secrets_down)
    export.send(export.event("660002"), export.event("660003"))

    assert _markers(export) == {f"FB:{export.tenant}:66000{n}" for n in (1, 2, 3)}
    assert export.dead_letters() == []


def _client_secret_id(deployed: Any) -> str:
    return str(next(v for k, v in deployed.physical_ids.items() if k.startswith("FortnoxClientSecret")))


def test_a_rotated_client_secret_is_used_for_the_next_token_request(export: Export, deployed: Any, unique: str) -> None:
    # Given a warm worker that asked for a token with the client secret of the day
    export.send(export.event("670001"))

    # When the client secret is rotated (Fortnox refuses the old one from now on, Secrets Manager holds the new one)
    # and a tenant of another company, whose token the worker does not hold yet, sends an invoice
    scene = export.scene
    scene.control.create_app(scene.app.client_id, "rotated-secret", ["http://127.0.0.1/callback"])
    boto3.client("secretsmanager", region_name=REGION).put_secret_value(
        SecretId=_client_secret_id(deployed), SecretString="rotated-secret"
    )
    scene.app = type(scene.app)(scene.app.client_id, "rotated-secret")
    neighbour = _service_tenant(export, f"{unique}-n", scene.new_company("Grannen AB"))
    try:
        neighbour.deliver_once(neighbour.event("670002"))

        # Then its invoice went on its first delivery, with a token asked for with the new secret
        assert _markers(neighbour) == {f"FB:{neighbour.tenant}:670002"}
    finally:
        neighbour.send()  # the shared queue is left empty for the next test


def test_a_client_secret_fortnox_refuses_is_retried_without_blaming_the_tenant_or_holding_the_invoice(
    export: Export, deployed: Any, events_tap: Any, unique: str
) -> None:
    # Given a warm worker, and Fortnox refusing the client secret Secrets Manager still holds (rotated at Fortnox
    # first, a deployment fault)
    export.send(export.event("690001"))
    scene = export.scene
    neighbour = _service_tenant(export, f"{unique}-n", scene.new_company("Grannen AB"))
    scene.control.create_app(scene.app.client_id, "next-secret", ["http://127.0.0.1/callback"])
    events_tap.received()

    # When an invoice needs a new token
    neighbour.deliver_once(neighbour.event("690002"))

    # Then nothing was sent, the tenant is not told to fix anything, and the invoice's ledger entry is free at once
    scope = ExportScope(TenantId(neighbour.tenant), neighbour.company)
    entry = ExportLedger(export.table).get(scope, "invoice", "690002")
    assert entry is not None and entry.lease_owner is None
    assert [e.detail_type for e in events_tap.received()] == []
    connection = ConnectionStore(export.table).get(TenantId(neighbour.tenant))
    assert connection is not None and connection.state is ConnectionState.CONNECTED

    # And once Secrets Manager holds the secret Fortnox accepts, the next delivery sends it
    boto3.client("secretsmanager", region_name=REGION).put_secret_value(
        SecretId=_client_secret_id(deployed), SecretString="next-secret"
    )
    neighbour.send()
    assert _markers(neighbour) == {f"FB:{neighbour.tenant}:690002"}
    assert neighbour.dead_letters() == []


# -- a careless upstream -----------------------------------------------------------------------------------------------


def test_one_batch_of_many_tenants_sends_each_company_only_its_own_tenants_invoices_with_one_token_each(
    export: Export, unique: str
) -> None:
    # Given three service-account tenants of three companies, and a batch that interleaves their invoices
    tenants = [export] + [
        _service_tenant(export, f"{unique}-{n}", export.scene.new_company(f"Bolag {n} AB")) for n in (1, 2)
    ]
    batch = [tenant.event(f"68{t}00{n}") for n in range(3) for t, tenant in enumerate(tenants)]
    export.send(*batch)
    # And a redelivery of the whole batch later on, as a careless upstream sends it
    export.send(*batch)

    for t, tenant in enumerate(tenants):
        assert _markers(tenant) == {f"FB:{tenant.tenant}:68{t}00{n}" for n in range(3)}
    assert _token_requests(export.scene, "client_credentials") == 3


# -- a long-lived process ----------------------------------------------------------------------------------------------


def test_a_process_keeps_at_most_its_limit_of_tokens_and_forgets_the_least_recently_used() -> None:
    cache = TokenCache(limit=2)
    token = HeldToken("a.b.c", expires_at=3600.0, scope=())
    cache.keep("first", token)
    cache.keep("second", token)
    assert cache.get("first") == token  # used again: "second" is now the least recently used

    cache.keep("third", token)

    assert cache.get("second") is None
    assert cache.get("first") == token
    assert cache.get("third") == token
