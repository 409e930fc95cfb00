"""Payment sync: a schedule fans out one poll job per due tenant, a worker polls Fortnox's payments and publishes what
changed, and a second worker delivers the same events to tenants' signed webhooks."""

import aws_cdk as cdk
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra.constructs import access
from infra.constructs.bridge_function import BridgeFunction
from infra.constructs.work_queue import dead_letter_queue, queue_worker
from infra.names import (
    PAYMENT_FAN_OUT_TIMEOUT_SECONDS,
    PAYMENT_POLL_BATCH_SIZE,
    PAYMENT_POLL_MAX_CONCURRENCY,
    PAYMENT_POLL_TIMEOUT_SECONDS,
    PAYMENT_SCHEDULE_EVERY_MINUTES,
    SCHEDULED_RESERVED_CONCURRENCY,
    WEBHOOK_DELIVERY_BATCH_SIZE,
    WEBHOOK_DELIVERY_MAX_CONCURRENCY,
    WEBHOOK_DELIVERY_TIMEOUT_SECONDS,
)


class PaymentSync(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        resources: access.Resources,
        layer: lambda_.ILayerVersion,
        environment: dict[str, str],
    ) -> None:
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)

        self.webhook_work, self.webhook_deliverer = queue_worker(
            self,
            "WebhookDeliverer",
            queue_id="WebhookWork",
            source="webhook_delivery",
            service_name="webhook-delivery",
            timeout_seconds=WEBHOOK_DELIVERY_TIMEOUT_SECONDS,
            batch_size=WEBHOOK_DELIVERY_BATCH_SIZE,
            max_concurrency=WEBHOOK_DELIVERY_MAX_CONCURRENCY,
            layer=layer,
            environment=environment,
            tells_last_delivery=True,
        )
        # Every part of payment sync that reads WebhookSettings is given both queues' URLs; only the worker may send
        # to the dead-letter queue, where it puts a delivery that ran out of retries with the reason beside it.
        webhook_queues = {
            "WEBHOOK_QUEUE_URL": self.webhook_work.queue.queue_url,
            "WEBHOOK_DEAD_LETTER_URL": self.webhook_work.dead_letters.queue_url,
        }
        for variable, url in webhook_queues.items():
            self.webhook_deliverer.function.add_environment(variable, url)
        # Its own work queue too: a delivery reached too late in an invocation is put back there (attack11a).
        self.webhook_deliverer.allow(
            ["sqs:SendMessage"], [self.webhook_work.dead_letters.queue_arn, self.webhook_work.queue.queue_arn]
        )
        access.deliver_webhooks(self.webhook_deliverer, resources, stack)

        self.poll_work, self.poller = queue_worker(
            self,
            "Poller",
            queue_id="PollWork",
            source="payment_poll",
            service_name="payment-poll",
            timeout_seconds=PAYMENT_POLL_TIMEOUT_SECONDS,
            batch_size=PAYMENT_POLL_BATCH_SIZE,
            max_concurrency=PAYMENT_POLL_MAX_CONCURRENCY,
            layer=layer,
            environment={**environment, **webhook_queues},
            tells_last_delivery=True,
        )
        access.call_fortnox(self.poller, resources, stack)
        # The payment snapshots and the ledger of exported invoices live in the company's partition.
        access.query_company(self.poller, resources)
        self.poller.allow(["sqs:SendMessage"], [self.webhook_work.queue.queue_arn])

        self.fan_out = BridgeFunction(
            self,
            "FanOut",
            source="payment_schedule",
            layer=layer,
            environment=environment,
            service_name="payment-schedule",
            timeout_seconds=PAYMENT_FAN_OUT_TIMEOUT_SECONDS,
            # One tick at a time (its lease says so too); a tick that finds the one reserved instance busy is
            # retried by Lambda's own queue of asynchronous events, within the target's max_event_age.
            reserved_concurrency=SCHEDULED_RESERVED_CONCURRENCY,
        )
        access.fan_out_polls(self.fan_out, resources, self.poll_work.queue)
        # A tick EventBridge could not hand to the function (throttled, failed twice) is kept for a person to see; the
        # next tick still finds every tenant it would have enqueued, since nothing advanced their schedules.
        self.schedule_dead_letters = dead_letter_queue(self, "ScheduleDeadLetters")
        events.Rule(
            self,
            "Schedule",
            description="Enqueue a payment poll for every connected tenant whose payment sync interval has come",
            schedule=events.Schedule.rate(cdk.Duration.minutes(PAYMENT_SCHEDULE_EVERY_MINUTES)),
            targets=[
                targets.LambdaFunction(
                    self.fan_out.function,
                    retry_attempts=2,
                    max_event_age=cdk.Duration.minutes(PAYMENT_SCHEDULE_EVERY_MINUTES),
                    dead_letter_queue=self.schedule_dead_letters,
                )
            ],
        )
