"""Voucher export: a closed sales day or a ready-made journal becomes one Fortnox voucher, exactly once.

Fortnox never changes or deletes a voucher, so a day booked twice stays booked twice. One ledger entry per (tenant,
company, business key) holds the lease; the entry is ``sent`` before the create, so whoever finds it ``sent`` (a
lost answer, a worker that died, a lease taken over) reads the day back for our marker before creating anything.
Preflight refuses, with every finding, a voucher Fortnox would refuse; a voucher of the day the bridge did not make
(an SIE import beside the integration, seed 001) stops the day instead of doubling it.
"""

import hashlib
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Literal

from fortnox_bridge.contracts.sales import SalesDayClosed, VoucherReady
from fortnox_bridge.errors import BadInputError, NeedsTenantActionError, RetryableError
from fortnox_bridge.events import EventPublisher, VoucherExported, VoucherExportFailed, VoucherFinding
from fortnox_bridge.export.explanations import Explanation, ExportRefused, gave_up, refusal
from fortnox_bridge.export.instants import instant
from fortnox_bridge.export.outcome import explanation_of
from fortnox_bridge.export.stores import LEASE
from fortnox_bridge.fortnox.client import FortnoxClient
from fortnox_bridge.fortnox.errors import FortnoxError, FortnoxRateLimited
from fortnox_bridge.fortnox.retry import IN_DOUBT
from fortnox_bridge.ids import TenantId
from fortnox_bridge.mapping.vouchers import VoucherMapping
from fortnox_bridge.observability import logger
from fortnox_bridge.store.connections import Connection, ConnectionState, ConnectionStore
from fortnox_bridge.store.ledger import (
    ExportLedger,
    ExportScope,
    ExportState,
    FindingLike,
    LedgerEntry,
    MarkedExported,
)
from fortnox_bridge.store.mappings import MappingStore
from fortnox_bridge.store.setup_cache import SetupCache
from fortnox_bridge.store.tenants import TenantStore
from fortnox_bridge.vouchers.day_listing import DayListings, DayReader, DayVoucher
from fortnox_bridge.vouchers.foreign import foreign_voucher
from fortnox_bridge.vouchers.journal import Journal, fortnox_text, journal_for
from fortnox_bridge.vouchers.marker import marked, voucher_marker
from fortnox_bridge.vouchers.preflight import PreflightFailed, preflight
from fortnox_bridge.vouchers.setup import SetupReader

KIND = "voucher"
VoucherEvent = SalesDayClosed | VoucherReady
Action = Literal["created", "unchanged"]


@dataclass(frozen=True)
class VoucherRef:
    """A voucher as Fortnox names it: series, number and financial year (Fortnox's id of the year)."""

    series: str
    number: int
    year: int

    @property
    def ledger_id(self) -> str:
        """How the ledger's ``fortnox_id`` holds it: ``A-12-3`` (series A, number 12, financial year 3)."""
        return f"{self.series}-{self.number}-{self.year}"

    @classmethod
    def from_ledger_id(cls, value: str) -> "VoucherRef":
        series, number, year = value.rsplit("-", 2)
        return cls(series, int(number), int(year))

    @property
    def name(self) -> str:
        return f"{self.series} {self.number}"


@dataclass(frozen=True)
class VoucherOutcome:
    business_key: str | None
    voucher: VoucherRef | None
    action: Action | None
    failure: Explanation | None = None
    findings: tuple[FindingLike, ...] = ()


def business_key_of(event: VoucherEvent) -> str:
    """``Journal.business_key``, known before the journal is built: a refused journal is still filed under it."""
    if isinstance(event, SalesDayClosed):
        return f"{event.data.business_day}#{event.data.location}"
    return f"journal#{event.data.journal_id}"


def content_digest(event: VoucherEvent) -> str:
    """What upstream says the day (or journal) is: the same content from another event id is the same voucher,
    whatever the mapping has become since it was booked. A register's display name is a label, not content: a till
    renamed after the day was booked has not changed the day."""
    excluded = {"location_name"} if isinstance(event, SalesDayClosed) else set()
    return hashlib.sha256(f"{event.type}:{event.data.model_dump_json(exclude=excluded)}".encode()).hexdigest()


