"""A tenant's payment sync as the tenant sets and sees it: what the bridge tells about it, a re-sync from a date,
and the webhook a settings change may name. The management API answers with this view and the status page shows it,
so the two never disagree. Everything is read for the tenant's current Fortnox company: a tenant that reconnects to
another company sees that company's sync, which starts clean."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING

from pydantic import BaseModel

from fortnox_bridge.connect.scopes import BY_FEATURE
from fortnox_bridge.contracts.invoices import YEARS_KEPT
from fortnox_bridge.errors import BadInputError, BridgeError
from fortnox_bridge.ids import FortnoxTenantId, TenantId
from fortnox_bridge.store.connections import Connection, ConnectionState, ConnectionStore
from fortnox_bridge.store.ledger import ExportScope
from fortnox_bridge.store.payment_schedule import PaymentSchedule
from fortnox_bridge.store.payment_sync import PaymentSyncStatus, PaymentSyncStore, PollOutcome
from fortnox_bridge.store.tenants import Feature, PaymentSyncSettings, Tenant, TenantSettings, TenantStore
from fortnox_bridge.webhooks.destination import DestinationRefused, HostNotFound, check_destination

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

SWEDEN_AHEAD = timedelta(hours=2)
"""Sweden is one or two hours ahead of UTC: "today" typed in Sweden just after midnight has not begun in UTC."""
NEEDED_SCOPES = BY_FEATURE[Feature.PAYMENT_SYNC]


class PaymentSyncState(StrEnum):
    OFF = "off"
    """``payment_sync`` is not among the tenant's features."""
    NOT_CONNECTED = "not_connected"
    """No usable Fortnox connection: nothing is polled, and nothing is lost (the cursor waits)."""
    MISSING_ACCESS = "missing_access"
    """Connected before payment sync was switched on, without Fortnox's payment access."""
    PENDING = "pending"
    """On and connected, and no poll has told otherwise yet."""
    OK = "ok"
    FAILED = "failed"


class SyncConnection(BaseModel):
    state: ConnectionState
    company_name: str
    fortnox_tenant_id: FortnoxTenantId


class PollCounts(BaseModel):
    """What the last poll sent upstream."""

    received: int = 0
    changed: int = 0
    removed: int = 0


class PaymentSyncView(BaseModel):
    tenant_id: TenantId
    enabled: bool
    state: PaymentSyncState
    reason_sv: str | None
    """What the state means and what to do about it, when there is something to do."""
    reason_en: str | None
    settings: PaymentSyncSettings
    connection: SyncConnection | None
    last_poll_at: datetime | None
    last_outcome: PollOutcome | None
    last_counts: PollCounts
    cursor: datetime | None
    """Fortnox's ``lastmodified`` the next poll reads from (before its overlap)."""
    next_due: datetime | None
    """When the schedule polls next; none while payment sync is off."""
    resync_from: date | None
    """A re-sync the next poll will do: every payment modified on or after this day is sent upstream again."""


