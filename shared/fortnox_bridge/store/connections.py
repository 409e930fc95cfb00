"""Connections: which Fortnox company a tenant is bound to and how its access is held.

Tokens are never here: they live in Secrets Manager. This item says what a person or an operator needs to know.
A Fortnox company is bound to at most one tenant, guarded by a binding item written in the same transaction,
unless the connecting tenant's settings allow sharing.
"""

from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError
from pydantic import BaseModel, Field

from fortnox_bridge.errors import NeedsTenantActionError
from fortnox_bridge.ids import FortnoxTenantId, TenantId
from fortnox_bridge.store.table import (
    REFRESH_DUE,
    REFRESH_INDEX,
    StoreBase,
    company_binding_key,
    connection_key,
    plain,
)

REFRESH_TOKEN_LIFETIME = timedelta(days=45)


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
    reason: str | None = None
    """Why the connection is not connected, in words a person can act on."""

    @property
    def refresh_token_expires_at(self) -> datetime | None:
        if self.service_account or self.state is not ConnectionState.CONNECTED:
            return None
        return (self.last_refresh_at or self.connected_at) + REFRESH_TOKEN_LIFETIME


class CompanyAlreadyBound(NeedsTenantActionError):
    """The Fortnox company is connected to another tenant."""


def _item(connection: Connection) -> dict[str, Any]:
    item: dict[str, Any] = {**connection_key(connection.tenant_id), **connection.model_dump(mode="json")}
    if connection.state is ConnectionState.CONNECTED and not connection.service_account:
        item["GSI1PK"] = REFRESH_DUE
        item["GSI1SK"] = (connection.last_refresh_at or connection.connected_at).isoformat()
    return item


class ConnectionStore(StoreBase):
    def get(self, tenant: TenantId) -> Connection | None:
        item = self._table.get_item(Key=connection_key(tenant), ConsistentRead=True).get("Item")
        return Connection.model_validate(plain(item)) if item else None

    def bound_tenant(self, company: FortnoxTenantId) -> TenantId | None:
        item = self._table.get_item(Key=company_binding_key(company), ConsistentRead=True).get("Item")
        return TenantId(str(item["tenant_id"])) if item else None

    def bind(
        self, connection: Connection, *, allow_shared: bool = False, previous: FortnoxTenantId | None = None
    ) -> None:
        """Save the connection and claim its company, refusing a company another tenant holds unless sharing is
        allowed. ``previous`` is the company the tenant held before, released in the same transaction."""
        table = self._table.name
        binding: dict[str, Any] = {
            "TableName": table,
            "Item": {**company_binding_key(connection.fortnox_tenant_id), "tenant_id": connection.tenant_id},
        }
        if allow_shared:
            binding["ConditionExpression"] = "attribute_not_exists(PK) OR tenant_id = :tenant OR attribute_exists(PK)"
        else:
            binding["ConditionExpression"] = "attribute_not_exists(PK) OR tenant_id = :tenant"
        binding["ExpressionAttributeValues"] = {":tenant": connection.tenant_id}
        items: list[Any] = [{"Put": {"TableName": table, "Item": _item(connection)}}]
        holder = self.bound_tenant(connection.fortnox_tenant_id)
        if not (allow_shared and holder not in (None, connection.tenant_id)):
            items.append({"Put": binding})
        if previous is not None and previous != connection.fortnox_tenant_id:
            items.append(
                {
                    "Delete": {
                        "TableName": table,
                        "Key": company_binding_key(previous),
                        "ConditionExpression": "attribute_not_exists(PK) OR tenant_id = :tenant",
                        "ExpressionAttributeValues": {":tenant": connection.tenant_id},
                    }
                }
            )
        try:
            self._table.meta.client.transact_write_items(TransactItems=items)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "TransactionCanceledException":
                raise CompanyAlreadyBound(
                    f"Fortnox company {connection.fortnox_tenant_id} is already connected to another tenant"
                ) from None
            raise

    def record_refresh(self, tenant: TenantId, at: datetime) -> None:
        self._table.update_item(
            Key=connection_key(tenant),
            UpdateExpression="SET last_refresh_at = :at, GSI1SK = :at",
            ConditionExpression="attribute_exists(PK) AND #state = :connected",
            ExpressionAttributeNames={"#state": "state"},
            ExpressionAttributeValues={":at": at.isoformat(), ":connected": ConnectionState.CONNECTED.value},
        )

    def mark(self, tenant: TenantId, state: ConnectionState, reason: str | None) -> None:
        """Leave the connected state: the keep-alive index forgets it, the reason is kept for people to read."""
        self._table.update_item(
            Key=connection_key(tenant),
            UpdateExpression="SET #state = :state, reason = :reason REMOVE GSI1PK, GSI1SK",
            ConditionExpression="attribute_exists(PK)",
            ExpressionAttributeNames={"#state": "state"},
            ExpressionAttributeValues={":state": state.value, ":reason": reason},
        )

    def release(self, connection: Connection) -> None:
        """Give up the company binding (after a disconnect), if this tenant holds it."""
        try:
            self._table.delete_item(
                Key=company_binding_key(connection.fortnox_tenant_id),
                ConditionExpression="tenant_id = :tenant",
                ExpressionAttributeValues={":tenant": connection.tenant_id},
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise

    def due_for_refresh(self, refreshed_before: datetime) -> list[Connection]:
        """User-consent connections whose refresh token is older than the cut-off, oldest first."""
        found: list[Connection] = []
        query: dict[str, Any] = {
            "IndexName": REFRESH_INDEX,
            "KeyConditionExpression": Key("GSI1PK").eq(REFRESH_DUE) & Key("GSI1SK").lt(refreshed_before.isoformat()),
        }
        while True:
            page = self._table.query(**query)
            found += [Connection.model_validate(plain(item)) for item in page.get("Items", [])]
            if "LastEvaluatedKey" not in page:
                return found
            query["ExclusiveStartKey"] = page["LastEvaluatedKey"]
