"""The environment Lambda's Python runtime gives a function, for the bench's processes that stand in for one.

Lambda sets ``LAMBDA_TASK_ROOT`` and the X-Ray variables on every function with active tracing (the stack's
functions have it). Without ``LAMBDA_TASK_ROOT`` the X-Ray SDK believes it runs on a server and builds a sampling
client Lambda never builds; ``POWERTOOLS_TRACE_DISABLED`` is not set in Lambda, so the tracer patches botocore and
httpx there and must here. The daemon address is the only departure: Lambda's is 169.254.79.129:2000, ours is the
loopback, so segments (UDP, unanswered) never leave the machine.
"""

import os
import time
import uuid
from collections.abc import Mapping
from pathlib import Path

from infra.names import LAMBDA_RUNTIME

MEMORY_MB = 512
"""BridgeFunction's default memory size."""


def lambda_environment(function_name: str, task_root: Path, values: Mapping[str, str]) -> dict[str, str]:
    """``values`` (the function's own variables) with what the runtime adds, minus the local stack's tracing switch."""
    environment = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "en_US.UTF-8",
        "TZ": ":UTC",
        "LAMBDA_TASK_ROOT": str(task_root),
        "AWS_EXECUTION_ENV": f"AWS_Lambda_{LAMBDA_RUNTIME}",
        "AWS_LAMBDA_FUNCTION_NAME": function_name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(MEMORY_MB),
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{function_name}",
        "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
        "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2000",
        "_AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1",
        "_AWS_XRAY_DAEMON_PORT": "2000",
        "_HANDLER": "handler.lambda_handler",
        **values,
    }
    environment.pop("POWERTOOLS_TRACE_DISABLED", None)
    return environment


def trace_header() -> str:
    """What the runtime puts in ``_X_AMZN_TRACE_ID`` before each invocation: a sampled trace, as a cold start's
    first request usually is."""
    return f"Root=1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]};Parent={uuid.uuid4().hex[:16]};Sampled=1"
