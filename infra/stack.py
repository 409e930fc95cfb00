"""The Fortnox Bridge stack: composes the constructs and nothing else."""

from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from infra.constructs.shared_layer import SharedLayer
from infra.constructs.state import StateTable
from infra.constructs.tenant_probe import TenantProbe


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
        **kwargs: object,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        state = StateTable(self, "State")
        layer = SharedLayer(self, "Shared", layer_dir=layer_dir)
        client_secret = secretsmanager.Secret(
            self, "FortnoxClientSecret", description="Fortnox app client secret; set by the operator"
        )
        environment = {
            "TABLE_NAME": state.table.table_name,
            "FORTNOX_API_URL": fortnox_api_url,
            "FORTNOX_AUTH_URL": fortnox_auth_url,
            "FORTNOX_CLIENT_ID": fortnox_client_id,
            "FORTNOX_CLIENT_SECRET_ID": client_secret.secret_arn,
            "POWERTOOLS_METRICS_NAMESPACE": "FortnoxBridge",
        }
        self.tenant_probe = TenantProbe(
            self,
            "TenantProbe",
            table=state.table,
            layer=layer.layer,
            client_secret=client_secret,
            environment=environment,
        )
        cdk.CfnOutput(self, "TableName", value=state.table.table_name)
        cdk.CfnOutput(self, "TenantProbeQueueUrl", value=self.tenant_probe.work.queue.queue_url)
