"""Voucher export: a queue of closed sales days and ready-made journals, and the exporter that books them."""

import aws_cdk as cdk
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from constructs import Construct

from infra.constructs import access
from infra.constructs.bridge_function import BridgeFunction
from infra.constructs.work_queue import WorkQueue
from infra.names import VOUCHER_EXPORT_BATCH_SIZE, VOUCHER_EXPORT_TIMEOUT_SECONDS


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
        self.work = WorkQueue(self, "Work", visibility_timeout=cdk.Duration.seconds(VOUCHER_EXPORT_TIMEOUT_SECONDS * 6))
        redrive = self.work.queue.dead_letter_queue
        assert redrive is not None
        self.exporter = BridgeFunction(
            self,
            "Exporter",
            source="voucher_export",
            layer=layer,
            environment={
                **environment,
                # As for invoices: the last delivery records and publishes why before SQS dead-letters the message.
                "MAX_RECEIVE_COUNT": str(redrive.max_receive_count),
            },
            service_name="voucher-export",
            timeout_seconds=VOUCHER_EXPORT_TIMEOUT_SECONDS,
        )
        access.call_fortnox(self.exporter, resources, cdk.Stack.of(self))
        access.query_company(self.exporter, resources)
        self.exporter.function.add_event_source(
            sources.SqsEventSource(
                self.work.queue, batch_size=VOUCHER_EXPORT_BATCH_SIZE, report_batch_item_failures=True
            )
        )
