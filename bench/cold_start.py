"""Cold init of the tenant-probe handler as a ratio to a bare ``import boto3``, in fresh interpreters."""

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUNS = 7
BARE = "import boto3"
HANDLER = (
    "import importlib.util, sys;"
    f"spec = importlib.util.spec_from_file_location('handler', {str(ROOT / 'functions/tenant_probe/handler.py')!r});"
    "module = importlib.util.module_from_spec(spec); spec.loader.exec_module(module)"
)


def timed(code: str) -> float:
    # The settings a deployed function gets; values do not matter, nothing is called at import.
    environment = {
        **os.environ,
        "AWS_REGION": "eu-north-1",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "TABLE_NAME": "bench",
        "FORTNOX_CLIENT_ID": "bench",
        "FORTNOX_CLIENT_SECRET_ID": "bench",
        "PUBLIC_BASE_URL": "https://connect.example.com",
        "EVENT_BUS_NAME": "bench",
    }
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, env=environment)
    return time.perf_counter() - started


def main() -> int:
    timed(BARE)
    timed(HANDLER)  # write .pyc once, as the layer ships compiled files
    bare = statistics.median(timed(BARE) for _ in range(RUNS))
    handler = statistics.median(timed(HANDLER) for _ in range(RUNS))
    print(
        f"import boto3: {bare * 1000:.0f} ms; tenant-probe handler: {handler * 1000:.0f} ms; ratio {handler / bare:.2f}"
    )
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    (out / "cold_start.json").write_text(
        json.dumps({"boto3_seconds": bare, "handler_seconds": handler, "ratio": handler / bare, "runs": RUNS}, indent=2)
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
