"""The bench's processes: moto, the Fortnox sandbox and every worker each run in an interpreter of their own.

A bench that runs them in one interpreter measures the GIL and the garbage collector of objects Lambda never
holds (CDK synth objects, moto's whole backend), not the bridge. Here the template is synthesized in a throwaway
subprocess, moto and the sandbox serve from their own subprocesses, and workers are forked from a clean fork
server that has imported only third-party libraries: each worker sets its environment, then imports the bridge,
as a Lambda does.

Usage::

    with bench_stack() as stack:
        results = run_workers([Job("bench.rate_limit:worker", stack.environment(), argument) for ...])

A job's ``target`` names ``module:function``; the function takes ``argument`` and returns a callable with no
arguments (its setup runs before the start signal, the callable after it, in every worker at once) whose result
must pickle.
"""

import importlib
import json
import multiprocessing
import os
import secrets
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from queue import Empty
from typing import Any

import boto3

from fortnox_sandbox.control_client import AppCredentials, SandboxControl
from infra.names import ROOT, STACK_NAME
from local_stack.deploy import DeployedStack, deploy
from local_stack.moto_server import REGION, aws_environment, free_port
from local_stack.runner import applied_environment

PRELOADED = ["boto3", "botocore.session", "httpx", "pydantic", "aws_lambda_powertools"]
"""What the fork server imports before forking: libraries only, never the bridge (it reads its environment)."""


class WorkerFailed(RuntimeError):
    """A worker raised; the message carries its traceback."""


@dataclass(frozen=True)
class Job:
    target: str
    """``module:function``; ``function(argument)`` prepares and returns what to run at the start signal."""
    environment: Mapping[str, str]
    argument: Any = None


@dataclass
class BenchStack:
    moto_url: str
    sandbox_url: str
    control: SandboxControl
    app: AppCredentials
    deployed: DeployedStack
    overrides: dict[str, str] = field(default_factory=dict)

    def environment(self, function_prefix: str = "InvoiceExportExporter") -> dict[str, str]:
        """A function's Lambda environment as deployed, pointed at this stack's moto and sandbox."""
        spec = next(spec for spec in self.deployed.functions if spec.logical_id.startswith(function_prefix))
        return {**self.deployed.environment(spec, overridden=frozenset(self.overrides)), **self.overrides}

    def physical_id(self, logical_prefix: str) -> str:
        return next(value for key, value in self.deployed.physical_ids.items() if key.startswith(logical_prefix))


def _serve(command: list[str]) -> tuple[subprocess.Popen[str], str]:
    """Start ``python -m bench.processes <command>`` and wait for the URL it prints once it serves."""
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.processes", *command],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert process.stdout is not None
    url = process.stdout.readline().strip()
    if not url.startswith("http"):
        process.kill()
        raise RuntimeError(f"bench server {command[0]} did not start (exit {process.wait()})")
    return process, url


