"""The suite's leak check can see what the bridge logs, structured fields included."""

from typing import Any

from fortnox_bridge.observability import logger


def test_the_capture_sees_bridge_log_lines_and_their_fields(log_capture: Any) -> None:
    logger.info("probe line", extra={"field": "visible-value-7f3a"})
    assert any("visible-value-7f3a" in line for line in log_capture.lines)
