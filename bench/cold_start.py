"""Cold init of every handler as a ratio to a bare ``import boto3``, and each handler's peak memory, with the code
loaded as Lambda loads it.

A deployment is a folder per function (``/var/task``) and the layer's ``python`` folder (``/opt/python``): the layer
``infra.layer.build`` ships, for this machine's architecture (the deployed one may be arm64; the files are the same
but for the native libraries), compiled by the runtime's Python. Each import runs in a fresh ``python3.12 -S`` (the
runtime's version; no site-packages of this machine, only the function's folder and the layer on the path) with
Lambda's environment (``bench.lambda_env``: ``LAMBDA_TASK_ROOT`` set, no ``PYTHONDONTWRITEBYTECODE``), by
``bench/lambda_init.py``. ``boto3`` is imported from the same layer, the same way.

Lambda's ``/var/task`` is read-only and function assets carry no bytecode, so the handler module itself is compiled
at every cold start: each run starts from function folders without ``__pycache__``. The layer's bytecode must be
used as it is; a run that wrote any file into the layer (Python rejected a ``.pyc``) stops the bench.

With the bench stack, each handler is also imported and invoked once in a fresh process, on an event it answers
without error: the CPU time of the import and that first invocation together is the cold request's cost, reported
beside the import's ratio so that work moved from the import into the first request cannot pass for a saving; peak
memory is the child's VmHWM after that invocation.
"""

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import uuid
from contextlib import nullcontext
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from bench.invoices import invoice_event
from bench.lambda_env import MEMORY_MB, lambda_environment, trace_header
from bench.processes import BenchStack, bench_stack
from bench.tenants import connected_tenant, with_vouchers
from infra.layer import PYTHON_VERSION, build, host_architecture, runtime_python
from infra.names import FUNCTIONS_DIR, ROOT
from local_stack.demo_vouchers import sales_day

RUNS = 7
"""Runs per handler, round robin. The fastest run is reported: other work on the machine only ever adds time, and a
busy two-core machine moves single runs by 50 % or more; the JSON keeps the median too."""
GOAL_RATIO = 1.5
"""Issue 12: a handler's cold init costs at most one and a half bare ``import boto3``."""
INVOKED_RUNS = 3
"""Import-and-invoke runs per handler. Fewer than the import's: each needs a tenant and events of its own on the
stack, and the figure only has to show whether work moved from the import into the first request."""
CHILD = Path(__file__).with_name("lambda_init.py")
LAYER_ROOT = ROOT / "build" / "bench-layer"
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
    "PAYMENT_POLL_QUEUE_URL": "https://sqs.eu-north-1.amazonaws.com/123456789012/bench-payment-polls",
    "WEBHOOK_QUEUE_URL": "https://sqs.eu-north-1.amazonaws.com/123456789012/bench-webhooks",
    "WEBHOOK_DEAD_LETTER_URL": "https://sqs.eu-north-1.amazonaws.com/123456789012/bench-webhooks-dlq",
    "NOTIFICATION_SENDER": "no-reply@bench.example.com",
}
"""Settings the handlers check at import when no stack is given; nothing is called at import."""


class Deployment:
    """The layer and every function's folder, laid out as Lambda mounts them, run by the runtime's Python."""

    def __init__(self, root: Path) -> None:
        found = runtime_python()
        if found is None:
            raise SystemExit(
                f"The cold-start bench needs Python {PYTHON_VERSION} (the runtime's) to run the layer as Lambda does; "
                "none was found on PATH, in pyenv or among uv's Pythons"
            )
        self.python, self.python_version = found
        self.architecture = host_architecture()
        self.root = root
        self.layer = root / "opt" / "python"
        shutil.copytree(build(LAYER_ROOT, self.architecture) / "python", self.layer)
        for name in HANDLERS:
            shutil.copytree(FUNCTIONS_DIR / name, self.task_root(name), ignore=shutil.ignore_patterns("__pycache__"))
        self.task_root(BOTO3).mkdir(parents=True)
        self._layer_files = self._files_of_layer()

    def task_root(self, name: str) -> Path:
        return self.root / "task" / name

    def _files_of_layer(self) -> set[Path]:
        return set(self.layer.rglob("*"))

    def run(self, name: str, values: dict[str, str], invocation: dict[str, Any] | None = None) -> dict[str, Any]:
        # What the last run compiled into the function's folder Lambda could not have kept.
        shutil.rmtree(self.task_root(name) / "__pycache__", ignore_errors=True)
        module = BOTO3 if name == BOTO3 else "handler"
        environment = lambda_environment(f"bench-{name}", self.task_root(name), values)
        if invocation is not None:
            environment["_X_AMZN_TRACE_ID"] = trace_header()
        finished = subprocess.run(
            [str(self.python), "-S", str(CHILD), str(self.task_root(name)), str(self.layer), module],
            input=json.dumps(invocation or {}),
            env=environment,
            capture_output=True,
            text=True,
            check=False,
        )
        if finished.returncode != 0:
            raise RuntimeError(f"cold start of {name} failed:\n{finished.stderr[-3000:]}")
        written = self._files_of_layer() - self._layer_files
        if written:
            raise RuntimeError(
                f"{name} compiled layer modules at import (their .pyc were rejected): {sorted(written)[:5]}"
            )
        # The handler's own log lines come first; the child's figures are the last line.
        result: dict[str, Any] = json.loads(finished.stdout.strip().splitlines()[-1])
        return result


