"""A tenant moving between companies, and a disconnect meeting a connect, through the gateway and hosted pages."""

from typing import Any

import httpx
import pytest

from fortnox_bridge import wiring
from fortnox_bridge.connect import service as connect_service
from fortnox_bridge.connect.service import CompletionBusy
from fortnox_bridge.fortnox.oauth import fortnox_tenant_claim
from fortnox_bridge.ids import FortnoxTenantId, TenantId
from fortnox_bridge.store.connections import ConnectionStore
from local_stack.connect_walk import approve, consent_url, walk
from tests.conftest import Scene
from tests.resilience.test_connect_links import Management

pytestmark = pytest.mark.integration


@pytest.fixture
def api(gateway: Any) -> Management:
    return Management(gateway.url)


def _secret_company(tenant: str) -> int | None:
    stored = wiring.secrets_store().read(TenantId(tenant))
    return fortnox_tenant_claim(stored.access_token.get_secret_value()) if stored else None


def test_a_tenant_sharing_a_company_can_move_to_its_own_company_and_the_owners_binding_stays(
    api: Management, scene: Scene, unique: str, table: Any
) -> None:
    # Given company C held by tenant `owner`, and tenant `guest` allowed to share it and connected to it too
    shared, own = scene.new_company("Delat AB"), scene.new_company("Eget AB")
    owner, guest = f"{unique}-owner", f"{unique}-guest"
    api.tenant(owner)
    api.tenant(guest)
    assert walk(api.link(owner), shared).status == 200
    settings = api.http.put(f"/tenants/{guest}/settings", json={"allow_shared_fortnox_company": True})
    assert settings.status_code == 200, settings.text
    assert walk(api.link(guest), shared).status == 200
    assert api.status(guest)["fortnox_tenant_id"] == shared

    # When the guest moves to a company of its own, with a link made and confirmed for it
    moved = walk(api.link(guest, replace_connection=True), own)

    # Then it moves (the page does not call its own, unbound company "connected to another tenant"), and the
    # owner still holds company C
    assert moved.status == 200, moved.page
    status = api.status(guest)
    assert (status["state"], status["fortnox_tenant_id"]) == ("connected", own)
    assert _secret_company(guest) == own
    bindings = ConnectionStore(table)
    assert bindings.bound_tenant(FortnoxTenantId(shared)) == owner
    assert bindings.bound_tenant(FortnoxTenantId(own)) == guest


def test_a_sharing_tenant_that_disconnected_can_connect_another_company(
    api: Management, scene: Scene, unique: str, table: Any
) -> None:
    shared, own = scene.new_company("Delat Två AB"), scene.new_company("Eget Två AB")
    owner, guest = f"{unique}-owner", f"{unique}-guest"
    api.tenant(owner)
    api.tenant(guest)
    assert walk(api.link(owner), shared).status == 200
    api.http.put(f"/tenants/{guest}/settings", json={"allow_shared_fortnox_company": True})
    assert walk(api.link(guest), shared).status == 200
    assert api.http.delete(f"/tenants/{guest}/connection").status_code == 200

    again = walk(api.link(guest), own)

    assert again.status == 200, again.page
    assert api.status(guest)["fortnox_tenant_id"] == own
    assert ConnectionStore(table).bound_tenant(FortnoxTenantId(shared)) == owner


def test_a_callback_arriving_during_a_disconnect_waits_for_it_and_never_mixes_with_it(
    api: Management,
    scene: Scene,
    unique: str,
    table: Any,
    events_tap: Any,
    runner: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a tenant connected to A, and a person who confirmed replacing it with B and approved at Fortnox
    first, second = scene.new_company("Först AB"), scene.new_company("Sedan AB")
    api.tenant(unique)
    assert walk(api.link(unique), first).status == 200
    callback = approve(consent_url(api.link(unique, replace_connection=True)), second)
    events_tap.received()
    for name, value in runner.environment(runner.function("ConnectHosted")).items():
        monkeypatch.setenv(name, value)  # the hosted function's settings, for the service used here
    monkeypatch.setattr(connect_service, "COMPLETION_WAIT_SECONDS", 0.5)
    wiring.reset()
    service = wiring.connect_service()
    store = service._secrets
    read = store.read
    waited: list[Exception] = []

    def callback_arrives_meanwhile(tenant: TenantId) -> Any:
        if not waited:
            query = httpx.URL(callback).params
            try:
                service.complete(state=query["state"], code=query["code"], error=None)
            except CompletionBusy as busy:
                waited.append(busy)
        return read(tenant)

    # When the SaaS backend disconnects the tenant and the callback arrives while the disconnect is under way
    store.read = callback_arrives_meanwhile  # type: ignore[method-assign]
    try:
        service.disconnect(TenantId(unique))
    finally:
        store.read = read  # type: ignore[method-assign]

    # Then the callback waited and gave up (the person is told to try again), and the disconnect is whole: A is
    # revoked, no company is bound to the tenant, no tokens are left, and the event names A
    assert len(waited) == 1
    status = api.status(unique)
    assert (status["state"], status["fortnox_tenant_id"]) == ("revoked", first)
    bindings = ConnectionStore(table)
    assert bindings.bound_tenant(FortnoxTenantId(first)) is None
    assert bindings.bound_tenant(FortnoxTenantId(second)) is None
    assert _secret_company(unique) is None
    revoked = [event.detail for event in events_tap.received() if event.detail_type == "connection.revoked"]
    assert [event["fortnox_tenant_id"] for event in revoked] == [first]


def test_a_disconnect_ends_a_link_made_to_replace_the_connection(api: Management, scene: Scene, unique: str) -> None:
    company = scene.new_company("Avslutat AB")
    api.tenant(unique)
    assert walk(api.link(unique), company).status == 200
    replacing = api.link(unique, replace_connection=True)
    assert api.http.delete(f"/tenants/{unique}/connection").status_code == 200

    # The confirmation named a connection that no longer exists: the link must not connect anything now.
    assert httpx.get(replacing, timeout=30).status_code == 410
    assert api.status(unique)["state"] == "revoked"