class ResyncRefused(BridgeError):
    """A re-sync that cannot be done while the tenant is as it is: ``kind`` says why, the message what to do."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


class ResyncDateRefused(BadInputError):
    """The date is in the future or older than any book a Swedish company keeps."""


def resync_window(now: datetime) -> tuple[date, date]:
    """The days a re-sync may start from: the oldest year the books still keep (Bokföringslagen's seven years, as
    invoice dates) to today in Sweden."""
    today = (now + SWEDEN_AHEAD).date()
    return date(today.year - YEARS_KEPT, 1, 1), today


_NOT_CONNECTED = (
    "Fortnox är inte anslutet, så inga betalningar hämtas. Inget går förlorat: när Fortnox är anslutet igen "
    "fortsätter hämtningen där den slutade.",
    "Fortnox is not connected, so no payments are fetched. Nothing is lost: once Fortnox is connected again, "
    "fetching goes on from where it stopped.",
)
_MISSING_ACCESS = (
    "Anslutningen till Fortnox saknar behörighet till betalningar och fakturor. Anslut Fortnox igen med en ny "
    "anslutningslänk så att betalningarna kan hämtas.",
    "The Fortnox connection lacks access to payments and invoices. Connect Fortnox again with a new connect link "
    "so payments can be fetched.",
)
_OFF = (
    "Betalningar hämtas inte från Fortnox: betalningssynk är avstängd.",
    "Payments are not fetched from Fortnox: payment sync is off.",
)


def _usable(connection: Connection | None) -> Connection | None:
    return connection if connection is not None and connection.state is ConnectionState.CONNECTED else None


def _missing_access(connection: Connection) -> bool:
    # A connection recorded without its scopes is not judged: only a poll can tell.
    return bool(connection.scopes) and not set(connection.scopes) >= NEEDED_SCOPES


def _state(tenant: Tenant, connection: Connection | None, status: PaymentSyncStatus | None) -> PaymentSyncState:
    if Feature.PAYMENT_SYNC not in tenant.settings.features:
        return PaymentSyncState.OFF
    usable = _usable(connection)
    if usable is None:
        return PaymentSyncState.NOT_CONNECTED
    if _missing_access(usable):
        return PaymentSyncState.MISSING_ACCESS
    outcome = status.last_outcome if status is not None else None
    if outcome is PollOutcome.OK:
        return PaymentSyncState.OK
    if outcome is PollOutcome.FAILED:
        return PaymentSyncState.FAILED
    # Never polled, or last polled while not connected and connected since: the next poll tells.
    return PaymentSyncState.PENDING


def _reason(state: PaymentSyncState, status: PaymentSyncStatus | None) -> tuple[str | None, str | None]:
    if state is PaymentSyncState.OFF:
        return _OFF
    if state is PaymentSyncState.NOT_CONNECTED:
        return _NOT_CONNECTED
    if state is PaymentSyncState.MISSING_ACCESS:
        return _MISSING_ACCESS
    if state is PaymentSyncState.FAILED and status is not None:
        return status.last_reason_sv, status.last_reason_en
    return None, None


@dataclass(frozen=True)
class PaymentSyncOverview:
    tenants: TenantStore
    connections: ConnectionStore
    sync: PaymentSyncStore
    schedule: PaymentSchedule

    @classmethod
    def on(cls, table: "Table") -> "PaymentSyncOverview":
        return cls(TenantStore(table), ConnectionStore(table), PaymentSyncStore(table), PaymentSchedule(table))

    def view(self, tenant_id: TenantId) -> PaymentSyncView:
        """Raises ``UnknownTenant`` for a tenant that does not exist."""
        tenant = self.tenants.require(tenant_id)
        return self.view_of(tenant, self.connections.get(tenant_id))

    def request_resync(self, tenant_id: TenantId, since: date, now: datetime) -> PaymentSyncView:
        """Ask the next poll to send every payment modified on or after ``since`` upstream again, with the event ids
        of the first time. Raises ``ResyncDateRefused`` for a date outside ``resync_window`` and ``ResyncRefused``
        while payment sync is off or Fortnox is not connected."""
        tenant = self.tenants.require(tenant_id)
        oldest, today = resync_window(now)
        if since > today:
            raise ResyncDateRefused(f"a re-sync starts today ({today}) at the latest, not {since}")
        if since < oldest:
            raise ResyncDateRefused(
                f"a re-sync starts on {oldest} at the earliest, the first day of the oldest year Swedish books "
                f"keep ({YEARS_KEPT} years), not {since}"
            )
        if Feature.PAYMENT_SYNC not in tenant.settings.features:
            raise ResyncRefused(
                "payment_sync_off",
                "payment sync is off for this tenant: add payment_sync to the features in its settings first",
            )
        connection = _usable(self.connections.get(tenant_id))
        if connection is None:
            raise ResyncRefused(
                "not_connected",
                "Fortnox is not connected for this tenant: connect it first. Nothing was lost meanwhile: fetching "
                "goes on from where it stopped",
            )
        self.sync.request_resync(ExportScope(tenant_id, connection.fortnox_tenant_id), since)
        return self.view_of(tenant, connection)

    def view_of(self, tenant: Tenant, connection: Connection | None) -> PaymentSyncView:
        """The view of a tenant and its connection as already read."""
        status = (
            self.sync.status(ExportScope(tenant.tenant_id, connection.fortnox_tenant_id))
            if connection is not None
            else None
        )
        state = _state(tenant, connection, status)
        reason_sv, reason_en = _reason(state, status)
        counts = status.last_counts if status is not None else {}
        return PaymentSyncView(
            tenant_id=tenant.tenant_id,
            enabled=state is not PaymentSyncState.OFF,
            state=state,
            reason_sv=reason_sv,
            reason_en=reason_en,
            settings=tenant.settings.payment_sync,
            connection=None
            if connection is None
            else SyncConnection(
                state=connection.state,
                company_name=connection.company_name,
                fortnox_tenant_id=connection.fortnox_tenant_id,
            ),
            last_poll_at=status.last_poll_at if status is not None else None,
            last_outcome=status.last_outcome if status is not None else None,
            last_counts=PollCounts(
                received=counts.get("received", 0), changed=counts.get("changed", 0), removed=counts.get("removed", 0)
            ),
            cursor=status.cursor if status is not None else None,
            next_due=self.schedule.next_due(tenant.tenant_id) if state is not PaymentSyncState.OFF else None,
            resync_from=status.resync_from if status is not None else None,
        )


class WebhookRefused(BadInputError):
    """The settings name a webhook the delivery worker would never send to."""


def check_webhook(previous: TenantSettings | None, settings: TenantSettings, allow_loopback: bool) -> None:
    """Refuse, before it is saved, a webhook URL the delivery worker would refuse at every delivery, so the mistake
    is told to whoever made it instead of ending in the dead-letter queue. Only a new or changed URL is checked: the
    check resolves the host name, and an unrelated settings change must not fail on a DNS hiccup. A name that does
    not resolve (yet: its DNS may be on its way) is saved; each delivery checks again anyway."""
    url = settings.payment_sync.webhook_url
    if url is None or (previous is not None and previous.payment_sync.webhook_url == url):
        return
    try:
        check_destination(url, allow_loopback=allow_loopback)
    except DestinationRefused as refused:
        raise WebhookRefused(f"payment_sync.webhook_url is refused: {refused}") from None
    except HostNotFound:
        return
