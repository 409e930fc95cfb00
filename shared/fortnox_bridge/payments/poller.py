"""One payment poll of one tenant: read what changed in Fortnox since the cursor, tell upstream, then move on.

The order is what makes it safe: claim the events under the lease, write the snapshots, publish, then advance the
cursor. A crash before the snapshots are written finds the same changes again and gives them the same ids; a crash
after them re-sends the events the sync item names as unconfirmed. Nothing is skipped: the cursor is the time the
poll started, written last.

An idle tenant costs two Fortnox calls: the payments and the invoices modified since the cursor. A deleted payment
vanishes from every list, so removals are found through its invoice, whose balance moved: only an invoice whose
balance the known payments do not explain costs a third call, the list of its payments (docs/decisions.md).
"""

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Any, TypeVar, cast

from pydantic import BaseModel

from fortnox_bridge.errors import BadInputError, NeedsTenantActionError, RetryableError
from fortnox_bridge.events import PaymentEvent, PaymentFigures
from fortnox_bridge.fortnox.client import FortnoxClient
from fortnox_bridge.fortnox.errors import FortnoxError, FortnoxForbidden, FortnoxUnexpectedResponse
from fortnox_bridge.fortnox.http import FortnoxHttp
from fortnox_bridge.fortnox.models.invoices import InvoiceListItem
from fortnox_bridge.fortnox.models.payments import InvoicePaymentListItem
from fortnox_bridge.fortnox.oauth import ConnectionLost
from fortnox_bridge.fortnox.resources import InvoicePayments, Invoices
from fortnox_bridge.ids import TenantId
from fortnox_bridge.observability import logger
from fortnox_bridge.payments.diff import InvoiceFacts, Kind, payment_event, restored, same_listing, stored
from fortnox_bridge.payments.invoices import InvoiceMatcher
from fortnox_bridge.payments.publishing import PaymentPublisher
from fortnox_bridge.store.connections import Connection, ConnectionState, ConnectionStore
from fortnox_bridge.store.ledger import ExportLedger, ExportScope
from fortnox_bridge.store.payment_sync import (
    InvoicePayments as KnownPayments,
)
from fortnox_bridge.store.payment_sync import (
    LeaseHeld,
    LeaseLost,
    PaymentSnapshot,
    PaymentSyncStore,
    PollOutcome,
    SyncState,
)
from fortnox_bridge.store.tenants import Feature, PaymentSyncSettings, Tenant, TenantStore

OVERLAP = timedelta(minutes=5)
"""Read a little before the cursor: a change Fortnox stamps with a time just before the poll started, but commits
after the list was read, is still found."""
EARLIEST_ZONE = timezone(timedelta(hours=-12))
"""``lastmodified`` carries no zone: Fortnox reads it as Swedish time, the sandbox as UTC. Written as the time in
the westernmost zone, whatever zone the server reads it in names the same instant or an earlier one: a poll can
only read more, never less."""
FIRST_POLL_MARGIN = timedelta(days=1)
LEASE = timedelta(minutes=10)
"""Twice the poll function's timeout (infra/names.py): an expired lease belongs to a poll that died, and the next
scheduled poll (15 minutes on at the soonest) finds it expired."""

NOT_CONNECTED_SV = "Fortnox är inte anslutet. Anslut Fortnox igen, så hämtas betalningarna vid nästa körning."
NOT_CONNECTED_EN = "Fortnox is not connected. Reconnect Fortnox, and payments are fetched on the next poll."


class PollReport(BaseModel):
    outcome: PollOutcome
    counts: dict[str, int]
    fortnox_calls: int
    skipped: bool = False
    """Another poll of the tenant held the lease, or payment sync is off: nothing was read."""


@dataclass(frozen=True)
class PollStores:
    tenants: TenantStore
    connections: ConnectionStore
    sync: PaymentSyncStore
    ledger: ExportLedger


def fortnox_time(moment: datetime) -> str:
    return moment.astimezone(EARLIEST_ZONE).strftime("%Y-%m-%d %H:%M:%S")


class _CountingHttp:
    """The tenant's transport, counting the calls this poll makes (the report's ``fortnox_calls``)."""

    def __init__(self, http: FortnoxHttp) -> None:
        self._http = http
        self.calls = 0

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        self.calls += 1
        return self._http.request(method, path, **kwargs)


