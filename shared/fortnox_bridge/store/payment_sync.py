"""Payment sync state of one (tenant, Fortnox company): the cursor, the lease a poll holds, the last poll's outcome,
and one snapshot per Fortnox payment (plus one per invoice with payments) to tell new, changed and removed apart.

A poll holds the lease on the sync item while it works, so two overlapping polls of a tenant never both publish or
advance; the cursor only moves forwards, by a write conditional on the lease and on the cursor it read. Payments
whose events went out in a poll that never wrote its cursor are listed in ``unconfirmed``: the next poll sends their
events again, with the same ids.
"""

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

from botocore.exceptions import ClientError
from pydantic import BaseModel, Field

from fortnox_bridge.events import PaymentFigures
from fortnox_bridge.ids import FortnoxTenantId, TenantId
from fortnox_bridge.store.ledger import ExportScope, FailureNotes, PaymentFailureNote
from fortnox_bridge.store.table import (
    StoreBase,
    is_condition_failure,
    payment_invoice_key,
    payment_snapshot_key,
    payment_sync_key,
    plain,
)


class PollOutcome(StrEnum):
    OK = "ok"
    FAILED = "failed"
    NOT_CONNECTED = "not_connected"


class PaymentSyncStatus(BaseModel):
    """What a person is shown of a company's payment sync."""

    tenant_id: TenantId
    fortnox_company: FortnoxTenantId
    cursor: datetime | None = None
    """Fortnox's lastmodified the next poll reads from (before the overlap): the time the last good poll started."""
    last_poll_at: datetime | None = None
    last_outcome: PollOutcome | None = None
    last_reason_sv: str | None = None
    last_reason_en: str | None = None
    """Why the last poll failed, as a fix."""
    last_counts: dict[str, int] = Field(default_factory=dict)
    """``{"received": n, "changed": n, "removed": n}`` of the last poll."""
    resync_from: date | None = None
    """A re-sync the next poll will do."""


class SyncState(PaymentSyncStatus):
    """The sync item as a poll sees it: the status, plus what only the poll needs."""

    lease_owner: str | None = None
    lease_until: datetime | None = None
    unconfirmed: list[str] = Field(default_factory=list)
    """Payments whose events were published by a poll that did not write its cursor."""
    failing_since: datetime | None = None
    """Polls have failed for a reason a person must fix since then (told once in the failure digest); cleared by the
    next poll that succeeds."""

    def status(self) -> PaymentSyncStatus:
        return PaymentSyncStatus.model_validate(self.model_dump(include=set(PaymentSyncStatus.model_fields)))


class PaymentSnapshot(BaseModel):
    """A Fortnox payment as last read, and the last event sent of it (none while it is filtered out)."""

    payment_number: str
    invoice_number: str
    figures: PaymentFigures
    version: int = 0
    """How many events this payment has had; part of each event id, so a change back and forth is never mistaken
    for a re-send."""
    removed: bool = False
    last_event: dict[str, Any] | None = None
    """``{"detail_type": ..., "event": {...}}`` of the last event published; None while filtered."""


class InvoicePayments(BaseModel):
    """The live payments known on one Fortnox invoice and what each takes off its balance (in its currency), so a
    changed balance that the known payments do not explain is checked for deleted ones."""

    invoice_number: str
    payments: dict[str, Decimal] = Field(default_factory=dict)
    checked: tuple[Decimal, Decimal] | None = None
    """(total, balance) when the invoice's own payment list was last read: a balance the known payments do not
    explain (a write-off, a payment older than the sync) costs that call once, not on every poll."""


class LeaseHeld(Exception):
    """Another poll of this company holds the lease."""


class LeaseLost(Exception):
    """This poll's lease expired and another poll took it over: it must not write what it found."""


