"""Feed each queue to its function as Lambda's SQS event source mapping does.

Same batch size, same event shape, same partial-failure rule: with ReportBatchItemFailures only the listed
messages stay on the queue; without it any failure returns the whole batch. Failed messages are made visible again
at once instead of after the visibility timeout, which changes how long a local retry waits, not how many times a
message is tried before its dead-letter queue (that count is SQS's own redrive policy).

The queue is moto's SQS, so each record carries SQS's own ``ApproximateReceiveCount`` and a message received
``maxReceiveCount`` times moves to its dead-letter queue on the next receive, as in AWS: a handler that acts on its
last delivery is tested against the real rule (tests/resilience/test_dead_letters.py).
"""

import hashlib
import importlib.util
import os
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3

from infra.names import ROOT
from local_stack.deploy import DeployedStack
from local_stack.moto_server import ACCOUNT_ID, REGION
from local_stack.template import EventSource, FunctionSpec

Handler = Callable[[dict[str, Any], Any], Any]


@dataclass
class LambdaContext:
    """The parts of Lambda's context object that Powertools reads."""

    function_name: str
    timeout_seconds: int
    memory_limit_in_mb: int = 512
    function_version: str = "$LATEST"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    started: float = field(default_factory=time.monotonic)

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{REGION}:123456789012:function:{self.function_name}"

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.function_name}"

    @property
    def log_stream_name(self) -> str:
        return "local"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.timeout_seconds - (time.monotonic() - self.started)) * 1000))


@dataclass(frozen=True)
class Invocation:
    stack: DeployedStack
    function: FunctionSpec


current_invocation: ContextVar[Invocation | None] = ContextVar("current_invocation", default=None)
"""The function whose handler runs, in its thread and the threads it starts in its context (the invoice export's
lanes): whose AWS calls tests see (tests/iam_guard.py checks them against the function's role)."""


@dataclass
class BatchOutcome:
    received: int
    failed: int


@contextmanager
def applied_environment(values: dict[str, str]) -> Iterator[None]:
    """``values`` in the process environment for the block, the previous values (or their absence) after it."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def load_handler(spec: FunctionSpec) -> Handler:
    module_name, function_name = spec.handler.rsplit(".", 1)
    path = ROOT / spec.source_dir / f"{module_name.replace('.', '/')}.py"
    unique = f"lambda_{spec.logical_id}_{hashlib.sha1(str(path).encode()).hexdigest()[:8]}"  # noqa: S324 - a name
    module = sys.modules.get(unique)
    if module is None:
        module = _import(unique, path)
    handler: Handler = getattr(module, function_name)
    return handler


def _import(name: str, path: Path) -> ModuleType:
    loader_spec = importlib.util.spec_from_file_location(name, path)
    if loader_spec is None or loader_spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(loader_spec)
    sys.modules[name] = module
    loader_spec.loader.exec_module(module)
    return module


class LocalRunner:
    def __init__(self, stack: DeployedStack, *, overrides: dict[str, str] | None = None) -> None:
        self._stack = stack
        self._overrides = overrides or {}
        self._sqs = boto3.client("sqs", endpoint_url=stack.endpoint_url, region_name=REGION)
        self._invoking = threading.RLock()

    def function(self, logical_prefix: str) -> FunctionSpec:
        return next(spec for spec in self._stack.functions if spec.logical_id.startswith(logical_prefix))

    def function_by_id(self, logical_id: str) -> FunctionSpec:
        return next(spec for spec in self._stack.functions if spec.logical_id == logical_id)

    def environment(self, spec: FunctionSpec) -> dict[str, str]:
        return {**self._stack.environment(spec, overridden=frozenset(self._overrides)), **self._overrides}

    def invoke(self, spec: FunctionSpec, event: dict[str, Any]) -> Any:
        """One invocation at a time: handlers read their settings from the process environment."""
        environment = self.environment(spec)
        with self._invoking, applied_environment(environment):
            invocation = current_invocation.set(Invocation(self._stack, spec))
            try:
                handler = load_handler(spec)
                context = LambdaContext(function_name=spec.logical_id, timeout_seconds=spec.timeout_seconds)
                return handler(event, context)
            finally:
                current_invocation.reset(invocation)

    def run_scheduled(self, spec: FunctionSpec) -> Any:
        """One tick of a scheduled function (the failure digest, the keep-alive), with the event EventBridge sends;
        locally a tick happens when a test or the demo asks for one, never on a clock."""
        if not spec.schedules:
            raise ValueError(f"{spec.logical_id} has no schedule in the template")
        event = {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "account": ACCOUNT_ID,
            "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "region": REGION,
            "resources": [f"arn:aws:events:{REGION}:{ACCOUNT_ID}:rule/{spec.logical_id}"],
            "detail": {},
        }
        return self.invoke(spec, event)

    def drain(self, spec: FunctionSpec, *, max_batches: int = 100) -> list[BatchOutcome]:
        """Deliver every message on the function's queues until they are empty (or have all gone to DLQs)."""
        outcomes = []
        for source in spec.event_sources:
            for _ in range(max_batches):
                outcome = self.deliver_batch(spec, source)
                if outcome is None:
                    break
                outcomes.append(outcome)
        return outcomes

    def deliver_batch(self, spec: FunctionSpec, source: EventSource) -> BatchOutcome | None:
        queue_url = self._stack.queue_url(source.queue_logical_id)
        received = self._sqs.receive_message(
            QueueUrl=queue_url,
            MaxNumberOfMessages=min(source.batch_size, 10),
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
            WaitTimeSeconds=0,
        ).get("Messages", [])
        if not received:
            return None
        event = {"Records": [self._record(message, source) for message in received]}
        failed_ids: set[str]
        try:
            result = self.invoke(spec, event)
            failed_ids = self._failures(result, source, received)
        except Exception:  # a crashed invocation: Lambda returns the whole batch to the queue
            failed_ids = {message["MessageId"] for message in received}
        for message in received:
            if message["MessageId"] in failed_ids:
                self._sqs.change_message_visibility(
                    QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
                )
            else:
                self._sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
        return BatchOutcome(received=len(received), failed=len(failed_ids))

    @staticmethod
    def _failures(result: Any, source: EventSource, received: list[Any]) -> set[str]:
        if not source.reports_item_failures:
            return set()
        if not isinstance(result, dict):
            return set()
        failures = result.get("batchItemFailures") or []
        ids = {str(item.get("itemIdentifier")) for item in failures}
        known = {message["MessageId"] for message in received}
        # Lambda treats an unknown or empty identifier as a failure of the whole batch.
        return known if not ids <= known else ids

    def _record(self, message: Mapping[str, Any], source: EventSource) -> dict[str, Any]:
        return {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message["Body"],
            "attributes": message.get("Attributes", {}),
            "messageAttributes": {
                name: {
                    "stringValue": value.get("StringValue"),
                    "binaryValue": value.get("BinaryValue"),
                    "stringListValues": [],
                    "binaryListValues": [],
                    "dataType": value["DataType"],
                }
                for name, value in message.get("MessageAttributes", {}).items()
            },
            "md5OfBody": message["MD5OfBody"],
            "eventSource": "aws:sqs",
            "eventSourceARN": self._stack.arn(source.queue_logical_id),
            "awsRegion": REGION,
        }
