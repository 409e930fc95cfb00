"""A tenant's exports as a bookkeeper reviews them: what failed and how to fix it, send it again once fixed, mark it
as put in Fortnox by hand, or take a failed voucher as an SIE file to import instead of retyping it.

Everything is scoped to the tenant's current Fortnox company (the ledger's company partition): an export id names a
(kind, business key) in that partition only, so another tenant's id, or one of the company the tenant left, is simply
not found.
"""

import base64
import binascii
import builtins
import re
from collections.abc import Callable
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel

from fortnox_bridge.errors import BadInputError
from fortnox_bridge.ids import TenantId
from fortnox_bridge.store.connections import ConnectionStore
from fortnox_bridge.store.ledger import (
    ExportLedger,
    ExportScope,
    ExportState,
    FailureRecord,
    LedgerEntry,
    ManualMark,
    NotMarkable,
)
from fortnox_bridge.store.mappings import MappingStore
from fortnox_bridge.store.tenants import TenantStore

ExportId = str
"""``{kind}.{business key as unpadded base64url}``: safe in a URL path whatever the business key holds."""

INVOICE_KINDS = frozenset({"invoice", "credit_note", "credit"})
VOUCHER_KIND = "voucher"
_KIND = re.compile(r"^[a-z][a-z_]{0,31}$")
_KEY = re.compile(r"^[A-Za-z0-9_-]{1,700}$")

Status = Literal["claimed", "sent", "created", "confirmed", "failed", "marked_exported"]


def export_id(kind: str, business_key: str) -> ExportId:
    encoded = base64.urlsafe_b64encode(business_key.encode()).rstrip(b"=").decode()
    return f"{kind}.{encoded}"


def parse_export_id(value: str) -> tuple[str, str] | None:
    """``(kind, business_key)``, or None for anything that is not an export id this module made."""
    kind, dot, encoded = value.partition(".")
    if not dot or not _KIND.match(kind) or not _KEY.match(encoded) or len(encoded) % 4 == 1:
        return None
    try:
        key = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    if not key or export_id(kind, key) != value:
        return None
    return kind, key


class UnknownExport(BadInputError):
    """No such export in the tenant's company (or not an export id at all): said the same way either way."""


class ExportConflict(BadInputError):
    """The export exists but is not in a state for what was asked."""


class ExportView(BaseModel):
    export_id: ExportId
    kind: str
    business_key: str
    status: Status
    fortnox_id: str | None
    attempts: int
    updated_at: datetime
    failure: FailureRecord | None
    """Why it failed: the fix in Swedish and English, Fortnox's code and message beside it."""
    marked_exported: ManualMark | None
    retryable: bool
    """Failed, with the event kept, so it can be sent again."""

    @classmethod
    def of(cls, entry: LedgerEntry) -> "ExportView":
        status: Status = "marked_exported" if entry.marked_exported is not None else entry.state.value
        return cls(
            export_id=export_id(entry.kind, entry.business_key),
            kind=entry.kind,
            business_key=entry.business_key,
            status=status,
            fortnox_id=entry.fortnox_id,
            attempts=entry.attempts,
            updated_at=entry.updated_at,
            failure=entry.failure if entry.state is ExportState.FAILED or entry.marked_exported else None,
            marked_exported=entry.marked_exported,
            retryable=_retryable(entry),
        )


class ExportPage(BaseModel):
    exports: list[ExportView]
    next: str | None
    """Pass as ``start`` for the next page; None on the last."""


class SieFile(BaseModel):
    filename: str
    content: bytes


def _retryable(entry: LedgerEntry) -> bool:
    return entry.state is ExportState.FAILED and entry.marked_exported is None and entry.event_body is not None


QueueFor = Callable[[str], str]
"""The queue URL of an export kind."""
Send = Callable[[str, str], None]
"""Send a message body to a queue URL."""


