"""Connect end to end over HTTP: management API, hosted pages, the sandbox's consent, tokens and bindings."""

import json
import time
from typing import Any

import boto3
import httpx
import pytest

from fortnox_bridge import wiring
from fortnox_bridge.connect import consent_state
from fortnox_bridge.ids import TenantId
from fortnox_bridge.store.links import token_hash
from infra.names import STACK_NAME
from local_stack.connect_walk import approve, consent_url, walk
from local_stack.moto_server import REGION
from tests.conftest import LOCAL_API_KEY, Scene

pytestmark = pytest.mark.integration


class Management:
    def __init__(self, url: str) -> None:
        self.http = httpx.Client(base_url=url, headers={"x-api-key": LOCAL_API_KEY}, timeout=30)

    def tenant(self, tenant_id: str, name: str = "Åkeri Demo") -> None:
        assert self.http.put(f"/tenants/{tenant_id}", json={"display_name": name}).status_code in (200, 201)

    def link(self, tenant_id: str, **body: Any) -> str:
        answer = self.http.post(f"/tenants/{tenant_id}/connect-links", json=body)
        assert answer.status_code == 201, answer.text
        return str(answer.json()["url"])

    def status(self, tenant_id: str) -> dict[str, Any]:
        answer = self.http.get(f"/tenants/{tenant_id}")
        assert answer.status_code == 200, answer.text
        result: dict[str, Any] = answer.json()
        return result


@pytest.fixture
def api(gateway: Any) -> Management:
    return Management(gateway.url)


def test_a_tenant_connects_through_its_hosted_link(api: Management, scene: Scene, unique: str, events_tap: Any) -> None:
    company = scene.new_company("Sandlådan Åkeri AB")
    api.tenant(unique)
    walked = walk(api.link(unique), company)
    assert walked.status == 200 and "Sandlådan Åkeri AB" in walked.page
    status = api.status(unique)
    assert (status["state"], status["company_name"], status["fortnox_tenant_id"]) == (
        "connected",
        "Sandlådan Åkeri AB",
        company,
    )
    assert status["organisation_number"] == "556000-0001"
    assert "invoice" in status["scopes"] and status["refresh_token_expires_at"] is not None
    assert [event.detail_type for event in events_tap.received()] == ["connection.connected"]


def test_the_management_api_needs_its_key(gateway: Any, unique: str) -> None:
    assert httpx.get(f"{gateway.url}/tenants/{unique}").status_code == 403


def test_unknown_tenants_and_bad_input_get_specific_answers(api: Management, unique: str) -> None:
    assert api.http.get(f"/tenants/{unique}").json()["error"] == "unknown_tenant"
    assert api.http.post(f"/tenants/{unique}/connect-links", json={}).status_code == 404
    assert api.http.put(f"/tenants/{unique}", json={"display_name": ""}).status_code == 422
    assert api.http.put(f"/tenants/{unique}", json={"display_name": "x", "admin": True}).status_code == 422
    assert api.http.get("/tenants/bad%20id").status_code == 422


def test_settings_are_validated_and_read_back(api: Management, unique: str) -> None:
    api.tenant(unique)
    body = {"features": ["invoice_export", "payment_sync"], "service_account": True, "language": "en"}
    assert api.http.put(f"/tenants/{unique}/settings", json=body).status_code == 200
    assert api.http.get(f"/tenants/{unique}/settings").json()["features"] == ["invoice_export", "payment_sync"]
    assert api.http.put(f"/tenants/{unique}/settings", json={"features": ["teleport"]}).status_code == 422


def test_a_link_works_once(api: Management, scene: Scene, unique: str) -> None:
    company = scene.new_company("Engång AB")
    api.tenant(unique)
    link = api.link(unique)
    assert walk(link, company).status == 200
    again = httpx.get(link)
    assert again.status_code == 410 and 'data-kind="used"' in again.text


def test_an_expired_link_is_refused(api: Management, scene: Scene, unique: str, table: Any) -> None:
    api.tenant(unique)
    link = api.link(unique)
    table.update_item(
        Key={"PK": f"LINK#{token_hash(link.rsplit('/', 1)[-1])}", "SK": "LINK"},
        UpdateExpression="SET valid_until = :past",
        ExpressionAttributeValues={":past": "2020-01-01T00:00:00Z"},
    )
    answer = httpx.get(link)
    assert answer.status_code == 410 and 'data-kind="expired"' in answer.text


def _callback(gateway: Any, state: str, code: str = "any-code") -> httpx.Response:
    return httpx.get(f"{gateway.url}/oauth/callback", params={"state": state, "code": code})


