"""Connections: which Fortnox company a tenant is bound to and how its access is held.

Tokens are never here: they live in Secrets Manager. This item says what a person or an operator needs to know.
A Fortnox company is bound to at most one tenant, guarded by a binding item written in the same transaction,
unless the connecting tenant's settings allow sharing.
"""

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError
from pydantic import BaseModel, Field

from fortnox_bridge.errors import BadInputError, NeedsTenantActionError
from fortnox_bridge.ids import FortnoxTenantId, TenantId
from fortnox_bridge.store.batch_reads import batch_get
from fortnox_bridge.store.links import LinkGate
from fortnox_bridge.store.payment_schedule import PaymentSchedule
from fortnox_bridge.store.table import (
    REFRESH_DUE,
    REFRESH_INDEX,
    StoreBase,
    company_binding_key,
    connection_key,
    is_condition_failure,
    plain,
)

REFRESH_TOKEN_LIFETIME = timedelta(days=45)


class ConnectionState(StrEnum):
    CONNECTED = "connected"
    NEEDS_RECONNECT = "needs_reconnect"
    REVOKED = "revoked"
    """Disconnected on request, and Fortnox no longer honours the refresh token."""
    DISCONNECTED = "disconnected"
    """Disconnected on request, but a service account's consent lives on at Fortnox until the tenant removes it."""


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
    generation: int = 0
    """The tenant's link generation this connection opened; no older link can replace it."""

    @property
    def refresh_token_expires_at(self) -> datetime | None:
        if self.service_account or self.state is not ConnectionState.CONNECTED:
            return None
        return (self.last_refresh_at or self.connected_at) + REFRESH_TOKEN_LIFETIME


class CompanyAlreadyBound(NeedsTenantActionError):
    """The Fortnox company is connected to another tenant."""


class LinkUsed(BadInputError):
    """The link was consumed or revoked between the callback's checks and its write."""


