"""Fortnox refusals that only the tenant can fix, explained as the fix a bookkeeper would make."""

from dataclasses import dataclass

from fortnox_bridge.errors import NeedsTenantActionError, RetryableError
from fortnox_bridge.fortnox.errors import FortnoxError, FortnoxRateLimited


@dataclass(frozen=True)
class Explanation:
    code: int | None
    fortnox_message: str
    sv: str
    en: str


FIXES: dict[int, tuple[str, str]] = {
    2001798: (
        "Kontot finns inte i Fortnox kontoplan. Lägg till det i Fortnox, eller ändra mappningen så att raden "
        "bokförs på ett konto som finns.",
        "The account is missing from the Fortnox chart of accounts. Add it in Fortnox, or change the mapping "
        "to an account that exists.",
    ),
    2000423: (
        "Kontot hittades inte i Fortnox. Kontrollera kontoplanen och mappningen.",
        "Fortnox cannot find the account. Check the chart of accounts and the mapping.",
    ),
    2001304: (
        "Kontot hittades inte i Fortnox. Kontrollera kontoplanen och fördefinierade konton.",
        "Fortnox cannot find the account. Check the chart of accounts and the predefined accounts.",
    ),
    2000550: (
        "Kontot är inte aktivt i Fortnox för räkenskapsåret. Aktivera det under Bokföring > Kontoplan.",
        "The account is not active in Fortnox for the financial year. Activate it under Bookkeeping > "
        "Chart of accounts.",
    ),
    2000548: (
        "Kostnadsstället finns inte i Fortnox. Skapa det, eller ta bort det ur mappningen.",
        "The cost centre does not exist in Fortnox. Create it, or remove it from the mapping.",
    ),
    2002821: (
        "Kostnadsstället är inte aktivt i Fortnox. Aktivera det under Inställningar > Bokföring.",
        "The cost centre is not active in Fortnox. Activate it under Settings > Bookkeeping.",
    ),
    2000947: (
        "Kostnadsstället är inte aktivt i Fortnox. Aktivera det under Inställningar > Bokföring.",
        "The cost centre is not active in Fortnox. Activate it under Settings > Bookkeeping.",
    ),
    2000946: (
        "Kontot kräver kostnadsställe i Fortnox. Ange ett kostnadsställe i mappningen, eller ta bort kravet på kontot.",
        "The account requires a cost centre in Fortnox. Add one in the mapping, or remove the requirement "
        "on the account.",
    ),
    2001161: (
        "Projektet finns inte i Fortnox. Skapa det, eller ta bort det ur mappningen.",
        "The project does not exist in Fortnox. Create it, or remove it from the mapping.",
    ),
    2001302: (
        "Artikeln finns inte i Fortnox artikelregister. Lägg upp artikeln i Fortnox, eller rätta artikelnumret "
        "i mappningen.",
        "The article is not in the Fortnox article register. Add the article in Fortnox, or correct the article "
        "number in the mapping.",
    ),
    2000428: (
        "Artikeln finns inte i Fortnox artikelregister. Lägg upp artikeln i Fortnox, eller rätta artikelnumret "
        "i mappningen.",
        "The article is not in the Fortnox article register. Add the article in Fortnox, or correct the article "
        "number in the mapping.",
    ),
    2000427: (
        "Valutan finns inte i Fortnox. Lägg till den under Fakturering > Valutor.",
        "The currency is not set up in Fortnox. Add it under Invoicing > Currencies.",
    ),
    2000401: (
        "Perioden är låst i Fortnox. Lås upp perioden, eller ändra datumet upstream.",
        "The period is locked in Fortnox. Unlock it, or change the date upstream.",
    ),
    2001940: (
        "Verifikationsserien tillåter inte manuell kontering. Kryssa i Manuell kontering för serien i Fortnox.",
        "The voucher series does not allow manual accounting. Tick Manual accounting for the series in Fortnox.",
    ),
    2000663: (
        "Integrationen saknar behörighet för det här i Fortnox. Anslut igen och godkänn alla behörigheter.",
        "The integration lacks permission for this in Fortnox. Reconnect and approve every permission.",
    ),
    2001101: (
        "Fortnox-företaget saknar licens för det här. Beställ tillägget i Fortnox.",
        "The Fortnox company has no licence for this. Order the add-on in Fortnox.",
    ),
    2003498: (
        "Fakturan måste klarmarkeras innan den kan bokföras.",
        "The invoice must be marked as finished before it can be booked.",
    ),
}