@dataclass(frozen=True)
class VoucherStores:
    """The state one booking works with: the ledger, the tenant's mapping, and the cached setup and day listings."""

    ledger: ExportLedger
    mappings: MappingStore
    setups: SetupCache
    days: DayListings


class VoucherExporter:
    def __init__(
        self,
        *,
        tenants: TenantStore,
        connections: ConnectionStore,
        stores: VoucherStores,
        publisher: EventPublisher,
        client_for: Callable[[Connection], FortnoxClient],
    ) -> None:
        self._tenants = tenants
        self._connections = connections
        self._stores = stores
        self._ledger = stores.ledger
        self._publisher = publisher
        self._client_for = client_for

    def export(
        self, event: VoucherEvent, connection: Connection | None = None, *, body: str | None = None
    ) -> VoucherOutcome:
        """Book one event. Retryable failures raise; everything a person must fix is recorded in the ledger (with
        ``body``, the event as it came, so it can be sent again), published, and returned as a failed outcome.

        ``connection`` is the one the caller filed the event under: the voucher goes to that company or nowhere."""
        key = business_key_of(event)
        body = body or event.model_dump_json()
        try:
            tenant = self._tenants.require(TenantId(event.tenant_id))
            connection = connection or self._connections.get(tenant.tenant_id)
            if connection is None or connection.state is not ConnectionState.CONNECTED:
                raise self._not_connected(connection, key, body)
            scope = ExportScope(tenant.tenant_id, connection.fortnox_tenant_id)
            with self._client_for(connection) as client:
                outcome = _Booking(self._stores, client, scope, event, body).run()
        except RetryableError:
            raise
        except (NeedsTenantActionError, BadInputError) as error:
            outcome = VoucherOutcome(key, None, None, failure=explanation_of(error))
        self._publish(event, outcome)
        return outcome

    def _not_connected(self, connection: Connection | None, key: str, body: str) -> ExportRefused:
        """A connection that was lost still names its company: the day is kept there, so once the tenant connects
        again a retry of what failed sends it. A tenant never connected has no company to keep it in."""
        refused = refusal(
            "Fortnox är inte anslutet för den här kunden. Anslut via länken från tjänsten.",
            "Fortnox is not connected for this tenant. Connect it through the link from the service.",
        )
        if connection is not None:
            scope = ExportScope(connection.tenant_id, connection.fortnox_tenant_id)
            self._ledger.record_refusal(scope, KIND, key, explanation=refused.explanation, event_body=body)
        return refused

    def give_up(self, event: VoucherEvent, cause: Exception, *, body: str | None = None) -> VoucherOutcome:
        """The last delivery of a message that kept failing in ways worth retrying: say why in the ledger (with the
        event, so a retry can send it again) and upstream, without calling Fortnox. A day whose create may have gone
        through stays ``sent``, so the next attempt looks for it before it creates."""
        key = business_key_of(event)
        connection = self._connections.get(TenantId(event.tenant_id))
        if connection is None:
            outcome = VoucherOutcome(key, None, None, failure=gave_up(cause))
            self._publish(event, outcome)
            return outcome
        scope = ExportScope(TenantId(event.tenant_id), connection.fortnox_tenant_id)
        current = self._ledger.get(scope, KIND, key)
        explanation = gave_up(cause, may_exist=current is not None and current.state is ExportState.SENT)
        entry = (
            self._ledger.record_refusal(
                scope, KIND, key, explanation=explanation, event_body=body or event.model_dump_json()
            )
            or self._ledger.record_failure(scope, KIND, key, str(cause)[:1000])
            or self._ledger.get(scope, KIND, key)
        )
        if entry is not None and entry.fortnox_id is not None:
            # Another worker booked it meanwhile: the day is in Fortnox, which is what upstream must hear.
            outcome = VoucherOutcome(key, VoucherRef.from_ledger_id(entry.fortnox_id), "unchanged")
        else:
            outcome = VoucherOutcome(key, None, None, failure=explanation)
        self._publish(event, outcome)
        return outcome

    def _publish(self, event: VoucherEvent, outcome: VoucherOutcome) -> None:
        tenant = TenantId(event.tenant_id)
        if outcome.voucher is not None and outcome.action is not None:
            voucher = outcome.voucher
            self._publisher.publish(
                VoucherExported(
                    tenant_id=tenant,
                    event_id=event.id,
                    business_key=outcome.business_key or business_key_of(event),
                    transaction_date=_date_of(event),
                    location=_location_of(event),
                    series=voucher.series,
                    number=voucher.number,
                    year=voucher.year,
                    action=outcome.action,
                )
            )
            return
        failure = outcome.failure
        if failure is None:
            return
        logger.warning(
            "voucher not exported",
            extra={"tenant_id": event.tenant_id, "event_id": event.id, "code": failure.code, "reason": failure.en},
        )
        self._publisher.publish(
            VoucherExportFailed(
                tenant_id=tenant,
                event_id=event.id,
                business_key=outcome.business_key,
                reason_sv=failure.sv,
                reason_en=failure.en,
                findings=[
                    VoucherFinding(code=found.code, subject=found.subject, sv=found.sv, en=found.en)
                    for found in outcome.findings
                ],
                fortnox_code=failure.code,
                fortnox_message=failure.fortnox_message or None,
            )
        )


