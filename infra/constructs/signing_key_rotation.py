"""The connect signing key's rotation: Secrets Manager's schedule and the function that makes each new key."""

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from infra.constructs import access
from infra.constructs.bridge_function import BridgeFunction
from infra.constructs.keys import SIGNING_KEY_ROTATION


class SigningKeyRotation(Construct):
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
        self.rotator = BridgeFunction(
            self,
            "Rotator",
            source="signing_key_rotation",
            layer=layer,
            environment={**environment, "CONNECT_SIGNING_KEY_ID": resources.signing_key.secret_arn},
            service_name="signing-key-rotation",
            timeout_seconds=60,
        )
        access.rotate_signing_key(self.rotator, resources)
        self.rotator.function.add_permission(
            "SecretsManagerRotates",
            principal=iam.ServicePrincipal("secretsmanager.amazonaws.com"),
            source_account=cdk.Stack.of(self).account,
        )
        # The L1 schedule, not ``Secret.add_rotation_schedule``: that one also grants secretsmanager:GetRandomPassword
        # on every resource, which the function does not call (it makes keys with ``secrets``).
        self.schedule = secretsmanager.CfnRotationSchedule(
            self,
            "Schedule",
            secret_id=resources.signing_key.secret_arn,
            rotation_lambda_arn=self.rotator.function.function_arn,
            rotation_rules=secretsmanager.CfnRotationSchedule.RotationRulesProperty(
                schedule_expression=f"rate({SIGNING_KEY_ROTATION.to_days()} days)"
            ),
            # A deploy does not rotate: the first rotation comes a full period after rotation was switched on.
            rotate_immediately_on_update=False,
        )
        self.schedule.node.add_dependency(self.rotator.function.node.find_child("SecretsManagerRotates"))
