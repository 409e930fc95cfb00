"""Every queue contract has a committed JSON Schema that matches its model, and a sample that validates."""

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from fortnox_bridge.contracts.intake import RefusedBody, parse_event, parse_voucher_event
from infra.names import ROOT
from local_stack.schemas import CONTRACTS, SCHEMA_DIR, schema_text


@pytest.mark.parametrize("name", sorted(CONTRACTS))
def test_committed_schema_matches_the_model(name: str) -> None:
    committed = (SCHEMA_DIR / f"{name}.schema.json").read_text()
    assert committed == schema_text(CONTRACTS[name]), "run: uv run python -m local_stack.schemas"


@pytest.mark.parametrize("name", sorted(CONTRACTS))
def test_every_contract_has_a_sample(name: str) -> None:
    assert (ROOT / "events" / f"{name}.json").exists()


def _contract_of(path: Path) -> str:
    """``invoice.ready.interest.json`` is a sample of ``invoice.ready``."""
    stem = path.name.removesuffix(".json")
    return max((name for name in CONTRACTS if stem == name or stem.startswith(f"{name}.")), key=len)


@pytest.mark.parametrize("path", sorted((ROOT / "events").glob("*.json")), ids=lambda path: path.name)
def test_every_sample_event_is_valid(path: Path) -> None:
    CONTRACTS[_contract_of(path)].model_validate(json.loads(path.read_text()))


@pytest.mark.parametrize(
    "body",
    [{"tenant_id": 42}, {"tenant_id": ""}, {"tenant_id": "<script>alert(1)</script>"}, {"tenant_id": "a" * 65}, {}],
)
def test_probe_requests_refuse_hostile_or_malformed_tenant_ids(body: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        CONTRACTS["tenant.probe_requested"].model_validate(body)


@pytest.mark.parametrize("sample", ["invoice.ready.json", "sales.day_closed.json"])
def test_a_personal_number_sent_as_a_key_is_not_quoted_in_the_refusal(sample: str) -> None:
    """The reason of a refused body is logged, stored and published; the names of unknown keys are quoted in it."""
    body = json.loads((ROOT / "events" / sample).read_text())
    body["data"]["19811218-9876"] = "oops"
    body["data"]["198112189876"] = "oops"
    parse = parse_voucher_event if sample.startswith("sales") else parse_event
    with pytest.raises(RefusedBody) as refused:
        parse(json.dumps(body))
    assert "9876" not in refused.value.reason
    assert "extra" in refused.value.reason.lower() or "not permitted" in refused.value.reason
