"""One Secrets Manager secret per tenant holds its Fortnox tokens; nothing else in the system does."""

import json
import time
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError
from pydantic import BaseModel, Field, SecretStr

from fortnox_bridge.fortnox.oauth import TokenSet
from fortnox_bridge.ids import TenantId
from fortnox_bridge.settings import DEFAULT_SECRET_NAME_ROOT, tenant_secret_prefix

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager.client import SecretsManagerClient

SECRET_PREFIX = tenant_secret_prefix(DEFAULT_SECRET_NAME_ROOT)
"""Where no stack names a root (``settings.SecretSettings``): a deployed function's prefix has its stack in it."""
REFRESH_TOKEN_SECONDS = 45 * 24 * 3600


class StoredTokens(BaseModel):
    access_token: SecretStr
    access_expires_at: float
    refresh_token: SecretStr | None = None
    refresh_expires_at: float | None = None
    scope: str = ""
    written_at: float = Field(default_factory=time.time)

    @classmethod
    def from_token_set(cls, tokens: TokenSet) -> "StoredTokens":
        return cls(
            access_token=tokens.access_token,
            access_expires_at=tokens.obtained_at + tokens.expires_in,
            refresh_token=tokens.refresh_token,
            refresh_expires_at=tokens.obtained_at + REFRESH_TOKEN_SECONDS if tokens.refresh_token else None,
            scope=tokens.scope,
        )

    def access_valid_for(self, seconds: float, now: float) -> bool:
        return self.access_expires_at - now > seconds

    def serialized(self) -> str:
        """The secret's value: the one place tokens are written out in clear."""
        return json.dumps(
            {
                "access_token": self.access_token.get_secret_value(),
                "access_expires_at": self.access_expires_at,
                "refresh_token": self.refresh_token.get_secret_value() if self.refresh_token else None,
                "refresh_expires_at": self.refresh_expires_at,
                "scope": self.scope,
                "written_at": self.written_at,
            }
        )


@dataclass(frozen=True)
class VersionedTokens:
    tokens: StoredTokens
    version: str
    """Secrets Manager's VersionId of the value read: a write that replaces it names it (see ``replace``)."""


SUCCESSOR_NAMESPACE = uuid.UUID("6f1d8f0e-3c57-4f4e-9a55-2b0c1f7a9d10")


def successor_token(version: str) -> str:
    """The one ClientRequestToken a write replacing ``version`` may use: Secrets Manager refuses a second, different
    value under the same token, so two writers that read the same version cannot both succeed."""
    return str(uuid.uuid5(SUCCESSOR_NAMESPACE, version))


class SecretTokenStore:
    def __init__(
        self, client: "SecretsManagerClient", prefix: str = SECRET_PREFIX, *, kms_key_id: str | None = None
    ) -> None:
        self._client = client
        self._prefix = prefix
        self._kms_key_id = kms_key_id

    def secret_id(self, tenant: TenantId) -> str:
        return f"{self._prefix}{tenant}"

    def read(self, tenant: TenantId) -> StoredTokens | None:
        current = self.read_versioned(tenant)
        return current.tokens if current is not None else None

    def read_versioned(self, tenant: TenantId) -> VersionedTokens | None:
        try:
            answer = self._client.get_secret_value(SecretId=self.secret_id(tenant))
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
                return None
            raise
        return VersionedTokens(StoredTokens.model_validate_json(answer["SecretString"]), answer["VersionId"])

    def replace(self, tenant: TenantId, tokens: StoredTokens, *, read_version: str) -> str | None:
        """Write ``tokens`` only over the version they were derived from and return the new version; None, and
        nothing written, when the secret has moved on (a reconnect wrote other tokens, or another refresher got
        there first).

        Secrets Manager has no conditional write. The version is checked right before the write, and the write
        carries the read version's one successor token, which makes two writers from the same version exclusive.
        What is left is a writer that does not derive from ``read_version`` (a connect) landing between the check
        and the write: then the older company's tokens win, and the tenant claim check on every use refuses them."""
        current = self.read_versioned(tenant)
        if current is None or current.version != read_version:
            return None
        try:
            written = self._client.put_secret_value(
                SecretId=self.secret_id(tenant),
                SecretString=tokens.serialized(),
                ClientRequestToken=successor_token(read_version),
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("ResourceExistsException", "ResourceNotFoundException"):
                return None
            raise
        return written["VersionId"]

    def write(self, tenant: TenantId, tokens: StoredTokens) -> None:
        value = tokens.serialized()
        try:
            self._client.put_secret_value(SecretId=self.secret_id(tenant), SecretString=value)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
                raise
            create_secret(
                self._client,
                name=self.secret_id(tenant),
                value=value,
                description=f"Fortnox tokens of tenant {tenant}",
                kms_key_id=self._kms_key_id,
            )

    def delete(self, tenant: TenantId) -> None:
        try:
            self._client.delete_secret(SecretId=self.secret_id(tenant), ForceDeleteWithoutRecovery=True)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
                raise


def create_secret(
    client: "SecretsManagerClient", *, name: str, value: str, description: str, kms_key_id: str | None
) -> None:
    """A runtime-created secret, encrypted with the stack's tenant-secrets key (Secrets Manager's own key when none is
    named: domain tests). Only a create names the key: later versions keep the key the secret was created with."""
    if kms_key_id:
        client.create_secret(Name=name, SecretString=value, Description=description, KmsKeyId=kms_key_id)
    else:
        client.create_secret(Name=name, SecretString=value, Description=description)
