"""The export ledger: one item per business key (tenant + upstream document), moved by conditional writes.

States: claimed -> sent -> confirmed, or failed. A claim carries a lease so only one worker acts on a document at
a time; an expired lease can be taken over, and the new holder must reconcile with Fortnox before writing.
"""

from datetime import UTC, datetime, timedelta
from enum import StrEnum

from botocore.exceptions import ClientError
from pydantic import BaseModel

from fortnox_bridge.errors import RetryableError
from fortnox_bridge.ids import TenantId
from fortnox_bridge.store.table import StoreBase, is_condition_failure, ledger_key, plain


class ExportState(StrEnum):
    CLAIMED = "claimed"
    SENT = "sent"
    CONFIRMED = "confirmed"
    FAILED = "failed"


class LedgerEntry(BaseModel):
    tenant_id: TenantId
    kind: str
    business_key: str
    state: ExportState
    attempts: int = 0
    lease_owner: str | None = None
    lease_until: datetime | None = None
    fortnox_id: str | None = None
    content_hash: str | None = None
    """What was last confirmed in Fortnox, so the same content delivered again costs no call."""
    last_error: str | None = None
    updated_at: datetime


class LeaseHeld(RetryableError):
    """Another worker holds the document; try again after its lease."""


class ExportLedger(StoreBase):
    def get(self, tenant: TenantId, kind: str, business_key: str) -> LedgerEntry | None:
        item = self._table.get_item(Key=ledger_key(tenant, kind, business_key), ConsistentRead=True).get("Item")
        return LedgerEntry.model_validate(plain(item)) if item else None

    def claim(
        self, tenant: TenantId, kind: str, business_key: str, *, owner: str, lease: timedelta, reopen: bool = False
    ) -> LedgerEntry:
        """Take the document for ``owner`` unless another live lease holds it. Confirmed entries are returned as
        they are, so the caller can see the work is done, unless ``reopen`` asks to work on them again (a
        re-export that may update the document)."""
        now = datetime.now(UTC)
        try:
            attributes = self._table.update_item(
                Key=ledger_key(tenant, kind, business_key),
                UpdateExpression=(
                    "SET #state = if_not_exists(#state, :claimed), lease_owner = :owner, lease_until = :until, "
                    "updated_at = :now, tenant_id = :tenant, kind = :kind, business_key = :bkey "
                    "ADD attempts :one"
                ),
                ConditionExpression=(
                    "attribute_not_exists(PK) OR ((#state <> :confirmed OR :reopen = :yes) AND "
                    "(attribute_not_exists(lease_until) OR lease_until < :now OR lease_owner = :owner))"
                ),
                ExpressionAttributeNames={"#state": "state"},
                ExpressionAttributeValues={
                    ":claimed": ExportState.CLAIMED.value,
                    ":confirmed": ExportState.CONFIRMED.value,
                    ":owner": owner,
                    ":until": (now + lease).isoformat(),
                    ":now": now.isoformat(),
                    ":tenant": tenant,
                    ":kind": kind,
                    ":bkey": business_key,
                    ":one": 1,
                    ":reopen": "yes" if reopen else "no",
                    ":yes": "yes",
                },
                ReturnValues="ALL_NEW",
            )["Attributes"]
        except ClientError as error:
            if not is_condition_failure(error):
                raise
            existing = self.get(tenant, kind, business_key)
            if existing is not None and existing.state is ExportState.CONFIRMED:
                return existing
            raise LeaseHeld(f"{kind} {business_key} is being exported by another worker") from None
        return LedgerEntry.model_validate(plain(attributes))

    def mark(
        self,
        entry: LedgerEntry,
        state: ExportState,
        *,
        owner: str,
        fortnox_id: str | None = None,
        error: str | None = None,
        content_hash: str | None = None,
    ) -> None:
        """Move the entry while ``owner`` still holds the lease; a lost lease raises ``LeaseHeld``."""
        names = {"#state": "state"}
        values: dict[str, str] = {
            ":state": state.value,
            ":owner": owner,
            ":now": datetime.now(UTC).isoformat(),
        }
        expression = "SET #state = :state, updated_at = :now"
        if fortnox_id is not None:
            expression += ", fortnox_id = :fid"
            values[":fid"] = fortnox_id
        if error is not None:
            expression += ", last_error = :err"
            values[":err"] = error
        if content_hash is not None:
            expression += ", content_hash = :hash"
            values[":hash"] = content_hash
        if state in {ExportState.CONFIRMED, ExportState.FAILED}:
            expression += " REMOVE lease_owner, lease_until"
        try:
            self._table.update_item(
                Key=ledger_key(entry.tenant_id, entry.kind, entry.business_key),
                UpdateExpression=expression,
                ConditionExpression="lease_owner = :owner",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )
        except ClientError as failure:
            if is_condition_failure(failure):
                raise LeaseHeld(f"lease on {entry.kind} {entry.business_key} was lost") from None
            raise

    def release(self, entry: LedgerEntry, *, owner: str) -> None:
        """Give the lease back after a failure worth retrying, so the retry need not wait for it to expire."""
        try:
            self._table.update_item(
                Key=ledger_key(entry.tenant_id, entry.kind, entry.business_key),
                UpdateExpression="REMOVE lease_owner, lease_until",
                ConditionExpression="lease_owner = :owner",
                ExpressionAttributeValues={":owner": owner},
            )
        except ClientError as failure:
            if not is_condition_failure(failure):
                raise
