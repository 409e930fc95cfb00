"""The replay tool (python -m fortnox_sandbox.replay) counts what it should and notices a difference.

Cassettes are written here from the extracted recordings in tests/sandbox/recorded/ (JSON is YAML), in the VCR
layout of accodeing/fortnox-api spec/vcr_cassettes.
"""

import json
from pathlib import Path
from typing import Any

from fortnox_sandbox.replay import run

RECORDED = Path(__file__).parent / "recorded"


def _cassette(folder: Path, name: str, recording: dict[str, Any]) -> None:
    request, response = recording["request"], recording["response"]
    interaction = {
        "request": {"method": request["method"], "uri": request["uri"], "body": {"string": request["body"] or ""}},
        "response": {
            "status": response["status"],
            "headers": response["headers"],
            "body": {"string": json.dumps(response["body"])},
        },
    }
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"http_interactions": [interaction]}))


def _recorded(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((RECORDED / f"{name}.json").read_text())
    return loaded


def test_recorded_answers_the_sandbox_reproduces_count_as_the_same(tmp_path: Path) -> None:
    _cassette(tmp_path, "orders/find_id_1.yml", _recorded("orders__find_id_1"))
    _cassette(tmp_path, "invoices/filter_hit.yml", _recorded("invoices__filter_hit"))
    _cassette(tmp_path, "orders/filter_invalid.yml", _recorded("orders__filter_invalid"))
    units = _recorded("orders__find_id_1")
    units["request"]["uri"] = "https://api.fortnox.se/3/units/blarg7"
    _cassette(tmp_path, "units/find_id_1.yml", units)

    summary = run(tmp_path, details=True).splitlines()

    assert summary[-2] == (
        "3 of 3 interactions: same status; 3: same key set; 3: same types (3: same error code, 3: same top-level "
        "key, 3: same keys and types below it, 3: same Location header)"
    )
    assert summary[-1] == "not served by the sandbox (units, terms of payment): 1; request masked by the recording: 0"


def test_a_recorded_answer_the_sandbox_does_not_give_is_reported(tmp_path: Path) -> None:
    recording = _recorded("orders__find_id_1")
    order = recording["response"]["body"]["Order"]
    order["Freight"] = "0"
    order["Invented"] = True
    _cassette(tmp_path, "orders/find_id_1.yml", recording)

    report = run(tmp_path, details=True)

    assert "extra" not in report
    assert "missing Invented" in report
    assert "Freight: string->number" in report
    assert "1 of 1 interactions: same status; 0: same key set; 0: same types" in report