@dataclass
class _Round:
    """What one poll found and will write."""

    events: list[PaymentEvent] = field(default_factory=list)
    snapshots: dict[str, PaymentSnapshot] = field(default_factory=dict)
    invoices: dict[str, KnownPayments] = field(default_factory=dict)
    unconfirmed: set[str] = field(default_factory=set)
    counts: dict[str, int] = field(default_factory=lambda: {"received": 0, "changed": 0, "removed": 0})
    fresh: set[str] = field(default_factory=set)
    """Payments with a new event in this poll."""

    def add(self, event: PaymentEvent, payment_number: str, kind: Kind | None) -> None:
        if any(known.event_id == event.event_id for known in self.events):
            return
        self.events.append(event)
        self.unconfirmed.add(payment_number)
        if kind is not None:
            self.fresh.add(payment_number)
            self.counts[kind] += 1

    def resend_first(self, events: list[tuple[str, PaymentEvent]]) -> None:
        ids = {event.event_id for event in self.events}
        self.events[:0] = [event for _, event in events if event.event_id not in ids]
        self.unconfirmed.update(number for number, _ in events)


class PaymentPoller:
    def __init__(
        self,
        *,
        stores: PollStores,
        client_for: Callable[[Connection], FortnoxClient],
        publisher_for: Callable[[Tenant], PaymentPublisher],
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._stores = stores
        self._client_for = client_for
        self._publisher_for = publisher_for
        self._clock = clock

    def poll(self, tenant: TenantId) -> PollReport:
        profile = self._stores.tenants.require(tenant)
        if Feature.PAYMENT_SYNC not in profile.settings.features:
            return PollReport(outcome=PollOutcome.OK, counts={}, fortnox_calls=0, skipped=True)
        connection = self._stores.connections.get(tenant)
        if connection is None or connection.state is not ConnectionState.CONNECTED:
            if connection is not None:
                self._stores.sync.record(
                    ExportScope(tenant, connection.fortnox_tenant_id),
                    outcome=PollOutcome.NOT_CONNECTED,
                    at=self._clock(),
                    reason_sv=NOT_CONNECTED_SV,
                    reason_en=NOT_CONNECTED_EN,
                )
            return PollReport(outcome=PollOutcome.NOT_CONNECTED, counts={}, fortnox_calls=0)
        scope = ExportScope(tenant, connection.fortnox_tenant_id)
        started = self._clock()
        owner = uuid.uuid4().hex
        try:
            state = self._stores.sync.acquire(scope, owner, started, LEASE)
        except LeaseHeld:
            logger.info("payment poll already under way", extra={"tenant_id": tenant})
            return PollReport(outcome=PollOutcome.OK, counts={}, fortnox_calls=0, skipped=True)
        calls: _CountingHttp | None = None
        try:
            with self._client_for(connection) as client:
                calls = _CountingHttp(client.http)
                found = _Poll(scope, connection, profile, state, self._stores, calls).read()
                self._deliver(scope, owner, profile, state, found, started)
        except LeaseLost:
            logger.warning("payment poll lost its lease", extra={"tenant_id": tenant})
            return PollReport(outcome=PollOutcome.OK, counts={}, fortnox_calls=_made(calls), skipped=True)
        except (FortnoxForbidden, NeedsTenantActionError, BadInputError) as error:
            sv, en = _tenant_fix(error)
            self._stores.sync.record(
                scope,
                outcome=PollOutcome.FAILED,
                at=self._clock(),
                reason_sv=sv,
                reason_en=en,
                owner=owner,
                lasting=True,
            )
            logger.warning("payment poll refused", extra={"tenant_id": tenant, "reason": en})
            return PollReport(outcome=PollOutcome.FAILED, counts={}, fortnox_calls=_made(calls))
        except Exception as error:
            sv, en = _passing(error)
            self._stores.sync.record(
                scope, outcome=PollOutcome.FAILED, at=self._clock(), reason_sv=sv, reason_en=en, owner=owner
            )
            raise
        return PollReport(outcome=PollOutcome.OK, counts=found.counts, fortnox_calls=_made(calls))

    def _deliver(
        self, scope: ExportScope, owner: str, profile: Tenant, state: SyncState, found: "_Round", started: datetime
    ) -> None:
        """Claim, then the snapshots, then publish, then the cursor: a crash anywhere re-sends and never skips."""
        if found.events:
            # Checked (and the lease renewed) before anything goes out: a poll whose lease expired and was taken
            # over must not publish what it read, which the newer poll may already have told upstream otherwise.
            self._stores.sync.hold_unconfirmed(scope, owner, sorted(found.unconfirmed), self._clock() + LEASE)
        # The snapshots before the events: once a snapshot holds an event, the next poll compares Fortnox with what
        # upstream was last told, and re-sends it while unconfirmed. Written after, a payment changed back between
        # a crash and the next poll would match the old snapshot and upstream would keep the change it was sent.
        self._stores.sync.write(scope, list(found.snapshots.values()), list(found.invoices.values()))
        self._publisher_for(profile).publish(found.events)
        self._stores.sync.advance(
            scope,
            owner,
            cursor=started,
            at=self._clock(),
            counts=found.counts,
            resync_done=state.resync_from,
            healed=state.failing_since is not None,
        )


class _Poll:
    """The reading and deciding of one poll, under its lease."""

    def __init__(
        self,
        scope: ExportScope,
        connection: Connection,
        profile: Tenant,
        state: SyncState,
        stores: PollStores,
        calls: _CountingHttp,
    ) -> None:
        self._scope = scope
        self._connection = connection
        self._settings: PaymentSyncSettings = profile.settings.payment_sync
        self._state = state
        self._stores = stores
        http = cast(FortnoxHttp, calls)
        self._payments = InvoicePayments(http)
        self._invoices = Invoices(http)
        self._matcher = InvoiceMatcher(scope, stores.ledger, self._settings.match_on)
        self._round = _Round()
        self._changed_invoices: dict[str, InvoiceListItem] = {}
        self._facts_of: dict[str, InvoiceFacts] = {}

    def window_start(self) -> datetime:
        """From the cursor; a re-sync from its day; a first poll from the first day a payment can matter."""
        starts = [self._state.cursor] if self._state.cursor is not None else [self._first_poll_start()]
        if self._state.resync_from is not None:
            starts.append(_start_of(self._state.resync_from))
        return min(starts) - OVERLAP

    def _first_poll_start(self) -> datetime:
        # Payments before the tenant's own "ignore before" never go upstream. Without it, a payment on an invoice
        # the bridge exported cannot predate the connection; a day earlier keeps a clock or a zone from costing one.
        if self._settings.ignore_payments_before is not None:
            return _start_of(self._settings.ignore_payments_before)
        return self._connection.connected_at - FIRST_POLL_MARGIN

    def read(self) -> _Round:
        since = fortnox_time(self.window_start())
        listed = _read_once(self._payments.list(lastmodified=since), _number)
        self._changed_invoices = {
            str(item.DocumentNumber): item
            for item in _read_once(self._invoices.list(lastmodified=since), lambda item: str(item.DocumentNumber))
        }
        numbers = [str(item.Number) for item in listed]
        snapshots = self._stores.sync.snapshots(self._scope, [*numbers, *self._state.unconfirmed])
        invoice_numbers = {str(item.InvoiceNumber) for item in listed}
        known = self._stores.sync.invoices(self._scope, invoice_numbers | set(self._changed_invoices))
        for item in listed:
            self._payment(item, snapshots.get(str(item.Number)), known)
        for number, invoice in self._changed_invoices.items():
            self._check_removals(number, invoice, known.get(number))
        self._resend_unconfirmed(snapshots)
        return self._round

    def _facts(self, number: str) -> InvoiceFacts:
        """How upstream knows the invoice, worked out (ledger reads included) only for invoices with an event."""
        if number not in self._facts_of:
            listed = self._changed_invoices.get(number)
            # An invoice whose own change was not listed (its lastmodified did not move) is read on its own.
            self._facts_of[number] = self._matcher.facts(listed if listed is not None else self._invoices.get(number))
        return self._facts_of[number]

    def _resend_unconfirmed(self, snapshots: dict[str, PaymentSnapshot]) -> None:
        """The last events of payments a crashed poll published, first and with their ids; one this poll has a
        newer event for needs no second sending of the older."""
        again = []
        for number in self._state.unconfirmed:
            snapshot = snapshots.get(number)
            if snapshot is not None and snapshot.last_event is not None and number not in self._round.fresh:
                again.append((number, restored(snapshot.last_event)))
        self._round.resend_first(again)

    def _payment(
        self, item: InvoicePaymentListItem, snapshot: PaymentSnapshot | None, known: dict[str, KnownPayments]
    ) -> None:
        number = str(item.Number)
        on = str(item.InvoiceNumber)
        listed = _listed_figures(item)
        if snapshot is not None and same_listing(snapshot, listed, on):
            # Unchanged, as most of a window read again is: no Fortnox call, not even for its invoice.
            self._remember(on, number, snapshot.figures, known)
            if self._state.resync_from is None:
                return
            if snapshot.last_event is not None:
                self._round.add(restored(snapshot.last_event), number, None)
                return
            # Held back by a filter when first seen: a re-sync after the tenant loosened its filters sends it.
            invoice = self._facts(on)
            if not self._followed(snapshot.figures, invoice):
                return
            figures = snapshot.figures
        else:
            figures = listed if listed.currency == "SEK" else self._in_currency(number, listed)
            if snapshot is not None and snapshot.invoice_number != on:
                self._forget(snapshot.invoice_number, number, known)
            self._remember(on, number, figures, known)
            invoice = self._facts(on)
        published_before = snapshot is not None and snapshot.last_event is not None
        if not published_before and not self._followed(figures, invoice):
            self._round.snapshots[number] = PaymentSnapshot(
                payment_number=number,
                invoice_number=invoice.fortnox_number,
                figures=figures,
                version=snapshot.version if snapshot else 0,
            )
            return
        kind: Kind = "changed" if published_before and snapshot is not None and not snapshot.removed else "received"
        version = (snapshot.version if snapshot else 0) + 1
        event = payment_event(
            kind,
            tenant=self._scope.tenant,
            company=self._scope.company,
            payment_number=number,
            version=version,
            figures=figures,
            invoice=invoice,
            previous=snapshot.figures if snapshot is not None and kind == "changed" else None,
        )
        self._round.add(event, number, kind)
        self._round.snapshots[number] = PaymentSnapshot(
            payment_number=number,
            invoice_number=invoice.fortnox_number,
            figures=figures,
            version=version,
            last_event=stored(event),
        )

    def _followed(self, figures: PaymentFigures, invoice: InvoiceFacts) -> bool:
        """The tenant's filters (seed 002), decided when a payment is first seen: once one went upstream, its
        changes and its removal follow it there."""
        settings = self._settings
        if settings.ignore_payments_before is not None and figures.payment_date < settings.ignore_payments_before:
            return False
        if _whole(invoice.fortnox_number) < settings.ignore_invoice_numbers_below:
            return False
        return invoice.ours or not settings.only_exported_invoices

    def _in_currency(self, number: str, listed: PaymentFigures) -> PaymentFigures:
        # The list lacks the amount in the invoice's currency; only the payment itself has it, exact.
        payment = self._payments.get(number)
        in_currency = payment.AmountCurrency if payment.AmountCurrency is not None else listed.amount_in_currency
        return listed.model_copy(update={"amount_in_currency": in_currency})

    def _remember(
        self, invoice_number: str, payment_number: str, figures: PaymentFigures, known: dict[str, KnownPayments]
    ) -> None:
        held = self._held(invoice_number, known) or KnownPayments(invoice_number=invoice_number)
        if held.payments.get(payment_number) != figures.amount_in_currency:
            held.payments[payment_number] = figures.amount_in_currency
            # A balance an earlier check left unexplained says nothing once the known payments change: a payment
            # deleted while another of the same amount was registered leaves the balance exactly where it was.
            held.checked = None
            self._round.invoices[invoice_number] = held

    def _forget(self, invoice_number: str, payment_number: str, known: dict[str, KnownPayments]) -> None:
        """A payment moved to another invoice is no longer on this one; it was not deleted."""
        held = self._held(invoice_number, known)
        if held is not None and held.payments.pop(payment_number, None) is not None:
            held.checked = None
            self._round.invoices[invoice_number] = held

    def _held(self, invoice_number: str, known: dict[str, KnownPayments]) -> KnownPayments | None:
        """The payments known on an invoice, as this poll has them so far (a copy to change)."""
        held = self._round.invoices.get(invoice_number)
        if held is not None:
            return held
        stored_known = known.get(invoice_number)
        if stored_known is None and invoice_number not in known:
            # An invoice neither listed nor named by a listed payment: the one a payment was moved away from.
            stored_known = self._stores.sync.invoices(self._scope, [invoice_number]).get(invoice_number)
        return stored_known.model_copy(deep=True) if stored_known is not None else None

    def _check_removals(self, number: str, invoice: InvoiceListItem, stored_known: KnownPayments | None) -> None:
        """A deleted payment is in no list; its invoice's balance moved. Only a balance the known payments do not
        explain costs the list of the invoice's payments, to see which are gone."""
        held = self._round.invoices.get(number) or stored_known
        if held is None or not held.payments:
            return
        total = invoice.Total if invoice.Total is not None else Decimal(0)
        balance = invoice.Balance if invoice.Balance is not None else total
        if total - sum(held.payments.values(), Decimal(0)) == balance or held.checked == (total, balance):
            return
        present = {str(item.Number) for item in _read_once(self._payments.list(invoicenumber=number), _number)}
        gone = sorted(set(held.payments) - present)
        remaining = held.model_copy(deep=True, update={"checked": (total, balance)})
        self._round.invoices[number] = remaining
        snapshots = self._stores.sync.snapshots(self._scope, gone)
        for number in gone:
            del remaining.payments[number]
            snapshot = self._round.snapshots.get(number) or snapshots.get(number)
            if snapshot is None or snapshot.removed:
                continue
            if snapshot.last_event is None:
                self._round.snapshots[number] = snapshot.model_copy(update={"removed": True})
                continue
            version = snapshot.version + 1
            event = payment_event(
                "removed",
                tenant=self._scope.tenant,
                company=self._scope.company,
                payment_number=number,
                version=version,
                figures=snapshot.figures,
                invoice=self._facts(held.invoice_number),
            )
            self._round.add(event, number, "removed")
            self._round.snapshots[number] = snapshot.model_copy(
                update={"removed": True, "version": version, "last_event": stored(event)}
            )


ItemT = TypeVar("ItemT")


def _read_once(items: Iterable[ItemT], key: Callable[[ItemT], str]) -> list[ItemT]:
    """Every page of a list, each item once. An item edited between two page reads moves to another page: the
    list then names it twice and skips another, with the count it announced. That read is thrown away (the poll
    is retried), since a skipped item may be older than the next poll's window."""
    read = list(items)
    if len({key(item) for item in read}) != len(read):
        raise FortnoxUnexpectedResponse("a Fortnox list changed while it was read: an item came twice", status=200)
    return read


def _number(item: InvoicePaymentListItem) -> str:
    return str(item.Number)


def _listed_figures(item: InvoicePaymentListItem) -> PaymentFigures:
    amount = item.Amount if item.Amount is not None else Decimal(0)
    currency = item.Currency or "SEK"
    return PaymentFigures(
        payment_date=item.PaymentDate or date.min,
        amount_sek=amount,
        amount_in_currency=amount,
        currency=currency,
        currency_rate=item.CurrencyRate if item.CurrencyRate is not None else Decimal(1),
        currency_unit=item.CurrencyUnit if item.CurrencyUnit is not None else Decimal(1),
    )


def _made(calls: "_CountingHttp | None") -> int:
    return calls.calls if calls is not None else 0


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time(), UTC)


