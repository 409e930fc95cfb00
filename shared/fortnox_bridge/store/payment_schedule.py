"""When each tenant's next payment poll is due: one item per tenant with payment sync on, in the sparse GSI1
partition ``PAYMENT_POLL_DUE`` sorted by that time, so a tick reads the due tenants and nobody else.

A tick reads the due tenants from the index, checks them against the table (``still_due``: the index lags), and
moves each one on only after its poll job was accepted (``advance_entry``), conditional on the due time and interval
it read: a tenant switched off or rescheduled meanwhile keeps what its settings set. A tenant that is not connected
keeps its item but is out of the index (``pause``), so no tick reads it, until it connects again (``resume``);
settings saved while it connects or disconnects follow the connection after their write (``apply``).
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError

from fortnox_bridge.ids import TenantId
from fortnox_bridge.store.batch_reads import batch_get
from fortnox_bridge.store.table import (
    PAYMENT_POLL_DUE,
    PAYMENT_POLL_INDEX,
    StoreBase,
    connection_key,
    is_condition_failure,
    payment_schedule_key,
)
from fortnox_bridge.store.tenants import Feature, TenantSettings

APPLY_ATTEMPTS = 5
CONNECTED = "connected"
"""``ConnectionState.CONNECTED`` as stored (``store/connections.py`` takes tenants off and on through this store)."""


def iso(moment: datetime) -> str:
    """One spelling of an instant, to the second, so GSI1SK and the conditions compare as the times do."""
    return moment.astimezone(UTC).replace(microsecond=0).isoformat()


@dataclass(frozen=True)
class DueTenant:
    tenant: TenantId
    due_at: datetime
    interval: timedelta

    def next_after(self, now: datetime) -> datetime:
        """The first due time after ``now`` on this tenant's grid (due, due + interval, ...): polls keep their
        rhythm however late a tick runs, and a tenant that was unreachable for hours is polled once, not once per
        missed interval."""
        missed = max(0, (now - self.due_at) // self.interval)
        return self.due_at + self.interval * (missed + 1)


def _due_tenant(item: dict[str, Any]) -> DueTenant:
    return DueTenant(
        tenant=TenantId(str(item["tenant_id"])),
        due_at=datetime.fromisoformat(str(item["next_due_at"])),
        interval=timedelta(minutes=int(item["interval_minutes"])),
    )


class PaymentSchedule(StoreBase):
    def apply(self, tenant: TenantId, settings: TenantSettings, now: datetime) -> None:
        """Keep the schedule in step with the tenant's settings. Switched on: due now; on already: due at the
        earlier of the time set and one new interval from now, so a shorter interval counts at once and a longer
        one after the next poll. Switched off: the item goes, and with it the tenant from every tick."""
        if Feature.PAYMENT_SYNC not in settings.features:
            self._table.delete_item(Key=payment_schedule_key(tenant))
            return
        interval = timedelta(minutes=settings.payment_sync.interval_minutes)
        # The first write assumes a tenant not yet scheduled (one write); a scheduled one is read to keep its time.
        due, condition = now, "attribute_not_exists(PK)"
        values: dict[str, Any] = {}
        for _ in range(APPLY_ATTEMPTS):
            # A tenant not connected is scheduled out of the index: connecting puts it in (``resume``). Read anew
            # for each write: a connect may have completed since the last one.
            indexed = self._connected(tenant)
            if self._schedule(tenant, settings.payment_sync.interval_minutes, due, condition, values, indexed=indexed):
                self._follow_connection(tenant, indexed=indexed, now=now)
                return
            item = self._table.get_item(Key=payment_schedule_key(tenant), ConsistentRead=True).get("Item")
            if item is None:
                due, condition, values = now, "attribute_not_exists(PK)", {}
            else:
                seen = str(item["next_due_at"])
                due = min(datetime.fromisoformat(seen), now + interval)
                condition, values = "next_due_at = :seen", {":seen": seen}
        raise RuntimeError(f"the payment schedule of {tenant} kept changing while its settings were applied")

    def _follow_connection(self, tenant: TenantId, *, indexed: bool, now: datetime) -> None:
        """After a write that put the tenant in the index (``indexed``) or out of it: a connect or a disconnect may
        have landed between the read that decided it and the write, and its own ``resume`` or ``pause`` come before
        this write, undone by it. Read the connection again and follow it, until a read agrees with the last write:
        of that read and the ``resume`` or ``pause`` a connect or disconnect makes after its own write, one sees
        the other (docs/decisions.md)."""
        for _ in range(APPLY_ATTEMPTS):
            connected = self._connected(tenant)
            if connected is indexed:
                return
            if connected:
                self.resume(tenant, now)
            else:
                self.pause(tenant)
            indexed = connected
        raise RuntimeError(f"the connection of {tenant} kept changing while its payment schedule was applied")

    def _connected(self, tenant: TenantId) -> bool:
        connection = self._table.get_item(Key=connection_key(tenant), ConsistentRead=True).get("Item")
        return connection is not None and connection.get("state") == CONNECTED

    def _schedule(
        self, tenant: TenantId, interval: int, due: datetime, condition: str, values: dict[str, Any], *, indexed: bool
    ) -> bool:
        update = "SET tenant_id = :tenant, interval_minutes = :interval, next_due_at = :due"
        values = {**values, ":tenant": tenant, ":interval": interval, ":due": iso(due)}
        if indexed:
            update += ", GSI1PK = :partition, GSI1SK = :due"
            values[":partition"] = PAYMENT_POLL_DUE
        else:
            update += " REMOVE GSI1PK, GSI1SK"
        try:
            self._table.update_item(
                Key=payment_schedule_key(tenant),
                UpdateExpression=update,
                ConditionExpression=condition,
                ExpressionAttributeValues=values,
            )
        except ClientError as error:
            if is_condition_failure(error):
                return False
            raise
        return True

    def due(self, now: datetime) -> list[TenantId]:
        return [entry.tenant for entry in self.due_entries(now)]

    def due_entries(self, now: datetime) -> list[DueTenant]:
        """Every tenant due at ``now``, earliest first, over every page of the index. The index lags the table by a
        moment: ``still_due`` reads the table before a job is sent."""
        found: list[DueTenant] = []
        query: dict[str, Any] = {
            "IndexName": PAYMENT_POLL_INDEX,
            "KeyConditionExpression": Key("GSI1PK").eq(PAYMENT_POLL_DUE) & Key("GSI1SK").lte(iso(now)),
        }
        while True:
            page = self._table.query(**query)
            found += [_due_tenant(item) for item in page.get("Items", [])]
            if "LastEvaluatedKey" not in page:
                return found
            query["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def still_due(self, entries: Sequence[DueTenant]) -> list[DueTenant]:
        """Of ``entries`` (from the index), those the table still holds due at the same time, with their interval as
        the table has it: a tenant advanced a moment ago, switched off or rescheduled is left out. Consistent batch
        reads of a hundred, what DynamoDB left unprocessed read again."""
        listed = {entry.tenant: entry for entry in entries}
        keys = [payment_schedule_key(tenant) for tenant in listed]
        current = {
            entry.tenant: entry
            for item in batch_get(self._table, keys, ["tenant_id", "next_due_at", "interval_minutes", "GSI1PK"])
            if str(item.get("GSI1PK")) == PAYMENT_POLL_DUE
            for entry in [_due_tenant(item)]
            if entry.due_at == listed[entry.tenant].due_at
        }
        return [current[tenant] for tenant in listed if tenant in current]

    def advance(self, tenant: TenantId, due_at: datetime, now: datetime) -> bool:
        """The tenant's poll job was accepted: its next due time moves on from ``due_at`` by its interval. False if
        the tenant was moved, rescheduled or switched off meanwhile (that writer's time stands)."""
        item = self._table.get_item(Key=payment_schedule_key(tenant), ConsistentRead=True).get("Item")
        if item is None:
            return False
        entry = _due_tenant(item)
        return entry.due_at == due_at and self.advance_entry(entry, now)

    def advance_entry(self, entry: DueTenant, now: datetime) -> bool:
        """``advance`` with the interval already read (one conditional write): moved to the first time on the
        tenant's grid after ``now`` (``DueTenant.next_after``), on condition that the due time and the interval are
        still the ones read. A new interval saved meanwhile for the same due time is the one it moves on by: that
        due time's job was sent, and leaving the tenant due would send a second job for it at the next tick."""
        for _ in range(APPLY_ATTEMPTS):
            if self._advance_once(entry, now):
                return True
            item = self._table.get_item(Key=payment_schedule_key(entry.tenant), ConsistentRead=True).get("Item")
            if item is None or str(item.get("GSI1PK")) != PAYMENT_POLL_DUE:
                return False
            current = _due_tenant(item)
            if current.due_at != entry.due_at:
                return False
            entry = current
        return False

    def _advance_once(self, entry: DueTenant, now: datetime) -> bool:
        following = iso(entry.next_after(now))
        try:
            self._table.update_item(
                Key=payment_schedule_key(entry.tenant),
                UpdateExpression="SET next_due_at = :next, GSI1SK = :next, last_enqueued_at = :now",
                ConditionExpression="next_due_at = :due AND interval_minutes = :interval AND GSI1PK = :partition",
                ExpressionAttributeValues={
                    ":next": following,
                    ":now": iso(now),
                    ":due": iso(entry.due_at),
                    ":interval": entry.interval // timedelta(minutes=1),
                    ":partition": PAYMENT_POLL_DUE,
                },
            )
        except ClientError as error:
            if is_condition_failure(error):
                return False
            raise
        return True

    def pause(self, tenant: TenantId) -> None:
        """The tenant is no longer connected: out of the index, so ticks stop reading it; its interval and due time
        stay, for ``resume``. Only while the connection is not connected, checked in the same write: a pause that
        comes late (its process stalled after the connection was marked lost) must not undo the ``resume`` of a
        reconnect that landed meanwhile, or the new connection is never polled."""
        table = self._table.name
        for _ in range(APPLY_ATTEMPTS):
            try:
                self._table.meta.client.transact_write_items(
                    TransactItems=[
                        {
                            "Update": {
                                "TableName": table,
                                "Key": payment_schedule_key(tenant),
                                "UpdateExpression": "REMOVE GSI1PK, GSI1SK",
                                "ConditionExpression": "attribute_exists(PK)",
                            }
                        },
                        {
                            "ConditionCheck": {
                                "TableName": table,
                                "Key": connection_key(tenant),
                                "ConditionExpression": "attribute_not_exists(PK) OR #state <> :connected",
                                "ExpressionAttributeNames": {"#state": "state"},
                                "ExpressionAttributeValues": {":connected": CONNECTED},
                            }
                        },
                    ]
                )
            except ClientError as error:
                if error.response.get("Error", {}).get("Code") != "TransactionCanceledException":
                    raise
                reasons = {reason.get("Code") for reason in error.response.get("CancellationReasons", [])}
                if "TransactionConflict" in reasons:
                    continue  # another write to either item was under way: the conditions were not decided
                # Payment sync is off (nothing is scheduled), or the tenant is connected again and stays due.
            return
        raise RuntimeError(f"the payment schedule of {tenant} kept changing while it was paused")

    def resume(self, tenant: TenantId, now: datetime) -> None:
        """The tenant is connected (again): back in the index, due at once, so what it missed is fetched at the
        first tick. A tenant already in it keeps its time."""
        try:
            self._table.update_item(
                Key=payment_schedule_key(tenant),
                UpdateExpression="SET next_due_at = :now, GSI1PK = :partition, GSI1SK = :now",
                ConditionExpression="attribute_exists(PK) AND attribute_not_exists(GSI1PK)",
                ExpressionAttributeValues={":now": iso(now), ":partition": PAYMENT_POLL_DUE},
            )
        except ClientError as error:
            if not is_condition_failure(error):
                raise

    def next_due(self, tenant: TenantId) -> datetime | None:
        item = self._table.get_item(Key=payment_schedule_key(tenant), ConsistentRead=True).get("Item")
        return datetime.fromisoformat(str(item["next_due_at"])) if item else None
