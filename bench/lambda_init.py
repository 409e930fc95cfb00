"""One Lambda cold start, run as a script in a fresh interpreter by ``bench.cold_start``.

``python -S bench/lambda_init.py TASK_ROOT LAYER_DIR MODULE`` imports MODULE the way Lambda's Python runtime
imports a handler: the function's folder (``/var/task``) first on the path, then the layer's ``python`` folder
(``/opt/python``), and nothing of this machine's site-packages. With an invocation on stdin (``{"event": ...}``) it
also calls ``MODULE.lambda_handler`` once. It prints one JSON line: the import's seconds (wall clock and the
process's CPU time), the CPU time of the import and the first invocation together (what a cold request costs the
function, so work moved from import into the first request shows up here), and the peak resident set after the
import and after the invocation.

Only the standard library is imported before the timer starts, so the figure is the init phase of our code.
"""

import json
import sys
import time
import uuid
from pathlib import Path
from typing import Any


def _peak_mb() -> float:
    """The process's peak resident set (VmHWM). Not ``ru_maxrss``: Linux carries that across ``exec`` from the
    parent that forked us, so every child would report at least the bench's own size."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


class _Context:
    """What Powertools reads from Lambda's context object."""

    def __init__(self, function_name: str, memory_mb: int) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = memory_mb
        self.invoked_function_arn = f"arn:aws:lambda:eu-north-1:123456789012:function:{function_name}"
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = "bench"
        self._deadline = time.monotonic() + 60

    def get_remaining_time_in_millis(self) -> int:
        return int((self._deadline - time.monotonic()) * 1000)


def main() -> None:
    task_root, layer_python, module_name = sys.argv[1:4]
    # sys.path[0] is this script's folder: Lambda would never see it.
    sys.path[0:1] = [task_root, layer_python]
    invocation: dict[str, Any] = json.loads(sys.stdin.read() or "{}")
    started, cpu_started = time.perf_counter(), time.process_time()
    module = __import__(module_name)
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
    after_import = _peak_mb()
    after_invocation = answer = cold_request_cpu_seconds = None
    if "event" in invocation:
        answer = module.lambda_handler(
            invocation["event"], _Context(invocation["function_name"], invocation["memory_mb"])
        )
        cold_request_cpu_seconds = time.process_time() - cpu_started
        after_invocation = _peak_mb()
    print(
        json.dumps(
            {
                "seconds": seconds,
                "cpu_seconds": cpu_seconds,
                "cold_request_cpu_seconds": cold_request_cpu_seconds,
                "peak_mb_import": after_import,
                "peak_mb_invocation": after_invocation,
                "status": answer.get("statusCode") if isinstance(answer, dict) else None,
                "failed_records": len(answer.get("batchItemFailures", [])) if isinstance(answer, dict) else 0,
            }
        )
    )


if __name__ == "__main__":
    main()
