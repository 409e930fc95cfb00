"""Leases: a named lock with an owner and an expiry, taken and released by conditional writes.

A holder that dies leaves the lock to expire; it never blocks a tenant for longer than its lease.
"""

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from fortnox_bridge.store.table import StoreBase, is_condition_failure, lock_key

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table


class LockStore(StoreBase):
    def __init__(self, table: "Table", clock: Callable[[], float] = time.time) -> None:
        super().__init__(table)
        self._clock = clock

    def acquire(self, name: str, *, owner: str, lease_seconds: float) -> bool:
        now = self._clock()
        try:
            self._table.put_item(
                Item={
                    **lock_key(name),
                    "owner": owner,
                    "lease_until": int((now + lease_seconds) * 1000),
                    "expires_at": int(now + lease_seconds + 3600),
                },
                ConditionExpression="attribute_not_exists(PK) OR lease_until < :now OR #owner = :owner",
                ExpressionAttributeNames={"#owner": "owner"},
                ExpressionAttributeValues={":now": int(now * 1000), ":owner": owner},
            )
        except ClientError as error:
            if is_condition_failure(error):
                return False
            raise
        return True

    def release(self, name: str, *, owner: str) -> None:
        try:
            self._table.delete_item(
                Key=lock_key(name),
                ConditionExpression="#owner = :owner",
                ExpressionAttributeNames={"#owner": "owner"},
                ExpressionAttributeValues={":owner": owner},
            )
        except ClientError as error:
            if not is_condition_failure(error):
                raise
