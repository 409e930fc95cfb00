"""The export ledger: one item per business key (tenant, Fortnox company, upstream document), moved by conditional
writes.

States: claimed -> sent -> created -> confirmed, or failed. A claim carries a lease so only one worker acts on a
document at a time; an expired lease can be taken over, and the new holder must reconcile with Fortnox before
writing. ``created`` means the document is in Fortnox (its number is recorded the moment the create answers) and
some after-create steps (attach the PDF, bookkeep, send) are still to do: whoever claims it next finishes them.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Literal, Protocol

from botocore.exceptions import ClientError
from pydantic import BaseModel, Field

from fortnox_bridge.errors import BadInputError, RetryableError
from fortnox_bridge.ids import FortnoxTenantId, TenantId
from fortnox_bridge.store.batch_reads import batch_get
from fortnox_bridge.store.table import (
    DIGEST_INDEX,
    DIGEST_PENDING,
    EXPORTED_INDEX,
    StoreBase,
    company_partition,
    digest_key,
    exported_index_keys,
    is_condition_failure,
    ledger_key,
    ledger_prefix,
    plain,
)

if TYPE_CHECKING:
    from fortnox_bridge.export.explanations import Explanation


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


class FindingLike(Protocol):
    """What a preflight finding has (``vouchers.preflight.Finding``), without the ledger depending on vouchers."""

    @property
    def code(self) -> str: ...
    @property
    def sv(self) -> str: ...
    @property
    def en(self) -> str: ...
    @property
    def subject(self) -> str: ...


class FailureFinding(BaseModel):
    """One thing preflight found wrong in the tenant's Fortnox setup or mapping, with where to fix it."""

    code: str
    sv: str
    en: str
    subject: str


class FailureRecord(BaseModel):
    """Why the last export of a document was refused, as the bookkeeper is told it, with Fortnox's own words kept
    beside the fix."""

    code: int | None = None
    fortnox_message: str = ""
    sv: str
    en: str
    findings: list[FailureFinding] = []
    tenant_fixable: bool
    """The cause is in the tenant's Fortnox setup or mapping: once fixed, the same event goes through (retry-failed
    replays these and only these)."""
    failed_at: datetime


class ManualMark(BaseModel):
    """A person confirmed the document is in Fortnox by other means (typed in, imported as SIE): the bridge never
    exports it again. Kept apart from ``fortnox_id``, so a bookkeeper can tell it from what the bridge sent."""

    reason: str = Field(min_length=1, max_length=500)
    at: datetime


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
    failure: FailureRecord | None = None
    """Why the last attempt was refused, explained; cleared when the document is confirmed."""
    failure_told: datetime | None = None
    """``failed_at`` of the failure a digest e-mail told: that failure is told once, a later one is news again."""
    event_body: str | None = None
    """The event last refused, exactly as it came, so a retry can send it again once the cause is fixed."""
    marked_exported: ManualMark | None = None
    exported_at: datetime | None = None
    """When the document last came to rest in Fortnox: confirmed, marked as exported by hand, or given up on while
    in Fortnox (or perhaps in it). The same write sets its GSI2 keys, which list it among the newest exports."""
    updated_at: datetime

    @property
    def scope(self) -> ExportScope:
        return ExportScope(self.tenant_id, self.fortnox_company)


class LedgerPage(BaseModel):
    entries: list[LedgerEntry]
    next_start: tuple[str, str] | None
    """``(kind, business_key)`` to pass as ``start`` for the next page; None on the last."""


def _start_of(entry: LedgerEntry) -> tuple[str, str]:
    return (entry.kind, entry.business_key)


class LeaseHeld(RetryableError):
    """Another worker holds the document; try again after its lease."""


class MarkedExported(BadInputError):
    """A person marked the document as exported by hand: the bridge never sends it, whatever arrives later."""

    def __init__(self, kind: str, business_key: str, mark: ManualMark) -> None:
        super().__init__(f"{kind} {business_key} was marked as exported by hand on {mark.at:%Y-%m-%d}: {mark.reason}")
        self.kind = kind
        self.business_key = business_key
        self.mark = mark


