"""The token endpoint refuses on request exactly as Fortnox refuses for a real cause: ``invalid_grant`` (a dead
refresh token) and ``invalid_client`` (a wrong client secret), with the recorded status, body and headers."""

import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import Scene

RECORDED = Path(__file__).resolve().parents[3] / "shared" / "fortnox" / "recorded"


def _recorded(name: str) -> dict[str, Any]:
    response: dict[str, Any] = json.loads((RECORDED / f"{name}.json").read_text())["response"]
    return response


def _refresh_token(scene: Scene, company: int) -> str:
    code = scene.control.consent(scene.app, company)
    answer = scene.control.token(scene.app, {"grant_type": "authorization_code", "code": code})
    return str(answer.json()["refresh_token"])


def _refresh(scene: Scene, token: str) -> httpx.Response:
    return scene.control.token(scene.app, {"grant_type": "refresh_token", "refresh_token": token})


@pytest.mark.parametrize(
    ("kind", "recording"),
    [
        ("invalid_grant", "authentication__invalid_refresh_token"),
        ("invalid_client", "authentication__invalid_authorization"),
    ],
)
def test_a_refused_refresh_answers_as_fortnox_does_and_leaves_the_token_alive(
    scene: Scene, kind: str, recording: str
) -> None:
    token = _refresh_token(scene, scene.tenant_id)
    scene.control.fault(kind, path_prefix="/oauth-v1/token")

    refused = _refresh(scene, token)

    # Status, body and the headers a client reads, as the recording has them, and as the real cause answers.
    recorded = _recorded(recording)
    assert refused.status_code == recorded["status"]["code"]
    assert refused.headers["Content-Type"] == recorded["headers"]["Content-Type"][0]
    assert recorded["headers"]["Server"][0] in refused.headers.get_list("Server")  # the HTTP server may add its own
    assert re.fullmatch("[0-9a-f]{8}", refused.headers["X-Uid"]) and re.fullmatch(
        "[0-9a-f]{8}", recorded["headers"]["X-Uid"][0]
    )
    assert json.loads(refused.text) == recorded["body"]
    real = (
        _refresh(scene, "never-issued")
        if kind == "invalid_grant"
        else httpx.post(
            f"{scene.url}/oauth-v1/token",
            data={"grant_type": "refresh_token", "refresh_token": token},
            auth=(scene.app.client_id, "wrong-secret"),
        )
    )
    assert (refused.status_code, refused.headers["Content-Type"], refused.content) == (
        real.status_code,
        real.headers["Content-Type"],
        real.content,
    )
    assert refused.headers["X-Uid"] != real.headers["X-Uid"]
    # A refusal takes nothing: the refresh token was not used, so the next refresh with it succeeds.
    assert _refresh(scene, token).status_code == 200


def test_a_refusal_counts_down_and_is_logged_as_the_answer_it_gave(scene: Scene) -> None:
    token = _refresh_token(scene, scene.tenant_id)
    scene.control.fault("invalid_grant", count=2)
    before = len(scene.control.requests())

    statuses = [_refresh(scene, token).status_code for _ in range(3)]

    assert statuses == [400, 400, 200]
    logged = scene.control.requests()[before:]
    assert [(row["path"], row["status"]) for row in logged] == [("/oauth-v1/token", status) for status in statuses]


def test_a_refusal_aimed_at_one_company_spares_the_others(scene: Scene) -> None:
    other = scene.new_company("Annat AB")
    aimed, spared = _refresh_token(scene, other), _refresh_token(scene, scene.tenant_id)
    scene.control.fault("invalid_grant", count=5, tenant_id=other)

    assert _refresh(scene, spared).status_code == 200
    assert json.loads(_refresh(scene, aimed).text)["error"] == "invalid_grant"


def test_an_invalid_grant_speaks_of_the_grant_presented(scene: Scene) -> None:
    scene.control.fault("invalid_grant")
    code = scene.control.consent(scene.app, scene.tenant_id)

    refused = scene.control.token(scene.app, {"grant_type": "authorization_code", "code": code})

    assert json.loads(refused.text) == {"error": "invalid_grant", "error_description": "Invalid authorization code"}
    # The code was not used by the refusal: it still exchanges once.
    assert scene.control.token(scene.app, {"grant_type": "authorization_code", "code": code}).status_code == 200


