"""A Lambda function of the bridge: the shared layer, tracing, a month of logs, its own least-privilege role."""

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.constructs.shared_layer import deployed_architecture
from infra.names import FUNCTIONS_DIR, SOURCE_METADATA_KEY

NOT_DEPLOYED = ["__pycache__", "*.pyc"]
"""Bytecode a local run leaves in a function's folder: it would change the asset's hash (a new version of an
unchanged function at each deploy), and it is compiled for this machine's Python, not the runtime's."""


class BridgeFunction(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        source: str,
        layer: lambda_.ILayerVersion,
        environment: dict[str, str],
        service_name: str,
        timeout_seconds: int,
        memory_mb: int = 512,
        reserved_concurrency: int | None = None,
        architecture: lambda_.Architecture | None = None,
    ) -> None:
        """``architecture`` defaults to the stack's setting, which the shared layer is built for."""
        super().__init__(scope, construct_id)
        self.role = iam.Role(self, "Role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
        # Writes to its own log group only: AWSLambdaBasicExecutionRole would allow every log group in the account.
        self.log_group = logs.LogGroup(self, "Logs", retention=logs.RetentionDays.ONE_MONTH)
        self.log_group.grant_write(self.role)
        self.role.add_to_policy(
            iam.PolicyStatement(actions=["xray:PutTraceSegments", "xray:PutTelemetryRecords"], resources=["*"])
        )
        self.function = lambda_.Function(
            self,
            "Function",
            runtime=lambda_.Runtime.PYTHON_3_12,
            architecture=architecture or deployed_architecture(self),
            handler="handler.lambda_handler",
            code=lambda_.Code.from_asset(str(FUNCTIONS_DIR / source), exclude=NOT_DEPLOYED),
            layers=[layer],
            role=self.role,
            timeout=cdk.Duration.seconds(timeout_seconds),
            memory_size=memory_mb,
            reserved_concurrent_executions=reserved_concurrency,
            tracing=lambda_.Tracing.ACTIVE,
            environment={**environment, "POWERTOOLS_SERVICE_NAME": service_name},
            log_group=self.log_group,
        )
        cfn_function = self.function.node.default_child
        assert isinstance(cfn_function, cdk.CfnResource)
        cfn_function.add_metadata(SOURCE_METADATA_KEY, f"functions/{source}")

    def allow(self, actions: list[str], resources: list[str]) -> None:
        self.role.add_to_policy(iam.PolicyStatement(actions=actions, resources=resources))
