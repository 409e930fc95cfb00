"""Each real Fortnox response in ../shared/fortnox/recorded is reproduced by the sandbox for the same request."""

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import Scene

RECORDED = Path(__file__).resolve().parents[3] / "shared" / "fortnox" / "recorded"


def _recording(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((RECORDED / f"{name}.json").read_text())
    return loaded


def _shape(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_shape(value[0])] if value else []
    return type(value).__name__


def _assert_same(recorded: dict[str, Any], status: int, content_type: str, body: Any) -> None:
    response = recorded["response"]
    assert status == response["status"]["code"]
    assert content_type.split(";")[0] == response["headers"]["Content-Type"][0].split(";")[0]
    assert _shape(body) == _shape(response["body"])


def _refresh_token(scene: Scene) -> str:
    code = scene.control.consent(scene.app, scene.tenant_id, "article invoice settings customer order project")
    answer = scene.control.token(scene.app, {"grant_type": "authorization_code", "code": code})
    return str(answer.json()["refresh_token"])


def test_expired_token(scene: Scene) -> None:
    token = scene.token()
    scene.control.advance_clock(3601)
    answer = httpx.get(f"{scene.url}/3/customers", headers={"Authorization": f"Bearer {token}"})
    _assert_same(
        _recording("authentication__expired_token"), answer.status_code, answer.headers["Content-Type"], answer.json()
    )
    assert answer.json() == {"message": "unauthorized"}


def test_invalid_client_credentials(scene: Scene) -> None:
    answer = httpx.post(
        f"{scene.url}/oauth-v1/token",
        data={"grant_type": "refresh_token", "refresh_token": "x"},
        auth=(scene.app.client_id, "wrong-secret"),
    )
    recorded = _recording("authentication__invalid_authorization")
    _assert_same(recorded, answer.status_code, answer.headers["Content-Type"], json.loads(answer.text))
    assert json.loads(answer.text) == recorded["response"]["body"]


def test_invalid_refresh_token(scene: Scene) -> None:
    answer = scene.control.token(scene.app, {"grant_type": "refresh_token", "refresh_token": "never-issued"})
    recorded = _recording("authentication__invalid_refresh_token")
    _assert_same(recorded, answer.status_code, answer.headers["Content-Type"], json.loads(answer.text))
    assert json.loads(answer.text) == recorded["response"]["body"]


def test_valid_refresh(scene: Scene) -> None:
    answer = scene.control.token(scene.app, {"grant_type": "refresh_token", "refresh_token": _refresh_token(scene)})
    recorded = _recording("authentication__valid_request")
    _assert_same(recorded, answer.status_code, answer.headers["Content-Type"], answer.json())
    body = answer.json()
    assert (body["expires_in"], body["token_type"]) == (3600, "bearer")
    assert body["scope"].split() == sorted(recorded["response"]["body"]["scope"].split())


@pytest.fixture
def with_customers(scene: Scene) -> Scene:
    headers = {"Authorization": f"Bearer {scene.token()}", "Content-Type": "application/json"}
    for name in [
        "Updated name",
        "Test customer",
        "Customer with Swedish country code",
        "Customer with Sales Account",
        "A customer",
        "Updated name",
        "Test customer",
    ]:
        httpx.post(f"{scene.url}/3/customers", headers=headers, json={"Customer": {"Name": name}}).raise_for_status()
    return scene


def test_customer_list(with_customers: Scene) -> None:
    answer = httpx.get(
        f"{with_customers.url}/3/customers/", headers={"Authorization": f"Bearer {with_customers.token()}"}
    )
    recorded = _recording("customers__all")
    _assert_same(recorded, answer.status_code, answer.headers["Content-Type"], answer.json())
    assert answer.json()["MetaInformation"] == recorded["response"]["body"]["MetaInformation"]


def test_customer_not_found(scene: Scene) -> None:
    answer = httpx.get(f"{scene.url}/3/customers/123456789", headers={"Authorization": f"Bearer {scene.token()}"})
    recorded = _recording("customers__find_failure")
    _assert_same(recorded, answer.status_code, answer.headers["Content-Type"], answer.json())
    assert answer.json() == recorded["response"]["body"]


def test_customer_by_number(with_customers: Scene) -> None:
    answer = httpx.get(
        f"{with_customers.url}/3/customers/1", headers={"Authorization": f"Bearer {with_customers.token()}"}
    )
    recorded = _recording("customers__find_id_1")
    assert set(answer.json()["Customer"]) == set(recorded["response"]["body"]["Customer"])
    assert answer.status_code == 200


def test_customer_create(scene: Scene) -> None:
    answer = httpx.post(
        f"{scene.url}/3/customers/",
        json={"Customer": {"Name": "A value"}},
        headers={"Authorization": f"Bearer {scene.token()}"},
    )
    recorded = _recording("customers__save_new")
    _assert_same(recorded, answer.status_code, answer.headers["Content-Type"], answer.json())
    assert "Location" in answer.headers
    created = {key: value for key, value in answer.json()["Customer"].items() if key not in {"@url", "CustomerNumber"}}
    expected = {
        key: value
        for key, value in recorded["response"]["body"]["Customer"].items()
        if key not in {"@url", "CustomerNumber"}
    }
    assert created == expected