def explain(error: FortnoxError) -> Explanation:
    sv, en = FIXES.get(
        error.code or 0,
        (
            "Fortnox avvisade exporten. Se meddelandet från Fortnox.",
            "Fortnox refused the export. See Fortnox's message.",
        ),
    )
    return Explanation(error.code, error.message, sv, en)


class ExportRefused(NeedsTenantActionError):
    """An export the tenant must fix first; carries the explanation in both languages."""

    def __init__(self, explanation: Explanation) -> None:
        super().__init__(explanation.en)
        self.explanation = explanation


def refusal(sv: str, en: str, *, code: int | None = None, fortnox_message: str = "") -> ExportRefused:
    return ExportRefused(Explanation(code, fortnox_message, sv, en))


class AwaitingInvoice(RetryableError):
    """A credit or credit note arrived before its invoice was exported: it waits (the message is retried), and the
    last attempt fails with this explanation."""

    def __init__(self, invoice_number: str) -> None:
        super().__init__(f"invoice {invoice_number} is not exported yet")
        self.explanation = Explanation(
            None,
            "",
            f"Faktura {invoice_number} har inte exporterats till Fortnox, så krediten kan inte göras där. "
            "Exportera fakturan och skicka krediten igen.",
            f"Invoice {invoice_number} has not been exported to Fortnox, so the credit cannot be made there. "
            "Export the invoice, then send the credit again.",
        )


MAY_EXIST = (
    " Fortnox kan redan ha skapat dokumentet (svaret kom aldrig fram): när händelsen skickas igen letar exporten "
    "efter det innan något nytt skapas.",
    " Fortnox may already have created the document (its answer never arrived): when the event is sent again, the "
    "export looks for it before creating anything.",
)


def gave_up(cause: Exception, *, may_exist: bool = False) -> Explanation:
    """Why the last attempt of a message that kept failing in ways worth retrying was given up; ``may_exist`` when a
    create was sent and its answer lost, so upstream is not told plainly that nothing is in Fortnox."""
    explanation = _gave_up(cause)
    if not may_exist:
        return explanation
    return Explanation(
        explanation.code, explanation.fortnox_message, explanation.sv + MAY_EXIST[0], explanation.en + MAY_EXIST[1]
    )


def _gave_up(cause: Exception) -> Explanation:
    """Why the last attempt of a message that kept failing in ways worth retrying was given up."""
    if isinstance(cause, AwaitingInvoice):
        return cause.explanation
    if isinstance(cause, FortnoxRateLimited):
        return Explanation(
            cause.code,
            cause.message,
            "Fortnox tog inte emot fler anrop för företaget just nu (för många anrop), inte heller efter flera "
            "försök. Skicka händelsen igen senare.",
            "Fortnox refused more calls for the company (too many requests), also after several attempts. Send "
            "the event again later.",
        )
    if isinstance(cause, FortnoxError):
        return Explanation(
            cause.code,
            cause.message,
            f"Fortnox svarade med ett fel ({cause}), också efter flera försök. Skicka händelsen igen senare.",
            f"Fortnox answered with an error ({cause}), also after several attempts. Send the event again later.",
        )
    return Explanation(
        None,
        "",
        f"Exporten misslyckades efter flera försök: {cause}. Skicka händelsen igen senare.",
        f"The export failed after several attempts: {cause}. Send the event again later.",
    )