def _timed(deployment: Deployment) -> dict[str, list[dict[str, Any]]]:
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in (BOTO3, *HANDLERS)}
    for _ in range(RUNS):
        # Round robin, so a burst of load on the machine lands on every target alike.
        for name in runs:
            runs[name].append(deployment.run(name, PLACEHOLDERS))
    return runs


def _invocations(stack: BenchStack) -> dict[str, dict[str, Any]]:
    """An event each handler answers without error, on a tenant of its own: every round gets new ones, so no
    invocation takes the shorter path of a duplicate (an invoice already exported, a rotation already staged)."""
    tenant = connected_tenant(stack, f"cold-{uuid.uuid4().hex[:6]}")
    probe = {"tenant_id": tenant.tenant_id}
    poll = {"tenant_id": tenant.tenant_id, "due_at": datetime.now(UTC).isoformat()}
    invoice = invoice_event(tenant.tenant_id, 1, "1042")
    with_vouchers(stack, tenant)
    day = sales_day(tenant.tenant_id, date.today().isoformat(), "kassa-1", "Kassa 1")
    # The tenant has no webhook, so the delivery is dropped after reading the tenant: a delivery that posts would
    # need a receiver the bench does not run.
    webhook = {
        "tenant_id": tenant.tenant_id,
        "event_id": f"evt-{uuid.uuid4().hex}",
        "detail_type": "PaymentRegistered",
        "url": "https://hooks.example.com/bench",
        "body": "{}",
        "created_at": datetime.now(UTC).isoformat(),
    }
    rotation = {
        "SecretId": stack.environment("SigningKeyRotation")["CONNECT_SIGNING_KEY_ID"],
        "ClientRequestToken": str(uuid.uuid4()),
        "Step": "createSecret",
    }
    scheduled = {"detail-type": "Scheduled Event", "source": "aws.events", "detail": {}}
    return {
        "connection_keepalive": {},
        "failure_digest": scheduled,
        "hosted_connect": _http_event("GET", "/connect/{link_token}", "/connect/not-a-link", {"link_token": "x"}),
        "invoice_export": _sqs_event(stack, "InvoiceExportWorkQueue", json.dumps(invoice)),
        "management_api": _http_event(
            "GET", "/tenants/{tenant_id}", f"/tenants/{tenant.tenant_id}", {"tenant_id": tenant.tenant_id}
        ),
        "payment_poll": _sqs_event(stack, "PaymentSyncPollWorkQueue", json.dumps(poll)),
        "payment_schedule": scheduled,
        "signing_key_rotation": rotation,
        "tenant_probe": _sqs_event(stack, "TenantProbeWorkQueue", json.dumps(probe)),
        "voucher_export": _sqs_event(stack, "VoucherExportWorkQueue", json.dumps(day)),
        "webhook_delivery": _sqs_event(stack, "PaymentSyncWebhookWorkQueue", json.dumps(webhook)),
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
    """The fastest and median import per handler and its ratio to ``import boto3``; with ``stack``, each handler's
    import and first invocation together (CPU time, fastest of ``INVOKED_RUNS``, also as a ratio to the same unit)
    and its peak memory after that invocation."""
    with tempfile.TemporaryDirectory(prefix="bench-lambda-") as folder:
        deployment = Deployment(Path(folder))
        runs = _timed(deployment)
        invoked = _invoked(deployment, stack) if stack is not None else {}
    boto3 = _figures(runs[BOTO3])
    handlers: dict[str, dict[str, Any]] = {}
    for name in HANDLERS:
        figures: dict[str, Any] = _figures(runs[name])
        figures["ratio"] = figures["cpu_seconds"] / boto3["cpu_seconds"]
        if name in invoked:
            cold_request = min(run["cold_request_cpu_seconds"] for run in invoked[name])
            figures |= {
                "cold_request_cpu_seconds": cold_request,
                "cold_request_ratio": cold_request / boto3["cpu_seconds"],
                "peak_mb_invocation": max(run["peak_mb_invocation"] for run in invoked[name]),
            }
        handlers[name] = figures
    return {
        "runs": RUNS,
        "invoked_runs": INVOKED_RUNS if invoked else 0,
        "python": deployment.python_version,
        "architecture": deployment.architecture,
        "goal_ratio": GOAL_RATIO,
        "boto3": boto3,
        "handlers": handlers,
        "peak_mb_invocation": {name: handlers[name]["peak_mb_invocation"] for name in invoked},
    }


def _invoked(deployment: Deployment, stack: BenchStack) -> dict[str, list[dict[str, Any]]]:
    """Each handler imported and invoked once in a fresh process, ``INVOKED_RUNS`` times round robin, every round
    on new events."""
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in HANDLERS}
    for _ in range(INVOKED_RUNS):
        for name, event in _invocations(stack).items():
            spec = next(spec for spec in stack.deployed.functions if spec.source_dir == f"functions/{name}")
            values = stack.environment(spec.logical_id)
            invocation = {"event": event, "function_name": f"bench-{name}", "memory_mb": MEMORY_MB}
            result = deployment.run(name, values, invocation)
            # A failed invocation takes a shorter path: its figures would not be the handler's.
            if result["failed_records"] or (result["status"] or 200) >= 500:
                raise RuntimeError(f"the invocation of {name} failed: {result}")
            runs[name].append(result)
    return runs