class PaymentSyncStore(StoreBase):
    # -- for visibility ---------------------------------------------------------------------------------------------
    def status(self, scope: ExportScope) -> PaymentSyncStatus | None:
        state = self.state(scope)
        return state.status() if state else None

    def request_resync(self, scope: ExportScope, since: date) -> PaymentSyncStatus:
        answer = self._table.update_item(
            Key=payment_sync_key(scope.tenant, scope.company),
            UpdateExpression="SET resync_from = :since, tenant_id = :tenant, fortnox_company = :company",
            ExpressionAttributeValues={
                ":since": since.isoformat(),
                ":tenant": scope.tenant,
                ":company": scope.company,
            },
            ReturnValues="ALL_NEW",
        )
        return SyncState.model_validate(plain(answer["Attributes"])).status()

    # -- for the poll -----------------------------------------------------------------------------------------------
    def state(self, scope: ExportScope) -> SyncState | None:
        item = self._table.get_item(Key=payment_sync_key(scope.tenant, scope.company), ConsistentRead=True).get("Item")
        return SyncState.model_validate(plain(item)) if item else None

    def acquire(self, scope: ExportScope, owner: str, now: datetime, lease: timedelta) -> SyncState:
        """Take the lease; ``LeaseHeld`` when another poll holds one that has not expired."""
        try:
            answer = self._table.update_item(
                Key=payment_sync_key(scope.tenant, scope.company),
                UpdateExpression=(
                    "SET lease_owner = :owner, lease_until = :until, tenant_id = :tenant, fortnox_company = :company"
                ),
                ConditionExpression="attribute_not_exists(lease_until) OR lease_until < :now",
                ExpressionAttributeValues={
                    ":owner": owner,
                    ":until": (now + lease).isoformat(),
                    ":now": now.isoformat(),
                    ":tenant": scope.tenant,
                    ":company": scope.company,
                },
                ReturnValues="ALL_NEW",
            )
        except ClientError as error:
            if is_condition_failure(error):
                raise LeaseHeld(f"a payment poll of {scope.tenant} is under way") from None
            raise
        return SyncState.model_validate(plain(answer["Attributes"]))

    def hold_unconfirmed(self, scope: ExportScope, owner: str, payments: Sequence[str], until: datetime) -> None:
        """Name the payments whose events are about to go out, and renew the lease to ``until``: until the cursor is
        written, the next poll sends their events again. ``LeaseLost`` when another poll took the lease over."""
        self._under_lease(
            scope,
            owner,
            "SET unconfirmed = :payments, lease_until = :until",
            {":payments": sorted(set(payments)), ":until": until.isoformat()},
        )

    def advance(
        self,
        scope: ExportScope,
        owner: str,
        *,
        cursor: datetime,
        at: datetime,
        counts: dict[str, int],
        resync_done: date | None,
        healed: bool = False,
    ) -> None:
        """Write the cursor (only forwards), the outcome, and let the lease go, in one conditional write. A re-sync
        that was asked for again while this poll ran stays asked. ``healed``: the polls before had failed for a reason
        a person had to fix, and the failure digest stops telling it."""
        values: dict[str, Any] = {
            ":cursor": cursor.astimezone(UTC).isoformat(timespec="microseconds"),
            ":at": at.isoformat(),
            ":ok": PollOutcome.OK.value,
            ":counts": counts,
            ":owner": owner,
        }
        condition = "lease_owner = :owner AND (attribute_not_exists(#cursor) OR #cursor <= :cursor)"
        remove = "REMOVE lease_owner, lease_until, unconfirmed, last_reason_sv, last_reason_en, failing_since"
        if resync_done is not None:
            remove += ", resync_from"
            condition += " AND (attribute_not_exists(resync_from) OR resync_from = :resync)"
            values[":resync"] = resync_done.isoformat()
        try:
            self._table.update_item(
                Key=payment_sync_key(scope.tenant, scope.company),
                UpdateExpression=(
                    "SET #cursor = :cursor, last_poll_at = :at, last_outcome = :ok, last_counts = :counts " + remove
                ),
                ConditionExpression=condition,
                ExpressionAttributeNames={"#cursor": "cursor"},
                ExpressionAttributeValues=values,
            )
        except ClientError as error:
            if not is_condition_failure(error):
                raise
            if resync_done is not None:
                # Asked again while this poll ran (or the lease was lost): keep the request, write the rest.
                self.advance(scope, owner, cursor=cursor, at=at, counts=counts, resync_done=None, healed=healed)
                return
            raise LeaseLost(f"the payment poll of {scope.tenant} lost its lease") from None
        if healed:
            FailureNotes(self._table).clear_payment_failure(scope.tenant, scope.company)

    def record(
        self,
        scope: ExportScope,
        *,
        outcome: PollOutcome,
        at: datetime,
        reason_sv: str | None,
        reason_en: str | None,
        owner: str | None = None,
        lasting: bool = False,
    ) -> None:
        """Record a poll that did not advance (failed, or not connected), and let this poll's lease go. ``lasting``:
        it failed for a reason that will not pass by itself (a lost connection, a missing permission, Fortnox
        refusing); the first such failure after a good poll is noted for the tenant's failure digest, the ones after it
        only put the note back when the digest has dropped it, so the bookkeeper is told once and not at every
        tick."""
        values: dict[str, Any] = {
            ":outcome": outcome.value,
            ":at": at.isoformat(),
            ":sv": reason_sv,
            ":en": reason_en,
            ":tenant": scope.tenant,
            ":company": scope.company,
            ":none": {},
        }
        update = (
            "SET last_outcome = :outcome, last_poll_at = :at, last_reason_sv = :sv, last_reason_en = :en, "
            "last_counts = :none, tenant_id = :tenant, fortnox_company = :company"
        )
        if lasting:
            update += ", failing_since = if_not_exists(failing_since, :at)"
        condition = None
        if owner is not None:
            update += " REMOVE lease_owner, lease_until"
            condition = "attribute_not_exists(lease_owner) OR lease_owner = :owner"
            values[":owner"] = owner
        try:
            if condition is None:
                before = self._table.update_item(
                    Key=payment_sync_key(scope.tenant, scope.company),
                    UpdateExpression=update,
                    ExpressionAttributeValues=values,
                    ReturnValues="ALL_OLD",
                )
            else:
                before = self._table.update_item(
                    Key=payment_sync_key(scope.tenant, scope.company),
                    UpdateExpression=update,
                    ConditionExpression=condition,
                    ExpressionAttributeValues=values,
                    ReturnValues="ALL_OLD",
                )
        except ClientError as error:
            if not is_condition_failure(error):
                raise
            # Another poll took over the expired lease: its outcome is the one to show.
            return
        if not (lasting and reason_sv and reason_en):
            return
        failing_since = before.get("Attributes", {}).get("failing_since")
        since = at if failing_since is None else datetime.fromisoformat(str(failing_since))
        note = PaymentFailureNote(company=scope.company, since=since, sv=reason_sv, en=reason_en)
        if failing_since is None:
            FailureNotes(self._table).note_payment_failure(scope.tenant, note, at=at)
        else:
            # Still failing: noted already, unless the digest dropped the note while it could not tell it (sync
            # switched off, another company connected) and the tenant has come back to this failure since.
            FailureNotes(self._table).note_payment_failure_if_missing(scope.tenant, note, at=at)

    def _under_lease(self, scope: ExportScope, owner: str, update: str, values: dict[str, Any]) -> None:
        try:
            self._table.update_item(
                Key=payment_sync_key(scope.tenant, scope.company),
                UpdateExpression=update,
                ConditionExpression="lease_owner = :owner",
                ExpressionAttributeValues={**values, ":owner": owner},
            )
        except ClientError as error:
            if is_condition_failure(error):
                raise LeaseLost(f"the payment poll of {scope.tenant} lost its lease") from None
            raise

    # -- snapshots ----------------------------------------------------------------------------------------------------
    def snapshots(self, scope: ExportScope, payments: Iterable[str]) -> dict[str, PaymentSnapshot]:
        found = (
            self._get(payment_snapshot_key(scope.tenant, scope.company, number)) for number in sorted(set(payments))
        )
        return {
            snapshot.payment_number: snapshot for snapshot in map(PaymentSnapshot.model_validate, filter(None, found))
        }

    def invoices(self, scope: ExportScope, invoices: Iterable[str]) -> dict[str, InvoicePayments]:
        found = (
            self._get(payment_invoice_key(scope.tenant, scope.company, number)) for number in sorted(set(invoices))
        )
        return {known.invoice_number: known for known in map(InvoicePayments.model_validate, filter(None, found))}

    def write(
        self, scope: ExportScope, snapshots: Sequence[PaymentSnapshot], invoices: Sequence[InvoicePayments]
    ) -> None:
        # Item by item: the poller's role has the single-item writes every Fortnox caller has, no batch grants.
        for snapshot in snapshots:
            key = payment_snapshot_key(scope.tenant, scope.company, snapshot.payment_number)
            self._table.put_item(Item={**key, **snapshot.model_dump(mode="json")})
        for known in invoices:
            key = payment_invoice_key(scope.tenant, scope.company, known.invoice_number)
            self._table.put_item(Item={**key, **known.model_dump(mode="json")})

    def _get(self, key: dict[str, str]) -> dict[str, Any] | None:
        item = self._table.get_item(Key=key, ConsistentRead=True).get("Item")
        return plain(item) if item else None