class _Booking:
    """One event's way to its voucher, under the ledger's lease."""

    def __init__(
        self, stores: VoucherStores, client: FortnoxClient, scope: ExportScope, event: VoucherEvent, body: str
    ) -> None:
        self.ledger = stores.ledger
        self.mappings = stores.mappings
        self.client = client
        self.scope = scope
        self.event = event
        self.body = body
        self.key = business_key_of(event)
        self.digest = content_digest(event)
        self.owner = f"voucher-{uuid.uuid4()}"
        self.marker = voucher_marker(scope.tenant, self.key)
        self.setups = SetupReader(client, stores.setups, scope)
        self.days = DayReader(client, stores.days, scope)
        self.entry: LedgerEntry | None = None

    def run(self) -> VoucherOutcome:
        try:
            self.entry = self.ledger.claim(self.scope, KIND, self.key, owner=self.owner, lease=LEASE)
            if self.entry.fortnox_id is not None:
                # Answered from the ledger before the mapping is read: a day booked stays what it was booked as,
                # whatever the mapping has become since.
                return self._booked(self.entry)
            if self.entry.state is ExportState.SENT:
                # An earlier create may have gone through. Look for it before anything can refuse the day (a period
                # locked since, an account closed, a mapping changed): a day in Fortnox is booked whatever they say.
                found = self._look_back(self.entry)
                if found is not None:
                    return found
            mapping = self.mappings.get(self.scope.tenant)
            return self._book(self.entry, journal_for(self.event, mapping), mapping.vouchers)
        except (NeedsTenantActionError, BadInputError) as error:
            return self._refused(error)
        except Exception:
            # Whatever else stopped this worker, it acts on the day no more; the entry already says what may have
            # happened (``sent`` before the create), so the next attempt need not wait out the lease.
            if self.entry is not None:
                self.ledger.release(self.entry, owner=self.owner)
            raise

    def _book(self, entry: LedgerEntry, journal: Journal, mapping: VoucherMapping | None) -> VoucherOutcome:
        asked = datetime.now(UTC)
        setup = self.setups.for_date(journal.transaction_date)
        findings = preflight(journal, setup, mapping)
        if findings and setup.read_at < asked:
            # Refused on a setup read a while ago: the bookkeeper may have fixed it since. A day is only ever refused
            # on what Fortnox says now, and that costs a read on the refusal path only.
            setup = self.setups.for_date(journal.transaction_date, fresh=True)
            findings = preflight(journal, setup, mapping)
        if findings:
            raise PreflightFailed(findings)
        assert setup.financial_year is not None  # preflight finds a missing year
        year = setup.financial_year.id
        if journal.location is not None:
            listed = self.days.vouchers(journal.transaction_date, year)
            ours = self._ours(listed)
            if ours is not None:
                return self._record(entry, ours)
            other = foreign_voucher(
                listed,
                location=journal.location,
                location_name=_location_name(self.event),
                description=journal.description,
            )
            if other is not None:
                raise _foreign(journal, self.event, other)
        self.ledger.mark(entry, ExportState.SENT, owner=self.owner, content_hash=self.digest)
        try:
            created = self.client.vouchers.create(journal.to_voucher(self.marker), financial_year=year)
        except FortnoxRateLimited:
            # Refused before Fortnox did anything: nothing was sent after all, and the ledger must not say so.
            self.ledger.mark(entry, ExportState.CLAIMED, owner=self.owner)
            raise
        except IN_DOUBT:
            # Fortnox may have booked it (the answer was lost, or a server error took its place). Look at once: on
            # the last delivery no retry would, and the entry stays ``sent`` for the next attempt if this look fails.
            found = self._find(journal, year)
            if found is None:
                raise
            return self._record(entry, found)
        except FortnoxError as error:
            if isinstance(error, NeedsTenantActionError | BadInputError):
                # Fortnox refused what preflight let through: its setup changed since it was read (or preflight
                # does not know the rule). Read it afresh next time, and nothing was booked.
                self.setups.invalidate()
                self.ledger.mark(entry, ExportState.CLAIMED, owner=self.owner)
            raise
        if created.VoucherSeries is None or created.VoucherNumber is None:
            raise RetryableError("Fortnox created a voucher without a series or number")
        voucher = VoucherRef(created.VoucherSeries, created.VoucherNumber, created.Year or year)
        return self._record(entry, voucher, action="created")

    def _look_back(self, entry: LedgerEntry) -> VoucherOutcome | None:
        """The voucher an earlier attempt sent, if Fortnox has it. Sent by another event id with other content (the
        till closed the day again meanwhile), the day is booked as that event was: this one is refused as such."""
        day = _date_of(self.event)
        year = self.setups.for_date(day).financial_year
        if year is None:
            return None  # the year has gone since: preflight says so, and the entry stays ``sent``
        found = self._ours(self.days.vouchers(day, year.id, fresh=True))
        if found is None:
            # Not in Fortnox: nothing was booked after all. Once the entry says so, a refusal from here on is kept
            # with the event for a retry, as any day's is, rather than leaving a ``sent`` day nobody can send again.
            self.ledger.mark(entry, ExportState.CLAIMED, owner=self.owner)
            return None
        if entry.content_hash in (None, self.digest):
            return self._record(entry, found)
        self.ledger.mark(entry, ExportState.CONFIRMED, owner=self.owner, fortnox_id=found.ledger_id)
        raise _already_booked(self.event, found, older=False)

    def _find(self, journal: Journal, year: int) -> VoucherRef | None:
        """Our marker among the day's vouchers, read afresh: an earlier create went through without our hearing of
        it. Every series is read, not only the mapping's: the series may have been changed in the mapping since."""
        return self._ours(self.days.vouchers(journal.transaction_date, year, fresh=True))

    def _ours(self, listed: Sequence[DayVoucher]) -> VoucherRef | None:
        matches = [voucher for voucher in listed if marked(voucher.description, self.marker)]
        if len(matches) > 1:
            logger.warning(
                "several Fortnox vouchers carry one marker",
                extra={"tenant_id": self.scope.tenant, "vouchers": [voucher.name for voucher in matches]},
            )
        if not matches:
            return None
        first = min(matches, key=lambda voucher: (voucher.series, voucher.number))
        return VoucherRef(first.series, first.number, first.year)

    def _record(self, entry: LedgerEntry, voucher: VoucherRef, *, action: Action = "created") -> VoucherOutcome:
        """The voucher is in Fortnox: its series, number and year are written the moment they are known."""
        self.ledger.mark(
            entry,
            ExportState.CONFIRMED,
            owner=self.owner,
            fortnox_id=voucher.ledger_id,
            content_hash=self.digest,
            applied_at=instant(self.event.occurred_at),
        )
        return VoucherOutcome(self.key, voucher, action)

    def _booked(self, entry: LedgerEntry) -> VoucherOutcome:
        """The day is booked already (by this event's id or another): the same figures are ``unchanged``, other
        figures are refused, since a voucher can only be corrected by another voucher."""
        assert entry.fortnox_id is not None
        voucher = VoucherRef.from_ledger_id(entry.fortnox_id)
        if entry.state is not ExportState.CONFIRMED:
            # Booked, but confirmed by nobody yet (a worker died after the create answered): this one finishes it.
            self.ledger.mark(entry, ExportState.CONFIRMED, owner=self.owner)
        if entry.content_hash == self.digest:
            return VoucherOutcome(self.key, voucher, "unchanged")
        older = entry.applied_at is not None and instant(self.event.occurred_at) < instant(entry.applied_at)
        raise _already_booked(self.event, voucher, older=older)

    def _refused(self, error: NeedsTenantActionError | BadInputError) -> VoucherOutcome:
        if isinstance(error, MarkedExported):
            # A person booked the day by hand: nothing to record, and nothing is sent.
            return VoucherOutcome(self.key, None, None, failure=_marked(self.event, error))
        explanation = explanation_of(error)
        findings: tuple[FindingLike, ...] = tuple(error.findings) if isinstance(error, PreflightFailed) else ()
        if not isinstance(error, _DayBooked):
            recorded = self.ledger.record_refusal(
                self.scope,
                KIND,
                self.key,
                explanation=explanation,
                event_body=self.body,
                findings=findings,
                owner=self.owner,
            )
            if recorded is None and self.entry is not None:
                self.ledger.release(self.entry, owner=self.owner)
        return VoucherOutcome(self.key, None, None, failure=explanation, findings=findings)


