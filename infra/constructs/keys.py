"""The stack's own secrets and the KMS keys every secret of the stack is encrypted with.

Three keys, one per group of secrets that different roles read: the tenants' Fortnox tokens and webhook secrets
(created at run time, ``TENANT_SECRETS_KEY_ID``), the app's client secret, and the connect signing key. A role is
granted a key only through Secrets Manager (``access.decrypt_through_secrets_manager``) and only the key of the
secrets it reads, so a grant on a secret's name is never widened by a grant on a shared key.
"""

import aws_cdk as cdk
from aws_cdk import aws_kms as kms
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from fortnox_bridge.status.links import LONGEST

SIGNING_KEY_ROTATION = cdk.Duration.days(LONGEST.days + 1)
"""A day longer than the longest status link: a link is at most one rotation old when it expires, so the previous key,
which still verifies, is always the oldest one a live link needs. The day is Secrets Manager's: it rotates any time on
the due day (the window opens at midnight UTC), so two rotations can be a day less than the rate apart."""


def _key(scope: Construct, construct_id: str, description: str) -> kms.Key:
    # Retained: a deleted key makes every secret it encrypted unreadable, and a stack can be deleted by mistake.
    return kms.Key(
        scope,
        construct_id,
        description=description,
        enable_key_rotation=True,
        removal_policy=cdk.RemovalPolicy.RETAIN,
    )


class SecretKeys(Construct):
    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.tenant_secrets_key = _key(self, "TenantSecretsKey", "Fortnox Bridge: tenants' Fortnox tokens and webhooks")
        self.client_secret_key = _key(self, "ClientSecretKey", "Fortnox Bridge: the Fortnox app's client secret")
        self.signing_key_key = _key(self, "SigningKeyKey", "Fortnox Bridge: the connect signing key")
        stack = cdk.Stack.of(self)
        self.client_secret = secretsmanager.Secret(
            stack,
            "FortnoxClientSecret",
            description="Fortnox app client secret; set by the operator",
            encryption_key=self.client_secret_key,
        )
        # The value is the key itself, as it has been since the first deploy: rotations write the same form.
        self.signing_key = secretsmanager.Secret(
            stack,
            "ConnectSigningKey",
            description="Signs OAuth states of the hosted connect flow and status links; rotated",
            encryption_key=self.signing_key_key,
            generate_secret_string=secretsmanager.SecretStringGenerator(password_length=64, exclude_punctuation=True),
        )
