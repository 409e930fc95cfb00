"""The exact permissions each kind of work needs; granted by name so every role stays least-privilege."""

from collections.abc import Mapping
from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_ses as ses
from aws_cdk import aws_sqs as sqs

from fortnox_bridge.tokens.secret_store import SECRET_PREFIX
from infra.constructs.bridge_function import BridgeFunction


@dataclass(frozen=True)
class Resources:
    table: dynamodb.ITable
    client_secret: secretsmanager.ISecret
    signing_key: secretsmanager.ISecret
    bus: events.IEventBus

    def tenant_secrets_arn(self, stack: cdk.Stack) -> str:
        return stack.format_arn(
            service="secretsmanager",
            resource="secret",
            resource_name=f"{SECRET_PREFIX}*",
            arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
        )


def call_fortnox(function: BridgeFunction, resources: Resources, stack: cdk.Stack) -> None:
    """Fortnox calls: the shared rate limit, the app's client secret, tenant tokens and their refresh lease,
    and what a lost connection needs (its mark and an event)."""
    function.allow(
        ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"],
        [resources.table.table_arn],
    )
    function.allow(["secretsmanager:GetSecretValue"], [resources.client_secret.secret_arn])
    function.allow(
        ["secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue"], [resources.tenant_secrets_arn(stack)]
    )
    function.allow(["events:PutEvents"], [resources.bus.event_bus_arn])


def manage_tenants(function: BridgeFunction, resources: Resources, stack: cdk.Stack) -> None:
    """The management API: tenant items, connect links, and ending a connection (read the refresh token, revoke
    it with the client secret, delete the secret, tell upstream). It never writes tokens."""
    function.allow(
        ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"],
        [resources.table.table_arn],
    )
    function.allow(["secretsmanager:GetSecretValue"], [resources.client_secret.secret_arn])
    function.allow(
        ["secretsmanager:GetSecretValue", "secretsmanager:DeleteSecret"], [resources.tenant_secrets_arn(stack)]
    )
    function.allow(["events:PutEvents"], [resources.bus.event_bus_arn])


def manage_tenant_secrets(function: BridgeFunction, resources: Resources, stack: cdk.Stack) -> None:
    function.allow(
        ["secretsmanager:CreateSecret", "secretsmanager:DeleteSecret"], [resources.tenant_secrets_arn(stack)]
    )


def query_connections(function: BridgeFunction, resources: Resources) -> None:
    function.allow(["dynamodb:Query"], [f"{resources.table.table_arn}/index/GSI1"])


def sign_states(function: BridgeFunction, resources: Resources) -> None:
    function.allow(["secretsmanager:GetSecretValue"], [resources.signing_key.secret_arn])


def query_company(function: BridgeFunction, resources: Resources) -> None:
    """Ranges of a company's partition: the Fortnox setup preflight cached (by financial year), the export ledger."""
    function.allow(["dynamodb:Query"], [resources.table.table_arn])


def review_exports(function: BridgeFunction, resources: Resources, queues: Mapping[str, sqs.IQueue]) -> None:
    """Reviewing a tenant's exports: list its ledger, and send a failed export's stored event back to the queue of
    its kind (``queues`` maps the variable that names a queue to the queue) after forgetting the cached setup."""
    query_company(function, resources)
    function.allow(["sqs:SendMessage"], [queue.queue_arn for queue in queues.values()])
    for variable, queue in queues.items():
        function.function.add_environment(variable, queue.queue_url)


def send_digests(function: BridgeFunction, resources: Resources, identity: ses.IEmailIdentity) -> None:
    """The failure digest: the tenants with failures to tell (GSI1) and their ledgers, when each was last told, a
    status link signed with the connect key, and e-mail from the bridge's own SES identity only."""
    function.allow(
        ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"],
        [resources.table.table_arn],
    )
    function.allow(["dynamodb:Query"], [resources.table.table_arn, f"{resources.table.table_arn}/index/GSI1"])
    sign_states(function, resources)
    function.allow(["ses:SendEmail", "ses:SendRawEmail"], [identity.email_identity_arn])
