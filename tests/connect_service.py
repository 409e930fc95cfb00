"""The connect service as the management API's function builds it, for tests that call it from their own threads or
from inside another function's run: the local runner answers one invocation at a time."""

import pytest

from fortnox_bridge import wiring
from fortnox_bridge.connect.service import ConnectService
from local_stack.runner import LocalRunner


@pytest.fixture
def service(runner: LocalRunner, monkeypatch: pytest.MonkeyPatch) -> ConnectService:
    for name, value in runner.environment(runner.function("ConnectManagement")).items():
        monkeypatch.setenv(name, value)
    wiring.reset()
    return wiring.connect_service()