class LinkSuperseded(BadInputError):
    """Another connect of the tenant completed first, or its links were revoked: this link's generation is gone."""


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
        self,
        connection: Connection,
        *,
        allow_shared: bool = False,
        previous: FortnoxTenantId | None = None,
        gate: LinkGate | None = None,
    ) -> None:
        """Save the connection and claim its company, refusing a company another tenant holds unless sharing is
        allowed. ``previous`` is the company the tenant held before, released in the same transaction. ``gate``
        consumes the link and moves the tenant's link generation on in the same transaction, so of two callbacks
        of one generation exactly one writes."""
        table = self._table.name
        items: list[Any] = []
        refusals: list[Exception] = []
        if gate is not None:
            items += gate.transact_items(table)
            refusals += [
                LinkUsed("the connect link was used or revoked meanwhile"),
                LinkSuperseded("another connect of this tenant completed first"),
            ]
        items.append({"Put": {"TableName": table, "Item": _item(connection)}})
        refusals.append(RuntimeError("the connection put has no condition"))
        taken = CompanyAlreadyBound(
            f"Fortnox company {connection.fortnox_tenant_id} is already connected to another tenant"
        )
        holder = self.bound_tenant(connection.fortnox_tenant_id)
        if not (allow_shared and holder not in (None, connection.tenant_id)):
            items.append(
                {
                    "Put": {
                        "TableName": table,
                        "Item": {
                            **company_binding_key(connection.fortnox_tenant_id),
                            "tenant_id": connection.tenant_id,
                        },
                        "ConditionExpression": "attribute_not_exists(PK) OR tenant_id = :tenant",
                        "ExpressionAttributeValues": {":tenant": connection.tenant_id},
                    }
                }
            )
            refusals.append(taken)
        # A company the tenant only shared (another tenant holds its binding) has no binding of ours to release.
        if (
            previous is not None
            and previous != connection.fortnox_tenant_id
            and self.bound_tenant(previous) == connection.tenant_id
        ):
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
            refusals.append(taken)
        if connection.state is ConnectionState.CONNECTED:
            # Before the connection is written: should the write fail, the tenant is only due while not connected,
            # which a tick passes over; the other order could leave a connected tenant never polled.
            PaymentSchedule(self._table).resume(connection.tenant_id, datetime.now(UTC))
        try:
            self._table.meta.client.transact_write_items(TransactItems=items)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "TransactionCanceledException":
                raise
            reasons = error.response.get("CancellationReasons", [])
            failed = [
                refusal
                for refusal, reason in zip(refusals, reasons, strict=False)
                if reason.get("Code") == "ConditionalCheckFailed"
            ]
            raise (failed[0] if failed else taken) from None
        if connection.state is ConnectionState.CONNECTED:
            # Again after the write: payment sync switched on meanwhile may have scheduled the tenant out of the
            # index on reading it not yet connected; its own check after its write may have come before this one.
            PaymentSchedule(self._table).resume(connection.tenant_id, datetime.now(UTC))

    def record_refresh(self, tenant: TenantId, at: datetime) -> None:
        self._table.update_item(
            Key=connection_key(tenant),
            UpdateExpression="SET last_refresh_at = :at, GSI1SK = :at",
            ConditionExpression="attribute_exists(PK) AND #state = :connected",
            ExpressionAttributeNames={"#state": "state"},
            ExpressionAttributeValues={":at": at.isoformat(), ":connected": ConnectionState.CONNECTED.value},
        )

    def mark(
        self,
        tenant: TenantId,
        state: ConnectionState,
        reason: str | None,
        *,
        only_from: tuple[ConnectionState, ...] = (ConnectionState.CONNECTED,),
        generation: int | None = None,
    ) -> bool:
        """Leave the connected state: the keep-alive index forgets it, the reason is kept for people to read.

        Moves only from ``only_from`` (and, given ``generation``, only the connection made in it); False when the
        connection was elsewhere, so a lost connection is announced once and a newer one is never marked."""
        values: dict[str, Any] = {":state": state.value, ":reason": reason}
        allowed = []
        for number, source in enumerate(only_from):
            values[f":from{number}"] = source.value
            allowed.append(f"#state = :from{number}")
        condition = f"attribute_exists(PK) AND ({' OR '.join(allowed)})"
        if generation is not None:
            # Connections written before generations existed carry none: they are generation 0.
            legacy = "attribute_not_exists(generation) OR " if generation == 0 else ""
            condition += f" AND ({legacy}generation = :generation)"
            values[":generation"] = generation
        try:
            self._table.update_item(
                Key=connection_key(tenant),
                UpdateExpression="SET #state = :state, reason = :reason REMOVE GSI1PK, GSI1SK",
                ConditionExpression=condition,
                ExpressionAttributeNames={"#state": "state"},
                ExpressionAttributeValues=values,
            )
        except ClientError as error:
            if is_condition_failure(error):
                return False
            raise
        if state is not ConnectionState.CONNECTED:
            # After the mark: should this write fail, the tenant stays due and a tick passes over it, as before.
            # Settings saved meanwhile may write the tenant back into the index on reading it still connected;
            # their own check after their write may have come before this one (``PaymentSchedule.apply``).
            PaymentSchedule(self._table).pause(tenant)
        return True

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

    # -- payment sync (issue 11) -----------------------------------------------------------------------------------
    def connected_among(self, tenants: Sequence[TenantId]) -> set[TenantId]:
        """Which of ``tenants`` are connected now, in consistent batch reads of a hundred (``store/batch_reads.py``)."""
        keys = [connection_key(tenant) for tenant in dict.fromkeys(tenants)]
        return {
            TenantId(str(item["tenant_id"]))
            for item in batch_get(self._table, keys, ["tenant_id", "state"])
            if str(item.get("state")) == ConnectionState.CONNECTED.value
        }

    # -- end of payment sync ---------------------------------------------------------------------------------------
