"""Connections: which Fortnox company a tenant is bound to and how its access is held.

Tokens are never here: they live in Secrets Manager. This item says what a person or an operator needs to know.
A Fortnox company is bound to at most one tenant, guarded by a binding item written in the same transaction.
"""

from datetime import UTC, datetime
from enum import StrEnum

from botocore.exceptions import ClientError
from pydantic import BaseModel, Field

from fortnox_bridge.errors import NeedsTenantActionError
from fortnox_bridge.ids import FortnoxTenantId, TenantId
from fortnox_bridge.store.table import StoreBase, company_binding_key, connection_key, plain


class ConnectionState(StrEnum):
    CONNECTED = "connected"
    NEEDS_RECONNECT = "needs_reconnect"
    REVOKED = "revoked"


class Connection(BaseModel):
    tenant_id: TenantId
    fortnox_tenant_id: FortnoxTenantId
    company_name: str
    organisation_number: str | None = None
    service_account: bool = False
    """Consented with ``account_type=service``: tokens come from the client-credentials grant."""
    scopes: list[str] = Field(default_factory=list)
    state: ConnectionState = ConnectionState.CONNECTED
    connected_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    last_refresh_at: datetime | None = None


class CompanyAlreadyBound(NeedsTenantActionError):
    """The Fortnox company is connected to another tenant."""


class ConnectionStore(StoreBase):
    def get(self, tenant: TenantId) -> Connection | None:
        item = self._table.get_item(Key=connection_key(tenant), ConsistentRead=True).get("Item")
        return Connection.model_validate(plain(item)) if item else None

    def bind(self, connection: Connection) -> None:
        """Save the connection and claim its company, refusing a company that another tenant holds."""
        client = self._table.meta.client
        try:
            client.transact_write_items(
                TransactItems=[
                    {
                        "Put": {
                            "TableName": self._table.name,
                            "Item": {
                                **company_binding_key(connection.fortnox_tenant_id),
                                "tenant_id": connection.tenant_id,
                            },
                            "ConditionExpression": "attribute_not_exists(PK) OR tenant_id = :tenant",
                            "ExpressionAttributeValues": {":tenant": connection.tenant_id},
                        }
                    },
                    {
                        "Put": {
                            "TableName": self._table.name,
                            "Item": {
                                **connection_key(connection.tenant_id),
                                **connection.model_dump(mode="json"),
                            },
                        }
                    },
                ]
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "TransactionCanceledException":
                raise CompanyAlreadyBound(
                    f"Fortnox company {connection.fortnox_tenant_id} is already connected to another tenant"
                ) from None
            raise
