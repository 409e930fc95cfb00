"""The tenant probe: reads a tenant's Fortnox company and records whether exports can run today."""

import aws_cdk as cdk
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from constructs import Construct

from infra.constructs import access
from infra.constructs.bridge_function import BridgeFunction
from infra.constructs.work_queue import WorkQueue
from infra.names import TENANT_PROBE_BATCH_SIZE, TENANT_PROBE_TIMEOUT_SECONDS


class TenantProbe(Construct):
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
        # Six times the function timeout, as AWS advises for SQS event sources, so a retry never overlaps a run.
        self.work = WorkQueue(self, "Work", visibility_timeout=cdk.Duration.seconds(TENANT_PROBE_TIMEOUT_SECONDS * 6))
        self.probe = BridgeFunction(
            self,
            "Probe",
            source="tenant_probe",
            layer=layer,
            environment=environment,
            service_name="tenant-probe",
            timeout_seconds=TENANT_PROBE_TIMEOUT_SECONDS,
        )
        access.call_fortnox(self.probe, resources, cdk.Stack.of(self))
        self.function = self.probe.function
        self.function.add_event_source(
            sources.SqsEventSource(
                self.work.queue,
                batch_size=TENANT_PROBE_BATCH_SIZE,
                # Without this Lambda ignores batchItemFailures and retries the whole batch.
                report_batch_item_failures=True,
            )
        )