class ExportReview:
    def __init__(
        self,
        *,
        tenants: TenantStore,
        connections: ConnectionStore,
        ledger: ExportLedger,
        mappings: MappingStore,
        queue_for: QueueFor,
        send: Send,
        invalidate_setup: Callable[[ExportScope], None],
        today: Callable[[], date],
    ) -> None:
        self._tenants = tenants
        self._connections = connections
        self._ledger = ledger
        self._mappings = mappings
        self._queue_for = queue_for
        self._send = send
        self._invalidate_setup = invalidate_setup
        self._today = today

    def list(
        self, tenant: TenantId, *, status: Literal["failed"] | None = None, limit: int = 50, start: str | None = None
    ) -> ExportPage:
        scope = self._scope(tenant)
        if scope is None:
            return ExportPage(exports=[], next=None)
        after = parse_export_id(start) if start is not None else None
        if start is not None and after is None:
            raise BadInputError("start is not a value this list gave as next")
        page = self._ledger.list(
            scope, state=ExportState.FAILED if status == "failed" else None, limit=limit, start=after
        )
        return ExportPage(
            exports=[ExportView.of(entry) for entry in page.entries],
            next=export_id(*page.next_start) if page.next_start is not None else None,
        )

    def get(self, tenant: TenantId, export: ExportId) -> ExportView:
        return ExportView.of(self._entry(tenant, export)[1])

    def retry(self, tenant: TenantId, export: ExportId) -> ExportView:
        """Send the failed export's event again to its kind's queue, after forgetting the cached Fortnox setup (the
        bookkeeper has just changed it)."""
        scope, entry = self._entry(tenant, export)
        if entry.marked_exported is not None:
            raise ExportConflict(f"{export} is marked as exported by hand and is not sent again")
        if entry.state is not ExportState.FAILED:
            raise ExportConflict(
                f"{export} has not failed (it is {entry.state.value}); only a failed export is retried"
            )
        if entry.event_body is None:
            raise ExportConflict(f"{export} has no stored event to send again; send the event again upstream")
        self._invalidate_setup(scope)
        self._send(self._queue_for(entry.kind), entry.event_body)
        return ExportView.of(entry)

    def retry_failed(self, tenant: TenantId) -> builtins.list[ExportId]:
        """Send again every failed export whose cause the tenant can fix (and has, or the same refusal comes back):
        not those refused for something in the event itself, which would only fail again."""
        scope = self._scope(tenant)
        if scope is None:
            return []
        replayed: list[ExportId] = []
        invalidated = False
        start: tuple[str, str] | None = None
        while True:
            page = self._ledger.list(scope, state=ExportState.FAILED, limit=100, start=start)
            for entry in page.entries:
                if not _retryable(entry) or entry.failure is None or not entry.failure.tenant_fixable:
                    continue
                if not invalidated:
                    self._invalidate_setup(scope)
                    invalidated = True
                assert entry.event_body is not None  # _retryable
                self._send(self._queue_for(entry.kind), entry.event_body)
                replayed.append(export_id(entry.kind, entry.business_key))
            if page.next_start is None:
                return replayed
            start = page.next_start

    def mark_exported(self, tenant: TenantId, export: ExportId, reason: str) -> ExportView:
        scope, entry = self._entry(tenant, export)
        try:
            marked = self._ledger.mark_exported(scope, entry.kind, entry.business_key, reason=reason)
        except NotMarkable:
            raise ExportConflict(
                f"{export} is {entry.state.value}, not failed; only a failed export is marked as exported by hand"
            ) from None
        return ExportView.of(marked)

    def sie(self, tenant: TenantId, export: ExportId) -> SieFile:
        """A voucher as an SIE 4 file, rebuilt from its stored event and today's mapping, for import into Fortnox."""
        # Imported here: the sales-day contracts, the journal and the SIE writer are most of the voucher code, and
        # the management API and the status page load this module at every cold start for far more common calls.
        from fortnox_bridge.contracts.intake import RefusedBody, parse_voucher_event
        from fortnox_bridge.vouchers.journal import journal_for
        from fortnox_bridge.vouchers.sie import sie4

        scope, entry = self._entry(tenant, export)
        if entry.kind != VOUCHER_KIND:
            raise ExportConflict(f"{export} is not a voucher; only vouchers are given as SIE files")
        if entry.event_body is None:
            raise ExportConflict(f"{export} has no stored event to build the voucher from")
        connection = self._connections.get(scope.tenant)
        assert connection is not None  # _entry found the scope through it
        try:
            event = parse_voucher_event(entry.event_body)
        except RefusedBody as refused:
            raise ExportConflict(f"{export}'s stored event is not a voucher event any more: {refused.reason}") from None
        journal = journal_for(event, self._mappings.get(scope.tenant))
        generated = self._today()
        content = sie4(
            journal,
            company_name=connection.company_name,
            organisation_number=connection.organisation_number,
            generated=generated,
        )
        return SieFile(filename=sie_filename(entry, generated), content=content)

    def _scope(self, tenant: TenantId) -> ExportScope | None:
        self._tenants.require(tenant)
        connection = self._connections.get(tenant)
        return None if connection is None else ExportScope(tenant, connection.fortnox_tenant_id)

    def _entry(self, tenant: TenantId, export: ExportId) -> tuple[ExportScope, LedgerEntry]:
        parsed = parse_export_id(export)
        scope = self._scope(tenant)
        entry = self._ledger.get(scope, *parsed) if parsed is not None and scope is not None else None
        if scope is None or entry is None:
            # The id is not echoed: whatever was sent, the answer is the same.
            raise UnknownExport(f"tenant {tenant} has no such export")
        return scope, entry


def sie_filename(entry: LedgerEntry, day: date) -> str:
    """``voucher-{business key}.se`` with anything not safe in a file name replaced."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", entry.business_key).strip("._") or "voucher"
    return f"voucher-{safe}-{day.isoformat()}.se"
