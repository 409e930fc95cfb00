"""The token endpoint's one retry: a client secret rotated since this process cached it is read again and the request
sent again with it, unless the caller's time would not cover a second request (the disconnect's revoke)."""

import math

import pytest

from fortnox_bridge.fortnox.errors import FortnoxInvalidClient
from fortnox_bridge.fortnox.oauth import TokenEndpoint
from tests.conftest import Scene

pytestmark = pytest.mark.integration

REVOKE = "/oauth-v1/revoke"


def _endpoint(scene: Scene, *, current: str) -> TokenEndpoint:
    """An endpoint holding a client secret Fortnox no longer takes; the secret stored now is ``current``."""
    return TokenEndpoint(
        auth_url=scene.url,
        client_id=scene.app.client_id,
        client_secret=lambda: "rotated-away",
        current_client_secret=lambda: current,
    )


def _revoke_statuses(scene: Scene) -> list[int]:
    return [row["status"] for row in scene.control.requests() if row["path"] == REVOKE]


def _refresh_token(scene: Scene) -> str:
    code = scene.control.consent(scene.app, scene.tenant_id)
    answer = scene.control.token(scene.app, {"grant_type": "authorization_code", "code": code})
    return str(answer.json()["refresh_token"])


def test_a_secret_rotated_since_the_copy_is_read_again_and_the_refresh_goes_through(scene: Scene) -> None:
    refreshed = _endpoint(scene, current=scene.app.client_secret).refresh(_refresh_token(scene))

    assert refreshed.refresh_token is not None


def test_a_revoke_with_time_for_two_requests_goes_again_with_the_current_secret(scene: Scene) -> None:
    _endpoint(scene, current=scene.app.client_secret).revoke(_refresh_token(scene), within=math.inf)

    assert _revoke_statuses(scene) == [401, 200]


def test_a_revoke_without_time_for_a_second_request_gives_the_refusal_back(scene: Scene) -> None:
    endpoint = _endpoint(scene, current=scene.app.client_secret)

    with pytest.raises(FortnoxInvalidClient):
        endpoint.revoke(_refresh_token(scene), within=endpoint.attempt_seconds - 0.001)

    assert _revoke_statuses(scene) == [401]


def test_the_same_secret_stored_now_is_not_sent_twice(scene: Scene) -> None:
    with pytest.raises(FortnoxInvalidClient):
        _endpoint(scene, current="rotated-away").revoke(_refresh_token(scene))

    assert _revoke_statuses(scene) == [401]