def _revoke(scene: Scene, token: str) -> httpx.Response:
    return httpx.post(
        f"{scene.url}/oauth-v1/revoke",
        data={"token_type_hint": "refresh_token", "token": token},
        auth=(scene.app.client_id, scene.app.client_secret),
    )


@pytest.mark.parametrize(
    ("kind", "status"),
    [
        ("invalid_client", 401),
        # Unverified at Fortnox (OAuthEndpoints.revoke): offered so the disconnect's "already dead" branch is testable.
        ("invalid_grant", 400),
    ],
)
def test_a_refusal_refuses_a_revoke_too_and_revokes_nothing(scene: Scene, kind: str, status: int) -> None:
    token = _refresh_token(scene, scene.tenant_id)
    scene.control.fault(kind, path_prefix="/oauth-v1/revoke")

    refused = _revoke(scene, token)

    assert refused.status_code == status and json.loads(refused.text)["error"] == kind
    # A dead refresh token is spoken of in the words the token endpoint uses for one, with the same headers.
    if kind == "invalid_grant":
        dead = _refresh(scene, "never-issued")
        assert (refused.headers["Content-Type"], refused.content) == (dead.headers["Content-Type"], dead.content)
    assert re.fullmatch("[0-9a-f]{8}", refused.headers["X-Uid"])
    assert _refresh(scene, token).status_code == 200


def test_a_revoke_answers_with_fortnox_s_headers_and_ends_the_refresh_token(scene: Scene) -> None:
    token = _refresh_token(scene, scene.tenant_id)

    revoked = _revoke(scene, token)

    assert (revoked.status_code, revoked.json()) == (200, {"revoked": True})
    assert "Fortnox" in revoked.headers.get_list("Server")
    assert re.fullmatch("[0-9a-f]{8}", revoked.headers["X-Uid"])
    assert json.loads(_refresh(scene, token).text)["error"] == "invalid_grant"


@pytest.mark.parametrize(
    ("form", "headers", "answer"),
    [
        ({"grant_type": "refresh_token", "refresh_token": "never-issued"}, {}, (400, "invalid_grant")),
        ({"grant_type": "authorization_code", "code": "never-issued"}, {}, (400, "invalid_grant")),
        ({"grant_type": "client_credentials"}, {"TenantId": "not-a-number"}, (400, "invalid_request")),
    ],
    ids=["unknown_refresh_token", "unknown_code", "unreadable_tenant_id"],
)
def test_a_refusal_aimed_at_one_company_is_kept_for_it_past_requests_of_no_known_company(
    scene: Scene, form: dict[str, str], headers: dict[str, str], answer: tuple[int, str]
) -> None:
    aimed = _refresh_token(scene, scene.tenant_id)
    scene.control.fault("invalid_client", count=1, tenant_id=scene.tenant_id)

    stranger = scene.control.token(scene.app, form, headers)
    unknown_revoke = _revoke(scene, "never-issued")

    # Each gets the answer its real cause gets, and the refusal is still there for the company it was aimed at.
    assert (stranger.status_code, json.loads(stranger.text)["error"]) == answer
    assert unknown_revoke.status_code == 200
    assert json.loads(_refresh(scene, aimed).text)["error"] == "invalid_client"


def test_clearing_faults_drops_queued_refusals(scene: Scene) -> None:
    token = _refresh_token(scene, scene.tenant_id)
    scene.control.fault("invalid_client", count=10)

    scene.control.clear_faults()

    assert _refresh(scene, token).status_code == 200


def test_a_reset_drops_queued_refusals(scene: Scene) -> None:
    # The sandbox serves a whole test session: a refusal one test left queued must not refuse the next test's refresh.
    scene.control.fault("invalid_grant", count=10)

    scene.control.reset()

    scene.control.create_app(scene.app.client_id, scene.app.client_secret)
    company = scene.control.create_company(scene.tenant_id)
    assert _refresh(scene, _refresh_token(scene, company)).status_code == 200


def test_an_unknown_fault_kind_is_refused(scene: Scene) -> None:
    with pytest.raises(httpx.HTTPStatusError):
        scene.control.fault("invalid_scope")
