"""A work queue with its dead-letter queue: every failed message ends somewhere a person can look."""

import aws_cdk as cdk
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.constructs.bridge_function import BridgeFunction
from infra.names import MAX_RECEIVE_COUNT


def dead_letter_queue(scope: Construct, construct_id: str) -> sqs.Queue:
    """Where a work queue's or a schedule's failures wait for a person: 14 days (SQS's most), encrypted, TLS only.
    ``monitoring.py`` finds every one of them by walking the stack and alarms on its depth."""
    return sqs.Queue(
        scope,
        construct_id,
        retention_period=cdk.Duration.days(14),
        encryption=sqs.QueueEncryption.SQS_MANAGED,
        enforce_ssl=True,
    )


class WorkQueue(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, visibility_timeout: cdk.Duration) -> None:
        super().__init__(scope, construct_id)
        self.dead_letters = dead_letter_queue(self, "DeadLetters")
        self.queue = sqs.Queue(
            self,
            "Queue",
            visibility_timeout=visibility_timeout,
            retention_period=cdk.Duration.days(4),
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            dead_letter_queue=sqs.DeadLetterQueue(queue=self.dead_letters, max_receive_count=MAX_RECEIVE_COUNT),
        )


def queue_worker(
    scope: Construct,
    function_id: str,
    *,
    source: str,
    service_name: str,
    timeout_seconds: int,
    batch_size: int,
    max_concurrency: int,
    layer: lambda_.ILayerVersion,
    environment: dict[str, str],
    tells_last_delivery: bool,
    queue_id: str = "Work",
) -> tuple[WorkQueue, BridgeFunction]:
    """A work queue (``queue_id``, ``Work`` unless a construct holds several) and the function that drains it, with
    partial batch failures. Every queue worker is made here, so what they must share (the visibility timeout, the
    batch failure report, their concurrency) is decided once.

    ``max_concurrency`` bounds how many batches of the queue run at once (the flow's number in ``infra.names``), and
    the function reserves exactly as many: Lambda never throttles what the event source hands it (a throttled batch
    would go back to the queue, count as a receive and end in the dead-letter queue), and no other function can take
    the workers the flow needs."""
    # Six times the function timeout, as AWS advises for SQS event sources, so a retry never overlaps a run.
    work = WorkQueue(scope, queue_id, visibility_timeout=cdk.Duration.seconds(timeout_seconds * 6))
    if tells_last_delivery:
        # The worker knows its last delivery from the queue's own count and says why before SQS dead-letters it.
        environment = {**environment, "MAX_RECEIVE_COUNT": str(MAX_RECEIVE_COUNT)}
    worker = BridgeFunction(
        scope,
        function_id,
        source=source,
        layer=layer,
        environment=environment,
        service_name=service_name,
        timeout_seconds=timeout_seconds,
        reserved_concurrency=max_concurrency,
    )
    # Without report_batch_item_failures Lambda ignores batchItemFailures and retries the whole batch.
    worker.function.add_event_source(
        sources.SqsEventSource(
            work.queue, batch_size=batch_size, max_concurrency=max_concurrency, report_batch_item_failures=True
        )
    )
    return work, worker
