"""The Fortnox Bridge stack: composes the constructs and nothing else."""

from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_events as events
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra.constructs import access
from infra.constructs.access import Resources
from infra.constructs.connect import Connect
from infra.constructs.failure_digest import FailureDigest
from infra.constructs.invoice_export import InvoiceExport
from infra.constructs.keys import SecretKeys
from infra.constructs.monitoring import Monitoring, metric_namespace
from infra.constructs.payment_sync import PaymentSync
from infra.constructs.shared_layer import SharedLayer
from infra.constructs.signing_key_rotation import SigningKeyRotation
from infra.constructs.state import StateTable
from infra.constructs.tenant_probe import TenantProbe
from infra.constructs.voucher_export import VoucherExport
from infra.names import DEFAULT_NOTIFICATION_SENDER


class FortnoxBridgeStack(cdk.Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        layer_dir: Path,
        fortnox_client_id: str,
        fortnox_api_url: str = "https://api.fortnox.se",
        fortnox_auth_url: str = "https://apps.fortnox.se",
        public_base_url: str | None = None,
        notification_sender: str = DEFAULT_NOTIFICATION_SENDER,
        stage: str = "dev",
        architecture: lambda_.Architecture = lambda_.Architecture.ARM_64,
        alarm_email: str | None = None,
        public_certificate_arn: str | None = None,
        **kwargs: object,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        self.stage = stage
        self.architecture = architecture
        self.alarm_email = alarm_email
        self.public_certificate_arn = public_certificate_arn
        state = StateTable(self, "State")
        layer = SharedLayer(self, "Shared", layer_dir=layer_dir)
        keys = SecretKeys(self, "Keys")
        resources = Resources(
            table=state.table,
            client_secret=keys.client_secret,
            signing_key=keys.signing_key,
            bus=events.EventBus(self, "Events", description="What Fortnox Bridge tells the upstream products"),
            tenant_secrets_key=keys.tenant_secrets_key,
            client_secret_key=keys.client_secret_key,
            signing_key_key=keys.signing_key_key,
        )
        environment = {
            "TABLE_NAME": state.table.table_name,
            "FORTNOX_API_URL": fortnox_api_url,
            "FORTNOX_AUTH_URL": fortnox_auth_url,
            "FORTNOX_CLIENT_ID": fortnox_client_id,
            "FORTNOX_CLIENT_SECRET_ID": resources.client_secret.secret_arn,
            "EVENT_BUS_NAME": resources.bus.event_bus_name,
            "POWERTOOLS_METRICS_NAMESPACE": metric_namespace(self),
            "SECRET_NAME_ROOT": access.secret_name_root(self),
        }
        self.connect = Connect(
            self,
            "Connect",
            resources=resources,
            layer=layer.layer,
            environment=environment,
            public_base_url=public_base_url,
            public_certificate_arn=public_certificate_arn,
        )
        probe_environment = {**environment, "PUBLIC_BASE_URL": public_base_url or self.connect.api.api_endpoint}
        self.tenant_probe = TenantProbe(
            self, "TenantProbe", resources=resources, layer=layer.layer, environment=probe_environment
        )
        self.invoice_export = InvoiceExport(
            self, "InvoiceExport", resources=resources, layer=layer.layer, environment=probe_environment
        )
        self.voucher_export = VoucherExport(
            self, "VoucherExport", resources=resources, layer=layer.layer, environment=probe_environment
        )
        signed_environment = {**probe_environment, "CONNECT_SIGNING_KEY_ID": resources.signing_key.secret_arn}
        self.failure_digest = FailureDigest(
            self,
            "FailureDigest",
            resources=resources,
            layer=layer.layer,
            environment=signed_environment,
            notification_sender=notification_sender,
        )
        # Retrying a failed export sends its stored event back to its kind's queue: from the management API and from
        # the buttons of the hosted status page.
        export_queues = {
            "INVOICE_QUEUE_URL": self.invoice_export.work.queue,
            "VOUCHER_QUEUE_URL": self.voucher_export.work.queue,
        }
        for reviewer in (self.connect.management, self.connect.hosted):
            access.review_exports(reviewer, resources, export_queues)
        self.payment_sync = PaymentSync(
            self, "PaymentSync", resources=resources, layer=layer.layer, environment=probe_environment
        )
        # POST /tenants/<tenant_id>/webhook-secret creates or rotates the secret the webhook worker signs with.
        access.manage_webhook_secrets(self.connect.management, resources, self)
        self.signing_key_rotation = SigningKeyRotation(
            self, "SigningKeyRotation", resources=resources, layer=layer.layer, environment=environment
        )
        cdk.CfnOutput(self, "InvoiceQueueUrl", value=self.invoice_export.work.queue.queue_url)
        cdk.CfnOutput(self, "VoucherQueueUrl", value=self.voucher_export.work.queue.queue_url)
        cdk.CfnOutput(self, "NotificationSender", value=self.failure_digest.identity.email_identity_name)
        cdk.CfnOutput(self, "PdfBucketName", value=self.invoice_export.pdfs.bucket_name)
        cdk.CfnOutput(self, "TableName", value=state.table.table_name)
        cdk.CfnOutput(self, "ApiUrl", value=self.connect.api.api_endpoint)
        cdk.CfnOutput(self, "EventBusName", value=resources.bus.event_bus_name)
        cdk.CfnOutput(self, "TenantProbeQueueUrl", value=self.tenant_probe.work.queue.queue_url)
        cdk.CfnOutput(self, "PaymentPollQueueUrl", value=self.payment_sync.poll_work.queue.queue_url)
        cdk.CfnOutput(self, "PaymentPollDeadLetterQueueUrl", value=self.payment_sync.poll_work.dead_letters.queue_url)
        cdk.CfnOutput(self, "WebhookQueueUrl", value=self.payment_sync.webhook_work.queue.queue_url)
        cdk.CfnOutput(self, "WebhookDeadLetterQueueUrl", value=self.payment_sync.webhook_work.dead_letters.queue_url)
        cdk.CfnOutput(
            self, "PaymentScheduleDeadLetterQueueUrl", value=self.payment_sync.schedule_dead_letters.queue_url
        )
        # Last: it walks everything above for the functions, queues and APIs to alarm on.
        self.monitoring = Monitoring(self, "Monitoring", alarm_email=self.alarm_email)
