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


def _answer_after(script: str, handler: str, without: str = "POWERTOOLS_TRACE_DISABLED") -> object:
    """What ``script`` prints (one JSON value) after importing ``handler`` in a fresh interpreter, with tracing on as
    in Lambda, and ``without`` that variable too."""
    values = {
        name: value
        for name, value in {**os.environ, **PLACEHOLDERS}.items()
        if name not in {"POWERTOOLS_TRACE_DISABLED", without}
    }
    finished = subprocess.run(
        [
            sys.executable,
            "-c",
            f"import sys, json; sys.path[:0] = [{str(FUNCTIONS_DIR / handler)!r}]\nimport handler\n{script}",
        ],
        env={**values, "LAMBDA_TASK_ROOT": str(FUNCTIONS_DIR / handler), "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2000"},
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(finished.stdout.strip().splitlines()[-1])


def test_the_tracer_patches_the_libraries_the_bridge_calls_out_with_and_imports_no_other() -> None:
    answer = _answer_after(
        "from aws_xray_sdk.core.patcher import _PATCHED_MODULES\n"
        "print(json.dumps({'patched': sorted(_PATCHED_MODULES), 'sqlite3': 'sqlite3' in sys.modules,"
        " 'hooks': sorted(name for name in sys.modules if name.startswith('aws_xray_sdk.ext.')"
        " and name.count('.') == 3)}))",
        "invoice_export",
    )
    # AWS calls and Fortnox calls still show in a trace; the SDK's hooks for databases no function uses are not loaded.
    assert answer == {
        "patched": ["botocore", "httpx"],
        "sqlite3": False,
        "hooks": ["aws_xray_sdk.ext.botocore.patch", "aws_xray_sdk.ext.httpx.patch"],
    }


def test_the_invoice_worker_does_not_build_the_sales_day_contracts() -> None:
    imported = _modules_after("import handler", [FUNCTIONS_DIR / "invoice_export"])
    assert "fortnox_bridge.contracts.invoices" in imported
    assert "fortnox_bridge.contracts.sales" not in imported


@pytest.mark.parametrize("handler", HANDLERS)
def test_a_handler_builds_the_settings_groups_it_requires_and_no_published_event_at_import(handler: str) -> None:
    built = _answer_after(
        "from pydantic import BaseModel\n"
        "from fortnox_bridge import events, settings\n"
        "def built(module):\n"
        "    return sorted(name for name, value in vars(module).items() if isinstance(value, type)"
        " and issubclass(value, BaseModel) and value.__module__ == module.__name__"
        " and value.__pydantic_complete__)\n"
        "print(json.dumps({'settings': built(settings), 'events': built(events)}))",
        handler,
    )
    source = (FUNCTIONS_DIR / handler / "handler.py").read_text()
    assert isinstance(built, dict)
    assert built["events"] == []
    # Checked at import (settings.require), so a missing variable still stops the function at its cold start.
    assert built["settings"], "the handler checks no settings at import"
    assert all(name in source or name in _FORTNOX_CALLER for name in built["settings"])
    assert "SettingsGroup" not in built["settings"]


_FORTNOX_CALLER = (
    "AwsSettings",
    "TableSettings",
    "FortnoxSettings",
    "RateLimitSettings",
    "ConnectSettings",
    "EventSettings",
)


def test_a_deferred_settings_group_still_names_what_is_wrong_when_it_is_first_loaded() -> None:
    answer = _answer_after(
        "from fortnox_bridge import settings\n"
        "complete = settings.DigestSettings.__pydantic_complete__\n"
        "try:\n"
        "    settings.load(settings.DigestSettings)\n"
        "except Exception as error:\n"
        "    print(json.dumps([complete, str(error)]))",
        "connection_keepalive",
        without="NOTIFICATION_SENDER",
    )
    assert answer == [False, "DigestSettings cannot start: NOTIFICATION_SENDER: is not set"]


VOUCHER_MACHINERY = ("fortnox_bridge.contracts.sales", "fortnox_bridge.vouchers.journal", "fortnox_bridge.vouchers.sie")


@pytest.mark.parametrize("handler", ["hosted_connect", "management_api"])
def test_the_review_handlers_build_the_voucher_machinery_only_for_an_sie_file(handler: str) -> None:
    imported = _modules_after("import handler", [FUNCTIONS_DIR / handler])
    # Both review exports at every cold start; only an SIE download rebuilds a voucher from its event.
    assert "fortnox_bridge.export.review" in imported
    assert [name for name in VOUCHER_MACHINERY if name in imported] == []


def test_the_mapping_check_finds_without_the_voucher_machinery() -> None:
    imported = _modules_after("from fortnox_bridge.vouchers.mapping_check import MappingCheck, check_tenant_mapping")
    assert [name for name in VOUCHER_MACHINERY if name in imported] == []
