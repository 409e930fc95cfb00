"""The tenant's Fortnox setup as preflight last read it, kept a few minutes so a steady day reads it once.

One item per financial year in the company partition, sorted by the year's last day: the year holding a date is the
first item whose last day is on or after it, found with one query of one item. The setup itself is opaque JSON here
(``vouchers/setup.py`` owns its shape). An item older than the TTL is never returned, whatever DynamoDB's own TTL
(which deletes lazily, up to days late) has got round to.
"""

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.conditions import Key

from fortnox_bridge.store.ledger import ExportScope
from fortnox_bridge.store.table import SETUP_PREFIX, StoreBase, company_partition, setup_key

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

SETUP_TTL = timedelta(minutes=10)
"""How long a read setup is trusted: a bookkeeper who activates an account in Fortnox sees the next export use it
within ten minutes, or at once through a retry (which invalidates)."""

MAX_SETUP_BYTES = 350_000
"""Below DynamoDB's 400 KB item limit, with room for the item's other attributes."""
_INVALIDATED = SETUP_PREFIX + "~invalidated"
"""When the company's setup was last invalidated; sorts after every ``SETUP#YEAR#{iso date}``, so the query that
finds a year finds it too. A read that began before it is never trusted: a read in flight while a retry invalidates
would otherwise put the setup from before the fix back, and refuse the fixed day again for ten minutes."""


class SetupCache(StoreBase):
    def __init__(
        self, table: "Table", *, ttl: timedelta = SETUP_TTL, clock: Callable[[], datetime] | None = None
    ) -> None:
        super().__init__(table)
        self._ttl = ttl
        self._clock = clock or (lambda: datetime.now(UTC))

    def get(self, scope: ExportScope, day: date) -> str | None:
        """The setup of the financial year holding ``day``, read less than the TTL ago, or None."""
        # Every cached year from ``day`` on, and the invalidation mark after them: a company caches a year or two.
        items = self._table.query(
            KeyConditionExpression=Key("PK").eq(company_partition(scope.tenant, scope.company))
            & Key("SK").between(SETUP_PREFIX + day.isoformat(), _INVALIDATED),
            ConsistentRead=True,
        )["Items"]
        years = [item for item in items if item["SK"] != _INVALIDATED]
        if not years:
            return None
        item = years[0]
        if str(item["first_day"]) > day.isoformat():
            return None
        read_at = float(str(item["read_at"]))
        if read_at < (self._clock() - self._ttl).timestamp():
            return None
        invalidated = [float(str(mark["at"])) for mark in items if mark["SK"] == _INVALIDATED]
        if invalidated and read_at <= invalidated[0]:
            return None
        return str(item["setup"])

    def put(
        self, scope: ExportScope, *, first_day: date, last_day: date, setup: str, read_at: datetime | None = None
    ) -> None:
        """Keep ``setup`` for the TTL from ``read_at``, when its read began (now if not given); a setup too big for
        one item (tens of thousands of projects) is not kept, and each voucher of that company reads Fortnox
        instead."""
        if len(setup.encode()) > MAX_SETUP_BYTES:
            return
        began = read_at or self._clock()
        self._table.put_item(
            Item={
                **setup_key(scope.tenant, scope.company, last_day.isoformat()),
                "first_day": first_day.isoformat(),
                "read_at": str(began.timestamp()),
                "setup": setup,
                "expires_at": int((began + self._ttl).timestamp()) + 3600,
            }
        )

    def invalidate(self, scope: ExportScope) -> None:
        """Forget every cached year of the company: the next preflight reads Fortnox again. Called when Fortnox
        refuses what preflight let through (the setup changed meanwhile) and before a retry."""
        partition = company_partition(scope.tenant, scope.company)
        now = self._clock()
        # The mark first: a read that began before it and is put after the deletes below is still not trusted.
        self._table.put_item(
            Item={
                "PK": partition,
                "SK": _INVALIDATED,
                "at": str(now.timestamp()),
                "expires_at": int((now + self._ttl).timestamp()) + 3600,
            }
        )
        query: dict[str, Any] = {
            "KeyConditionExpression": Key("PK").eq(partition) & Key("SK").between(SETUP_PREFIX, _INVALIDATED),
            "ProjectionExpression": "PK, SK",
            "ConsistentRead": True,
        }
        while True:
            page = self._table.query(**query)
            for item in page["Items"]:
                if item["SK"] != _INVALIDATED:
                    self._table.delete_item(Key={"PK": str(item["PK"]), "SK": str(item["SK"])})
            if "LastEvaluatedKey" not in page:
                return
            query["ExclusiveStartKey"] = page["LastEvaluatedKey"]
