"""Invoice export: a queue of invoice, credit and customer events, the exporter, and the bucket of PDFs."""

import aws_cdk as cdk
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.constructs import access
from infra.constructs.work_queue import queue_worker
from infra.names import INVOICE_EXPORT_BATCH_SIZE, INVOICE_EXPORT_MAX_CONCURRENCY, INVOICE_EXPORT_TIMEOUT_SECONDS


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
        self.work, self.exporter = queue_worker(
            self,
            "Exporter",
            source="invoice_export",
            service_name="invoice-export",
            timeout_seconds=INVOICE_EXPORT_TIMEOUT_SECONDS,
            batch_size=INVOICE_EXPORT_BATCH_SIZE,
            max_concurrency=INVOICE_EXPORT_MAX_CONCURRENCY,
            layer=layer,
            environment={**environment, "PDF_BUCKET": self.pdfs.bucket_name},
            tells_last_delivery=True,
        )
        access.call_fortnox(self.exporter, resources, cdk.Stack.of(self))
        # What a record needs of its tenant (connection, profile, mapping, customer hash) is one batch read
        # (``TenantReader``): the same items ``GetItem`` reaches, in one call.
        self.exporter.allow(["dynamodb:BatchGetItem"], [resources.table.table_arn])
        self.exporter.allow(["s3:GetObject"], [self.pdfs.arn_for_objects("*")])
