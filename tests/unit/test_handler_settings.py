import importlib.util
from pathlib import Path

import pytest

from fortnox_bridge.errors import ConfigurationError

HANDLER = Path(__file__).resolve().parents[2] / "functions" / "tenant_probe" / "handler.py"


def test_the_handler_refuses_to_start_and_names_every_missing_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("TABLE_NAME", "FORTNOX_CLIENT_ID", "FORTNOX_CLIENT_SECRET_ID"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_REGION", "eu-north-1")
    spec = importlib.util.spec_from_file_location("probe_handler_without_settings", HANDLER)
    assert spec is not None and spec.loader is not None
    with pytest.raises(ConfigurationError) as caught:
        spec.loader.exec_module(importlib.util.module_from_spec(spec))
    for name in ("TABLE_NAME", "FORTNOX_CLIENT_ID", "FORTNOX_CLIENT_SECRET_ID"):
        assert name in str(caught.value)
