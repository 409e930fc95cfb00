"""One invoice-export Lambda instance in a worker process of its own, fed by its queue as SQS's event source
mapping feeds it (batches of up to 10, failures made visible again, successes deleted).

It imports only what a Lambda instance imports: the handler from its function folder, which pulls in the layer's
package. ``bench.invoice_export`` starts it through ``bench.processes.run_workers`` and reads the sandbox's request
log for what it sent to Fortnox.
"""

import importlib
import json
import logging
import os
import sys
import time
import uuid
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import boto3
import httpx

from bench import simulated
from bench.invoices import invoice_event
from bench.lambda_env import MEMORY_MB, trace_header
from infra.names import FUNCTIONS_DIR

CREATE_PATH = "/3/invoices"
BATCH_SIZE = 10
QUEUE_SERVICE = "sqs"
"""The bench's own calls, as upstream and the event source mapping: the handler never calls SQS."""


@dataclass(frozen=True)
class Plan:
    tenant_id: str
    queue_url: str
    queue_arn: str
    latency: simulated.Latency
    invoices: int
    """Invoices of a known, unchanged customer, queued before the clock starts: the steady-state rate."""
    samples: int
    """Invoices sent one at a time, each exported before the next is sent: queue-to-Fortnox latency. With none,
    only the warm-up and the steady state run."""
    new_customers: int
    """Invoices each of a customer Fortnox has not seen yet."""
    function: str = "invoice_export"
    """The function folder whose handler the instance runs (``bench.vouchers`` runs ``voucher_export``)."""


@dataclass
class Phase:
    """A stretch of the run: wall-clock bounds (to cut the sandbox's log), invoices, secret reads, failures."""

    started: float = 0.0
    ended: float = 0.0
    invoices: int = 0
    secret_reads: int = 0
    aws_calls: int = 0
    """The bridge's own AWS calls (every service but SQS)."""
    failures: int = 0
    sent: list[float] = field(default_factory=list)
    """When each invoice of a one-at-a-time phase was sent."""
    latencies: list[float] = field(default_factory=list)


class _Context:
    def __init__(self) -> None:
        self.function_name = os.environ["AWS_LAMBDA_FUNCTION_NAME"]
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = MEMORY_MB
        self.invoked_function_arn = f"arn:aws:lambda:eu-north-1:123456789012:function:{self.function_name}"
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{self.function_name}"
        self.log_stream_name = "bench"
        self._deadline = time.monotonic() + 300

    def get_remaining_time_in_millis(self) -> int:
        return int((self._deadline - time.monotonic()) * 1000)


