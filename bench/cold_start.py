"""Cold init of every handler as a ratio to a bare ``import boto3``, and each handler's peak memory, with the code
loaded as Lambda loads it.

A deployment is a folder per function (``/var/task``) and the layer's ``python`` folder (``/opt/python``), built
by ``infra.layer.build`` itself. Lambda's Python is 3.12 and the layer holds 3.12 wheels; this machine's is the
venv's, so the same build runs for this interpreter's version. Each import runs in a fresh ``python -S`` (no
site-packages of this machine) with Lambda's environment (``bench.lambda_env``), by ``bench/lambda_init.py``.

Two states of the deployment are timed, ``boto3`` in the same state as the handlers:

- ``shipped``: what the layer build ships and Lambda loads today. The build writes no ``.pyc`` and Lambda's
  ``/opt`` and ``/var/task`` are read-only, so every cold start compiles every module from source. Each run starts
  from a deployment without ``__pycache__`` (what a run writes is removed before the next).
- ``compiled``: the same files with ``.pyc`` written beforehand (``compileall``), what a build that compiles for
  the runtime's Python would ship.

Peak memory is the child's ``ru_maxrss`` after the import and after one invocation against the bench stack, in the
shipped state.
"""

import compileall
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import uuid
from datetime import date
from pathlib import Path
from typing import Any
from unittest import mock

import infra.layer
from bench.invoices import invoice_event
from bench.lambda_env import MEMORY_MB, lambda_environment, trace_header
from bench.processes import BenchStack
from bench.tenants import connected_tenant, with_vouchers
from infra.names import FUNCTIONS_DIR, ROOT
from local_stack.demo_vouchers import sales_day

RUNS = {"shipped": 3, "compiled": 5}
"""Runs per handler and state (a shipped run compiles everything: seconds each). The fastest run is reported: other
work on the machine only ever adds time, and a busy two-core machine moves single runs by 50 % or more; the JSON
keeps the median too."""
CHILD = Path(__file__).with_name("lambda_init.py")
BOTO3 = "boto3"
HANDLERS = sorted(path.parent.name for path in FUNCTIONS_DIR.glob("*/handler.py"))
PLACEHOLDERS = {
    "AWS_REGION": "eu-north-1",
    "AWS_DEFAULT_REGION": "eu-north-1",
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "TABLE_NAME": "bench",
    "FORTNOX_CLIENT_ID": "bench",
    "FORTNOX_CLIENT_SECRET_ID": "bench",
    "PUBLIC_BASE_URL": "https://connect.example.com",
    "EVENT_BUS_NAME": "bench",
    "CONNECT_SIGNING_KEY_ID": "bench",
    "PDF_BUCKET": "bench",
    "MAX_RECEIVE_COUNT": "5",
    "INVOICE_QUEUE_URL": "https://sqs.eu-north-1.amazonaws.com/123456789012/bench-invoices",
    "VOUCHER_QUEUE_URL": "https://sqs.eu-north-1.amazonaws.com/123456789012/bench-vouchers",
    "NOTIFICATION_SENDER": "no-reply@bench.example.com",
}
"""Settings the handlers check at import when no stack is given; nothing is called at import."""


