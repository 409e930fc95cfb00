"""OAuth exactly as Fortnox does it: single-use codes for 10 minutes, rotating refresh tokens, service accounts."""

import base64
import json
import re
from urllib.parse import parse_qs, urlparse

import httpx
import pytest

from tests.conftest import Scene

REDIRECT = "http://127.0.0.1/callback"


def _exchange(scene: Scene, code: str, **extra: str) -> httpx.Response:
    return scene.control.token(scene.app, {"grant_type": "authorization_code", "code": code, **extra})


def test_the_consent_page_leads_back_with_a_code_and_the_state(scene: Scene) -> None:
    query = {
        "client_id": scene.app.client_id,
        "redirect_uri": REDIRECT,
        "scope": "companyinformation invoice",
        "state": "opaque-123",
        "access_type": "offline",
        "response_type": "code",
    }
    page = httpx.get(f"{scene.url}/oauth-v1/auth", params=query)
    assert page.status_code == 200 and "companyinformation" in page.text and 'id="approve"' in page.text
    form = dict(re.findall(r"name='([a-z_]+)' value='([^']*)'", page.text))
    answer = httpx.post(
        f"{scene.url}/oauth-v1/auth", data={**form, "tenant_id": str(scene.tenant_id), "decision": "approve"}
    )
    assert answer.status_code == 302
    location = urlparse(answer.headers["Location"])
    params = parse_qs(location.query)
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT
    assert params["state"] == ["opaque-123"]
    token = _exchange(scene, params["code"][0], redirect_uri=REDIRECT)
    assert token.status_code == 200
    claims = json.loads(base64.urlsafe_b64decode(token.json()["access_token"].split(".")[1] + "=="))
    assert claims["tenantId"] == scene.tenant_id


def test_denied_consent_redirects_with_access_denied(scene: Scene) -> None:
    answer = httpx.post(
        f"{scene.url}/oauth-v1/auth",
        data={
            "client_id": scene.app.client_id,
            "redirect_uri": REDIRECT,
            "scope": "invoice",
            "state": "s",
            "response_type": "code",
            "decision": "deny",
        },
    )
    assert parse_qs(urlparse(answer.headers["Location"]).query)["error"] == ["access_denied"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"client_id": "unknown"}, "Auth code or ClientID supplied is invalid"),
        ({"redirect_uri": "http://127.0.0.1/elsewhere"}, "redirect_uri does not match"),
        ({"scope": "invoice teleport"}, "Invalid scope"),
        ({"response_type": "token"}, "response_type must be code"),
    ],
)
def test_bad_authorization_requests_are_refused(scene: Scene, change: dict[str, str], message: str) -> None:
    query = {
        "client_id": scene.app.client_id,
        "redirect_uri": REDIRECT,
        "scope": "invoice",
        "state": "s",
        "response_type": "code",
        **change,
    }
    page = httpx.get(f"{scene.url}/oauth-v1/auth", params=query)
    assert page.status_code == 400 and message in page.text


def test_service_accounts_need_an_app_that_allows_them(scene: Scene) -> None:
    other = scene.control.create_app("no-service", "secret", [REDIRECT], service_account_allowed=False)
    page = httpx.get(
        f"{scene.url}/oauth-v1/auth",
        params={
            "client_id": other.client_id,
            "scope": "invoice",
            "state": "s",
            "response_type": "code",
            "account_type": "service",
        },
    )
    assert "Client does not allow service account" in page.text


def test_an_authorization_code_is_single_use(scene: Scene) -> None:
    code = scene.control.consent(scene.app, scene.tenant_id)
    assert _exchange(scene, code).status_code == 200
    again = _exchange(scene, code)
    assert (again.status_code, json.loads(again.text)["error"]) == (400, "invalid_grant")


def test_an_authorization_code_expires_after_ten_minutes(scene: Scene) -> None:
    fresh = scene.control.consent(scene.app, scene.tenant_id)
    stale = scene.control.consent(scene.app, scene.tenant_id)
    scene.control.advance_clock(9 * 60)
    assert _exchange(scene, fresh).status_code == 200
    scene.control.advance_clock(61)
    assert json.loads(_exchange(scene, stale).text)["error"] == "invalid_grant"


def test_redirect_uri_must_repeat_the_one_used_at_consent(scene: Scene) -> None:
    code = scene.control.consent(scene.app, scene.tenant_id, redirect_uri=REDIRECT)
    assert _exchange(scene, code, redirect_uri="http://127.0.0.1/other").status_code == 400


