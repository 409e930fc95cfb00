"""The control API's faults and the rate limit, seen on the wire."""

import httpx
import pytest

from tests.conftest import Scene


@pytest.fixture
def http(scene: Scene) -> httpx.Client:
    return httpx.Client(base_url=scene.url, headers={"Authorization": f"Bearer {scene.token()}"}, timeout=1.0)


def test_next_requests_answer_500(scene: Scene, http: httpx.Client) -> None:
    scene.control.fault("500", count=2)
    assert [http.get("/3/companyinformation").status_code for _ in range(3)] == [500, 500, 200]


def test_next_request_answers_429(scene: Scene, http: httpx.Client) -> None:
    scene.control.fault("429")
    assert [http.get("/3/companyinformation").status_code for _ in range(2)] == [429, 200]


def test_a_timeout_never_answers(scene: Scene, http: httpx.Client) -> None:
    scene.control.fault("timeout", delay_seconds=1.5)
    with pytest.raises(httpx.ReadTimeout):
        http.get("/3/companyinformation")


def test_drop_after_commit_does_the_work_and_loses_the_answer(scene: Scene, http: httpx.Client) -> None:
    scene.control.fault("drop_after_commit", method="POST")
    with pytest.raises(httpx.TransportError):
        http.post("/3/customers", json={"Customer": {"Name": "Tappad AB"}})
    assert scene.control.company(scene.tenant_id)["customers"] == 1


def test_500_after_commit_does_the_work_and_answers_a_server_error(scene: Scene, http: httpx.Client) -> None:
    scene.control.fault("500_after_commit", method="POST")
    answer = http.post("/3/customers", json={"Customer": {"Name": "Halvklar AB"}})
    assert (answer.status_code, answer.json()["ErrorInformation"]["code"]) == (500, 1000003)
    assert scene.control.company(scene.tenant_id)["customers"] == 1


def test_faults_can_target_one_path(scene: Scene, http: httpx.Client) -> None:
    scene.control.fault("500", path_prefix="/3/invoices")
    assert http.get("/3/companyinformation").status_code == 200
    assert http.get("/3/invoices").status_code == 500


def test_the_26th_request_in_five_seconds_is_refused(scene: Scene, http: httpx.Client) -> None:
    statuses = [http.get("/3/companyinformation").status_code for _ in range(26)]
    assert statuses == [200] * 25 + [429]


def test_the_limit_is_per_client_and_tenant(scene: Scene, http: httpx.Client) -> None:
    for _ in range(25):
        http.get("/3/companyinformation")
    other = scene.control.create_company(2000002, "Annat AB")
    token = scene.control.access_token(scene.app, other)
    assert (
        httpx.get(f"{scene.url}/3/companyinformation", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    )


def test_the_request_log_names_method_path_status_and_tenant(scene: Scene, http: httpx.Client) -> None:
    http.get("/3/companyinformation")
    row = scene.control.requests(scene.tenant_id)[-1]
    assert (row["method"], row["path"], row["status"], row["tenant_id"]) == (
        "GET",
        "/3/companyinformation",
        200,
        scene.tenant_id,
    )
    assert row["time"] > 0
