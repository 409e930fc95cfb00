"""Hosted connect links, their generations, and the single-use consent states that come back from Fortnox.

A link is stored by the hash of its token, so the table never holds a usable link. Every link records the tenant's
link generation when it was made; a completed connect or a revocation moves the generation on, and a link of an
older generation no longer works.
"""

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from botocore.exceptions import ClientError
from pydantic import BaseModel, Field

from fortnox_bridge.ids import TenantId
from fortnox_bridge.store.table import (
    StoreBase,
    consent_state_key,
    is_condition_failure,
    link_generation_key,
    link_key,
)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class ConnectLink(BaseModel):
    tenant_id: TenantId
    scopes: list[str]
    service_account: bool
    valid_until: datetime
    generation: int = 0
    """The tenant's link generation when the link was made; the link works while the generation stays."""
    replace_connection: bool = False
    """Made to replace a live connection: the page names the current company and asks to confirm."""
    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    consumed_at: datetime | None = None
    revoked_at: datetime | None = None


@dataclass(frozen=True)
class LinkGate:
    """What a completing connect must still hold when it writes: its link unused, its generation current."""

    link_hash: str
    tenant_id: TenantId
    generation: int

    def transact_items(self, table_name: str) -> list[dict[str, Any]]:
        """The link is consumed and the generation moved on in the same transaction as the connection."""
        current = "generation = :generation"
        if self.generation == 0:
            current = f"attribute_not_exists(generation) OR {current}"
        return [
            {
                "Update": {
                    "TableName": table_name,
                    "Key": link_key(self.link_hash),
                    "UpdateExpression": "SET consumed_at = :now",
                    "ConditionExpression": "attribute_exists(PK) AND attribute_not_exists(consumed_at) "
                    "AND attribute_not_exists(revoked_at)",
                    "ExpressionAttributeValues": {":now": datetime.now(UTC).isoformat()},
                }
            },
            {
                "Update": {
                    "TableName": table_name,
                    "Key": link_generation_key(self.tenant_id),
                    "UpdateExpression": "SET generation = :next",
                    "ConditionExpression": current,
                    "ExpressionAttributeValues": {":generation": self.generation, ":next": self.generation + 1},
                }
            },
        ]


class LinkStore(StoreBase):
    def create(self, token: str, link: ConnectLink) -> None:
        self._table.put_item(
            Item={
                **link_key(token_hash(token)),
                **link.model_dump(mode="json", exclude_none=True),
                # The table's TTL forgets the link a month after it stopped working.
                "expires_at": int(link.valid_until.timestamp()) + 30 * 24 * 3600,
            },
            ConditionExpression="attribute_not_exists(PK)",
        )

    def get_by_hash(self, hashed: str) -> ConnectLink | None:
        item = self._table.get_item(Key=link_key(hashed), ConsistentRead=True).get("Item")
        if not item:
            return None
        return ConnectLink.model_validate(
            {key: value for key, value in item.items() if key in ConnectLink.model_fields}
        )

    def generation(self, tenant: TenantId) -> int:
        item = self._table.get_item(Key=link_generation_key(tenant), ConsistentRead=True).get("Item")
        return int(str(item.get("generation", 0))) if item else 0

    def revoke_all(self, tenant: TenantId) -> int:
        """Every link of the tenant made so far stops working; returns the new generation."""
        answer = self._table.update_item(
            Key=link_generation_key(tenant),
            UpdateExpression="ADD generation :one",
            ExpressionAttributeValues={":one": 1},
            ReturnValues="UPDATED_NEW",
        )
        return int(str(answer["Attributes"]["generation"]))

    def revoke(self, hashed: str, tenant: TenantId) -> bool:
        """One link stops working; False when the tenant has no such unused link."""
        try:
            self._table.update_item(
                Key=link_key(hashed),
                UpdateExpression="SET revoked_at = :now",
                ConditionExpression="tenant_id = :tenant AND attribute_not_exists(consumed_at)",
                ExpressionAttributeValues={":now": datetime.now(UTC).isoformat(), ":tenant": tenant},
            )
        except ClientError as error:
            if is_condition_failure(error):
                return False
            raise
        return True


DENIED = "denied"
"""A first arrival that carried the person's cancellation at Fortnox."""
FAILED = "failed"
"""A first arrival that failed any other way."""


@dataclass(frozen=True)
class SpentState:
    """A consent state that came back before: when it first did, and how that arrival ended (``DENIED``,
    ``FAILED``, or None: connected, still at work, or stopped without a word)."""

    first_arrival: float
    outcome: str | None


class ConsentStates(StoreBase):
    def use(self, nonce: str, *, expires_epoch: int, now: float) -> SpentState | None:
        """Record that a consent state came back at ``now``: None the first time; after that (a reload, a replay),
        how its first arrival went (arrived at 0 for a state recorded before the time was kept)."""
        try:
            self._table.put_item(
                Item={**consent_state_key(nonce), "expires_at": expires_epoch + 24 * 3600, "used_at": int(now)},
                ConditionExpression="attribute_not_exists(PK)",
            )
        except ClientError as error:
            if is_condition_failure(error):
                item = self._table.get_item(Key=consent_state_key(nonce), ConsistentRead=True).get("Item") or {}
                used_at = item.get("used_at", 0)
                first = float(used_at) if isinstance(used_at, Decimal | int) else 0.0
                outcome = item.get("outcome")
                return SpentState(first_arrival=first, outcome=outcome if isinstance(outcome, str) else None)
            raise
        return None

    def failed(self, nonce: str, outcome: str) -> None:
        """The arrival that spent the state did not connect (``DENIED`` or ``FAILED``): a reload is told so at once."""
        self._table.update_item(
            Key=consent_state_key(nonce),
            UpdateExpression="SET outcome = :outcome",
            ConditionExpression="attribute_exists(PK)",
            ExpressionAttributeValues={":outcome": outcome},
        )
