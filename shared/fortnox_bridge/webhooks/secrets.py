"""A tenant's webhook signing secret: one Secrets Manager secret per tenant, apart from its Fortnox tokens.

A rotation writes a new value; Secrets Manager keeps the one before it as the ``AWSPREVIOUS`` version. For
``ROTATION_GRACE`` after a rotation the worker signs with both, so a receiver that still holds the old secret loses
nothing while it switches. The management API never reads a secret back: it writes, and says so once.
"""

import secrets as random_source
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError
from pydantic import BaseModel, SecretStr

from fortnox_bridge import settings
from fortnox_bridge.errors import BadInputError, NeedsTenantActionError, RetryableError
from fortnox_bridge.ids import TenantId
from fortnox_bridge.tokens.secret_store import create_secret, successor_token

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager.client import SecretsManagerClient

ROTATION_GRACE = timedelta(hours=24)
"""How long the previous secret keeps signing beside the new one: a working day for a person to deploy it upstream,
with room for a receiver's own release train."""
SECRET_CACHE_SECONDS = 300
"""The worker's cache of a tenant's secret: a rotation reaches the signatures within five minutes."""
PREVIOUS_STAGE = "AWSPREVIOUS"


def webhook_secret_id(tenant: TenantId) -> str:
    """Under the root of the stack the function runs in (``SECRET_NAME_ROOT``)."""
    return f"{settings.secret_names().webhook_prefix}{tenant}"


class StoredWebhookSecret(BaseModel):
    """One version of the secret's value. ``rotated_at`` is set on a version written by a rotation: until
    ``ROTATION_GRACE`` after it, the version before it signs too."""

    secret: SecretStr
    rotated_at: datetime | None = None

    def previous_signs(self, now: datetime) -> bool:
        return self.rotated_at is not None and now < self.rotated_at + ROTATION_GRACE

    def serialized(self) -> str:
        """The one place the secret is written out in clear: the value sent to Secrets Manager."""
        rotated_at = self.rotated_at.isoformat() if self.rotated_at else None
        return _StoredValue(secret=self.secret.get_secret_value(), rotated_at=rotated_at).model_dump_json()


class _StoredValue(BaseModel):
    secret: str
    rotated_at: str | None


class IssuedSecret(BaseModel):
    """The answer of ``POST /tenants/{id}/webhook-secret``: the only time the secret leaves the bridge."""

    tenant_id: TenantId
    secret: SecretStr
    rotated: bool
    previous_signs_until: datetime | None
    """Until then requests carry a second ``v1=`` signature made with the previous secret."""


class RotationRaced(RetryableError):
    """Another rotation of the same tenant's secret was written at the same time."""


class WebhookSecretDeleted(NeedsTenantActionError):
    """The tenant's secret is scheduled for deletion: Secrets Manager takes no new value for it, and signs nothing
    with the old one, until someone restores it or the deletion completes."""


class NoWebhookSecret(BadInputError):
    """The tenant has a webhook but no secret to sign it with."""


def new_secret() -> str:
    return "whsec_" + random_source.token_urlsafe(32)


class WebhookSecretIssuer:
    """Creates or rotates a tenant's secret (the management API), reading nothing but the version ids."""

    def __init__(
        self,
        client: "SecretsManagerClient",
        make_secret: Callable[[], str] = new_secret,
        *,
        kms_key_id: str | None = None,
    ) -> None:
        self._client = client
        self._make_secret = make_secret
        self._kms_key_id = kms_key_id

    def issue(self, tenant: TenantId, now: datetime) -> IssuedSecret:
        fresh = SecretStr(self._make_secret())
        current = self._current_version(tenant)
        if current is None:
            self._create(tenant, fresh)
            return IssuedSecret(tenant_id=tenant, secret=fresh, rotated=False, previous_signs_until=None)
        try:
            # The current version's one successor token: of two rotations at once only one is written, so the
            # secret the receiver holds today stays the previous one and keeps signing.
            self._client.put_secret_value(
                SecretId=webhook_secret_id(tenant),
                SecretString=StoredWebhookSecret(secret=fresh, rotated_at=now).serialized(),
                ClientRequestToken=successor_token(current),
            )
        except ClientError as error:
            if _code(error) in ("ResourceExistsException", "InvalidRequestException"):
                raise RotationRaced("the webhook secret was rotated at the same time; ask again") from None
            raise
        return IssuedSecret(tenant_id=tenant, secret=fresh, rotated=True, previous_signs_until=now + ROTATION_GRACE)

    def _create(self, tenant: TenantId, fresh: SecretStr) -> None:
        try:
            create_secret(
                self._client,
                name=webhook_secret_id(tenant),
                value=StoredWebhookSecret(secret=fresh).serialized(),
                description=f"Webhook signing secret of tenant {tenant}",
                kms_key_id=self._kms_key_id,
            )
        except ClientError as error:
            if _code(error) == "ResourceExistsException":
                raise RotationRaced("the webhook secret was created at the same time; ask again") from None
            raise

    def _current_version(self, tenant: TenantId) -> str | None:
        try:
            described = self._client.describe_secret(SecretId=webhook_secret_id(tenant))
        except ClientError as error:
            if _code(error) == "ResourceNotFoundException":
                return None
            raise
        if described.get("DeletedDate") is not None:
            raise WebhookSecretDeleted(
                f"the webhook secret of tenant {tenant} is scheduled for deletion: restore it in Secrets Manager "
                "(RestoreSecret) and ask again, or ask again once the deletion is complete"
            )
        stages = described.get("VersionIdsToStages", {})
        return next((version for version, names in stages.items() if "AWSCURRENT" in names), None)


SecretRead = Callable[[str], str]


class SecretReader:
    """The worker's side, through caches (Powertools' ``SecretsProvider``, one per version stage: its cache is keyed
    by name alone), so a batch of ten deliveries to one tenant reads Secrets Manager once."""

    def __init__(self, current: SecretRead, previous: SecretRead) -> None:
        self._current = current
        self._previous = previous

    def signing(self, tenant: TenantId, now: datetime) -> list[str]:
        """The secrets a request is signed with now, the current one first."""
        name = webhook_secret_id(tenant)
        try:
            current = StoredWebhookSecret.model_validate_json(self._current(name))
        except Exception as error:
            if _not_found(error):
                raise NoWebhookSecret(
                    f"tenant {tenant} has a webhook but no secret: POST /tenants/{tenant}/webhook-secret"
                ) from None
            if _deleted(error):
                raise NoWebhookSecret(
                    f"tenant {tenant} has a webhook but its secret is scheduled for deletion: restore it in Secrets "
                    f"Manager, or POST /tenants/{tenant}/webhook-secret once the deletion is complete"
                ) from None
            raise
        signing = [current.secret.get_secret_value()]
        if current.previous_signs(now):
            signing.append(StoredWebhookSecret.model_validate_json(self._previous(name)).secret.get_secret_value())
        return signing


def _not_found(error: BaseException) -> bool:
    """Powertools wraps the client's error; the cause says whether the secret is missing or the read failed."""
    return _caused_by(error, "ResourceNotFoundException")


def _deleted(error: BaseException) -> bool:
    # GetSecretValue answers InvalidRequestException for a secret marked for deletion (and for nothing else a
    # webhook secret, without rotation Lambdas, can be in).
    return _caused_by(error, "InvalidRequestException")


def _caused_by(error: BaseException, code: str) -> bool:
    cause: BaseException | None = error
    while cause is not None:
        if isinstance(cause, ClientError) and _code(cause) == code:
            return True
        cause = cause.__cause__ or cause.__context__
    return False


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))
