"""Cursors: how far a tenant's incremental sync has safely come. Advanced only forward, only by compare-and-set."""

from botocore.exceptions import ClientError

from fortnox_bridge.errors import RetryableError
from fortnox_bridge.ids import TenantId
from fortnox_bridge.store.table import StoreBase, cursor_key, is_condition_failure


class CursorMoved(RetryableError):
    """Someone else advanced the cursor first; re-read and redo."""


class CursorStore(StoreBase):
    def get(self, tenant: TenantId, name: str) -> str | None:
        item = self._table.get_item(Key=cursor_key(tenant, name), ConsistentRead=True).get("Item")
        return str(item["position"]) if item else None

    def advance(self, tenant: TenantId, name: str, *, expected: str | None, position: str) -> None:
        condition = "attribute_not_exists(PK)" if expected is None else "#position = :expected"
        values = {":position": position}
        if expected is not None:
            values[":expected"] = expected
        try:
            self._table.update_item(
                Key=cursor_key(tenant, name),
                UpdateExpression="SET #position = :position",
                ConditionExpression=condition,
                ExpressionAttributeNames={"#position": "position"},
                ExpressionAttributeValues=values,
            )
        except ClientError as error:
            if is_condition_failure(error):
                raise CursorMoved(f"cursor {name} of {tenant} moved since it was read") from None
            raise
