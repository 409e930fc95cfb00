"""One Secrets Manager secret per tenant holds its Fortnox tokens; nothing else in the system does."""

import json
import time
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError
from pydantic import BaseModel, Field, SecretStr

from fortnox_bridge.fortnox.oauth import TokenSet
from fortnox_bridge.ids import TenantId

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager.client import SecretsManagerClient

SECRET_PREFIX = "fortnox-bridge/tenants/"  # noqa: S105 - a name prefix, not a secret
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


class SecretTokenStore:
    def __init__(self, client: "SecretsManagerClient", prefix: str = SECRET_PREFIX) -> None:
        self._client = client
        self._prefix = prefix

    def secret_id(self, tenant: TenantId) -> str:
        return f"{self._prefix}{tenant}"

    def read(self, tenant: TenantId) -> StoredTokens | None:
        try:
            value = self._client.get_secret_value(SecretId=self.secret_id(tenant))["SecretString"]
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
                return None
            raise
        return StoredTokens.model_validate_json(value)

    def write(self, tenant: TenantId, tokens: StoredTokens) -> None:
        value = tokens.serialized()
        try:
            self._client.put_secret_value(SecretId=self.secret_id(tenant), SecretString=value)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
                raise
            self._client.create_secret(
                Name=self.secret_id(tenant),
                SecretString=value,
                Description=f"Fortnox tokens of tenant {tenant}",
            )

    def delete(self, tenant: TenantId) -> None:
        try:
            self._client.delete_secret(SecretId=self.secret_id(tenant), ForceDeleteWithoutRecovery=True)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
                raise
