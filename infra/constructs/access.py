"""The exact permissions each kind of work needs; granted by name so every role stays least-privilege.

Secrets are granted by name, and the KMS key that encrypts them only through Secrets Manager (``kms:ViaService``)
and only the key of the secrets the role reads or writes. A multi-tenant worker handles any tenant, so its grant on
tenant tokens is the stack's whole tenant prefix: which tenant a request may touch is the code's to decide (the
tenant claim checked on every token), not IAM's.
"""

from collections.abc import Mapping
from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_ses as ses
from aws_cdk import aws_sqs as sqs

from fortnox_bridge.settings import tenant_secret_prefix, webhook_secret_prefix
from fortnox_bridge.store.table import EXPORTED_INDEX
from infra.constructs.bridge_function import BridgeFunction

READ_THROUGH_SECRETS_MANAGER = ["kms:Decrypt"]
WRITE_THROUGH_SECRETS_MANAGER = ["kms:GenerateDataKey", "kms:Decrypt"]
"""A new secret value is encrypted under a fresh data key (GenerateDataKey); Secrets Manager decrypts with the same key
when it checks the version it writes over."""


def secret_name_root(stack: cdk.Stack) -> str:
    """The stack's own root for secret names (``SECRET_NAME_ROOT``): two stages in one account never share a name."""
    return f"fortnox-bridge/{stack.stack_name}"


@dataclass(frozen=True)
class Resources:
    table: dynamodb.ITable
    client_secret: secretsmanager.ISecret
    signing_key: secretsmanager.ISecret
    bus: events.IEventBus
    tenant_secrets_key: kms.IKey
    """Tenant tokens and webhook secrets, created at run time with this key (``TENANT_SECRETS_KEY_ID``)."""
    client_secret_key: kms.IKey
    signing_key_key: kms.IKey

    def tenant_secrets_arn(self, stack: cdk.Stack) -> str:
        return _secrets_arn(stack, tenant_secret_prefix(secret_name_root(stack)))

    def webhook_secrets_arn(self, stack: cdk.Stack) -> str:
        return _secrets_arn(stack, webhook_secret_prefix(secret_name_root(stack)))


def _secrets_arn(stack: cdk.Stack, prefix: str) -> str:
    return stack.format_arn(
        service="secretsmanager",
        resource="secret",
        resource_name=f"{prefix}*",
        arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
    )


def through_secrets_manager(function: BridgeFunction, actions: list[str], key: kms.IKey) -> None:
    """``actions`` on ``key`` only when Secrets Manager asks on the function's behalf: never a direct KMS call."""
    region = cdk.Stack.of(function).region
    function.role.add_to_policy(
        iam.PolicyStatement(
            actions=actions,
            resources=[key.key_arn],
            conditions={"StringEquals": {"kms:ViaService": f"secretsmanager.{region}.amazonaws.com"}},
        )
    )


def _create_secrets(function: BridgeFunction, resources: Resources, arn: str) -> None:
    """Creating a secret under ``arn``, only with the tenant-secrets key: never one encrypted with another key."""
    function.role.add_to_policy(
        iam.PolicyStatement(
            actions=["secretsmanager:CreateSecret"],
            resources=[arn],
            conditions={"StringEquals": {"secretsmanager:KmsKeyId": resources.tenant_secrets_key.key_arn}},
        )
    )
    function.function.add_environment("TENANT_SECRETS_KEY_ID", resources.tenant_secrets_key.key_arn)


def _read_client_secret(function: BridgeFunction, resources: Resources) -> None:
    """Token refresh, service-account token requests and revocation authenticate with the app's client secret."""
    function.allow(["secretsmanager:GetSecretValue"], [resources.client_secret.secret_arn])
    through_secrets_manager(function, READ_THROUGH_SECRETS_MANAGER, resources.client_secret_key)


def call_fortnox(function: BridgeFunction, resources: Resources, stack: cdk.Stack) -> None:
    """Fortnox calls: the shared rate limit, the app's client secret, tenant tokens and their refresh lease,
    and what a lost connection needs (its mark and an event). The mark takes the tenant out of the payment poll
    index in a transaction that checks the connection is still not connected (``PaymentSchedule.pause``), which
    needs ``ConditionCheckItem`` beside the update."""
    function.allow(
        [
            "dynamodb:GetItem",
            "dynamodb:PutItem",
            "dynamodb:UpdateItem",
            "dynamodb:DeleteItem",
            "dynamodb:ConditionCheckItem",
        ],
        [resources.table.table_arn],
    )
    _read_client_secret(function, resources)
    # Every caller refreshes an expired access token in line and writes the new pair over the old one.
    function.allow(
        ["secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue"], [resources.tenant_secrets_arn(stack)]
    )
    through_secrets_manager(function, WRITE_THROUGH_SECRETS_MANAGER, resources.tenant_secrets_key)
    function.allow(["events:PutEvents"], [resources.bus.event_bus_arn])


