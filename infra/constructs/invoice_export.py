"""Invoice export: a queue of invoice, credit and customer events, the exporter, and the bucket of PDFs."""

import aws_cdk as cdk
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.constructs import access
from infra.constructs.bridge_function import BridgeFunction
from infra.constructs.work_queue import WorkQueue
from infra.names import INVOICE_EXPORT_BATCH_SIZE, INVOICE_EXPORT_TIMEOUT_SECONDS


class InvoiceExport(Construct):
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
        self.pdfs = s3.Bucket(
            self,
            "Pdfs",
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            removal_policy=cdk.RemovalPolicy.RETAIN,
            lifecycle_rules=[s3.LifecycleRule(expiration=cdk.Duration.days(90))],
        )
        self.work = WorkQueue(self, "Work", visibility_timeout=cdk.Duration.seconds(INVOICE_EXPORT_TIMEOUT_SECONDS * 6))
        redrive = self.work.queue.dead_letter_queue
        assert redrive is not None
        self.exporter = BridgeFunction(
            self,
            "Exporter",
            source="invoice_export",
            layer=layer,
            environment={
                **environment,
                "PDF_BUCKET": self.pdfs.bucket_name,
                # The exporter knows its last delivery from the queue's own count and says why before the DLQ.
                "MAX_RECEIVE_COUNT": str(redrive.max_receive_count),
            },
            service_name="invoice-export",
            timeout_seconds=INVOICE_EXPORT_TIMEOUT_SECONDS,
        )
        access.call_fortnox(self.exporter, resources, cdk.Stack.of(self))
        self.exporter.allow(["s3:GetObject"], [self.pdfs.arn_for_objects("*")])
        self.exporter.function.add_event_source(
            sources.SqsEventSource(
                self.work.queue, batch_size=INVOICE_EXPORT_BATCH_SIZE, report_batch_item_failures=True
            )
        )