class Instance:
    """The handler, its queue and the bench's counters, in this process."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.secret_reads = 0
        self.aws_calls = 0
        self.create_answers: list[float] = []
        # The log lines and metrics go where Lambda's would, just not onto the bench's table; so does Powertools'
        # warning that an invocation published no metric.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        warnings.filterwarnings("ignore", message="No application metrics to publish")
        # The bench's own SQS calls made outside an invocation, which X-Ray reports it drops.
        logging.getLogger("aws_xray_sdk").setLevel(logging.ERROR)
        # Before any client exists: botocore copies the session's handlers into each client it builds.
        simulated.install(plan.latency)
        events = boto3._get_default_session().events
        # Every Secrets Manager call counts as a read: the bridge writes a secret only when it refreshes a token.
        events.register("before-call.secrets-manager", self._secret_read, unique_id="bench-secrets")
        events.register("before-call", self._aws_call, unique_id="bench-aws-calls")
        self._count_create_answers()
        self.sqs = boto3.client("sqs")
        sys.path.insert(0, str(FUNCTIONS_DIR / plan.function))
        self.handler: Callable[[dict[str, Any], Any], Any] = importlib.import_module("handler").lambda_handler

    def _secret_read(self, **_: Any) -> None:
        self.secret_reads += 1

    def _aws_call(self, event_name: str, **_: Any) -> None:
        if event_name.split(".")[1] != QUEUE_SERVICE:
            self.aws_calls += 1

    def _count_create_answers(self) -> None:
        """When each invoice create's answer reaches the bridge (after Fortnox's simulated processing)."""
        inner = httpx.HTTPTransport.handle_request
        answers = self.create_answers

        def handle_request(self: httpx.HTTPTransport, request: httpx.Request) -> httpx.Response:
            response = inner(self, request)
            if request.method == "POST" and request.url.path == CREATE_PATH:
                response.read()
                answers.append(time.time())
            return response

        httpx.HTTPTransport.handle_request = handle_request  # type: ignore[method-assign]

    def send(self, events: list[dict[str, Any]]) -> None:
        for event in events:
            self.sqs.send_message(QueueUrl=self.plan.queue_url, MessageBody=json.dumps(event))

    def drain(self) -> tuple[int, int]:
        """Deliver batches until the queue is empty; the invoices delivered and the deliveries that failed."""
        delivered = failed = 0
        while True:
            messages = self.sqs.receive_message(
                QueueUrl=self.plan.queue_url,
                MaxNumberOfMessages=BATCH_SIZE,
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
                WaitTimeSeconds=0,
            ).get("Messages", [])
            if not messages:
                return delivered, failed
            failures = self._invoke(messages)
            done = [message for message in messages if message["MessageId"] not in failures]
            if done:
                self.sqs.delete_message_batch(
                    QueueUrl=self.plan.queue_url,
                    Entries=[{"Id": str(n), "ReceiptHandle": sent["ReceiptHandle"]} for n, sent in enumerate(done)],
                )
            for message in messages:
                if message["MessageId"] in failures:
                    self.sqs.change_message_visibility(
                        QueueUrl=self.plan.queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
                    )
            delivered += len(messages) - len(failures)
            failed += len(failures)

    def _invoke(self, messages: Sequence[Mapping[str, Any]]) -> set[str]:
        event = {"Records": [self._record(message) for message in messages]}
        os.environ["_X_AMZN_TRACE_ID"] = trace_header()
        response = self.handler(event, _Context())
        return {str(failure["itemIdentifier"]) for failure in response.get("batchItemFailures", [])}

    def _record(self, message: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message["Body"],
            "attributes": message.get("Attributes", {}),
            "messageAttributes": {},
            "md5OfBody": message["MD5OfBody"],
            "eventSource": "aws:sqs",
            "eventSourceARN": self.plan.queue_arn,
            "awsRegion": os.environ["AWS_REGION"],
        }

    def phase(self, events: list[dict[str, Any]], *, one_at_a_time: bool = False) -> Phase:
        phase = Phase()
        reads_before, calls_before = self.secret_reads, self.aws_calls
        if not one_at_a_time:
            self.send(events)
        phase.started = time.time()
        if one_at_a_time:
            for event in events:
                answers_before = len(self.create_answers)
                sent = time.time()
                phase.sent.append(sent)
                self.send([event])
                delivered, failed = self.drain()
                phase.invoices += delivered
                phase.failures += failed
                if len(self.create_answers) == answers_before + 1:
                    phase.latencies.append(self.create_answers[-1] - sent)
        else:
            phase.invoices, phase.failures = self.drain()
        phase.ended = time.time()
        phase.secret_reads = self.secret_reads - reads_before
        phase.aws_calls = self.aws_calls - calls_before
        return phase


def worker(plan: Plan) -> Callable[[], dict[str, Phase]]:
    """``bench.processes`` job: build the instance (its cold start), then run the phases at the start signal."""
    instance = Instance(plan)
    tenant = plan.tenant_id
    stamp = uuid.uuid4().hex[:6]

    def run() -> dict[str, Phase]:
        if not plan.samples:
            return {
                "warm_up": instance.phase([invoice_event(tenant, 1, "1042")]),
                "steady": instance.phase([invoice_event(tenant, 100 + n, "1042") for n in range(plan.invoices)]),
            }
        return {
            # The first invoice pays for the cold start, the token and the customer: not steady state.
            "warm_up": instance.phase([invoice_event(tenant, 1, "1042")]),
            "steady": instance.phase([invoice_event(tenant, 100 + n, "1042") for n in range(plan.invoices)]),
            "latency": instance.phase(
                [invoice_event(tenant, 10_000 + n, "1042") for n in range(plan.samples)], one_at_a_time=True
            ),
            "new_customers": instance.phase(
                [invoice_event(tenant, 20_000 + n, f"N{stamp}{n}") for n in range(plan.new_customers)]
            ),
        }

    return run