def manage_tenants(function: BridgeFunction, resources: Resources, stack: cdk.Stack) -> None:
    """The management API: tenant items, connect links, and ending a connection (read the refresh token, revoke
    it with the client secret, delete the secret, tell upstream). It never writes tokens."""
    function.allow(
        ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"],
        [resources.table.table_arn],
    )
    _read_client_secret(function, resources)
    function.allow(
        ["secretsmanager:GetSecretValue", "secretsmanager:DeleteSecret"], [resources.tenant_secrets_arn(stack)]
    )
    through_secrets_manager(function, READ_THROUGH_SECRETS_MANAGER, resources.tenant_secrets_key)
    function.allow(["events:PutEvents"], [resources.bus.event_bus_arn])


def manage_tenant_secrets(function: BridgeFunction, resources: Resources, stack: cdk.Stack) -> None:
    """The OAuth callback: a tenant's first connection creates its token secret; a service-account connection
    replacing an OAuth one deletes the tokens it replaces, and a connection that fails to bind deletes the secret it
    had just created (``ConnectService._write``)."""
    _create_secrets(function, resources, resources.tenant_secrets_arn(stack))
    function.allow(["secretsmanager:DeleteSecret"], [resources.tenant_secrets_arn(stack)])


def query_connections(function: BridgeFunction, resources: Resources) -> None:
    function.allow(["dynamodb:Query"], [f"{resources.table.table_arn}/index/GSI1"])


def sign_states(function: BridgeFunction, resources: Resources) -> None:
    """The connect signing key's current and previous versions: states and status links sign and verify with them."""
    function.allow(["secretsmanager:GetSecretValue"], [resources.signing_key.secret_arn])
    through_secrets_manager(function, READ_THROUGH_SECRETS_MANAGER, resources.signing_key_key)


def query_company(function: BridgeFunction, resources: Resources) -> None:
    """Ranges of a company's partition: the Fortnox setup preflight cached (by financial year), the export ledger."""
    function.allow(["dynamodb:Query"], [resources.table.table_arn])


def read_recent_exports(function: BridgeFunction, resources: Resources) -> None:
    """A company's newest exports: their keys from GSI2, which holds ledger entries and nothing else, and the
    entries in one batch read. Nothing the table's own grants do not reach; GSI1 (every tenant's connections and
    digests) stays out of reach."""
    function.allow(["dynamodb:Query"], [f"{resources.table.table_arn}/index/{EXPORTED_INDEX}"])
    function.allow(["dynamodb:BatchGetItem"], [resources.table.table_arn])


def review_exports(function: BridgeFunction, resources: Resources, queues: Mapping[str, sqs.IQueue]) -> None:
    """Reviewing a tenant's exports: list its ledger and its newest exports, and send a failed export's stored event
    back to the queue of its kind (``queues`` maps the variable that names a queue to the queue) after forgetting the
    cached setup."""
    query_company(function, resources)
    read_recent_exports(function, resources)
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
    connections (batch reads), moving each one's next due time (read again, one item, when a settings save moved it
    meanwhile: ``PaymentSchedule.advance_entry``), and one poll job per tenant on the poll queue. No Fortnox, no
    secrets."""
    function.allow(
        ["dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:UpdateItem", "dynamodb:PutItem", "dynamodb:DeleteItem"],
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
    through_secrets_manager(function, READ_THROUGH_SECRETS_MANAGER, resources.tenant_secrets_key)


def manage_webhook_secrets(function: BridgeFunction, resources: Resources, stack: cdk.Stack) -> None:
    """``POST /tenants/<tenant_id>/webhook-secret``: create a tenant's webhook secret or rotate it."""
    _create_secrets(function, resources, resources.webhook_secrets_arn(stack))
    function.allow(
        ["secretsmanager:PutSecretValue", "secretsmanager:DescribeSecret"], [resources.webhook_secrets_arn(stack)]
    )
    through_secrets_manager(function, WRITE_THROUGH_SECRETS_MANAGER, resources.tenant_secrets_key)


# -- end of payment sync ------------------------------------------------------------------------------------------


# -- signing key rotation (issue 12) ----------------------------------------------------------------------------------
def rotate_signing_key(function: BridgeFunction, resources: Resources) -> None:
    """The four rotation steps on the connect signing key and no other secret: read its versions, stage a new one,
    move the labels."""
    function.allow(
        [
            "secretsmanager:DescribeSecret",
            "secretsmanager:GetSecretValue",
            "secretsmanager:PutSecretValue",
            "secretsmanager:UpdateSecretVersionStage",
        ],
        [resources.signing_key.secret_arn],
    )
    through_secrets_manager(function, WRITE_THROUGH_SECRETS_MANAGER, resources.signing_key_key)


# -- end of signing key rotation --------------------------------------------------------------------------------------
