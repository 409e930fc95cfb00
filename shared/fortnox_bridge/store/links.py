"""Hosted connect links and the single-use consent states that come back from Fortnox.

A link is stored by the hash of its token, so the table never holds a usable link.
"""

import hashlib
from datetime import UTC, datetime

from botocore.exceptions import ClientError
from pydantic import BaseModel, Field

from fortnox_bridge.ids import TenantId
from fortnox_bridge.store.table import StoreBase, consent_state_key, is_condition_failure, link_key


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class ConnectLink(BaseModel):
    tenant_id: TenantId
    scopes: list[str]
    service_account: bool
    valid_until: datetime
    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    consumed_at: datetime | None = None


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

    def consume(self, hashed: str) -> bool:
        """Mark the link used; False when it already was."""
        try:
            self._table.update_item(
                Key=link_key(hashed),
                UpdateExpression="SET consumed_at = :now",
                ConditionExpression="attribute_exists(PK) AND attribute_not_exists(consumed_at)",
                ExpressionAttributeValues={":now": datetime.now(UTC).isoformat()},
            )
        except ClientError as error:
            if is_condition_failure(error):
                return False
            raise
        return True


class ConsentStates(StoreBase):
    def use(self, nonce: str, *, expires_epoch: int) -> bool:
        """Record that a consent state came back; False when it came back before (a replay)."""
        try:
            self._table.put_item(
                Item={**consent_state_key(nonce), "expires_at": expires_epoch + 24 * 3600},
                ConditionExpression="attribute_not_exists(PK)",
            )
        except ClientError as error:
            if is_condition_failure(error):
                return False
            raise
        return True