class _DayBooked(ExportRefused):
    """The day is in Fortnox with other figures: refused, and the ledger keeps the voucher it has."""


def _already_booked(event: VoucherEvent, voucher: VoucherRef, *, older: bool) -> _DayBooked:
    what_sv, what_en = _what(event)
    older_sv = " Händelsen är dessutom äldre än den som bokfördes, så den ersätter ingenting." if older else ""
    older_en = " The event is also older than the one booked, so it replaces nothing." if older else ""
    return _DayBooked(
        Explanation(
            None,
            "",
            f"{what_sv} är redan bokförd som verifikation {voucher.name} i Fortnox, med annat innehåll än i den här "
            f"händelsen, och en verifikation kan inte ändras. Rätta skillnaden med en rättelseverifikation i "
            f"Fortnox.{older_sv}",
            f"{what_en} is already booked as voucher {voucher.name} in Fortnox, with other content than this "
            f"event's, and vouchers cannot be changed. Correct the difference with a correction voucher in "
            f"Fortnox.{older_en}",
            tenant_fixable=False,
        )
    )


def _marked(event: VoucherEvent, error: MarkedExported) -> Explanation:
    what_sv, what_en = _what(event)
    when, reason = f"{error.mark.at:%Y-%m-%d}", error.mark.reason
    return Explanation(
        None,
        "",
        f"{what_sv} markerades som exporterad för hand {when} ({reason}), så den skickas inte till Fortnox.",
        f"{what_en} was marked as exported by hand on {when} ({reason}), so it is not sent to Fortnox.",
    )


