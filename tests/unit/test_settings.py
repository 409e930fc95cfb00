import pytest

from fortnox_bridge import settings
from fortnox_bridge.errors import ConfigurationError


def test_missing_variables_are_named_at_start_up(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FORTNOX_CLIENT_ID", raising=False)
    monkeypatch.delenv("FORTNOX_CLIENT_SECRET_ID", raising=False)
    with pytest.raises(ConfigurationError) as caught:
        settings.load(settings.FortnoxSettings)
    assert "FORTNOX_CLIENT_ID: is not set" in str(caught.value)
    assert "FORTNOX_CLIENT_SECRET_ID: is not set" in str(caught.value)


def test_invalid_values_are_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FORTNOX_CLIENT_ID", "app")
    monkeypatch.setenv("FORTNOX_CLIENT_SECRET_ID", "arn:secret")
    monkeypatch.setenv("FORTNOX_API_URL", "not a url")
    with pytest.raises(ConfigurationError, match="FORTNOX_API_URL"):
        settings.load(settings.FortnoxSettings)


def test_endpoints_default_to_the_real_fortnox_and_follow_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FORTNOX_CLIENT_ID", "app")
    monkeypatch.setenv("FORTNOX_CLIENT_SECRET_ID", "arn:secret")
    monkeypatch.delenv("FORTNOX_API_URL", raising=False)
    assert str(settings.load(settings.FortnoxSettings).api_url) == "https://api.fortnox.se/"
    monkeypatch.setenv("FORTNOX_API_URL", "http://127.0.0.1:8765")
    assert str(settings.load(settings.FortnoxSettings).api_url) == "http://127.0.0.1:8765/"
