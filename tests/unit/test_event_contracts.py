"""Every queue contract has a committed JSON Schema that matches its model, and a sample that validates."""

import json

import pytest
from pydantic import ValidationError

from infra.names import ROOT
from local_stack.schemas import CONTRACTS, SCHEMA_DIR, schema_text


@pytest.mark.parametrize("name", sorted(CONTRACTS))
def test_committed_schema_matches_the_model(name: str) -> None:
    committed = (SCHEMA_DIR / f"{name}.schema.json").read_text()
    assert committed == schema_text(CONTRACTS[name]), "run: uv run python -m local_stack.schemas"


@pytest.mark.parametrize("name", sorted(CONTRACTS))
def test_sample_event_is_valid(name: str) -> None:
    sample = json.loads((ROOT / "events" / f"{name}.json").read_text())
    CONTRACTS[name].model_validate(sample)


@pytest.mark.parametrize(
    "body",
    [{"tenant_id": 42}, {"tenant_id": ""}, {"tenant_id": "<script>alert(1)</script>"}, {"tenant_id": "a" * 65}, {}],
)
def test_probe_requests_refuse_hostile_or_malformed_tenant_ids(body: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        CONTRACTS["tenant.probe_requested"].model_validate(body)