def _foreign(journal: Journal, event: VoucherEvent, other: DayVoucher) -> ExportRefused:
    """Names the other voucher by series and number only: its text is whatever someone typed in Fortnox (a personal
    number in a salary voucher's text, say), and the reason travels upstream and into logs."""
    what_sv, what_en = _what(event)
    return refusal(
        f"{what_sv} bokförs inte: Fortnox har redan verifikation {other.name} daterad {journal.transaction_date} som "
        "nämner samma plats och inte är gjord av integrationen, till exempel en SIE-import från kassan. Är det samma "
        "dagskassa: markera exporten som exporterad. Är det inte det: ladda ner verifikationen som SIE-fil och läs "
        "in den i Fortnox.",
        f"{what_en} is not booked: Fortnox already holds voucher {other.name} dated {journal.transaction_date} that "
        "names the same place and was not made by the integration, an SIE import from the till for example. If it "
        "is the same day's sales, mark the export as exported; if not, download the voucher as an SIE file and "
        "import it in Fortnox.",
        tenant_fixable=False,
    )


def _what(event: VoucherEvent) -> tuple[str, str]:
    if isinstance(event, SalesDayClosed):
        place = event.data.location_name or event.data.location
        return f"Dagen {event.data.business_day} för {place}", f"The day {event.data.business_day} at {place}"
    return f"Verifikation {event.data.journal_id}", f"Journal {event.data.journal_id}"


def _date_of(event: VoucherEvent) -> date:
    return event.data.business_day if isinstance(event, SalesDayClosed) else event.data.transaction_date


def _location_of(event: VoucherEvent) -> str | None:
    return event.data.location


def _location_name(event: VoucherEvent) -> str | None:
    """The register's name as it reads on vouchers: the journal makes every text Fortnox-safe, so a foreign voucher
    typed from the same till reads the same way."""
    name = event.data.location_name if isinstance(event, SalesDayClosed) else None
    return fortnox_text(name) if name else None