class NotMarkable(BadInputError):
    """Only a failed document can be marked as exported by hand: anything else is, or may be, in Fortnox."""


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
        re-export that may update the document). One marked as exported by hand raises ``MarkedExported``, reopen
        or not: the bridge has no number of it to update, and creating it would put it in Fortnox twice."""
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
                    "attribute_not_exists(PK) OR (attribute_not_exists(marked_exported) AND "
                    "(#state <> :confirmed OR :reopen = :yes) AND "
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
            if existing is not None and existing.marked_exported is not None:
                raise MarkedExported(kind, business_key, existing.marked_exported) from None
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
        if state is ExportState.CONFIRMED:
            listed, listed_values = _listed_as_exported(entry.scope)
            sets.append(listed)
            values.update(listed_values)
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
                # In Fortnox, or perhaps in it: it comes to rest here, and is listed among the newest exports.
                listed, listed_values = _listed_as_exported(scope)
                values[":sent"] = ExportState.SENT.value
                values.update(listed_values)
                attributes = self._table.update_item(
                    Key=key,
                    UpdateExpression=f"SET {sets}, {listed}",
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

    def record_refusal(
        self,
        scope: ExportScope,
        kind: str,
        business_key: str,
        *,
        explanation: "Explanation",
        event_body: str,
        findings: Sequence[FindingLike] = (),
        owner: str | None = None,
    ) -> LedgerEntry | None:
        """Keep why the document was refused, explained, and the event itself, so the failure can be listed with
        its fix and sent again once fixed. Only a document that is not in Fortnox becomes ``failed``: one with a
        number (a refused change), one whose create may have gone through, and one marked as exported by hand
        keep their state, and None is returned. So is None while another worker than ``owner`` holds a live lease:
        its outcome is the one that counts."""
        now = datetime.now(UTC)
        failure = FailureRecord(
            code=explanation.code,
            fortnox_message=explanation.fortnox_message,
            sv=explanation.sv,
            en=explanation.en,
            findings=[FailureFinding(code=f.code, sv=f.sv, en=f.en, subject=f.subject) for f in findings],
            tenant_fixable=explanation.tenant_fixable,
            failed_at=now,
        )
        try:
            attributes = self._table.update_item(
                Key=_key(scope, kind, business_key),
                UpdateExpression=(
                    "SET #state = :failed, failure = :failure, event_body = :body, last_error = :err, "
                    "updated_at = :now, tenant_id = :tenant, fortnox_company = :company, kind = :kind, "
                    "business_key = :bkey, attempts = if_not_exists(attempts, :zero) "
                    "REMOVE lease_owner, lease_until"
                ),
                ConditionExpression=(
                    "attribute_not_exists(PK) OR (attribute_not_exists(fortnox_id) AND "
                    "attribute_not_exists(marked_exported) AND #state IN (:claimed, :failed) AND "
                    "(attribute_not_exists(lease_until) OR lease_until < :now OR lease_owner = :owner))"
                ),
                ExpressionAttributeNames={"#state": "state"},
                ExpressionAttributeValues={
                    ":failed": ExportState.FAILED.value,
                    ":claimed": ExportState.CLAIMED.value,
                    ":failure": failure.model_dump(mode="json"),
                    ":body": event_body,
                    ":err": explanation.en[:1000],
                    ":now": now.isoformat(),
                    ":tenant": scope.tenant,
                    ":company": scope.company,
                    ":kind": kind,
                    ":bkey": business_key,
                    ":zero": 0,
                    ":owner": owner or "-",
                },
                ReturnValues="ALL_NEW",
            )["Attributes"]
        except ClientError as error:
            if is_condition_failure(error):
                return None
            raise
        FailureNotes(self._table).note(scope.tenant, now)
        return LedgerEntry.model_validate(plain(attributes))

    def mark_told(self, entry: LedgerEntry) -> None:
        """A digest e-mail told ``entry``'s failure: the next digest passes over it. Only that very failure: one
        recorded since (another ``failed_at``) stays news, and an entry that moved on is left alone."""
        if entry.failure is None:
            return
        failed_at = entry.failure.model_dump(mode="json")["failed_at"]  # as ``record_refusal`` wrote it
        try:
            self._table.update_item(
                Key=_key(entry.scope, entry.kind, entry.business_key),
                UpdateExpression="SET failure_told = :failed_at",
                ConditionExpression="failure.failed_at = :failed_at",
                ExpressionAttributeValues={":failed_at": failed_at},
            )
        except ClientError as error:
            if not is_condition_failure(error):
                raise

    def mark_exported(self, scope: ExportScope, kind: str, business_key: str, *, reason: str) -> LedgerEntry:
        """A person put the document in Fortnox by hand (typed in, or imported as SIE): the entry is confirmed with
        the mark and no Fortnox number, and no later delivery exports it. Only a failed entry with no live lease can
        be marked; anything else raises ``NotMarkable`` (it is, or may be, in Fortnox already)."""
        now = datetime.now(UTC)
        mark = ManualMark(reason=reason, at=now)
        listed, listed_values = _listed_as_exported(scope)
        try:
            attributes = self._table.update_item(
                Key=_key(scope, kind, business_key),
                UpdateExpression=f"SET #state = :confirmed, marked_exported = :mark, updated_at = :now, {listed}",
                ConditionExpression=(
                    "#state = :failed AND attribute_not_exists(fortnox_id) AND "
                    "(attribute_not_exists(lease_until) OR lease_until < :now)"
                ),
                ExpressionAttributeNames={"#state": "state"},
                ExpressionAttributeValues={
                    ":confirmed": ExportState.CONFIRMED.value,
                    ":failed": ExportState.FAILED.value,
                    ":mark": mark.model_dump(mode="json"),
                    ":now": now.isoformat(),
                    **listed_values,
                },
                ReturnValues="ALL_NEW",
            )["Attributes"]
        except ClientError as error:
            if is_condition_failure(error):
                raise NotMarkable(f"{kind} {business_key} is not a failed export, so it is not marked") from None
            raise
        return LedgerEntry.model_validate(plain(attributes))

    def recent(self, scope: ExportScope, *, limit: int) -> list[LedgerEntry]:
        """The company's ``limit`` most recently exported documents, newest first, as their ledger entries are now;
        a failed one is passed over. GSI2 holds the keys of exported entries by ``exported_at``: it is read newest
        first, a page of ``limit`` at a time, and each page's entries in one consistent batch read. The index is
        eventually consistent, so an export of the last moment may be missing for that moment; its state never
        lags, since it is read from the entry."""
        found: list[LedgerEntry] = []
        query: dict[str, Any] = {
            "IndexName": EXPORTED_INDEX,
            "KeyConditionExpression": "GSI2PK = :company",
            "ExpressionAttributeValues": {":company": company_partition(scope.tenant, scope.company)},
            "ScanIndexForward": False,
            "Limit": limit,
        }
        while True:
            page = self._table.query(**query)
            keys = [{"PK": str(item["PK"]), "SK": str(item["SK"])} for item in page.get("Items", [])]
            entries = {item["SK"]: LedgerEntry.model_validate(plain(item)) for item in batch_get(self._table, keys)}
            for key in keys:
                entry = entries.get(key["SK"])
                if entry is None or entry.state is ExportState.FAILED:
                    continue
                found.append(entry)
                if len(found) == limit:
                    return found
            if "LastEvaluatedKey" not in page:
                return found
            query["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def list(
        self,
        scope: ExportScope,
        *,
        state: ExportState | None = None,
        limit: int = 50,
        start: tuple[str, str] | None = None,
    ) -> LedgerPage:
        """The company's export entries in key order (kind, then business key), ``limit`` at a time, optionally only
        those in ``state``; ``start`` is the ``(kind, business_key)`` of the last entry of the previous page."""
        entries: list[LedgerEntry] = []
        query: dict[str, Any] = {
            "KeyConditionExpression": "PK = :pk AND begins_with(SK, :prefix)",
            "ExpressionAttributeValues": {
                ":pk": company_partition(scope.tenant, scope.company),
                ":prefix": ledger_prefix(),
            },
            "ConsistentRead": True,
        }
        if state is not None:
            query["FilterExpression"] = "#state = :state"
            query["ExpressionAttributeNames"] = {"#state": "state"}
            query["ExpressionAttributeValues"][":state"] = state.value
        if start is not None:
            query["ExclusiveStartKey"] = _key(scope, *start)
        while True:
            page = self._table.query(**query, Limit=limit - len(entries))
            entries += [LedgerEntry.model_validate(plain(item)) for item in page.get("Items", [])]
            last = page.get("LastEvaluatedKey")
            if last is None:
                return LedgerPage(entries=entries, next_start=None)
            if len(entries) >= limit:
                return LedgerPage(entries=entries, next_start=_start_of(entries[-1]))
            query["ExclusiveStartKey"] = last


def _listed_as_exported(scope: ExportScope) -> tuple[str, dict[str, str]]:
    """The SET clause, and its values, that brings an entry to rest in Fortnox now: ``exported_at`` and the GSI2 keys
    that list it, in the one write that moves the entry, so DynamoDB keeps the list with no write of ours."""
    at = datetime.now(UTC).isoformat(timespec="microseconds")
    attributes = {"exported_at": at, **exported_index_keys(scope.tenant, scope.company, at)}
    values = {f":{name}": value for name, value in attributes.items()}
    return ", ".join(f"{name} = :{name}" for name in attributes), values


class PaymentFailureNote(BaseModel):
    """Payment polls of the tenant stopped working for a reason a person must fix, since ``since``: the fix as the
    poll recorded it, for the next digest. Removed by the first poll that succeeds again, and by a digest that will
    not tell it (payment sync off, another company connected); a poll still failing then notes it again."""

    company: FortnoxTenantId
    since: datetime
    sv: str
    en: str


class DigestState(BaseModel):
    tenant_id: TenantId
    last_noted_at: datetime | None = None
    last_sent_at: datetime | None = None
    told_until: datetime | None = None
    """Written by digests before each failure carried its own ``failure_told``, and no longer: failures recorded up
    to this time were in an e-mail already (or counted as such)."""
    payment_failure: PaymentFailureNote | None = None
    payment_failure_told: datetime | None = None
    """``since`` of the payment failure last e-mailed: a failing poll is told once, not at every tick."""


class FailureNotes(StoreBase):
    """Which tenants have failures recorded that their bookkeeper has not been e-mailed about: one item per tenant,
    in GSI1 while something waits, so the digest reads the waiting tenants and nobody else."""

    def note(self, tenant: TenantId, at: datetime | None = None) -> None:
        when = (at or datetime.now(UTC)).isoformat()
        self._table.update_item(
            Key=digest_key(tenant),
            UpdateExpression=(
                "SET GSI1PK = :pending, GSI1SK = if_not_exists(GSI1SK, :at), last_noted_at = :at, tenant_id = :tenant"
            ),
            ExpressionAttributeValues={":pending": DIGEST_PENDING, ":at": when, ":tenant": tenant},
        )

    def note_payment_failure(self, tenant: TenantId, failure: PaymentFailureNote, *, at: datetime) -> None:
        """Payment polls started failing for a reason a person must fix: the next digest tells it."""
        self._table.update_item(**self._payment_failure_noted(tenant, failure, at))

    def note_payment_failure_if_missing(self, tenant: TenantId, failure: PaymentFailureNote, *, at: datetime) -> None:
        """Payment polls are still failing: note it again if no note of ``failure.company`` is there (the digest
        dropped it, or it names a company the tenant has come back from). A note that is there, told or not, stays
        as it is, so a failure is told once."""
        noted = self._payment_failure_noted(tenant, failure, at)
        noted["ExpressionAttributeValues"][":company"] = failure.company
        try:
            self._table.update_item(
                **noted,
                ConditionExpression="attribute_not_exists(payment_failure) OR payment_failure.company <> :company",
            )
        except ClientError as error:
            if not is_condition_failure(error):
                raise

    @staticmethod
    def _payment_failure_noted(tenant: TenantId, failure: PaymentFailureNote, at: datetime) -> dict[str, Any]:
        # ``last_noted_at`` is the time of this write, not the failure's start: a digest that read the item before
        # it must see that something was noted since, or its settle would take the tenant out of GSI1 untold.
        return {
            "Key": digest_key(tenant),
            "UpdateExpression": (
                "SET payment_failure = :failure, GSI1PK = :pending, GSI1SK = if_not_exists(GSI1SK, :at), "
                "last_noted_at = :at, tenant_id = :tenant"
            ),
            "ExpressionAttributeValues": {
                ":failure": failure.model_dump(mode="json"),
                ":pending": DIGEST_PENDING,
                ":at": at.isoformat(),
                ":tenant": tenant,
            },
        }

    def drop_payment_failure(self, tenant: TenantId, failure: PaymentFailureNote) -> None:
        """The digest will not tell ``failure`` (payment sync is off, or it names a company the tenant is not
        connected to): remove it, so a poll that fails again later notes it afresh. Only this very note: one noted
        since is left for the digest."""
        dumped = failure.model_dump(mode="json")  # as ``note_payment_failure`` wrote it
        try:
            self._table.update_item(
                Key=digest_key(tenant),
                UpdateExpression="REMOVE payment_failure",
                ConditionExpression="payment_failure.company = :company AND payment_failure.since = :since",
                ExpressionAttributeValues={":company": dumped["company"], ":since": dumped["since"]},
            )
        except ClientError as error:
            if not is_condition_failure(error):
                raise

    def clear_payment_failure(self, tenant: TenantId, company: FortnoxTenantId) -> None:
        """A poll of ``company`` succeeded: its failure is no longer news, told or not."""
        try:
            self._table.update_item(
                Key=digest_key(tenant),
                UpdateExpression="REMOVE payment_failure, payment_failure_told",
                ConditionExpression="payment_failure.company = :company",
                ExpressionAttributeValues={":company": company},
            )
        except ClientError as error:
            if not is_condition_failure(error):
                raise
            # No failure noted, or one of another company the tenant has since left: nothing of this one to clear.

    def pending(self) -> list[DigestState]:
        """Every tenant with failures waiting to be told, longest waiting first."""
        states: list[DigestState] = []
        query: dict[str, Any] = {
            "IndexName": DIGEST_INDEX,
            "KeyConditionExpression": "GSI1PK = :pending",
            "ExpressionAttributeValues": {":pending": DIGEST_PENDING},
        }
        while True:
            page = self._table.query(**query)
            states += [DigestState.model_validate(plain(item)) for item in page.get("Items", [])]
            if "LastEvaluatedKey" not in page:
                return states
            query["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def claim_send(self, tenant: TenantId, now: datetime, interval: timedelta) -> bool:
        """Take the tenant's one e-mail of this interval; False when one went out less than ``interval`` ago (or
        another digest run took it a moment ago)."""
        try:
            self._table.update_item(
                Key=digest_key(tenant),
                UpdateExpression="SET last_sent_at = :now",
                ConditionExpression="attribute_not_exists(last_sent_at) OR last_sent_at <= :cutoff",
                ExpressionAttributeValues={":now": now.isoformat(), ":cutoff": (now - interval).isoformat()},
            )
        except ClientError as error:
            if is_condition_failure(error):
                return False
            raise
        return True

    def unclaim(self, tenant: TenantId, now: datetime, previous: datetime | None) -> None:
        """The e-mail could not be sent: give the interval's slot back, unless another run has moved on since."""
        values: dict[str, Any] = {":now": now.isoformat()}
        expression = "REMOVE last_sent_at"
        if previous is not None:
            expression = "SET last_sent_at = :previous"
            values[":previous"] = previous.isoformat()
        try:
            self._table.update_item(
                Key=digest_key(tenant),
                UpdateExpression=expression,
                ConditionExpression="last_sent_at = :now",
                ExpressionAttributeValues=values,
            )
        except ClientError as error:
            if not is_condition_failure(error):
                raise

    def payment_failure_was_told(self, tenant: TenantId, failure: PaymentFailureNote) -> None:
        """An e-mail told ``failure``: the digest tells it no more while it lasts (``payment_failure_told``). Written
        whatever was noted meanwhile, and only while that failure is noted: a poll that succeeded since has removed
        it, and a new failure (another ``since``) is news again."""
        dumped = failure.model_dump(mode="json")  # as ``note_payment_failure`` wrote it
        try:
            self._table.update_item(
                Key=digest_key(tenant),
                UpdateExpression="SET payment_failure_told = :since",
                ConditionExpression="payment_failure.company = :company AND payment_failure.since = :since",
                ExpressionAttributeValues={":company": dumped["company"], ":since": dumped["since"]},
            )
        except ClientError as error:
            if not is_condition_failure(error):
                raise

    def settle(self, tenant: TenantId, *, seen: DigestState) -> None:
        """Everything noted up to ``seen`` is told (or there is nobody to tell): out of GSI1, unless a failure was
        noted meanwhile, which keeps the tenant waiting for the next interval. What an e-mail told is recorded
        apart (``ExportLedger.mark_told``, ``payment_failure_was_told``), so a note landing meanwhile neither loses
        it nor has it told again."""
        try:
            self._table.update_item(
                Key=digest_key(tenant),
                UpdateExpression="REMOVE GSI1PK, GSI1SK",
                ConditionExpression="attribute_not_exists(last_noted_at) OR last_noted_at = :seen",
                ExpressionAttributeValues={":seen": seen.last_noted_at.isoformat() if seen.last_noted_at else ""},
            )
        except ClientError as error:
            if not is_condition_failure(error):
                raise