class Deployment:
    """The layer and every function's folder, laid out as Lambda mounts them."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.layer = root / "opt" / "python"
        with mock.patch.object(infra.layer, "PYTHON_VERSION", f"{sys.version_info.major}.{sys.version_info.minor}"):
            built = infra.layer.build(ROOT / "build" / f"bench-layer-{sys.version_info.major}.{sys.version_info.minor}")
        shutil.copytree(built / "python", self.layer)
        for name in HANDLERS:
            shutil.copytree(FUNCTIONS_DIR / name, self.task_root(name), ignore=shutil.ignore_patterns("__pycache__"))
        self.task_root(BOTO3).mkdir(parents=True)

    def task_root(self, name: str) -> Path:
        return self.root / "task" / name

    def without_bytecode(self) -> None:
        for cache in [*self.root.rglob("__pycache__")]:
            shutil.rmtree(cache)

    def compile(self) -> None:
        compileall.compile_dir(self.root, quiet=1, workers=0)

    def run(self, name: str, values: dict[str, str], invocation: dict[str, Any] | None = None) -> dict[str, Any]:
        module = BOTO3 if name == BOTO3 else "handler"
        environment = lambda_environment(f"bench-{name}", self.task_root(name), values)
        if invocation is not None:
            environment["_X_AMZN_TRACE_ID"] = trace_header()
        finished = subprocess.run(
            [sys.executable, "-S", str(CHILD), str(self.task_root(name)), str(self.layer), module],
            input=json.dumps(invocation or {}),
            env=environment,
            capture_output=True,
            text=True,
            check=False,
        )
        if finished.returncode != 0:
            raise RuntimeError(f"cold start of {name} failed:\n{finished.stderr[-3000:]}")
        # The handler's own log lines come first; the child's figures are the last line.
        result: dict[str, Any] = json.loads(finished.stdout.strip().splitlines()[-1])
        return result


def _timed(deployment: Deployment, state: str) -> dict[str, list[dict[str, Any]]]:
    fresh = state == "shipped"
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in (BOTO3, *HANDLERS)}
    for _ in range(RUNS[state]):
        # Round robin, so a burst of load on the machine lands on every target alike.
        for name in runs:
            if fresh:
                deployment.without_bytecode()
            runs[name].append(deployment.run(name, PLACEHOLDERS))
    return runs


def _invocations(stack: BenchStack) -> dict[str, dict[str, Any]]:
    tenant = connected_tenant(stack, f"cold-{uuid.uuid4().hex[:6]}")
    probe = {"tenant_id": tenant.tenant_id}
    invoice = invoice_event(tenant.tenant_id, 1, "1042")
    with_vouchers(stack, tenant)
    day = sales_day(tenant.tenant_id, date.today().isoformat(), "kassa-1", "Kassa 1")
    return {
        "connection_keepalive": {},
        "failure_digest": {"detail-type": "Scheduled Event", "source": "aws.events", "detail": {}},
        "voucher_export": _sqs_event(stack, "VoucherExportWorkQueue", json.dumps(day)),
        "hosted_connect": _http_event("GET", "/connect/{link_token}", "/connect/not-a-link", {"link_token": "x"}),
        "invoice_export": _sqs_event(stack, "InvoiceExportWorkQueue", json.dumps(invoice)),
        "management_api": _http_event(
            "GET", "/tenants/{tenant_id}", f"/tenants/{tenant.tenant_id}", {"tenant_id": tenant.tenant_id}
        ),
        "tenant_probe": _sqs_event(stack, "TenantProbeWorkQueue", json.dumps(probe)),
    }


def _sqs_event(stack: BenchStack, queue_prefix: str, body: str) -> dict[str, Any]:
    queue = stack.physical_id(queue_prefix)
    return {
        "Records": [
            {
                "messageId": str(uuid.uuid4()),
                "receiptHandle": "bench",
                "body": body,
                "attributes": {
                    "ApproximateReceiveCount": "1",
                    "SentTimestamp": "0",
                    "SenderId": "bench",
                    "ApproximateFirstReceiveTimestamp": "0",
                },
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": f"arn:aws:sqs:eu-north-1:123456789012:{queue.rsplit('/', 1)[-1]}",
                "awsRegion": "eu-north-1",
            }
        ]
    }


def _http_event(method: str, route: str, path: str, parameters: dict[str, str]) -> dict[str, Any]:
    return {
        "version": "2.0",
        "routeKey": f"{method} {route}",
        "rawPath": path,
        "rawQueryString": "",
        "headers": {"accept-language": "sv"},
        "pathParameters": parameters,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "bench",
            "domainName": "bench.example.com",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": ""},
            "requestId": str(uuid.uuid4()),
            "routeKey": f"{method} {route}",
            "stage": "$default",
            "timeEpoch": 0,
        },
        "isBase64Encoded": False,
    }


def run(stack: BenchStack | None = None) -> dict[str, Any]:
    """Medians per handler and state; peak memory after one invocation when ``stack`` is given."""
    with tempfile.TemporaryDirectory(prefix="bench-lambda-") as folder:
        deployment = Deployment(Path(folder))
        shipped = _timed(deployment, "shipped")
        memory: dict[str, float | None] = {}
        if stack is not None:
            events = _invocations(stack)
            for name in HANDLERS:
                deployment.without_bytecode()
                spec = next(spec for spec in stack.deployed.functions if spec.source_dir == f"functions/{name}")
                values = stack.environment(spec.logical_id)
                invocation = {"event": events[name], "function_name": f"bench-{name}", "memory_mb": MEMORY_MB}
                invoked = deployment.run(name, values, invocation)
                # A failed invocation takes a shorter path: its memory would not be the handler's.
                if invoked["failed_records"] or (invoked["status"] or 200) >= 500:
                    raise RuntimeError(f"the invocation of {name} failed: {invoked}")
                memory[name] = invoked["peak_mb_invocation"]
        deployment.compile()
        compiled = _timed(deployment, "compiled")
    results: dict[str, Any] = {"runs": RUNS, "python": f"{sys.version_info.major}.{sys.version_info.minor}"}
    for state, runs in (("shipped", shipped), ("compiled", compiled)):
        boto3_seconds = min(run["seconds"] for run in runs[BOTO3])
        results[state] = {
            "boto3_seconds": boto3_seconds,
            "boto3_median_seconds": statistics.median(run["seconds"] for run in runs[BOTO3]),
            "handlers": {
                name: {
                    "seconds": min(run["seconds"] for run in runs[name]),
                    "median_seconds": statistics.median(run["seconds"] for run in runs[name]),
                    "ratio": min(run["seconds"] for run in runs[name]) / boto3_seconds,
                    "peak_mb_import": max(run["peak_mb_import"] for run in runs[name]),
                }
                for name in HANDLERS
            },
        }
    results["peak_mb_invocation"] = memory
    return results


def main() -> int:
    results = run()
    for state in ("shipped", "compiled"):
        figures = results[state]
        print(f"{state}: import boto3 {figures['boto3_seconds'] * 1000:.0f} ms")
        for name, handler in figures["handlers"].items():
            print(f"  {name:<22} {handler['seconds'] * 1000:6.0f} ms  ratio {handler['ratio']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
