"""The failure digest: at most one e-mail per tenant per interval to the bookkeeper's address, naming each export that
failed since the last one and how to fix it, and payment polls that stopped working (once, until a poll succeeds
again), with a link to the tenant's status page.

A recorded refusal notes the tenant as waiting (``store.ledger.FailureNotes``, GSI1), so a run reads only the tenants
with something to tell. The interval's one e-mail is claimed with a conditional write before it is sent, so two runs
at once send one; a failure noted while an e-mail is on its way keeps the tenant waiting for the next interval.
The e-mail carries what a bookkeeper acts on and nothing else: no token, secret or personal identity number.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from fortnox_bridge.contracts.text import without_identity_numbers
from fortnox_bridge.ids import TenantId
from fortnox_bridge.observability import logger
from fortnox_bridge.store.connections import Connection, ConnectionState, ConnectionStore
from fortnox_bridge.store.ledger import (
    DigestState,
    ExportLedger,
    ExportScope,
    ExportState,
    FailureNotes,
    LedgerEntry,
    PaymentFailureNote,
)
from fortnox_bridge.store.tenants import Feature, NotificationSettings, Tenant, TenantStore

MOST_LISTED = 20
"""Failures named in one e-mail; the status page lists the rest."""

_KINDS = {
    "invoice": ("Faktura", "Invoice"),
    "credit_note": ("Kreditfaktura", "Credit note"),
    "credit": ("Kreditering av faktura", "Credit of invoice"),
    "voucher": ("Verifikation", "Voucher"),
}


@dataclass(frozen=True)
class Email:
    to: str
    subject: str
    text: str


SendEmail = Callable[[Email], None]
StatusLink = Callable[[TenantId], str]


def ses_sender(client: object, source: str) -> SendEmail:
    """Send through SES (``aws.ses()``) from ``source``, an address of the bridge's verified identity."""

    def send(email: Email) -> None:
        client.send_email(  # type: ignore[attr-defined]
            Source=source,
            Destination={"ToAddresses": [email.to]},
            Message={
                "Subject": {"Data": email.subject, "Charset": "UTF-8"},
                "Body": {"Text": {"Data": email.text, "Charset": "UTF-8"}},
            },
        )

    return send


