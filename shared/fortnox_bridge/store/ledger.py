"""The export ledger: one item per business key (tenant, Fortnox company, upstream document), moved by conditional
writes.

States: claimed -> sent -> created -> confirmed, or failed. A claim carries a lease so only one worker acts on a
document at a time; an expired lease can be taken over, and the new holder must reconcile with Fortnox before
writing. ``created`` means the document is in Fortnox (its number is recorded the moment the create answers) and
some after-create steps (attach the PDF, bookkeep, send) are still to do: whoever claims it next finishes them.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, Literal

from botocore.exceptions import ClientError
from pydantic import BaseModel

from fortnox_bridge.errors import RetryableError
from fortnox_bridge.ids import FortnoxTenantId, TenantId
from fortnox_bridge.store.table import StoreBase, is_condition_failure, ledger_key, plain


class ExportState(StrEnum):
    CLAIMED = "claimed"
    SENT = "sent"
    """A create was sent; its answer may have been lost, so look for our marker before creating again."""
    CREATED = "created"
    """In Fortnox, with after-create steps still pending."""
    CONFIRMED = "confirmed"
    FAILED = "failed"


Step = Literal["attach_pdf", "bookkeep", "send"]
"""What happens to a document after its create, in this order."""
Form = Literal["invoice", "order"]
"""How an upstream invoice went to Fortnox: as an invoice, or as an order for collective invoicing."""


@dataclass(frozen=True)
class ExportScope:
    """Export state belongs to a tenant and the Fortnox company it was made in, never to the tenant alone."""

    tenant: TenantId
    company: FortnoxTenantId


class LedgerEntry(BaseModel):
    tenant_id: TenantId
    fortnox_company: FortnoxTenantId
    kind: str
    business_key: str
    state: ExportState
    attempts: int = 0
    lease_owner: str | None = None
    lease_until: datetime | None = None
    form: Form | None = None
    """Set before the create: the form an upstream invoice has in Fortnox, kept whatever the settings say later."""
    fortnox_id: str | None = None
    content_hash: str | None = None
    """What was last applied in Fortnox, so the same content delivered again costs no call."""
    applied_at: datetime | None = None
    """``occurred_at`` of the event last applied: an older one arriving later is superseded, not applied."""
    pending_steps: list[Step] = []
    pdf_file_id: str | None = None
    """The PDF's file in the Fortnox archive once uploaded, so a retry attaches it instead of uploading again."""
    pdf_source: str | None = None
    """Where upstream kept the PDF last planned for attaching (``bucket/key``): a change that names another PDF
    attaches that one too."""
    credit_notes: set[str] = set()
    """On an invoice: the upstream credit notes that correct it, recorded before each is created, so a full credit
    or a change never takes back more than the invoice still says."""
    superseded_event_id: str | None = None
    """The last event that arrived after a newer one had been applied, and so was not."""
    last_error: str | None = None
    updated_at: datetime

    @property
    def scope(self) -> ExportScope:
        return ExportScope(self.tenant_id, self.fortnox_company)


class LeaseHeld(RetryableError):
    """Another worker holds the document; try again after its lease."""


def _key(scope: ExportScope, kind: str, business_key: str) -> dict[str, str]:
    return ledger_key(scope.tenant, scope.company, kind, business_key)


