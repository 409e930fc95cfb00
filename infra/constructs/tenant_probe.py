"""The tenant probe: reads a tenant's Fortnox company and records whether exports can run today."""

import aws_cdk as cdk
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra.constructs import access
from infra.constructs.work_queue import queue_worker
from infra.names import TENANT_PROBE_BATCH_SIZE, TENANT_PROBE_MAX_CONCURRENCY, TENANT_PROBE_TIMEOUT_SECONDS


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
        self.work, self.probe = queue_worker(
            self,
            "Probe",
            source="tenant_probe",
            service_name="tenant-probe",
            timeout_seconds=TENANT_PROBE_TIMEOUT_SECONDS,
            batch_size=TENANT_PROBE_BATCH_SIZE,
            max_concurrency=TENANT_PROBE_MAX_CONCURRENCY,
            layer=layer,
            environment=environment,
            tells_last_delivery=False,
        )
        access.call_fortnox(self.probe, resources, cdk.Stack.of(self))
        self.function = self.probe.function
