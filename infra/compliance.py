"""cdk-nag's AwsSolutions and Serverless packs on every synth, and each finding the bridge accepts, with its reason.

A finding nobody acknowledged stops the synth (``ValidationFailed``), in ``make synth``, ``cdk synth`` and the tests
alike. An acknowledgment names the rule exactly as the report prints it, granular findings included
(``AwsSolutions-IAM5[Resource::*]``), and sits on the constructs it concerns, found by their path below the stack,
never on the stack or the app: a new resource with the same problem is a new finding.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from fnmatch import fnmatchcase

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks, ServerlessChecks
from constructs import IConstruct

PACKS = ("AwsSolutions", "Serverless")


@dataclass(frozen=True)
class Acknowledgment:
    """``rule`` as the validation report names it; ``paths`` are construct paths below the stack, where ``*``
    stands for exactly one path segment (``*/*/Role`` is every function's role, not anything deeper)."""

    rule: str
    paths: tuple[str, ...]
    reason: str

    def qualified_id(self, stack_name: str) -> str:
        """``Pack::Rule``: the CDK then records the acknowledgment in the report's suppressed violations, with
        where it was made, which is how the tests prove each one still covers a real finding. ``{stack_name}`` in a
        rule stands for the stack's name, which is in the ARNs of its stage-scoped secrets."""
        return f"{self.rule.split('-', 1)[0]}::{self.rule.replace('{stack_name}', stack_name)}"

    def covers(self, path_below_stack: str) -> bool:
        segments = path_below_stack.split("/")
        return any(_matches(pattern.split("/"), segments) for pattern in self.paths)

    def targets(self, stack: cdk.Stack) -> Iterator[IConstruct]:
        depth = len(stack.node.path.split("/"))
        for construct in stack.node.find_all():
            if self.covers("/".join(construct.node.path.split("/")[depth:])):
                yield construct


def _matches(pattern: list[str], segments: list[str]) -> bool:
    return len(pattern) == len(segments) and all(fnmatchcase(s, p) for p, s in zip(pattern, segments, strict=True))


# Every BridgeFunction sits one level below its flow's construct (``Connect/Hosted``, ``PaymentSync/Poller``).
_EVERY_FUNCTION = ("*/*/Function",)
_EVERY_ROLE = ("*/*/Role",)
_RUNTIME_PINNED = (
    "The functions run the Python their layer is built and compiled for (cp312 wheels and .pyc, infra/layer.py); a "
    "newer runtime is an upgrade of layer, runtime and tests together, not a setting to flip at a lint's request. "
    "Python 3.12 is a supported Lambda runtime."
)

ACKNOWLEDGMENTS: tuple[Acknowledgment, ...] = (
    Acknowledgment(
        rule="AwsSolutions-APIG4",
        paths=(
            "Connect/Api/GET--connect--{link_token}",
            "Connect/Api/GET--oauth--callback",
            "Connect/Api/GET--status--{token}",
            "Connect/Api/GET--status--{token}--exports--{export_id}--sie",
            "Connect/Api/POST--status--{token}--exports--{export_id}--retry",
            "Connect/Api/POST--status--{token}--exports--{export_id}--mark-exported",
        ),
        reason=(
            "Hosted pages a tenant's bookkeeper opens from a link, with no AWS identity to authorize: each request "
            "is authorized by the handler instead, by the link in its path (256 random bits stored only as a "
            "SHA-256, expiring, single-use) or the status token (HMAC-signed with the connect key, expiring, "
            "revocable by generation) or, on the callback, the HMAC-signed single-use OAuth state. The management "
            "routes carry the AWS_IAM authorizer."
        ),
    ),
    Acknowledgment(
        rule="AwsSolutions-SQS3",
        paths=("PaymentSync/ScheduleDeadLetters", "Connect/KeepAliveDeadLetters", "FailureDigest/ScheduleDeadLetters"),
        reason=(
            "This queue is a dead-letter queue: a schedule's EventBridge target (payment fan-out, keep-alive, failure "
            "digest) names it in its DeadLetterConfig. cdk-nag recognises a DLQ only when another queue's "
            "RedrivePolicy names it."
        ),
    ),
    Acknowledgment(
        rule="Serverless-SQSRedrivePolicy",
        paths=(
            "*/*/DeadLetters",
            "PaymentSync/ScheduleDeadLetters",
            "Connect/KeepAliveDeadLetters",
            "FailureDigest/ScheduleDeadLetters",
        ),
        reason=(
            "A dead-letter queue, the end of the line: failed messages wait here 14 days for an operator (the "
            "redrive CLI), with an alarm on its depth. A redrive policy on it would only move them to a queue "
            "nobody reads."
        ),
    ),
    Acknowledgment(
        rule="Serverless-LambdaEventSourceMappingDestination",
        paths=("*/*/Function/SqsEventSource:*",),
        reason=(
            "Lambda supports on-failure destinations for stream and Kafka event sources, not for SQS. A message "
            "that keeps failing goes to its work queue's dead-letter queue through the queue's redrive policy "
            "(maxReceiveCount), which is alarmed; partial batch responses keep its batch-mates out of it."
        ),
    ),
    Acknowledgment(
        rule="Serverless-LambdaDLQ",
        paths=(
            "TenantProbe/Probe/Function",
            "InvoiceExport/Exporter/Function",
            "VoucherExport/Exporter/Function",
            "PaymentSync/WebhookDeliverer/Function",
            "PaymentSync/Poller/Function",
        ),
        reason=(
            "Invoked synchronously by its SQS event source mapping, and a Lambda dead-letter queue only receives "
            "failed asynchronous invocations, so it would stay empty. A message that keeps failing goes to the "
            "work queue's own dead-letter queue, which is alarmed."
        ),
    ),
    Acknowledgment(
        rule="Serverless-LambdaDLQ",
        paths=("Connect/Management/Function", "Connect/Hosted/Function"),
        reason=(
            "Invoked synchronously by the HTTP API: the caller gets the error as the response (and the API's 5xx "
            "alarm fires); a Lambda dead-letter queue only receives failed asynchronous invocations."
        ),
    ),
    Acknowledgment(
        rule="AwsSolutions-IAM5[Resource::*]",
        paths=_EVERY_ROLE,
        reason=(
            "X-Ray tracing (Tracing.ACTIVE): xray:PutTraceSegments and xray:PutTelemetryRecords support no "
            "resource-level permissions, so * is their only resource. tests/infra/test_compliance.py fails if any "
            "other action is granted on *."
        ),
    ),
    Acknowledgment(
        rule="AwsSolutions-L1",
        paths=_EVERY_FUNCTION,
        reason=_RUNTIME_PINNED,
    ),
    Acknowledgment(
        rule="Serverless-LambdaLatestVersion",
        paths=_EVERY_FUNCTION,
        reason=_RUNTIME_PINNED,
    ),
    Acknowledgment(
        rule="AwsSolutions-S1",
        paths=("InvoiceExport/Pdfs",),
        reason=(
            "A private drop box for invoice PDFs (all public access blocked, TLS only, S3-managed encryption, "
            "objects expire after 90 days): upstream puts a PDF with its own credentials and names it in the "
            "invoice event, and the exporter's role may only read objects. Server access logs would need a second "
            "bucket kept for an audit nobody asked for; CloudTrail S3 data events give one if it is ever wanted."
        ),
    ),
    Acknowledgment(
        rule="AwsSolutions-IAM5[Resource::<InvoiceExportPdfs302510A1.Arn>/*]",
        paths=("InvoiceExport/Exporter/Role",),
        reason=(
            "s3:GetObject only, on this one bucket's objects: an invoice event names its PDF's key, chosen upstream "
            "at run time, so no deploy-time ARN names the object."
        ),
    ),
    Acknowledgment(
        rule="AwsSolutions-SMG4",
        paths=("FortnoxClientSecret",),
        reason=(
            "The Fortnox client secret is issued by Fortnox's developer portal, which offers no API to issue a new "
            "one, so AWS cannot rotate it: an operator regenerates it in Fortnox and puts the new value here as the "
            "README's deployment guide puts the first. It has its own KMS key; only roles that call Fortnox read it."
        ),
    ),
    Acknowledgment(
        rule="Serverless-LambdaDLQ",
        paths=("Connect/KeepAlive/Function", "PaymentSync/FanOut/Function", "FailureDigest/Digest/Function"),
        reason=(
            "Started by a schedule whose event carries no data: each run finds its work in the table (connections "
            "to refresh, tenants due a poll, failures to mail). A run that still fails after Lambda's two retries "
            "raises the function's error alarm, and the next tick does the same work; a dead-letter queue would "
            "keep copies of a tick nobody replays. Ticks EventBridge cannot deliver go to the rule target's DLQ."
        ),
    ),
    Acknowledgment(
        rule="Serverless-LambdaDLQ",
        paths=("SigningKeyRotation/Rotator/Function",),
        reason=(
            "Secrets Manager drives the rotation, one step at a time, and keeps the new key pending until every "
            "step has succeeded: a failed step leaves the current key in use, Secrets Manager retries the rotation, "
            "and the function's error alarm fires. The event holds only the secret's ARN, a step and a version "
            "token, nothing a dead-letter queue would need to keep."
        ),
    ),
    Acknowledgment(
        rule=(
            "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>:"
            "secret:fortnox-bridge/{stack_name}/tenants/*]"
        ),
        paths=(
            "Connect/Management/Role",
            "Connect/Hosted/Role",
            "Connect/KeepAlive/Role",
            "TenantProbe/Probe/Role",
            "InvoiceExport/Exporter/Role",
            "VoucherExport/Exporter/Role",
            "PaymentSync/Poller/Role",
        ),
        reason=(
            "Tenant token secrets are created at connect time, one per tenant, and a multi-tenant function serves "
            "any tenant, so no deploy-time ARN names them: the grant is this stack's own tenant prefix, which no "
            "other stage shares, with only the actions the role uses (access.py) and decryption only through "
            "Secrets Manager with the tenant-secrets key. Which tenant a request may touch is checked in code."
        ),
    ),
    Acknowledgment(
        rule=(
            "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>:"
            "secret:fortnox-bridge/{stack_name}/webhooks/*]"
        ),
        paths=("Connect/Management/Role", "PaymentSync/WebhookDeliverer/Role"),
        reason=(
            "A tenant's webhook signing secret is created when the tenant asks for one, at run time, so no "
            "deploy-time ARN names it: the grant is this stack's own webhook prefix, which no other stage shares and "
            "which holds no Fortnox tokens, with only the actions the role uses (access.py) and decryption only "
            "through Secrets Manager with the tenant-secrets key."
        ),
    ),
    Acknowledgment(
        rule="Serverless-SNSRedrivePolicy",
        paths=("Monitoring/Alarms/*@*",),
        reason=(
            "The alarm e-mail subscription (alarm_email). An alarm e-mail SNS cannot deliver after its retries would "
            "sit in a dead-letter queue nobody reads, and its own alarm could only go to this same topic; the alarm "
            "stays in ALARM in CloudWatch and on the flow's dashboard, and failed deliveries show in the topic's "
            "NumberOfNotificationsFailed metric."
        ),
    ),
)


def apply(app: cdk.App) -> None:
    """Both packs run when ``app.synth()`` validates; every acknowledgment is put on the constructs it names."""
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app), ServerlessChecks(app))
    for stack in [child for child in app.node.children if isinstance(child, cdk.Stack)]:
        for acknowledgment in ACKNOWLEDGMENTS:
            for construct in acknowledgment.targets(stack):
                cdk.Validations.of(construct).acknowledge(
                    cdk.Acknowledgment(id=acknowledgment.qualified_id(stack.stack_name), reason=acknowledgment.reason)
                )
