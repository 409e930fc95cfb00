"""Alarms that wake someone, and a dashboard per flow.

Everything is found by walking the stack, not listed: every function gets its errors and throttles alarmed, every
queue without a redrive policy (a dead-letter queue, where a failed message ends) its depth, every queue with one (a
work queue) the age of its oldest message, every HTTP API its 5xx. A function or queue added later is covered without
anyone remembering this file; a work queue without an age threshold below stops the synth until someone reasons one.
Every alarm tells the topic when it fires and when it clears.
"""

import re
from collections.abc import Iterable
from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct, IConstruct

NAMESPACE = "FortnoxBridge"
"""The root of the functions' POWERTOOLS_METRICS_NAMESPACE (``metric_namespace``)."""
KEEPALIVE_SERVICE = "connection-keepalive"
FIVE_MINUTES = cdk.Duration.minutes(5)
ONE_DAY = cdk.Duration.days(1)

QUEUE_AGE_ALARMS: dict[str, cdk.Duration] = {
    # A message that failed once comes back after its visibility timeout (six times the function's timeout) and
    # counts from when it was first sent, so every threshold is above one visibility timeout plus one run: a single
    # retry is the dead-letter alarm's business, not this one's. What is left over is what the flow can wait.
    # Invoices: 30 minutes' visibility + 5 minutes' run + 10 minutes, about what one tenant's bulk of 1000 invoices
    # takes through its own rate limit. An invoice an hour late is noticed by a bookkeeper.
    "InvoiceExport/Work": cdk.Duration.minutes(45),
    # A closed sales day is booked once a day; 30 + 5 minutes and a quarter of an hour to spare.
    "VoucherExport/Work": cdk.Duration.minutes(50),
    # The probe answers a person who just connected: 6 minutes' visibility + 1 minute's run + 3 minutes.
    "TenantProbe/Work": cdk.Duration.minutes(10),
    # Polls are enqueued every 15 minutes for tenants polled every 15 minutes or more: 30 + 5 minutes and two ticks.
    "PaymentSync/PollWork": cdk.Duration.minutes(65),
    # Webhooks: 12 minutes' visibility + 2 minutes' run; a receiver that is down is retried by the deliverer and
    # dead-lettered when it runs out (its own alarm), so this one says the deliverer is not keeping up: an hour.
    "PaymentSync/WebhookWork": cdk.Duration.minutes(60),
}
"""How old the oldest message of each work queue (by its construct path) may get before a person looks."""

API_5XX_PER_FIVE_MINUTES = 5
"""A crash is already an Errors alarm of its function; the API's own 5xx adds the answers the functions chose (503
while Fortnox is down) and integration timeouts. A handful in five minutes is a pattern, one is a blip."""


@dataclass(frozen=True)
class BusinessMetric:
    """A metric the functions emit (Powertools, the stack's ``metric_namespace``, dimensioned by ``service`` only)."""

    name: str
    service: str | None
    """The function's POWERTOOLS_SERVICE_NAME; None sums it over every service (token refreshes happen wherever
    Fortnox is called)."""


def metric_namespace(stack: cdk.Stack) -> str:
    """The stack's own namespace: business metrics are dimensioned by service only, so two stages in one account
    sharing one would count into each other's alarms (dev's keep-alive runs keeping prod's "missed" alarm quiet)."""
    return f"{NAMESPACE}/{stack.stack_name}"


def _of(service: str | None, *names: str) -> tuple[BusinessMetric, ...]:
    return tuple(BusinessMetric(name, service) for name in names)


@dataclass(frozen=True)
class Flow:
    slug: str
    title: str
    paths: tuple[str, ...]
    """Construct paths (under the stack) whose functions and queues belong to the flow."""
    metrics: tuple[BusinessMetric, ...]