def exported_as_order(upstream: str, order: str) -> ExportRefused:
    return refusal(
        f"Faktura {upstream} exporterades som order {order} i Fortnox. Kreditera fakturan som Fortnox gjorde av "
        "ordern direkt i Fortnox.",
        f"Invoice {upstream} was exported as order {order} in Fortnox. Credit the invoice Fortnox made from the order "
        "in Fortnox itself.",
    )


def not_ours(upstream: str, number: str) -> ExportRefused:
    return refusal(
        f"Dokument {number} i det anslutna Fortnox-företaget kommer inte från exporten av faktura {upstream}, så "
        "det ändras och krediteras inte.",
        f"Document {number} in the connected Fortnox company was not made by the export of invoice {upstream}, so "
        "it is neither changed nor credited.",
    )


def already_fully_credited(upstream: str, number: str, credit: str) -> ExportRefused:
    return refusal(
        f"Faktura {upstream} (nummer {number}) är redan helt krediterad i Fortnox med kreditfaktura {credit}. En "
        "kreditfaktura till skulle kreditera kunden mer än det som fakturerades, så den görs inte.",
        f"Invoice {upstream} (number {number}) is already fully credited in Fortnox by credit invoice {credit}. "
        "Another credit note would credit the customer more than was invoiced, so it is not made.",
    )


def partly_credited(upstream: str, credit_notes: list[str]) -> ExportRefused:
    notes = ", ".join(credit_notes)
    return refusal(
        f"Faktura {upstream} är redan delvis krediterad med kreditfaktura {notes}. En hel kreditering ovanpå skulle "
        "kreditera kunden mer än det som fakturerades, så den görs inte. Kreditera resten med en kreditfaktura.",
        f"Invoice {upstream} is already partly credited by credit note {notes}. A full credit on top would credit "
        "the customer more than was invoiced, so it is not made. Credit the rest with a credit note.",
    )


def corrected_by_credit_notes(upstream: str, number: str, credit_notes: list[str]) -> ExportRefused:
    notes = ", ".join(credit_notes)
    return refusal(
        f"Faktura {upstream} (nummer {number}) är rättad med kreditfaktura {notes} och kan inte ändras: "
        "kreditfakturan tar tillbaka rader ur den. Gör ändringen med en ny kreditfaktura eller faktura.",
        f"Invoice {upstream} (number {number}) is corrected by credit note {notes} and cannot be changed: the credit "
        "note takes back rows of it. Make the change with another credit note or invoice.",
    )


def other_currency(note: str, note_currency: str, upstream: str, invoice_currency: str) -> ExportRefused:
    return refusal(
        f"Kreditfaktura {note} är i {note_currency} men faktura {upstream} är i {invoice_currency}. En kreditfaktura "
        "görs i samma valuta som fakturan den rättar.",
        f"Credit note {note} is in {note_currency} but invoice {upstream} is in {invoice_currency}. A credit note is "
        "made in the currency of the invoice it corrects.",
    )


def credit_of_a_credit_note(upstream: str) -> ExportRefused:
    return refusal(
        f"{upstream} är en kreditfaktura, inte en faktura, och en kreditfaktura krediteras inte. Skicka en ny "
        "faktura om kunden ska debiteras igen.",
        f"{upstream} is a credit note, not an invoice, and a credit note is not credited. Send a new invoice if the "
        "customer is to be charged again.",
    )


def number_of_the_other_kind(upstream: str, number: str, *, credit: bool) -> ExportRefused:
    this, other = ("kreditfaktura", "faktura") if credit else ("faktura", "kreditfaktura")
    this_en, other_en = ("credit note", "invoice") if credit else ("invoice", "credit note")
    return refusal(
        f"Nummer {number} i Fortnox är redan {other} {upstream} från den här exporten, så {this} {upstream} kan inte "
        "få det numret. Fakturor och kreditfakturor behöver olika nummer upstream.",
        f"Number {number} in Fortnox is already {other_en} {upstream} from this export, so {this_en} {upstream} "
        "cannot have that number. Invoices and credit notes need different numbers upstream.",
    )