class ExportLedger(StoreBase):
    def get(self, scope: ExportScope, kind: str, business_key: str) -> LedgerEntry | None:
        item = self._table.get_item(Key=_key(scope, kind, business_key), ConsistentRead=True).get("Item")
        return LedgerEntry.model_validate(plain(item)) if item else None

    def claim(
        self, scope: ExportScope, kind: str, business_key: str, *, owner: str, lease: timedelta, reopen: bool = False
    ) -> LedgerEntry:
        """Take the document for ``owner`` unless another live lease holds it. Confirmed entries are returned as
        they are, so the caller can see the work is done, unless ``reopen`` asks to work on them again (a
        re-export that may update the document)."""
        now = datetime.now(UTC)
        try:
            attributes = self._table.update_item(
                Key=_key(scope, kind, business_key),
                UpdateExpression=(
                    "SET #state = if_not_exists(#state, :claimed), lease_owner = :owner, lease_until = :until, "
                    "updated_at = :now, tenant_id = :tenant, fortnox_company = :company, kind = :kind, "
                    "business_key = :bkey ADD attempts :one"
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
                    ":tenant": scope.tenant,
                    ":company": scope.company,
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
            existing = self.get(scope, kind, business_key)
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
        forget_fortnox_id: bool = False,
        error: str | None = None,
        content_hash: str | None = None,
        form: Form | None = None,
        applied_at: datetime | None = None,
        pending_steps: list[Step] | None = None,
        pdf_file_id: str | None = None,
        pdf_source: str | None = None,
        forget_pdf_file: bool = False,
        superseded_event_id: str | None = None,
        release: bool = False,
    ) -> None:
        """Move the entry while ``owner`` still holds the lease; a lost lease raises ``LeaseHeld``. Only what is
        given is written. Confirmed and failed entries, and ``release``, give the lease back."""
        values: dict[str, Any] = {
            ":state": state.value,
            ":owner": owner,
            ":now": datetime.now(UTC).isoformat(),
        }
        sets = ["#state = :state", "updated_at = :now"]
        given: dict[str, Any] = {
            "fortnox_id": fortnox_id,
            "last_error": error,
            "content_hash": content_hash,
            "form": form,
            "applied_at": applied_at.isoformat() if applied_at is not None else None,
            "pending_steps": pending_steps,
            "pdf_file_id": pdf_file_id,
            "pdf_source": pdf_source,
            "superseded_event_id": superseded_event_id,
        }
        for name, value in given.items():
            if value is not None:
                sets.append(f"{name} = :{name}")
                values[f":{name}"] = value
        removes = []
        if forget_fortnox_id:
            removes += ["fortnox_id", "content_hash", "applied_at", "pending_steps", "pdf_file_id", "pdf_source"]
        elif forget_pdf_file:
            removes += ["pdf_file_id"]
        if release or state in {ExportState.CONFIRMED, ExportState.FAILED}:
            removes += ["lease_owner", "lease_until"]
        expression = "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else "")
        try:
            self._table.update_item(
                Key=_key(entry.scope, entry.kind, entry.business_key),
                UpdateExpression=expression,
                ConditionExpression="lease_owner = :owner",
                ExpressionAttributeNames={"#state": "state"},
                ExpressionAttributeValues=values,
            )
        except ClientError as failure:
            if is_condition_failure(failure):
                raise LeaseHeld(f"lease on {entry.kind} {entry.business_key} was lost") from None
            raise

    def link_credit_note(self, scope: ExportScope, invoice_number: str, credit_note_number: str) -> None:
        """Record on the invoice's entry that a credit note corrects it. Written outside the lease (an ADD to a set
        touches nothing a lease holder writes), on an entry that exists: a credit note waits for its invoice."""
        self._table.update_item(
            Key=_key(scope, "invoice", invoice_number),
            UpdateExpression="ADD credit_notes :note",
            ConditionExpression="attribute_exists(PK)",
            ExpressionAttributeValues={":note": {credit_note_number}},
        )

    def live_credit_notes(self, invoice: LedgerEntry) -> list[LedgerEntry]:
        """The credit notes recorded on an invoice that are, or may be, in Fortnox: one refused before it was sent
        corrects nothing."""
        found = (self.get(invoice.scope, "credit_note", note) for note in sorted(invoice.credit_notes))
        return [
            note for note in found if note is not None and (note.fortnox_id or note.state is not ExportState.FAILED)
        ]

    def release(self, entry: LedgerEntry, *, owner: str) -> None:
        """Give the lease back after a failure worth retrying, so the retry need not wait for it to expire."""
        try:
            self._table.update_item(
                Key=_key(entry.scope, entry.kind, entry.business_key),
                UpdateExpression="REMOVE lease_owner, lease_until",
                ConditionExpression="lease_owner = :owner",
                ExpressionAttributeValues={":owner": owner},
            )
        except ClientError as failure:
            if not is_condition_failure(failure):
                raise

    def record_failure(self, scope: ExportScope, kind: str, business_key: str, error: str) -> LedgerEntry | None:
        """The last attempt gave up: note the cause on a free entry. An entry whose document is in Fortnox, or may
        be (a create was sent and its answer lost), keeps its state: it is not failed, and the next attempt must look
        before it creates. Any other becomes ``failed``. None while another worker holds a live lease on it."""
        now = datetime.now(UTC)
        current = self.get(scope, kind, business_key)
        exists = current is not None and (current.fortnox_id is not None or current.state is ExportState.SENT)
        values: dict[str, Any] = {
            ":err": error,
            ":now": now.isoformat(),
            ":tenant": scope.tenant,
            ":company": scope.company,
            ":kind": kind,
            ":bkey": business_key,
        }
        sets = (
            "last_error = :err, updated_at = :now, tenant_id = :tenant, fortnox_company = :company, kind = :kind, "
            "business_key = :bkey"
        )
        free = "(attribute_not_exists(lease_until) OR lease_until < :now)"
        key = _key(scope, kind, business_key)
        try:
            if exists:
                values[":sent"] = ExportState.SENT.value
                attributes = self._table.update_item(
                    Key=key,
                    UpdateExpression=f"SET {sets}",
                    ConditionExpression=f"(attribute_exists(fortnox_id) OR #state = :sent) AND {free}",
                    ExpressionAttributeNames={"#state": "state"},
                    ExpressionAttributeValues=values,
                    ReturnValues="ALL_NEW",
                )["Attributes"]
            else:
                values[":failed"] = ExportState.FAILED.value
                values[":confirmed"] = ExportState.CONFIRMED.value
                attributes = self._table.update_item(
                    Key=key,
                    UpdateExpression=f"SET {sets}, #state = :failed",
                    ConditionExpression=(
                        "attribute_not_exists(PK) OR "
                        f"(attribute_not_exists(fortnox_id) AND #state <> :confirmed AND {free})"
                    ),
                    ExpressionAttributeNames={"#state": "state"},
                    ExpressionAttributeValues=values,
                    ReturnValues="ALL_NEW",
                )["Attributes"]
        except ClientError as failure:
            if not is_condition_failure(failure):
                raise
            return None
        return LedgerEntry.model_validate(plain(attributes))
