"""The tenant probe: reads a tenant's Fortnox company and records whether exports can run today."""

import aws_cdk as cdk
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_logs as logs
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from infra.constructs.work_queue import WorkQueue
from infra.names import FUNCTIONS_DIR, SOURCE_METADATA_KEY, TENANT_PROBE_BATCH_SIZE, TENANT_PROBE_TIMEOUT_SECONDS


class TenantProbe(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        table: dynamodb.ITable,
        layer: lambda_.ILayerVersion,
        client_secret: secretsmanager.ISecret,
        environment: dict[str, str],
    ) -> None:
        super().__init__(scope, construct_id)
        timeout = cdk.Duration.seconds(TENANT_PROBE_TIMEOUT_SECONDS)
        # Six times the function timeout, as AWS advises for SQS event sources, so a retry never overlaps a run.
        self.work = WorkQueue(self, "Work", visibility_timeout=cdk.Duration.seconds(TENANT_PROBE_TIMEOUT_SECONDS * 6))
        role = iam.Role(self, "Role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
        role.add_managed_policy(
            iam.ManagedPolicy.from_aws_managed_policy_name("service-role/AWSLambdaBasicExecutionRole")
        )
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"],
                resources=[table.table_arn],
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(actions=["secretsmanager:GetSecretValue"], resources=[client_secret.secret_arn])
        )
        role.add_to_policy(
            iam.PolicyStatement(actions=["xray:PutTraceSegments", "xray:PutTelemetryRecords"], resources=["*"])
        )
        self.function = lambda_.Function(
            self,
            "Function",
            runtime=lambda_.Runtime.PYTHON_3_12,
            architecture=lambda_.Architecture.X86_64,
            handler="handler.lambda_handler",
            code=lambda_.Code.from_asset(str(FUNCTIONS_DIR / "tenant_probe")),
            layers=[layer],
            role=role,
            timeout=timeout,
            memory_size=512,
            tracing=lambda_.Tracing.ACTIVE,
            environment={**environment, "POWERTOOLS_SERVICE_NAME": "tenant-probe"},
            log_group=logs.LogGroup(self, "Logs", retention=logs.RetentionDays.ONE_MONTH),
        )
        self.function.add_event_source(
            sources.SqsEventSource(
                self.work.queue,
                batch_size=TENANT_PROBE_BATCH_SIZE,
                # Without this Lambda ignores batchItemFailures and retries the whole batch.
                report_batch_item_failures=True,
            )
        )
        cfn_function = self.function.node.default_child
        assert isinstance(cfn_function, cdk.CfnResource)
        cfn_function.add_metadata(SOURCE_METADATA_KEY, "functions/tenant_probe")
