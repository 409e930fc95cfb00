"""Voucher export: a queue of closed sales days and ready-made journals, and the exporter that books them."""

import aws_cdk as cdk
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra.constructs import access
from infra.constructs.work_queue import queue_worker
from infra.names import VOUCHER_EXPORT_BATCH_SIZE, VOUCHER_EXPORT_MAX_CONCURRENCY, VOUCHER_EXPORT_TIMEOUT_SECONDS


class VoucherExport(Construct):
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
        self.work, self.exporter = queue_worker(
            self,
            "Exporter",
            source="voucher_export",
            service_name="voucher-export",
            timeout_seconds=VOUCHER_EXPORT_TIMEOUT_SECONDS,
            batch_size=VOUCHER_EXPORT_BATCH_SIZE,
            max_concurrency=VOUCHER_EXPORT_MAX_CONCURRENCY,
            layer=layer,
            environment=environment,
            tells_last_delivery=True,
        )
        access.call_fortnox(self.exporter, resources, cdk.Stack.of(self))
        access.query_company(self.exporter, resources)