class FailureDigest:
    def __init__(
        self,
        *,
        tenants: TenantStore,
        connections: ConnectionStore,
        ledger: ExportLedger,
        notes: FailureNotes,
        send: SendEmail,
        status_link: StatusLink,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._tenants = tenants
        self._connections = connections
        self._ledger = ledger
        self._notes = notes
        self._send = send
        self._status_link = status_link
        self._clock = clock

    def note(self, scope: ExportScope) -> None:
        """A failure was recorded for the tenant: it is told in its next digest."""
        self._notes.note(scope.tenant, self._clock())

    def run(self) -> list[TenantId]:
        """Send every waiting tenant whose interval has passed its digest; the tenants e-mailed."""
        sent: list[TenantId] = []
        for state in self._notes.pending():
            try:
                if self._tell(state):
                    sent.append(state.tenant_id)
            except Exception:  # one tenant's bad day (an address SES refuses) must not silence the others
                # Whether the e-mail went is in the lines before: "failure digest sent" is logged as SES takes it.
                logger.exception("failure digest not finished", extra={"tenant_id": state.tenant_id})
        return sent

    def _tell(self, state: DigestState) -> bool:
        tenant = self._tenants.get(state.tenant_id)
        connection = self._connections.get(state.tenant_id)
        notifications = tenant.settings.notifications if tenant is not None else None
        if notifications is None or connection is None:
            # Nobody to tell: what waits stays untold, and an address saved later notes the tenant again
            # (``TenantStore.put_settings``).
            self._notes.settle(state.tenant_id, seen=state)
            return False
        failures = self._untold(ExportScope(state.tenant_id, connection.fortnox_tenant_id), state.told_until)
        payments = state.payment_failure
        if payments is not None and not _tellable(payments, tenant, connection):
            # Left noted, the polls that go on failing once the tenant is back (sync on again, the company connected
            # again) would find it there and note nothing, and the settle below takes the tenant out of GSI1.
            self._notes.drop_payment_failure(state.tenant_id, payments)
            payments = None
        elif payments is not None and payments.since == state.payment_failure_told:
            payments = None  # told already, once is enough
        if not failures and payments is None:
            self._notes.settle(state.tenant_id, seen=state)
            return False
        now = self._clock()
        if not self._notes.claim_send(state.tenant_id, now, timedelta(minutes=notifications.interval_minutes)):
            return False
        email = compose(notifications, failures, self._status_link(state.tenant_id), payments=payments)
        try:
            self._send(email)
        except Exception:
            self._notes.unclaim(state.tenant_id, now, state.last_sent_at)
            raise
        logger.info(
            "failure digest sent",
            extra={"tenant_id": state.tenant_id, "failures": len(failures), "payments_failing": payments is not None},
        )
        # Each failure the e-mail told, and only those, is marked on its own item: a time bound compared with
        # ``failed_at`` would also cover a failure whose write lands after the list was read but whose clock came
        # before one listed (two exports at once), which no e-mail would ever tell.
        for entry in failures:
            self._ledger.mark_told(entry)
        if payments is not None:
            self._notes.payment_failure_was_told(state.tenant_id, payments)
        self._notes.settle(state.tenant_id, seen=state)
        return True

    def _untold(self, scope: ExportScope, told_until: datetime | None) -> list[LedgerEntry]:
        """The company's failed exports no e-mail has told: not marked told, and recorded after ``told_until``, the
        bound digests kept before failures were marked one by one."""
        found: list[LedgerEntry] = []
        start: tuple[str, str] | None = None
        while True:
            page = self._ledger.list(scope, state=ExportState.FAILED, limit=100, start=start)
            found += [
                entry
                for entry in page.entries
                if entry.failure is not None
                and entry.marked_exported is None
                and entry.failure_told != entry.failure.failed_at
                and (told_until is None or entry.failure.failed_at > told_until)
            ]
            if page.next_start is None:
                return sorted(found, key=lambda entry: entry.failure.failed_at if entry.failure else entry.updated_at)
            start = page.next_start


def _tellable(failure: PaymentFailureNote, tenant: Tenant | None, connection: Connection) -> bool:
    """The failure is of the tenant's payment sync as it is now: switched on, and of the company connected. A
    connection lost (``needs_reconnect``) is still the tenant's, and reconnecting is the fix the note names; one
    ended on request is not: no poll runs for it, so the note's promise that polls fetch what they missed once it
    is fixed would be false, and the tenant chose to leave."""
    return (
        tenant is not None
        and Feature.PAYMENT_SYNC in tenant.settings.features
        and failure.company == connection.fortnox_tenant_id
        and connection.state not in (ConnectionState.REVOKED, ConnectionState.DISCONNECTED)
    )


def compose(
    notifications: NotificationSettings,
    failures: list[LedgerEntry],
    link: str,
    *,
    payments: PaymentFailureNote | None = None,
) -> Email:
    """The e-mail in the tenant's language: failing payment polls with their fix, then each failed export with its
    fix, Fortnox's code and message beside it."""
    swedish = notifications.language == "sv"
    count = len(failures)
    if swedish:
        subjects = [f"{count} export{'er' if count != 1 else ''} till Fortnox behöver åtgärdas"] if count else []
        subjects += ["betalningar hämtas inte från Fortnox"] if payments is not None else []
        opening = (
            "Det här kom inte fram till Fortnox. Under varje rad står vad du gör för att rätta det; när det är rättat "
            "trycker du på Försök igen på statussidan."
        )
    else:
        subjects = (
            [f"{count} export{'s' if count != 1 else ''} to Fortnox need{'' if count != 1 else 's'} attention"]
            if count
            else []
        )
        subjects += ["payments are not being fetched from Fortnox"] if payments is not None else []
        opening = (
            "These did not reach Fortnox. Under each is what to do to fix it; once fixed, press Retry on the status "
            "page."
        )
    subject = "; ".join(subjects)
    subject = subject[0].upper() + subject[1:]
    lines: list[str] = []
    if payments is not None:
        lines += _payments_described(payments, swedish)
    if count:
        lines += [opening, ""]
    for entry in failures[:MOST_LISTED]:
        lines += _described(entry, swedish)
    if count > MOST_LISTED:
        more = count - MOST_LISTED
        lines.append(f"… och {more} till på statussidan." if swedish else f"… and {more} more on the status page.")
        lines.append("")
    # The link goes in after the masking: its signature may hold ten digits in a row.
    told = without_identity_numbers("\n".join(lines))
    return Email(
        to=notifications.email,
        subject=subject,
        text=told + ("\nStatussidan: " if swedish else "\nStatus page: ") + link + "\n",
    )


def _payments_described(failure: PaymentFailureNote, swedish: bool) -> list[str]:
    if swedish:
        opening = (
            "Betalningar från Fortnox hämtas inte längre, så det som betalas i Fortnox syns inte i ert system. När det "
            "är rättat hämtas allt som missats vid nästa körning, utan att du behöver göra något mer."
        )
    else:
        opening = (
            "Payments are no longer fetched from Fortnox, so what is paid in Fortnox does not reach your system. Once "
            "fixed, everything missed is fetched on the next poll, with nothing more to do."
        )
    return [
        opening,
        "",
        f"• {'Betalningar' if swedish else 'Payments'}",
        f"  {failure.sv if swedish else failure.en}",
        "",
    ]


def _described(entry: LedgerEntry, swedish: bool) -> list[str]:
    failure = entry.failure
    assert failure is not None  # only failures are listed
    label_sv, label_en = _KINDS.get(entry.kind, (entry.kind, entry.kind))
    lines = [
        f"• {label_sv if swedish else label_en} {entry.business_key}",
        f"  {failure.sv if swedish else failure.en}",
    ]
    for finding in failure.findings:
        lines.append(f"  - {finding.sv if swedish else finding.en}")
    if failure.code is not None or failure.fortnox_message:
        said = "Fortnox svarade" if swedish else "Fortnox said"
        code = f" {failure.code}" if failure.code is not None else ""
        lines.append(f"  ({said}{code}: {failure.fortnox_message})" if failure.fortnox_message else f"  ({said}{code})")
    lines.append("")
    return lines
