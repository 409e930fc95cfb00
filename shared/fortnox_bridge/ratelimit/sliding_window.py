"""A sliding-window log of send times, reserved with conditional writes.

Fortnox allows 25 requests in any 5 seconds per client id and tenant. A token bucket refilled at 5/s can let 50
through in one window, so this keeps Fortnox's own rule: the last 25 send times live in one DynamoDB item, and a
request may go when the 25th newest is more than 5 s (plus a margin) old. A worker reserves its slot, possibly in
the near future, with a conditional write on the item's version, then sleeps until that moment. Nobody spins on a
full window and nobody needs process memory that other Lambdas cannot see.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from fortnox_bridge.errors import RetryableError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table


@dataclass(frozen=True)
class WindowRule:
    limit: int = 25
    window_seconds: float = 5.0
    margin_seconds: float = 0.1
    """Added to every gap: Fortnox counts arrivals, we count departures."""


def next_slot(sent: list[float], now: float, rule: WindowRule) -> float:
    """The earliest moment at or after ``now`` that keeps every window within the limit.

    ``sent`` is sorted and only grows at its end, so it is enough that the new time is not before the last one
    and is a full window (plus margin) after the one ``limit`` places back.
    """
    slot = max(now, sent[-1]) if sent else now
    if len(sent) >= rule.limit:
        slot = max(slot, sent[-rule.limit] + rule.window_seconds + rule.margin_seconds)
    return slot


class DynamoDbSlidingWindow:
    """RateLimiter for one (client id, Fortnox tenant): ``acquire`` blocks until a slot is ours."""

    MAX_CONFLICTS = 200

    def __init__(
        self,
        table: "Table",
        *,
        client_id: str,
        tenant_key: str,
        rule: WindowRule | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._table = table
        self._key = {"PK": f"RATE#{client_id}#{tenant_key}", "SK": "WINDOW"}
        self._rule = rule or WindowRule()
        self._clock = clock
        self._sleep = sleep

    def acquire(self) -> None:
        """Wait for a reserved slot. A worker that wakes up late (a paused thread, a slow host) would send after
        its slot and could crowd the window of a later slot, so it gives the stale slot up and reserves anew."""
        for _ in range(self.MAX_CONFLICTS):
            slot = self.reserve()
            delay = slot - self._clock()
            if delay > 0:
                self._sleep(delay)
            if self._clock() - slot <= self._rule.margin_seconds / 2:
                return
        raise RetryableError("could not send within a reserved rate-limit slot; try again later")

    def reserve(self) -> float:
        """Claim the next free send time and return it (epoch seconds)."""
        for _ in range(self.MAX_CONFLICTS):
            item = self._table.get_item(Key=self._key, ConsistentRead=True).get("Item")
            version = int(item["version"]) if item else 0  # type: ignore[arg-type]
            sent = [float(value) for value in item.get("sent", [])] if item else []  # type: ignore[union-attr]
            slot = next_slot(sent, self._clock(), self._rule)
            kept = [*sent, slot][-self._rule.limit :]
            try:
                self._write(kept, version, slot)
            except ClientError as error:
                if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                    continue
                raise
            return slot
        raise RetryableError("rate-limit window too contended; try again later")

    def _write(self, kept: list[float], version: int, slot: float) -> None:
        item: dict[str, Any] = {
            **self._key,
            "sent": [Decimal(f"{value:.6f}") for value in kept],
            "version": version + 1,
            # The item is worthless a window after its last slot; let TTL clean up idle tenants.
            "expires_at": int(slot + self._rule.window_seconds + 3600),
        }
        if version == 0:
            self._table.put_item(Item=item, ConditionExpression="attribute_not_exists(PK)")
        else:
            self._table.put_item(
                Item=item, ConditionExpression="version = :seen", ExpressionAttributeValues={":seen": version}
            )
