"""Projects are created and updated as real Fortnox does it, and a new project is usable on rows at once.

Evidence: tests/sandbox/recorded/projects__*.json (accodeing/fortnox-api's spec/vcr_cassettes/projects/*.yml).
"""

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from fortnox_bridge.fortnox.models.registers import ProjectWrite
from tests.conftest import Scene

RECORDED = Path(__file__).resolve().parent / "recorded"


def _recorded(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((RECORDED / f"{name}.json").read_text())
    return loaded


@pytest.fixture
def api(scene: Scene) -> httpx.Client:
    return httpx.Client(
        base_url=scene.url, headers={"Authorization": f"Bearer {scene.token()}", "Content-Type": "application/json"}
    )


def _code(answer: httpx.Response) -> int:
    information = answer.json()["ErrorInformation"]
    return int(information.get("code") or information.get("Code"))


def _without_url(project: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in project.items() if key != "@url"}


def test_a_project_is_created_as_recorded(api: httpx.Client) -> None:
    recorded = _recorded("projects__save_new")
    answer = api.post("/3/projects", json=recorded["request"]["body"])
    assert answer.status_code == 201
    assert answer.headers["Location"] == recorded["response"]["headers"]["Location"][0] == "project"
    project = answer.json()["Project"]
    expected = recorded["response"]["body"]["Project"]
    assert list(project) == list(expected)
    # Fortnox numbered it 2 after its project 1; the sandbox company starts with none numbered.
    assert _without_url(project) | {"ProjectNumber": "2"} == _without_url(expected)
    assert project["@url"].endswith(f"/3/projects/{project['ProjectNumber']}")
    assert api.get(f"/3/projects/{project['ProjectNumber']}").json()["Project"] == project


def test_an_update_changes_only_what_it_sends(api: httpx.Client) -> None:
    number = api.post("/3/projects", json=_recorded("projects__save_new")["request"]["body"]).json()["Project"][
        "ProjectNumber"
    ]
    answer = api.put(f"/3/projects/{number}", json=_recorded("projects__save_old")["request"]["body"])
    assert answer.status_code == 200
    expected = _recorded("projects__save_old")["response"]["body"]["Project"]
    assert _without_url(answer.json()["Project"]) | {"ProjectNumber": "2"} == _without_url(expected)


def test_a_missing_project_answers_as_recorded(api: httpx.Client) -> None:
    recorded = _recorded("projects__find_failure")
    answer = api.get("/3/projects/123456789")
    assert (answer.status_code, answer.json()) == (404, recorded["response"]["body"])
    assert api.put("/3/projects/123456789", json={"Project": {"Comments": "x"}}).status_code == 404


def test_list_items_carry_the_recorded_keys(api: httpx.Client) -> None:
    api.post("/3/projects", json={"Project": {"Description": "Some important project"}}).raise_for_status()
    recorded = _recorded("projects__all")["response"]["body"]["Projects"][0]
    items = api.get("/3/projects").json()["Projects"]
    assert all(list(item) == list(recorded) for item in items)
    assert [item["ProjectNumber"] for item in items] == ["1", "P100", "P200", "P900"]


@pytest.mark.parametrize(
    "project",
    [
        {"Comments": "no description"},
        {"Description": "x" * 51},
        {"Description": "Projekt", "Status": "PAUSED"},
        {"Description": "Projekt", "StartDate": "2024-13-01"},
        {"Description": "Projekt", "ProjectNumber": "P" * 21},
        {"Description": "Projekt", "ProjectNumber": "P100"},
        {"Description": "Projekt", "Budget": 100},
    ],
)
def test_what_fortnox_refuses_in_a_project_is_refused(api: httpx.Client, project: dict[str, Any]) -> None:
    before = api.get("/3/projects").json()["Projects"]
    answer = api.post("/3/projects", json={"Project": project})
    assert answer.status_code == 400
    assert api.get("/3/projects").json()["Projects"] == before


def test_statuses_and_dates_round_trip(api: httpx.Client) -> None:
    body = {
        "Project": {
            "ProjectNumber": "2025-7",
            "Description": "Ombyggnad",
            "Status": "NOTSTARTED",
            "StartDate": "2025-03-01",
            "EndDate": "2025-09-30",
            "ProjectLeader": "Anna Lind",
            "ContactPerson": "Bo Ek",
        }
    }
    created = api.post("/3/projects", json=body).json()["Project"]
    assert {key: created[key] for key in body["Project"]} == body["Project"]
    done = api.put("/3/projects/2025-7", json={"Project": {"Status": "COMPLETED"}}).json()["Project"]
    assert (done["Status"], done["StartDate"], done["ProjectLeader"]) == ("COMPLETED", "2025-03-01", "Anna Lind")


def test_a_new_project_is_accepted_on_an_invoice_row(scene: Scene, api: httpx.Client) -> None:
    api.post("/3/customers", json={"Customer": {"Name": "Kund AB"}}).raise_for_status()
    invoice = {
        "Invoice": {
            "CustomerNumber": "1",
            "InvoiceRows": [{"AccountNumber": 3001, "Description": "Frakt", "Price": 10, "Project": "77"}],
        }
    }
    assert _code(api.post("/3/invoices", json=invoice)) == 2001161
    client = scene.client()
    client.projects.create(ProjectWrite(ProjectNumber="77", Description="Nytt projekt"))
    client.projects.update("77", ProjectWrite(Comments="Startat"))
    assert client.projects.get("77").Comments == "Startat"
    assert api.post("/3/invoices", json=invoice).status_code == 201
