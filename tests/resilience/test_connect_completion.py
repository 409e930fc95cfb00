"""Issue 8, point 8: a connect completes once, verified, and gives back whatever it does not keep.

Through the local API gateway and the hosted pages, against the sandbox's OAuth and moto.
"""

from typing import Any

import httpx
import pytest

from fortnox_bridge import wiring
from fortnox_bridge.fortnox.models.registers import CompanyInformation
from fortnox_bridge.fortnox.oauth import fortnox_tenant_claim
from fortnox_bridge.ids import TenantId
from fortnox_sandbox.server import SandboxServer
from local_stack.connect_walk import approve, consent_url, walk
from tests.conftest import Scene
from tests.resilience.test_connect_links import Management

pytestmark = pytest.mark.integration
HOSTED_HEADERS = ("content-security-policy", "x-content-type-options", "strict-transport-security")


@pytest.fixture
def api(gateway: Any) -> Management:
    return Management(gateway.url)


def _live_refresh_tokens(sandbox: SandboxServer, company: int) -> set[str]:
    """Refresh tokens Fortnox would still honour for the company: the grants that are alive."""
    with sandbox.state.lock:
        return {
            token
            for token, grant in sandbox.state.refresh_tokens.items()
            if grant.tenant_id == company and not grant.used and not grant.revoked
        }


def _secret_company(tenant: str) -> int | None:
    stored = wiring.secrets_store().read(TenantId(tenant))
    return fortnox_tenant_claim(stored.access_token.get_secret_value()) if stored else None