def _figures(runs: list[dict[str, Any]]) -> dict[str, float]:
    """The fastest run by each clock, and the medians. The ratio is of CPU time: an import is the interpreter's
    work alone (the files are in the page cache), and CPU time is what other work on a shared machine disturbs
    least; the wall clock's figures are kept beside it."""
    return {
        "cpu_seconds": min(run["cpu_seconds"] for run in runs),
        "cpu_median_seconds": statistics.median(run["cpu_seconds"] for run in runs),
        "seconds": min(run["seconds"] for run in runs),
        "median_seconds": statistics.median(run["seconds"] for run in runs),
        "peak_mb_import": max(run["peak_mb_import"] for run in runs),
    }


def main() -> int:
    """``python -m bench.cold_start``: the imports alone; ``--invoke`` also starts the bench stack (moto, the
    sandbox) and invokes every handler once per run, for the cold request's CPU and the peak memory."""
    parser = argparse.ArgumentParser(prog="python -m bench.cold_start", description=__doc__.split("\n\n")[0])
    parser.add_argument("--invoke", action="store_true", help="invoke each handler on the bench stack too")
    with bench_stack() if parser.parse_args().invoke else nullcontext() as stack:
        results = run(stack)
    boto3 = results["boto3"]
    print(
        f"Python {results['python']} ({results['architecture']}): import boto3 {boto3['cpu_seconds'] * 1000:.0f} ms "
        f"CPU, {boto3['seconds'] * 1000:.0f} ms wall"
    )
    for name, handler in results["handlers"].items():
        verdict = "met" if handler["ratio"] <= GOAL_RATIO else "MISSED"
        invoked = (
            f"  import + first invocation {handler['cold_request_cpu_seconds'] * 1000:5.0f} ms CPU "
            f"(x{handler['cold_request_ratio']:.2f}), peak {handler['peak_mb_invocation']:.0f} MB"
            if "cold_request_cpu_seconds" in handler
            else ""
        )
        print(
            f"  {name:<22} {handler['cpu_seconds'] * 1000:5.0f} ms CPU {handler['seconds'] * 1000:5.0f} ms wall"
            f"  ratio {handler['ratio']:.2f}  {verdict}{invoked}"
        )
    print(json.dumps(results, indent=2))
    return 0 if all(handler["ratio"] <= GOAL_RATIO for handler in results["handlers"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
