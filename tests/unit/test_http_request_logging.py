"""httpx writes every request line, query string included, at INFO; Lambda's JSON log level is INFO by default."""

import logging
from typing import Any

import httpx

from fortnox_bridge import observability  # noqa: F401  -- what every function imports before it makes a request
from fortnox_sandbox.server import SandboxServer

PERSONAL_NUMBER = "191212-1212"


def test_a_request_line_with_a_personal_number_in_its_query_reaches_no_log_at_info(
    log_capture: Any, sandbox: SandboxServer
) -> None:
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.INFO)
    first = len(log_capture.lines)
    try:
        with httpx.Client() as client:
            client.get(f"{sandbox.url}/3/customers", params={"organisationnumber": PERSONAL_NUMBER})
    finally:
        root.setLevel(level)
    assert not [line for line in log_capture.lines[first:] if PERSONAL_NUMBER in line]
