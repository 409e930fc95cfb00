"""The failure digest: a schedule that e-mails each tenant's bookkeeper what failed and how to fix it, through SES."""

import aws_cdk as cdk
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_ses as ses
from constructs import Construct

from infra.constructs import access
from infra.constructs.bridge_function import BridgeFunction
from infra.constructs.work_queue import dead_letter_queue
from infra.names import FAILURE_DIGEST_EVERY_MINUTES, FAILURE_DIGEST_TIMEOUT_SECONDS, SCHEDULED_RESERVED_CONCURRENCY


def sender_address(identity: str) -> str:
    """An identity is an address or a whole domain; a domain sends from a no-reply address of its own."""
    return identity if "@" in identity else f"no-reply@{identity}"


class FailureDigest(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        resources: access.Resources,
        layer: lambda_.ILayerVersion,
        environment: dict[str, str],
        notification_sender: str,
    ) -> None:
        super().__init__(scope, construct_id)
        self.identity = ses.EmailIdentity(
            self,
            "Sender",
            identity=ses.Identity.email(notification_sender)
            if "@" in notification_sender
            else ses.Identity.domain(notification_sender),
        )
        self.digest = BridgeFunction(
            self,
            "Digest",
            source="failure_digest",
            layer=layer,
            environment={**environment, "NOTIFICATION_SENDER": sender_address(notification_sender)},
            service_name="failure-digest",
            timeout_seconds=FAILURE_DIGEST_TIMEOUT_SECONDS,
            reserved_concurrency=SCHEDULED_RESERVED_CONCURRENCY,
        )
        access.send_digests(self.digest, resources, self.identity)
        events.Rule(
            self,
            "Schedule",
            description="E-mail each tenant with new export failures, at most once per its notification interval",
            schedule=events.Schedule.rate(cdk.Duration.minutes(FAILURE_DIGEST_EVERY_MINUTES)),
            targets=[
                targets.LambdaFunction(
                    self.digest.function,
                    retry_attempts=2,
                    # A tick EventBridge could not hand over (throttled, failed twice) is kept and alarmed like every
                    # schedule's (monitoring.py): the next tick mails what this one would have, but a schedule whose
                    # every tick fails would otherwise leave no trace but silence.
                    dead_letter_queue=dead_letter_queue(self, "ScheduleDeadLetters"),
                )
            ],
        )