FLOWS = (
    Flow(
        "connect",
        "Connect and tokens",
        # The signing key signs the connect flow's states and status links.
        ("Connect", "TenantProbe", "SigningKeyRotation"),
        _of(None, "TokenRefreshed", "TokenRefreshFailed", "TokenConnectionLost", "ConnectedNotTold")
        + _of(KEEPALIVE_SERVICE, "ConnectionsRefreshed", "ConnectionsPostponed", "ConnectionsFailed", "ConnectionsLost")
        + _of("tenant-probe", "TenantProbeRefused"),
    ),
    Flow(
        "invoice-export",
        "Invoice export",
        ("InvoiceExport", "FailureDigest"),
        _of(
            "invoice-export",
            "InvoiceExported",
            "InvoiceUpdated",
            "InvoiceUnchanged",
            "InvoiceSuperseded",
            "InvoiceRefused",
            "InvoiceFailed",
            "InvoiceEventRejected",
            "InvoiceEventGivenUp",
        )
        + _of("failure-digest", "FailureDigestsSent"),
    ),
    Flow(
        "voucher-export",
        "Voucher export",
        ("VoucherExport",),
        _of(
            "voucher-export",
            "VoucherExported",
            "VoucherUnchanged",
            "VoucherRefused",
            "VoucherFailed",
            "VoucherEventRejected",
            "VoucherEventGivenUp",
        ),
    ),
    Flow(
        "payment-sync",
        "Payment sync",
        ("PaymentSync/PollWork", "PaymentSync/Poller", "PaymentSync/FanOut", "PaymentSync/ScheduleDeadLetters"),
        _of(
            "payment-schedule", "PaymentPollsDue", "PaymentPollsEnqueued", "PaymentPollsDeferred", "PaymentPollsRefused"
        )
        + _of(
            "payment-poll",
            "PaymentPollSucceeded",
            "PaymentPollSkipped",
            "PaymentPollFailed",
            "PaymentPollNotConnected",
            "PaymentPollRefused",
            "PaymentsReceived",
            "PaymentsChanged",
            "PaymentsRemoved",
        ),
    ),
    Flow(
        "webhooks",
        "Webhooks",
        ("PaymentSync/WebhookWork", "PaymentSync/WebhookDeliverer"),
        _of(
            "webhook-delivery",
            "WebhookDelivered",
            "WebhookRetried",
            "WebhookPutBack",
            "WebhookDeadLettered",
            "WebhookDropped",
        ),
    ),
)
PLATFORM = Flow("platform", "Platform", (), ())
"""Where a function or queue no flow claims is shown, so a dashboard never silently leaves one out."""


@dataclass
class _Watched:
    label: str
    """Its construct path under the stack, without the L1 tail (``InvoiceExport/Work/Queue``)."""
    widgets: list[cloudwatch.IMetric]
    alarms: list[cloudwatch.Alarm]


def _label(stack: cdk.Stack, resource: IConstruct) -> str:
    path = resource.node.path.removeprefix(f"{stack.node.path}/")
    return re.sub(r"/(Function/)?Resource$", "", path)


def _identifier(label: str) -> str:
    """``InvoiceExport/Work/Queue`` -> ``InvoiceExportWorkQueue``, ``invoice-export`` -> ``InvoiceExport``."""
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[^A-Za-z0-9]+", label))


def _resources(stack: cdk.Stack, resource_type: str) -> Iterable[cdk.CfnResource]:
    for child in stack.node.find_all():
        if isinstance(child, cdk.CfnResource) and child.cfn_resource_type == resource_type:
            yield child