def test_a_refresh_rotates_the_token_and_the_old_one_is_refused(scene: Scene) -> None:
    first = _exchange(scene, scene.control.consent(scene.app, scene.tenant_id)).json()
    second = scene.control.token(scene.app, {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]})
    assert second.status_code == 200 and second.json()["refresh_token"] != first["refresh_token"]
    replay = scene.control.token(scene.app, {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]})
    assert (replay.status_code, json.loads(replay.text)) == (
        400,
        {"error": "invalid_grant", "error_description": "Invalid refresh token"},
    )
    assert replay.headers["Content-Type"].startswith("text/html")
    # The control API's request log says which app asked and with which grant, and never the token
    asked = [row for row in scene.control.requests() if row["path"] == "/oauth-v1/token"][-3:]
    assert [(row["client_id"], row["grant_type"], row["status"]) for row in asked] == [
        (scene.app.client_id, "authorization_code", 200),
        (scene.app.client_id, "refresh_token", 200),
        (scene.app.client_id, "refresh_token", 400),
    ]
    assert first["refresh_token"] not in str(asked) and second.json()["refresh_token"] not in str(asked)


def test_a_refresh_token_lives_45_days(scene: Scene) -> None:
    tokens = _exchange(scene, scene.control.consent(scene.app, scene.tenant_id)).json()
    scene.control.advance_clock(45 * 24 * 3600 + 1)
    answer = scene.control.token(scene.app, {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]})
    assert json.loads(answer.text)["error"] == "invalid_grant"


def test_an_access_token_lives_one_hour(scene: Scene) -> None:
    token = scene.token()
    headers = {"Authorization": f"Bearer {token}"}
    # A JWT's times are whole seconds: a token issued at x.95 s has 50 ms of its 3,600th second left, so a check a
    # full 3,599 s later failed whenever the request took longer than what remained of the issuing second.
    scene.control.advance_clock(3598)
    assert httpx.get(f"{scene.url}/3/companyinformation", headers=headers).status_code == 200
    scene.control.advance_clock(2)  # an hour after the issuing second began: expired whatever its fraction
    assert httpx.get(f"{scene.url}/3/companyinformation", headers=headers).status_code == 401


def test_client_credentials_with_tenant_id_for_service_accounts_only(scene: Scene) -> None:
    grant = {"grant_type": "client_credentials"}
    header = {"TenantId": str(scene.tenant_id)}
    _exchange(scene, scene.control.consent(scene.app, scene.tenant_id))  # a person's consent, not a service account
    assert scene.control.token(scene.app, grant, header).status_code == 400
    _exchange(scene, scene.control.consent(scene.app, scene.tenant_id, service_account=True))
    answer = scene.control.token(scene.app, grant, header)
    assert answer.status_code == 200 and "refresh_token" not in answer.json()
    assert (
        httpx.get(
            f"{scene.url}/3/companyinformation", headers={"Authorization": f"Bearer {answer.json()['access_token']}"}
        ).status_code
        == 200
    )
    assert scene.control.token(scene.app, grant).status_code == 400  # no TenantId header


def test_revoke_ends_the_refresh_token_and_access_tokens_live_out_their_hour(scene: Scene) -> None:
    tokens = _exchange(scene, scene.control.consent(scene.app, scene.tenant_id)).json()
    answer = httpx.post(
        f"{scene.url}/oauth-v1/revoke",
        data={"token_type_hint": "refresh_token", "token": tokens["refresh_token"]},
        auth=(scene.app.client_id, scene.app.client_secret),
    )
    assert answer.json() == {"revoked": True}
    refreshed = scene.control.token(
        scene.app, {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    )
    assert json.loads(refreshed.text)["error"] == "invalid_grant"
    assert (
        httpx.get(
            f"{scene.url}/3/companyinformation", headers={"Authorization": f"Bearer {tokens['access_token']}"}
        ).status_code
        == 200
    )


def test_scopes_are_enforced_per_resource(scene: Scene) -> None:
    headers = {"Authorization": f"Bearer {scene.token('companyinformation')}"}
    assert httpx.get(f"{scene.url}/3/companyinformation", headers=headers).status_code == 200
    refused = httpx.get(f"{scene.url}/3/invoices", headers=headers)
    assert (refused.status_code, refused.json()["ErrorInformation"]["code"]) == (403, 2000663)
