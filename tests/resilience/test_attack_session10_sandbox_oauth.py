"""Attacks on the sandbox's OAuth refusals (session 10), checked against Fortnox's recorded answers
(/work/shared/fortnox/recorded, FACTS.md 1.4-1.5): what a refusal aimed at one company hits, what the control API
accepts, and the headers of the answers around them."""

import json
import re
from pathlib import Path

import httpx

from tests.conftest import Scene

RECORDED = Path(__file__).resolve().parents[3] / "shared" / "fortnox" / "recorded"
TOKEN, REVOKE = "/oauth-v1/token", "/oauth-v1/revoke"


def _recorded_headers(name: str) -> dict[str, list[str]]:
    headers: dict[str, list[str]] = json.loads((RECORDED / f"{name}.json").read_text())["response"]["headers"]
    return headers


def _refresh_token(scene: Scene, company: int) -> str:
    code = scene.control.consent(scene.app, company)
    return str(
        scene.control.token(scene.app, {"grant_type": "authorization_code", "code": code}).json()["refresh_token"]
    )


def _refresh(scene: Scene, token: str) -> httpx.Response:
    return scene.control.token(scene.app, {"grant_type": "refresh_token", "refresh_token": token})


def _revoke(scene: Scene, token: str) -> httpx.Response:
    return httpx.post(
        f"{scene.url}{REVOKE}",
        data={"token_type_hint": "refresh_token", "token": token},
        auth=(scene.app.client_id, scene.app.client_secret),
    )


def test_a_granted_refresh_carries_the_headers_fortnox_recorded(scene: Scene) -> None:
    answer = _refresh(scene, _refresh_token(scene, scene.tenant_id))

    assert answer.status_code == 200
    recorded = _recorded_headers("authentication__valid_request")
    assert recorded["Server"][0] in answer.headers.get_list("Server")
    assert re.fullmatch("[0-9a-f]{8}", answer.headers.get("X-Uid", ""))


def test_a_refusal_aimed_at_one_company_is_not_spent_on_a_request_of_no_known_company(scene: Scene) -> None:
    aimed = _refresh_token(scene, scene.tenant_id)
    scene.control.fault("invalid_client", count=1, path_prefix=TOKEN, tenant_id=scene.tenant_id)

    stranger = _refresh(scene, "never-issued")
    refused = _refresh(scene, aimed)

    # The unknown token gets the answer a real unknown token gets, and the aimed company its refusal
    assert (stranger.status_code, json.loads(stranger.text)["error"]) == (400, "invalid_grant")
    assert (refused.status_code, json.loads(refused.text)["error"]) == (401, "invalid_client")


def test_an_invalid_grant_refusal_on_the_revoke_endpoint_is_refused_or_answered(scene: Scene) -> None:
    token = _refresh_token(scene, scene.tenant_id)
    try:
        scene.control.fault("invalid_grant", path_prefix=REVOKE)
    except httpx.HTTPStatusError:
        return  # refused as a fault the sandbox cannot inject: a test asking for it learns so at once

    answer = _revoke(scene, token)

    assert (answer.status_code, json.loads(answer.text)["error"]) == (400, "invalid_grant")