class Monitoring(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, alarm_email: str | None) -> None:
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        # CloudWatch can publish to an encrypted topic only with a customer-managed key it may use.
        key = kms.Key(self, "TopicKey", description="Encrypts the Fortnox Bridge alarm topic", enable_key_rotation=True)
        key.add_to_resource_policy(
            iam.PolicyStatement(
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],  # in a key policy, "*" is this key
            )
        )
        self.topic = sns.Topic(self, "Alarms", display_name="Fortnox Bridge alarms", master_key=key, enforce_ssl=True)
        # The TLS-only topic policy replaces SNS's default one, which is what lets the account's CloudWatch publish:
        # without this statement every alarm's action fails ("not authorized to perform SNS:Publish"), unheard.
        self.topic.add_to_resource_policy(
            iam.PolicyStatement(
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["sns:Publish"],
                resources=[self.topic.topic_arn],
                conditions={"StringEquals": {"aws:SourceAccount": stack.account}},
            )
        )
        if alarm_email:
            self.topic.add_subscription(subscriptions.EmailSubscription(alarm_email))
        self._action = actions.SnsAction(self.topic)
        self.alarms: list[cloudwatch.Alarm] = []

        watched: dict[str, list[_Watched]] = {flow.slug: [] for flow in (*FLOWS, PLATFORM)}
        for function in _resources(stack, "AWS::Lambda::Function"):
            label = _label(stack, function)
            watched[self._flow_of(label).slug].append(self._watch_function(label, function.ref))
        for queue in _resources(stack, "AWS::SQS::Queue"):
            assert isinstance(queue, sqs.CfnQueue)
            label = _label(stack, queue)
            watched[self._flow_of(label).slug].append(self._watch_queue(label, queue))
        for api in _resources(stack, "AWS::ApiGatewayV2::Api"):
            label = _label(stack, api)
            watched[self._flow_of(label).slug].append(self._watch_api(label, api.ref))
        watched["connect"].append(self._watch_keepalive())

        self.dashboards = [
            self._dashboard(stack, flow, watched[flow.slug])
            for flow in (*FLOWS, PLATFORM)
            if flow.metrics or watched[flow.slug]
        ]

    @staticmethod
    def _flow_of(label: str) -> Flow:
        return next(
            (flow for flow in FLOWS if any(label == path or label.startswith(f"{path}/") for path in flow.paths)),
            PLATFORM,
        )

    def _alarm(
        self,
        label: str,
        what: str,
        metric: cloudwatch.IMetric,
        *,
        threshold: float,
        description: str,
        comparison: cloudwatch.ComparisonOperator = cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluation_periods: int = 1,
        missing: cloudwatch.TreatMissingData = cloudwatch.TreatMissingData.NOT_BREACHING,
    ) -> cloudwatch.Alarm:
        alarm = cloudwatch.Alarm(
            self,
            f"{_identifier(label)}{what}",
            metric=metric,
            threshold=threshold,
            comparison_operator=comparison,
            evaluation_periods=evaluation_periods,
            treat_missing_data=missing,
            alarm_description=f"{label}: {description}",
        )
        alarm.add_alarm_action(self._action)
        alarm.add_ok_action(self._action)
        self.alarms.append(alarm)
        return alarm

    def _watch_function(self, label: str, function_name: str) -> _Watched:
        def lambda_metric(name: str, statistic: str) -> cloudwatch.Metric:
            return cloudwatch.Metric(
                namespace="AWS/Lambda",
                metric_name=name,
                dimensions_map={"FunctionName": function_name},
                statistic=statistic,
                period=FIVE_MINUTES,
            )

        errors, throttles = lambda_metric("Errors", "Sum"), lambda_metric("Throttles", "Sum")
        alarms = [
            # Queue workers report failed records without failing the invocation: an error is a crash or a timeout.
            self._alarm(label, "Errors", errors, threshold=1, description="the function crashed or timed out"),
            self._alarm(
                label,
                "Throttles",
                throttles,
                threshold=1,
                description="invocations were throttled: its reserved concurrency is below what reaches it",
            ),
        ]
        return _Watched(label, _labelled(label, errors, throttles, lambda_metric("Duration", "p99")), alarms)

    def _watch_queue(self, label: str, queue: sqs.CfnQueue) -> _Watched:
        def sqs_metric(name: str) -> cloudwatch.Metric:
            return cloudwatch.Metric(
                namespace="AWS/SQS",
                metric_name=name,
                dimensions_map={"QueueName": queue.attr_queue_name},
                statistic="Maximum",
                period=FIVE_MINUTES,
            )

        depth = sqs_metric("ApproximateNumberOfMessagesVisible")
        if queue.redrive_policy is None:
            dead = self._alarm(
                label,
                "Depth",
                depth,
                threshold=0,
                comparison=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                description="messages are waiting on a dead-letter queue: a person must look (redrive or discard)",
            )
            return _Watched(label, _labelled(label, depth), [dead])
        work = label.removesuffix("/Queue")
        if work not in QUEUE_AGE_ALARMS:
            raise ValueError(f"work queue {work} has no age threshold: give it one in monitoring.QUEUE_AGE_ALARMS")
        limit = QUEUE_AGE_ALARMS[work]
        age = sqs_metric("ApproximateAgeOfOldestMessage")
        old = self._alarm(
            label,
            "Age",
            age,
            threshold=limit.to_seconds(),
            comparison=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            description=f"the oldest message waited over {limit.to_minutes()} minutes: the queue is not draining",
        )
        return _Watched(label, _labelled(label, depth, age), [old])

    def _watch_api(self, label: str, api_id: str) -> _Watched:
        server_errors = cloudwatch.Metric(
            namespace="AWS/ApiGateway",
            metric_name="5xx",
            dimensions_map={"ApiId": api_id},
            statistic="Sum",
            period=FIVE_MINUTES,
        )
        alarm = self._alarm(
            label,
            "ServerErrors",
            server_errors,
            threshold=API_5XX_PER_FIVE_MINUTES,
            description=f"{API_5XX_PER_FIVE_MINUTES} or more 5xx answers in five minutes",
        )
        return _Watched(label, _labelled(label, server_errors), [alarm])

    def _watch_keepalive(self) -> _Watched:
        """Refresh tokens die 45 days after their last use and the keep-alive refreshes those past 30: every tenant
        it postpones, fails or loses, and every day it does not finish, spends that margin."""

        def keepalive_metric(name: str, statistic: str) -> cloudwatch.Metric:
            return cloudwatch.Metric(
                namespace=metric_namespace(cdk.Stack.of(self)),
                metric_name=name,
                dimensions_map={"service": KEEPALIVE_SERVICE},
                statistic=statistic,
                period=ONE_DAY,
            )

        label = "Connect/KeepAlive"
        alarms = [
            self._alarm(
                label,
                "Postponed",
                keepalive_metric("ConnectionsPostponed", "Sum"),
                threshold=1,
                description="tenants could not be refreshed today for a reason that may pass (Fortnox failing, the "
                "client secret refused, another worker's refresh unfinished); each is tried again tomorrow, 15 days "
                "before its tokens expire",
            ),
            self._alarm(
                label,
                "Failed",
                keepalive_metric("ConnectionsFailed", "Sum"),
                threshold=1,
                description="tenants' refreshes were refused in a way that repeats (the keep-alive's log says why): "
                "tomorrow fails the same, and at day 45 the connection is lost; a person must look",
            ),
            self._alarm(
                label,
                "Lost",
                keepalive_metric("ConnectionsLost", "Sum"),
                threshold=1,
                description="Fortnox refused tenants' refresh tokens: they must reconnect (upstream was told)",
            ),
            # Every finished run emits ConnectionsRefreshed, zero included: two days without one is a keep-alive
            # that does not run or does not finish, noticed with 13 days left.
            self._alarm(
                label,
                "Missed",
                keepalive_metric("ConnectionsRefreshed", "SampleCount"),
                threshold=1,
                comparison=cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
                evaluation_periods=2,
                missing=cloudwatch.TreatMissingData.BREACHING,
                description="no keep-alive run finished in two days",
            ),
        ]
        return _Watched(label, [], alarms)

    def _dashboard(self, stack: cdk.Stack, flow: Flow, watched: list[_Watched]) -> cloudwatch.Dashboard:
        dashboard = cloudwatch.Dashboard(
            self, f"{_identifier(flow.slug)}Dashboard", dashboard_name=f"{stack.stack_name}-{flow.slug}"
        )
        alarms = [alarm for item in watched for alarm in item.alarms]
        if alarms:
            dashboard.add_widgets(cloudwatch.AlarmStatusWidget(title=f"{flow.title}: alarms", alarms=alarms, width=24))
        for item in watched:
            if item.widgets:
                dashboard.add_widgets(cloudwatch.GraphWidget(title=item.label, left=item.widgets, width=24))
        if flow.metrics:
            dashboard.add_widgets(
                cloudwatch.GraphWidget(
                    title=f"{flow.title}: outcomes",
                    left=[_business(metric_namespace(stack), metric) for metric in flow.metrics],
                    width=24,
                )
            )
        return dashboard


def _labelled(label: str, *metrics: cloudwatch.Metric) -> list[cloudwatch.IMetric]:
    """For the dashboard only: a labelled metric makes an alarm a metric-math alarm."""
    return [metric.with_(label=f"{label} {metric.metric_name}") for metric in metrics]


def _business(namespace: str, metric: BusinessMetric) -> cloudwatch.IMetric:
    if metric.service is not None:
        return cloudwatch.Metric(
            namespace=namespace,
            metric_name=metric.name,
            dimensions_map={"service": metric.service},
            statistic="Sum",
            period=FIVE_MINUTES,
            label=metric.name,
        )
    return cloudwatch.MathExpression(
        # Quoted: a stack's name has a hyphen, which a search's metric schema takes only in double quotes.
        expression=f"SUM(SEARCH('{{\"{namespace}\",service}} MetricName=\"{metric.name}\"', 'Sum', 300))",
        using_metrics={},
        label=metric.name,
        period=FIVE_MINUTES,
    )