def test_a_callback_overtaken_by_another_for_the_same_tenant_is_refused_and_gives_its_grant_back(
    api: Management, scene: Scene, sandbox: SandboxServer, unique: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given two links of one tenant, each approved at Fortnox for another company
    x, y = scene.new_company("Först X AB"), scene.new_company("Sedan Y AB")
    api.tenant(unique)
    callback_x = approve(consent_url(api.link(unique)), x)
    callback_y = approve(consent_url(api.link(unique)), y)
    reader = wiring.read_company
    overtaken: list[int] = []

    def y_completes_while_x_is_halfway(token: str) -> CompanyInformation:
        company = reader(token)
        if company.DatabaseNumber == x and not overtaken:
            overtaken.append(x)
            query = httpx.URL(callback_y).params
            done = wiring.connect_service().complete(state=query["state"], code=query["code"], error=None)
            assert done.company_name == "Sedan Y AB"
        return company

    monkeypatch.setattr(wiring, "read_company", y_completes_while_x_is_halfway)
    wiring.reset()

    # When X's callback resumes after Y's completed
    late = httpx.get(callback_x, timeout=30)

    # Then X is refused, the connection and the secret both name Y, and X's grant is given back to Fortnox
    assert overtaken == [x]
    assert late.status_code == 410 and 'data-kind="superseded"' in late.text
    status = api.status(unique)
    assert (status["state"], status["fortnox_tenant_id"]) == ("connected", y)
    assert _secret_company(unique) == y
    assert _live_refresh_tokens(sandbox, x) == set()
    stored = wiring.secrets_store().read(TenantId(unique))
    assert stored is not None and stored.refresh_token is not None
    assert _live_refresh_tokens(sandbox, y) == {stored.refresh_token.get_secret_value()}


def test_concurrent_first_callbacks_connect_once_and_never_answer_500(
    api: Management, scene: Scene, sandbox: SandboxServer, unique: str
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    companies = [scene.new_company(f"Samtidig {n} AB") for n in range(3)]
    api.tenant(unique)
    callbacks = [approve(consent_url(api.link(unique)), company) for company in companies]

    with ThreadPoolExecutor(max_workers=3) as pool:
        answers = list(pool.map(lambda url: httpx.get(url, timeout=60), callbacks))

    assert sorted(answer.status_code for answer in answers) == [200, 410, 410]
    winner = companies[[answer.status_code for answer in answers].index(200)]
    assert api.status(unique)["fortnox_tenant_id"] == winner and _secret_company(unique) == winner
    assert [company for company in companies if _live_refresh_tokens(sandbox, company)] == [winner]


def test_refused_and_lost_callbacks_revoke_what_they_got(
    api: Management, scene: Scene, sandbox: SandboxServer, unique: str
) -> None:
    taken, unreadable = scene.new_company("Upptagen AB"), scene.new_company("Oläslig AB")
    api.tenant(f"{unique}-holder")
    api.tenant(unique)
    assert walk(api.link(f"{unique}-holder"), taken).status == 200
    held = _live_refresh_tokens(sandbox, taken)

    # Refused: the company belongs to another tenant
    refused = walk(api.link(unique), taken)
    assert refused.status == 409 and 'data-kind="company_taken"' in refused.page
    assert _live_refresh_tokens(sandbox, taken) == held

    # Lost: Fortnox exchanged the code, then failed every read of the company
    scene.control.fault("500", count=20, path_prefix="/3/companyinformation")
    lost = walk(api.link(unique), unreadable)
    assert lost.status == 502 and 'data-kind="fortnox"' in lost.page
    assert _live_refresh_tokens(sandbox, unreadable) == set()
    assert api.status(unique)["state"] == "not_connected"


def test_a_non_ascii_state_signature_is_refused_like_a_forged_one(api: Management, gateway: Any, unique: str) -> None:
    api.tenant(unique)
    genuine = consent_url(api.link(unique)).split("state=", 1)[1].split("&", 1)[0]
    payload = httpx.QueryParams(f"s={genuine}")["s"].partition(".")[0]
    for signature in ("ÅÄÖ", "é" * 43, "\u202e"):
        answer = httpx.get(f"{gateway.url}/oauth/callback", params={"state": f"{payload}.{signature}", "code": "c"})
        assert answer.status_code == 400 and 'data-kind="forged"' in answer.text
        assert all(header in answer.headers for header in HOSTED_HEADERS)


def test_disconnecting_a_service_account_says_what_was_done_and_what_the_tenant_must_do_in_fortnox(
    api: Management, scene: Scene, unique: str, events_tap: Any
) -> None:
    company = scene.new_company("Servicekonto AB")
    api.tenant(unique)
    assert walk(api.link(unique, service_account=True), company).status == 200
    events_tap.received()

    answer = api.http.delete(f"/tenants/{unique}/connection")

    body = answer.json()
    assert answer.status_code == 200 and body["state"] == "disconnected" and body["revoked_at_fortnox"] is False
    assert "Integrationer" in body["tenant_action"]["sv"] and "Integrations" in body["tenant_action"]["en"]
    # What the answer says is true: Fortnox still issues tokens for the service account
    still = scene.control.token(scene.app, {"grant_type": "client_credentials"}, headers={"TenantId": str(company)})
    assert still.status_code == 200 and "access_token" in still.json()
    revoked = [event.detail for event in events_tap.received() if event.detail_type == "connection.revoked"]
    assert revoked == [{"tenant_id": unique, "fortnox_tenant_id": company, "revoked_at_fortnox": False}]


@pytest.mark.parametrize("tenant_id", [".", "..", "-", "_", "a-", "-a", "a.", "ok\n"])
def test_tenant_ids_are_plain_identifiers(api: Management, tenant_id: str) -> None:
    # Every byte percent-encoded, so no client or router folds "." and ".." away before the bridge sees them
    path = "/tenants/" + "".join(f"%{byte:02X}" for byte in tenant_id.encode())
    answer = api.http.put(path, json={"display_name": "Punkt"})
    assert answer.status_code in (404, 422), (tenant_id, answer.status_code, answer.text)
    assert api.http.put("/tenants/a.b-c_9", json={"display_name": "Vanlig"}).status_code in (200, 201)


def test_hosted_pages_and_their_errors_send_security_headers(
    api: Management, gateway: Any, scene: Scene, unique: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    company = scene.new_company("Rubriker AB")
    api.tenant(unique)
    link = api.link(unique)
    answers = [
        httpx.get(link),
        httpx.get(f"{gateway.url}/connect/no-such-link"),
        httpx.get(f"{gateway.url}/connect/a%22b"),  # a path the page router itself does not match
        httpx.get(f"{gateway.url}/oauth/callback"),
        httpx.get(approve(consent_url(link), company), timeout=30),
    ]

    def broken() -> Any:
        raise RuntimeError("the table is unreachable")

    monkeypatch.setattr(wiring, "connect_service", broken)
    answers.append(httpx.get(link))
    assert [answer.status_code for answer in answers] == [200, 404, 404, 400, 200, 500]
    assert 'data-kind="broken"' in answers[-1].text and "unreachable" not in answers[-1].text
    for answer in answers:
        missing = [header for header in HOSTED_HEADERS if header not in answer.headers]
        assert missing == [], (answer.url, missing)
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert "default-src 'none'" in answer.headers["content-security-policy"]
        assert "max-age=" in answer.headers["strict-transport-security"]


def test_the_consent_page_lists_only_what_the_enabled_features_need(api: Management, unique: str) -> None:
    api.tenant(unique)
    page = httpx.get(api.link(unique), params={"lang": "en"}).text
    scopes = set(httpx.QueryParams(consent_url(api.link(unique)).split("?", 1)[1])["scope"].split())

    assert "send invoices" in page
    assert "voucher" not in page and "payments" not in page
    assert scopes == {"companyinformation", "customer", "invoice", "order", "article", "inbox", "connectfile"}
    assert all(scope not in scopes for scope in ("bookkeeping", "payment", "archive", "settings", "currency"))

    api.http.put(f"/tenants/{unique}/settings", json={"features": ["invoice_export", "payment_sync"]})
    both = httpx.get(api.link(unique), params={"lang": "en"}).text
    assert "send invoices and read payments" in both and "voucher" not in both
