"""What the status page does for the tenant of a verified status link: read its connection and exports, and act on
one export through the review. The tenant always comes from the link, never from the request, so an export id of
another tenant is looked up in this tenant's ledger and is not found."""

import unicodedata
from dataclasses import dataclass
from typing import Literal

from fortnox_bridge.connect.endings import ending
from fortnox_bridge.export.explanations import Explanation, ExportRefused
from fortnox_bridge.export.review import ExportConflict, ExportReview, SieFile, UnknownExport
from fortnox_bridge.export.review import ExportView as ReviewedExport
from fortnox_bridge.ids import TenantId
from fortnox_bridge.status.page import ConnectionView, ExportLine, FailureView, Flash, Overview, PaymentsView
from fortnox_bridge.status.payments import PaymentSyncOverview, PaymentSyncState, PaymentSyncView
from fortnox_bridge.store.connections import Connection, ConnectionStore
from fortnox_bridge.store.ledger import ExportLedger, ExportScope, ExportState, LedgerEntry
from fortnox_bridge.store.tenants import TenantStore

RECENT = 20
"""Exports shown under "recent", newest first."""
SCANNED = 500
"""Entries exported before the ledger kept its exports by time have no ``exported_at`` (and are not in GSI2): while
the newest are fewer than ``RECENT``, they are picked from this many, in key order (the page is read rarely)."""
FAILED_SHOWN = 100
REASON_LENGTH = 500
UNPRINTABLE = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
"""Control, format (bidi overrides, zero-width), surrogate, private-use and unassigned characters, and line breaks: a
one-line reason typed into a form holds none of them."""


class NoSieFile(Exception):
    """The export is not a failed voucher with its event kept."""


class SieUnbuildable(Exception):
    """Today's mapping cannot make the voucher (a key or account no longer mapped, say): the fix in both languages."""

    def __init__(self, explanation: Explanation) -> None:
        super().__init__(explanation.en)
        self.explanation = explanation


def _line(export: ReviewedExport) -> ExportLine:
    states: dict[str, Literal["failed", "exported", "marked"]] = {
        "failed": "failed",
        "confirmed": "exported",
        "marked_exported": "marked",
    }
    failure = export.failure
    return ExportLine(
        export_id=export.export_id,
        kind=export.kind,
        business_key=export.business_key,
        state=states.get(export.status, "in_progress"),
        updated_at=export.updated_at,
        fortnox_id=export.fortnox_id,
        failure=None
        if failure is None
        else FailureView(
            sv=failure.sv,
            en=failure.en,
            code=failure.code,
            fortnox_message=failure.fortnox_message,
            findings=tuple((finding.sv, finding.en) for finding in failure.findings),
        ),
        marked_reason=export.marked_exported.reason if export.marked_exported is not None else None,
        retryable=export.retryable,
        sie=export.kind == "voucher" and export.retryable,
    )


def _exported_unlisted(ledger: ExportLedger, scope: ExportScope) -> list[LedgerEntry]:
    """Exports confirmed before exports were kept by time, from the first ``SCANNED`` entries in key order."""
    found: list[LedgerEntry] = []
    start: tuple[str, str] | None = None
    for _ in range(0, SCANNED, 100):
        page = ledger.list(scope, limit=100, start=start)
        found += [e for e in page.entries if e.exported_at is None and e.state is ExportState.CONFIRMED]
        if page.next_start is None:
            break
        start = page.next_start
    return found


def _payments(view: PaymentSyncView) -> PaymentsView | None:
    if view.state is PaymentSyncState.OFF:
        return None
    counts = view.last_counts
    return PaymentsView(
        state=view.state.value,
        fix=(view.reason_sv, view.reason_en) if view.reason_sv and view.reason_en else None,
        last_poll_at=view.last_poll_at,
        last_outcome=view.last_outcome.value if view.last_outcome is not None else None,
        received=counts.received,
        changed=counts.changed,
        removed=counts.removed,
        cursor=view.cursor,
        # Not connected, the schedule's time is no poll: the fan-out skips the tenant until it reconnects, and a
        # "next poll" long past beside "nothing is fetched" would contradict it.
        next_due=view.next_due if view.state is not PaymentSyncState.NOT_CONNECTED else None,
        resync_from=view.resync_from,
    )


@dataclass(frozen=True)
class StatusService:
    tenants: TenantStore
    connections: ConnectionStore
    review: ExportReview
    payments: PaymentSyncOverview
    ledger: ExportLedger

    def overview(self, tenant_id: TenantId) -> Overview:
        tenant = self.tenants.require(tenant_id)
        connection = self.connections.get(tenant_id)
        failed = self.review.list(tenant_id, status="failed", limit=FAILED_SHOWN).exports
        recent = self._recent(connection)
        return Overview(
            tenant_name=tenant.display_name,
            language=tenant.settings.language,
            connection=None
            if connection is None
            else ConnectionView(
                state=connection.state.value,
                company_name=connection.company_name,
                organisation_number=connection.organisation_number,
                reason=connection.reason,
                ending=ending(connection),
            ),
            failed=[_line(e) for e in sorted(failed, key=lambda e: e.updated_at, reverse=True)],
            recent=[_line(e) for e in recent],
            payments=_payments(self.payments.view_of(tenant, connection)),
        )

    def _recent(self, connection: Connection | None) -> list[ReviewedExport]:
        """The newest exports by the time each was exported, read newest first without reading the whole ledger."""
        if connection is None:
            return []
        scope = ExportScope(connection.tenant_id, connection.fortnox_tenant_id)
        recent = self.ledger.recent(scope, limit=RECENT)
        if len(recent) < RECENT:
            recent += sorted(_exported_unlisted(self.ledger, scope), key=lambda e: e.updated_at, reverse=True)
        return [ReviewedExport.of(entry) for entry in recent[:RECENT]]

    def language(self, tenant_id: TenantId) -> str:
        return self.tenants.require(tenant_id).settings.language

    def retry(self, tenant_id: TenantId, export_id: str) -> Flash:
        try:
            self.review.retry(tenant_id, export_id)
        except UnknownExport:
            return "not_found"
        except ExportConflict:
            return "not_retryable"
        return "retried"

    def mark_exported(self, tenant_id: TenantId, export_id: str, reason: str | None) -> Flash:
        reason = (reason or "").strip()
        if not reason or len(reason) > REASON_LENGTH:
            return "reason_missing"
        if any(unicodedata.category(char) in UNPRINTABLE for char in reason):
            # The reason is shown to the next bookkeeper and in the management API: a bidi override would make it
            # read otherwise than it was typed, and a control character shows as nothing.
            return "reason_unprintable"
        try:
            self.review.mark_exported(tenant_id, export_id, reason)
        except UnknownExport:
            return "not_found"
        except ExportConflict:
            return "not_markable"
        return "marked"

    def sie(self, tenant_id: TenantId, export_id: str) -> SieFile:
        """Raises ``UnknownExport`` for an export this tenant does not have, ``NoSieFile`` for one that has no SIE,
        ``SieUnbuildable`` for a voucher today's mapping cannot make."""
        try:
            return self.review.sie(tenant_id, export_id)
        except ExportConflict:
            raise NoSieFile(export_id[:100]) from None
        except ExportRefused as refused:
            raise SieUnbuildable(refused.explanation) from None
