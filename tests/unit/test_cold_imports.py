"""What a handler imports before its first request is its cold start, paid again by every new Lambda instance: these
tests keep out the modules the issue 12 work took out, each of which cost a sizeable part of a bare ``import boto3``.
Each import runs in a fresh interpreter, so nothing an earlier test imported hides a regression."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.cold_start import HANDLERS, PLACEHOLDERS
from infra.names import FUNCTIONS_DIR

RESOURCE_MODELS = [
    f"fortnox_bridge.fortnox.models.{name}"
    for name in ("articles", "customers", "files", "invoices", "orders", "payments", "registers", "vouchers")
]


def _modules_after(script: str, path: list[Path] | None = None) -> set[str]:
    environment = {**os.environ, **PLACEHOLDERS}
    prelude = f"import sys, json; sys.path[:0] = {[str(folder) for folder in path or []]!r}\n"
    finished = subprocess.run(
        [sys.executable, "-c", prelude + script + "\nprint(json.dumps(sorted(sys.modules)))"],
        env=environment,
        capture_output=True,
        text=True,
        check=True,
    )
    modules: list[str] = json.loads(finished.stdout.strip().splitlines()[-1])
    return set(modules)


@pytest.mark.parametrize("handler", HANDLERS)
def test_no_handler_imports_pydantic_settings_or_powertools_parser_models(handler: str) -> None:
    imported = _modules_after("import handler", [FUNCTIONS_DIR / handler])
    assert "fortnox_bridge.settings" in imported
    assert "pydantic_settings" not in imported
    # The parser's package builds a pydantic model for every AWS event Powertools knows.
    assert "aws_lambda_powertools.utilities.parser.models" not in imported


def test_the_fortnox_client_builds_a_resource_and_its_models_only_when_it_is_used() -> None:
    imported = _modules_after(
        "from fortnox_bridge.fortnox.client import FortnoxClient\n"
        "from fortnox_bridge.fortnox.ports import NoRateLimit, StaticToken\n"
        "client = FortnoxClient(base_url='http://127.0.0.1:9', tokens=StaticToken('t'), rate_limiter=NoRateLimit())\n"
        "assert client.orders is client.orders\n"
        "assert type(client.orders).__name__ == 'Orders'\n"
    )
    # Orders answer with invoices too (an order becomes one), so both model modules are loaded, and no other.
    assert sorted(name for name in RESOURCE_MODELS if name in imported) == [
        "fortnox_bridge.fortnox.models.invoices",
        "fortnox_bridge.fortnox.models.orders",
    ]


def test_every_resource_is_still_named_by_the_resources_module() -> None:
    from fortnox_bridge.fortnox import resources
    from fortnox_bridge.fortnox.client import FortnoxClient
    from fortnox_bridge.fortnox.ports import NoRateLimit, StaticToken

    client = FortnoxClient(base_url="http://127.0.0.1:9", tokens=StaticToken("t"), rate_limiter=NoRateLimit())
    for name in resources.MODULE_OF:
        resource = getattr(resources, name)
        assert resource.__name__ == name
        assert any(isinstance(getattr(client, attribute), resource) for attribute in _client_resources())
    with pytest.raises(AttributeError):
        _ = resources.Nothing


def _client_resources() -> list[str]:
    from functools import cached_property

    from fortnox_bridge.fortnox.client import FortnoxClient

    return [name for name, value in vars(FortnoxClient).items() if isinstance(value, cached_property)]
