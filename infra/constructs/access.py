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
from fortnox_bridge.webhooks.secrets import WEBHOOK_SECRET_PREFIX
from infra.constructs.bridge_function import BridgeFunction


@dataclass(frozen=True)
class Resources:
    table: dynamodb.ITable
    client_secret: secretsmanager.ISecret
    signing_key: secretsmanager.ISecret
    bus: events.IEventBus

    def tenant_secrets_arn(self, stack: cdk.Stack) -> str:
        return _secrets_arn(stack, SECRET_PREFIX)

    def webhook_secrets_arn(self, stack: cdk.Stack) -> str:
        return _secrets_arn(stack, WEBHOOK_SECRET_PREFIX)


def _secrets_arn(stack: cdk.Stack, prefix: str) -> str:
    return stack.format_arn(
        service="secretsmanager",
        resource="secret",
        resource_name=f"{prefix}*",
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


# -- payment sync (issue 11) ---------------------------------------------------------------------------------------
def fan_out_polls(function: BridgeFunction, resources: Resources, poll_queue: sqs.IQueue) -> None:
    """The payment schedule's tick: its lease (a lock item), the tenants due (GSI1), their schedules and
    connections (batch reads), moving each one's next due time, and one poll job per tenant on the poll queue. No
    Fortnox, no secrets."""
    function.allow(
        ["dynamodb:BatchGetItem", "dynamodb:UpdateItem", "dynamodb:PutItem", "dynamodb:DeleteItem"],
        [resources.table.table_arn],
    )
    function.allow(["dynamodb:Query"], [f"{resources.table.table_arn}/index/GSI1"])
    send_to(function, poll_queue, "PAYMENT_POLL_QUEUE_URL")


def send_to(function: BridgeFunction, queue: sqs.IQueue, variable: str) -> None:
    """Send (single or batch: both are ``sqs:SendMessage``) to one queue, named to the function by ``variable``."""
    function.allow(["sqs:SendMessage"], [queue.queue_arn])
    function.function.add_environment(variable, queue.queue_url)


def deliver_webhooks(function: BridgeFunction, resources: Resources, stack: cdk.Stack) -> None:
    """The webhook worker reads the tenant (is this still its webhook?) and signs with the tenant's webhook secret:
    that prefix only, never a tenant's Fortnox tokens."""
    function.allow(["dynamodb:GetItem"], [resources.table.table_arn])
    function.allow(["secretsmanager:GetSecretValue"], [resources.webhook_secrets_arn(stack)])


def manage_webhook_secrets(function: BridgeFunction, resources: Resources, stack: cdk.Stack) -> None:
    """``POST /tenants/<tenant_id>/webhook-secret``: create a tenant's webhook secret or rotate it."""
    function.allow(
        ["secretsmanager:CreateSecret", "secretsmanager:PutSecretValue", "secretsmanager:DescribeSecret"],
        [resources.webhook_secrets_arn(stack)],
    )


# -- end of payment sync ------------------------------------------------------------------------------------------