def _whole(number: str) -> int:
    try:
        return int(number)
    except ValueError:
        return 0


def _tenant_fix(error: Exception) -> tuple[str, str]:
    if isinstance(error, ConnectionLost):
        # Its message is English and names the tenant: the bookkeeper is told the fix in their own words instead.
        return (
            "Fortnox godtar inte längre anslutningen: behörigheten har tagits bort eller gått ut. Anslut Fortnox "
            "igen, så hämtas betalningarna vid nästa körning.",
            "Fortnox no longer accepts the connection: its permission was removed or has run out. Reconnect Fortnox, "
            "and payments are fetched on the next poll.",
        )
    if isinstance(error, FortnoxForbidden):
        return (
            "Fortnox nekade läsning av betalningar: anslutningen saknar behörigheten Betalningar. Anslut Fortnox "
            "igen och godkänn Betalningar och Faktura.",
            "Fortnox refused to list payments: the connection lacks the Payments permission. Reconnect Fortnox and "
            "grant Payments and Invoice.",
        )
    message = getattr(error, "message", str(error))
    return (
        f"Fortnox kräver en åtgärd innan betalningar kan hämtas: {message}",
        f"Fortnox needs something fixed before payments can be fetched: {message}",
    )


def _passing(error: Exception) -> tuple[str, str]:
    if isinstance(error, FortnoxError | RetryableError):
        return (
            f"Fortnox svarade inte ({error}); hämtningen görs om automatiskt.",
            f"Fortnox did not answer ({error}); the poll is retried automatically.",
        )
    return (
        "Betalningarna kunde inte hämtas på grund av ett fel hos oss; hämtningen görs om automatiskt.",
        "Payments could not be fetched because of an error on our side; the poll is retried automatically.",
    )