def test_a_forged_state_is_refused(gateway: Any, api: Management, scene: Scene, unique: str) -> None:
    api.tenant(unique)
    link = api.link(unique)
    genuine = consent_url(link).split("state=")[1].split("&")[0]
    payload, _, _ = httpx.URL(f"http://x/?s={genuine}").params["s"].partition(".")
    forged = _callback(gateway, f"{payload}.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
    assert forged.status_code == 400 and 'data-kind="forged"' in forged.text
    signed_elsewhere, _ = consent_state.issue(unique, token_hash(link.rsplit("/", 1)[-1]), b"another key", time.time())
    assert 'data-kind="forged"' in _callback(gateway, signed_elsewhere).text


def test_an_expired_state_is_refused(gateway: Any, api: Management, unique: str) -> None:
    api.tenant(unique)
    link = api.link(unique)
    old, _ = consent_state.issue(unique, token_hash(link.rsplit("/", 1)[-1]), b"local-signing-key", time.time() - 601)
    answer = _callback(gateway, old)
    assert answer.status_code == 400 and 'data-kind="state_expired"' in answer.text


def test_a_replayed_state_is_refused(gateway: Any, api: Management, scene: Scene, unique: str) -> None:
    company = scene.new_company("Replay AB")
    api.tenant(unique)
    walked = walk(api.link(unique), company)
    assert walked.status == 200 and walked.callback_url is not None
    replay = httpx.get(walked.callback_url)
    assert replay.status_code == 409 and 'data-kind="replayed"' in replay.text


def test_a_reloaded_callback_that_failed_says_so_and_the_link_connects_again(
    gateway: Any, api: Management, scene: Scene, unique: str
) -> None:
    # Given a person whose callback failed: Fortnox refused the code exchange (its page says to try again)
    company = scene.new_company("Omladdad AB")
    api.tenant(unique)
    link = api.link(unique)
    scene.control.fault("500", method="POST", path_prefix="/oauth-v1/token")
    failed = walk(link, company)
    assert failed.status == 502 and failed.callback_url is not None

    # When the person reloads the page
    reloaded = httpx.get(failed.callback_url, timeout=30)

    # Then it is not told the connection was made, but to open the connect link again, which connects
    assert reloaded.status_code == 409 and 'data-kind="approval_used"' in reloaded.text
    assert walk(link, company).status == 200


def test_a_state_for_another_tenants_link_is_refused(gateway: Any, api: Management, unique: str) -> None:
    api.tenant(f"{unique}-a")
    api.tenant(f"{unique}-b")
    link_of_b = api.link(f"{unique}-b")
    crossed, _ = consent_state.issue(
        f"{unique}-a", token_hash(link_of_b.rsplit("/", 1)[-1]), b"local-signing-key", time.time()
    )
    answer = _callback(gateway, crossed)
    assert answer.status_code == 400 and 'data-kind="cross_tenant"' in answer.text


def test_declined_consent_changes_nothing(api: Management, scene: Scene, unique: str) -> None:
    company = scene.new_company("Nej AB")
    api.tenant(unique)
    link = api.link(unique)
    walked = walk(link, company, decision="deny")
    assert 'data-kind="denied"' in walked.page
    assert api.status(unique)["state"] == "not_connected"
    assert walk(link, company).status == 200  # the link still works


def test_a_company_bound_to_another_tenant_is_refused_unless_allowed(
    api: Management, scene: Scene, unique: str
) -> None:
    company = scene.new_company("Delad AB")
    api.tenant(f"{unique}-first")
    api.tenant(f"{unique}-second")
    assert walk(api.link(f"{unique}-first"), company).status == 200
    refused = walk(api.link(f"{unique}-second"), company)
    assert refused.status == 409 and 'data-kind="company_taken"' in refused.page and "Delad AB" in refused.page
    assert api.status(f"{unique}-second")["state"] == "not_connected"
    api.http.put(f"/tenants/{unique}-second/settings", json={"allow_shared_fortnox_company": True})
    assert walk(api.link(f"{unique}-second"), company).status == 200
    assert api.status(f"{unique}-first")["state"] == "connected"


def test_reconnecting_the_same_company_replaces_the_connection_and_revokes_the_old_token(
    api: Management, scene: Scene, unique: str
) -> None:
    company = scene.new_company("Åter AB")
    api.tenant(unique)
    walk(api.link(unique), company)
    old = wiring.secrets_store().read(TenantId(unique))
    assert old is not None and old.refresh_token is not None
    assert walk(api.link(unique, replace_connection=True), company).status == 200
    new = wiring.secrets_store().read(TenantId(unique))
    assert new is not None and new.refresh_token is not None
    assert new.refresh_token.get_secret_value() != old.refresh_token.get_secret_value()
    refused = scene.control.token(
        scene.app, {"grant_type": "refresh_token", "refresh_token": old.refresh_token.get_secret_value()}
    )
    assert json.loads(refused.text)["error"] == "invalid_grant"
    assert api.status(unique)["state"] == "connected"


def test_disconnect_revokes_at_fortnox_and_forgets_the_tokens(
    api: Management, scene: Scene, unique: str, events_tap: Any
) -> None:
    company = scene.new_company("Adjö AB")
    api.tenant(unique)
    walk(api.link(unique), company)
    stored = wiring.secrets_store().read(TenantId(unique))
    assert stored is not None and stored.refresh_token is not None
    answer = api.http.delete(f"/tenants/{unique}/connection")
    assert answer.status_code == 200 and answer.json()["state"] == "revoked"
    assert answer.json()["revoked_at_fortnox"] is True and answer.json()["tenant_action"] is None
    refused = scene.control.token(
        scene.app, {"grant_type": "refresh_token", "refresh_token": stored.refresh_token.get_secret_value()}
    )
    assert json.loads(refused.text)["error"] == "invalid_grant"
    assert wiring.secrets_store().read(TenantId(unique)) is None
    assert api.http.delete(f"/tenants/{unique}/connection").status_code == 409
    assert "connection.revoked" in [event.detail_type for event in events_tap.received()]


def test_a_service_account_link_asks_fortnox_for_one_and_keeps_no_refresh_token(
    api: Management, scene: Scene, unique: str
) -> None:
    company = scene.new_company("Service AB")
    api.tenant(unique)
    consent = consent_url(api.link(unique, service_account=True))
    assert "account_type=service" in consent
    assert httpx.get(approve(consent, company)).status_code == 200
    assert api.status(unique)["service_account"] is True
    assert wiring.secrets_store().read(TenantId(unique)) is None


def test_the_landing_page_speaks_english_when_asked(api: Management, unique: str) -> None:
    api.tenant(unique, "Agency Ltd")
    link = api.link(unique)
    assert "Anslut Fortnox" in httpx.get(link).text
    assert "Connect Fortnox" in httpx.get(link, params={"lang": "en"}).text
    assert "Connect Fortnox" in httpx.get(link, headers={"Accept-Language": "en-GB"}).text


def test_tokens_never_reach_dynamodb(api: Management, scene: Scene, unique: str, table: Any, runner: Any) -> None:
    company = scene.new_company("Hemlig AB")
    api.tenant(unique)
    walk(api.link(unique), company)
    stored = wiring.secrets_store().read(TenantId(unique))
    assert stored is not None and stored.refresh_token is not None
    items = json.dumps(table.scan()["Items"], default=str)
    assert stored.refresh_token.get_secret_value() not in items
    assert stored.access_token.get_secret_value() not in items
    # Under the stack's own root, encrypted with its tenant-secrets key (issue 12).
    name = f"fortnox-bridge/{STACK_NAME}/tenants/{unique}"
    secret = boto3.client("secretsmanager", region_name=REGION).describe_secret(SecretId=name)
    assert secret["Name"] == name
    assert secret["KmsKeyId"] == runner.environment(runner.function("ConnectHosted"))["TENANT_SECRETS_KEY_ID"]


def test_a_mapping_is_validated_stored_and_read_back(api: Management, unique: str) -> None:
    api.tenant(unique)
    assert api.http.get(f"/tenants/{unique}/mapping").json()["default_accounts"] == {
        "25": 3001,
        "12": 3002,
        "6": 3003,
        "0": 3004,
    }
    mapping = {
        "rules": [{"match_on": "service_type", "value": "FREIGHT", "account": 3041, "label": "Frakt"}],
        "default_cost_center": "STHLM",
    }
    assert api.http.put(f"/tenants/{unique}/mapping", json=mapping).status_code == 200
    stored = api.http.get(f"/tenants/{unique}/mapping").json()
    assert (stored["rules"][0]["account"], stored["default_cost_center"]) == (3041, "STHLM")
    bad = {"rules": [{"match_on": "service_type", "value": "FREIGHT", "account": 99}]}
    assert api.http.put(f"/tenants/{unique}/mapping", json=bad).status_code == 422
    assert api.http.put("/tenants/nobody-here/mapping", json=mapping).status_code == 404


def test_losing_a_race_for_a_company_leaves_the_old_connection_whole(
    api: Management, scene: Scene, unique: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fortnox_bridge.ids import FortnoxTenantId
    from fortnox_bridge.store.connections import Connection, ConnectionStore

    first = scene.new_company("Första AB")
    contested = scene.new_company("Omstridd AB")
    api.tenant(unique)
    walk(api.link(unique), first)
    before = wiring.secrets_store().read(TenantId(unique))
    reader = wiring.read_company

    def another_tenant_gets_there_first(token: str) -> Any:
        company = reader(token)
        ConnectionStore(wiring.table()).bind(
            Connection(
                tenant_id=TenantId(f"{unique}-rival"),
                fortnox_tenant_id=FortnoxTenantId(contested),
                company_name="Omstridd AB",
            )
        )
        return company

    monkeypatch.setattr(wiring, "read_company", another_tenant_gets_there_first)
    wiring.reset()
    refused = walk(api.link(unique, replace_connection=True), contested)
    assert refused.status == 409 and 'data-kind="company_taken"' in refused.page
    assert api.status(unique)["company_name"] == "Första AB"
    after = wiring.secrets_store().read(TenantId(unique))
    assert before is not None and after is not None and after.refresh_token == before.refresh_token