def _stopped(process: subprocess.Popen[str]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@cache
def synthesized_template() -> dict[str, Any]:
    """The app's template, synthesized in a subprocess so no CDK object lives in the bench's interpreter; once
    per bench process (callers must not change it)."""
    with tempfile.TemporaryDirectory(prefix="bench-cdk-") as outdir:
        subprocess.run(
            [sys.executable, "-m", "bench.processes", "synth", outdir],
            cwd=ROOT,
            check=True,
            env={**os.environ, "PYTHONPATH": str(ROOT), "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"},
        )
        loaded: dict[str, Any] = json.loads((Path(outdir) / f"{STACK_NAME}.template.json").read_text())
        return loaded


@contextmanager
def bench_stack(
    *, rate_limit: int = 25, rate_window_seconds: float = 5.0, template: dict[str, Any] | None = None
) -> Iterator[BenchStack]:
    """moto and the sandbox in subprocesses, the template's data resources deployed into moto, the app created."""
    from local_stack.stack import LOCAL_CLIENT_ID, LOCAL_CLIENT_SECRET  # not in the servers' interpreters

    template = template or synthesized_template()
    with ExitStack() as stack:
        moto, moto_url = _serve(["moto"])
        stack.callback(_stopped, moto)
        sandbox, sandbox_url = _serve(["sandbox", str(rate_limit), str(rate_window_seconds)])
        stack.callback(_stopped, sandbox)
        stack.enter_context(applied_environment(aws_environment(moto_url)))
        deployed = deploy(template, moto_url)
        secrets_manager = boto3.client("secretsmanager", endpoint_url=moto_url, region_name=REGION)
        for prefix, value in (
            ("FortnoxClientSecret", LOCAL_CLIENT_SECRET),
            ("ConnectSigningKey", secrets.token_urlsafe(48)),
        ):
            arn = next(physical for key, physical in deployed.physical_ids.items() if key.startswith(prefix))
            secrets_manager.put_secret_value(SecretId=arn, SecretString=value)
        control = SandboxControl(sandbox_url)
        stack.callback(control.close)
        app = control.create_app(LOCAL_CLIENT_ID, LOCAL_CLIENT_SECRET)
        overrides = {
            "PUBLIC_BASE_URL": "http://127.0.0.1:9",
            "FORTNOX_API_URL": sandbox_url,
            "FORTNOX_AUTH_URL": sandbox_url,
            "FORTNOX_CLIENT_ID": LOCAL_CLIENT_ID,
            "FORTNOX_RATE_WINDOW_SECONDS": str(rate_window_seconds),
            "FORTNOX_RATE_LIMIT": str(rate_limit),
            "POWERTOOLS_TRACE_DISABLED": "true",
            "POWERTOOLS_METRICS_NAMESPACE": "FortnoxBridgeBench",
            "POWERTOOLS_LOG_LEVEL": "ERROR",
            **aws_environment(moto_url),
        }
        yield BenchStack(
            moto_url=moto_url,
            sandbox_url=sandbox_url,
            control=control,
            app=app,
            deployed=deployed,
            overrides=overrides,
        )


def _context() -> Any:
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(PRELOADED)
    return context


def _worker(job: Job, ready: Any, go: Any, results: Any, index: int) -> None:
    try:
        os.environ.update(job.environment)
        module_name, function_name = job.target.split(":")
        prepare: Callable[[Any], Callable[[], Any]] = getattr(importlib.import_module(module_name), function_name)
        run = prepare(job.argument)
        ready.put((index, None))
        go.wait()
        results.put((index, run(), None))
    except BaseException:
        failure = traceback.format_exc()
        ready.put((index, failure))
        results.put((index, None, failure))


def run_workers(jobs: Sequence[Job], *, timeout_seconds: float = 900) -> list[Any]:
    """Run every job in its own process, start them together once all are prepared, return results in order.

    The calling module must guard its entry point with ``if __name__ == "__main__"``: a new process imports it.
    """
    context = _context()
    ready, results, go = context.Queue(), context.Queue(), context.Event()
    processes = [
        context.Process(target=_worker, args=(job, ready, go, results, index), daemon=True)
        for index, job in enumerate(jobs)
    ]
    for process in processes:
        process.start()
    deadline = time.monotonic() + timeout_seconds
    try:
        for _ in jobs:
            index, failure = _next(ready, processes, deadline)
            if failure is not None:
                raise WorkerFailed(f"worker {index} failed to prepare:\n{failure}")
        go.set()
        collected: dict[int, Any] = {}
        for _ in jobs:
            index, result, failure = _next(results, processes, deadline)
            if failure is not None:
                raise WorkerFailed(f"worker {index} failed:\n{failure}")
            collected[index] = result
        return [collected[index] for index in range(len(jobs))]
    finally:
        for process in processes:
            process.join(timeout=10)
            if process.is_alive():
                process.kill()
                process.join()


def _next(queue: Any, processes: list[Any], deadline: float) -> Any:
    """The next message, or an error once a worker died without one or the deadline passed."""
    while time.monotonic() < deadline:
        try:
            return queue.get(timeout=1)
        except Empty:
            dead = [process.exitcode for process in processes if process.exitcode not in (None, 0)]
            if dead:
                raise WorkerFailed(f"a worker died with exit code {dead[0]}") from None
    raise WorkerFailed("the workers did not finish in time")


def _serve_moto() -> None:
    from local_stack.moto_server import running_moto

    with running_moto(free_port()) as url:
        print(url, flush=True)
        _wait_for_termination()


def _serve_sandbox(rate_limit: int, rate_window_seconds: float) -> None:
    import logging

    from fortnox_sandbox.server import SandboxApp, SandboxServer
    from fortnox_sandbox.state import SandboxState

    # The sandbox logs each request (``make sandbox`` shows them); a bench run sends tens of thousands, and writing a
    # line for each would be sandbox CPU that Fortnox does not spend, counted in every rate row's cost.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    app = SandboxApp(SandboxState(rate_limit=rate_limit, rate_window_seconds=rate_window_seconds))
    with SandboxServer(app=app) as server:
        print(server.url, flush=True)
        _wait_for_termination()


def _wait_for_termination() -> None:
    import signal
    import threading

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    stop.wait()


def _synthesize(outdir: str) -> None:
    from infra.app import build_app
    from infra.layer import build
    from local_stack.stack import LOCAL_CLIENT_ID

    layer = build(Path(os.environ["LAYER_DIR"])) if os.environ.get("LAYER_DIR") else build()
    build_app(layer_dir=layer, outdir=Path(outdir), context={"fortnox_client_id": LOCAL_CLIENT_ID}).synth()


if __name__ == "__main__":
    match sys.argv[1:]:
        case ["moto"]:
            _serve_moto()
        case ["sandbox", limit, window]:
            _serve_sandbox(int(limit), float(window))
        case ["synth", outdir]:
            _synthesize(outdir)
        case _:
            sys.exit("usage: python -m bench.processes moto | sandbox LIMIT WINDOW | synth OUTDIR")
