"""Why an export did not happen, said as the fix a bookkeeper would make, in Swedish and English.

Every Fortnox error code the project knows of (``../shared/fortnox/FACTS.md`` and the seeds) has a fix here: what it
means for the bookkeeper and where in Fortnox to change it. Fortnox's own code and message are kept beside it.
"""

from dataclasses import dataclass

from fortnox_bridge.errors import NeedsTenantActionError, RetryableError
from fortnox_bridge.fortnox.errors import FortnoxError, FortnoxRateLimited
from fortnox_bridge.fortnox.oauth import ConnectionLost, TokensOfAnotherCompany
from fortnox_bridge.store.ledger import MarkedExported
from fortnox_bridge.store.mappings import StaleMapping
from fortnox_bridge.store.tenants import UnknownTenant


@dataclass(frozen=True)
class Explanation:
    code: int | None
    fortnox_message: str
    sv: str
    en: str
    tenant_fixable: bool = True
    """The tenant can remove the cause (in Fortnox, the mapping or the connection), after which the same event goes
    through: what "retry failed" replays. False for a cause in the event itself or a passing fault."""


@dataclass(frozen=True)
class Fix:
    sv: str
    en: str
    tenant_fixable: bool


# Where things are in Fortnox, named once so every fix points to the same place.
_CHART = ("Inställningar > Bokföring > Kontoplan", "Settings > Accounting > Chart of accounts")
_COST_CENTRES = ("Register > Kostnadsställen", "Registers > Cost centres")
_SERIES = ("Inställningar > Bokföring > Verifikationsserier", "Settings > Accounting > Voucher series")
_PREDEFINED = ("Inställningar > Bokföring > Fördefinierade konton", "Settings > Accounting > Predefined accounts")
_INTEGRATIONS = ("Inställningar > Integrationer", "Settings > Integrations")
_NOT_YOURS = (
    "Det här är inget du ändrar i Fortnox: tjänsten som skickar händelserna behöver rätta det, sedan kan exporten "
    "skickas igen.",
    "This is nothing to change in Fortnox: the service sending the events needs to correct it, then the export can "
    "be sent again.",
)
_OURS = (
    "Det här är ett fel i integrationen, inte i din bokföring; det är rapporterat. Försök igen senare.",
    "This is a fault in the integration, not in your bookkeeping; it has been reported. Try again later.",
)
_RECONNECT = (
    "Anslut Fortnox igen via länken från tjänsten och godkänn alla behörigheter som efterfrågas.",
    "Connect Fortnox again through the link from the service and approve every permission asked for.",
)


def _fix(sv: str, en: str, *, tenant: bool) -> Fix:
    return Fix(sv, en, tenant)


def _upstream(sv: str, en: str) -> Fix:
    return Fix(f"{sv} {_NOT_YOURS[0]}", f"{en} {_NOT_YOURS[1]}", False)


def _integration(sv: str, en: str) -> Fix:
    return Fix(f"{sv} {_OURS[0]}", f"{en} {_OURS[1]}", False)


def _reconnect(sv: str, en: str) -> Fix:
    return Fix(f"{sv} {_RECONNECT[0]}", f"{en} {_RECONNECT[1]}", True)


def _warehouse(sv: str, en: str) -> Fix:
    return Fix(
        f"Fortnox Lager stoppade dokumentet: {sv} Kontrollera artikelns lagerinställningar i Fortnox under Lager, "
        "eller stäng av lagerhanteringen för artikeln, och skicka exporten igen.",
        f"Fortnox Warehouse stopped the document: {en} Check the article's warehouse settings in Fortnox under "
        "Warehouse, or turn warehouse management off for the article, and send the export again.",
        True,
    )


FIXES: dict[int, Fix] = {
    # Fortnox itself, or how the integration talks to it.
    1000003: _integration("Fortnox fick ett internt fel.", "Fortnox had an internal error."),
    1000030: _integration(
        "Integrationen bad Fortnox om ett svarsformat som Fortnox inte ger.",
        "The integration asked Fortnox for an answer format Fortnox does not give.",
    ),
    1000031: _integration(
        "Integrationen skickade data i ett format som Fortnox inte tar emot.",
        "The integration sent data in a format Fortnox does not accept.",
    ),
    2001392: _integration("Fortnox fick ett tomt eller felaktigt anrop.", "Fortnox got an empty or malformed request."),
    2001399: _integration(
        "Fortnox känner inte igen ett fältnamn i anropet.", "Fortnox does not know a field name in the request."
    ),
    2001740: _integration("Fortnox kunde inte läsa anropet (XML).", "Fortnox could not read the request (XML)."),
    2002115: _integration("Fortnox kunde inte läsa anropet (JSON).", "Fortnox could not read the request (JSON)."),
    2000587: _integration("Fortnox fick ett ogiltigt filter i en sökning.", "Fortnox got an invalid search filter."),
    2000588: _integration("Fortnox fick en ogiltig parameter.", "Fortnox got an invalid parameter."),
    2000729: _integration(
        "Fortnox fick inget giltigt id på det som skulle ändras.",
        "Fortnox got no valid identifier for what was to be changed.",
    ),
    # Logging in and permissions: the tenant connects again or grants what is missing.
    2000310: _reconnect(
        "Fortnox godtog inte inloggningen för integrationen.", "Fortnox refused the integration's login."
    ),
    2000311: _reconnect(
        "Fortnox fick ingen giltig inloggning från integrationen.", "Fortnox got no valid login from the integration."
    ),
    2004054: _reconnect(
        "Fortnox godtog inte inloggningen för integrationen.", "Fortnox refused the integration's login."
    ),
    2000719: _reconnect(
        "Fortnox godtog inte integrationens behörighetskod.", "Fortnox refused the integration's authorisation code."
    ),
    2000663: _reconnect(
        "Integrationen saknar behörighet för det här i Fortnox.",
        "The integration lacks permission for this in Fortnox.",
    ),
    2001393: _reconnect(
        "Integrationen saknar behörighet för kundfakturor i Fortnox.",
        "The integration lacks permission for customer invoices in Fortnox.",
    ),
    2002455: _reconnect(
        "Integrationen saknar behörighet för bokföring (verifikationer) i Fortnox.",
        "The integration lacks permission for bookkeeping (vouchers) in Fortnox.",
    ),
    2001427: _fix(
        "Fortnox-användaren som anslöt integrationen får inte skapa periodiseringar. Ge användaren behörigheten "
        f"under {_INTEGRATIONS[0]} eller Användare, eller anslut med en användare som har den.",
        "The Fortnox user who connected the integration may not create accruals. Give the user that permission "
        f"under {_INTEGRATIONS[1]} or Users, or connect with a user who has it.",
        tenant=True,
    ),
    2003330: _fix(
        "Fortnox-användaren som anslöt integrationen får inte läsa inbetalningar. Ge användaren behörigheten under "
        "Användare i Fortnox, eller anslut med en användare som har den.",
        "The Fortnox user who connected the integration may not read payments. Give the user that permission under "
        "Users in Fortnox, or connect with a user who has it.",
        tenant=True,
    ),
    2001101: _fix(
        "Fortnox-företaget saknar licens för det här. Beställ tillägget i Fortnox under Butik (till exempel "
        "Bokföring eller Fakturering) och skicka exporten igen.",
        "The Fortnox company has no licence for this. Order the add-on in Fortnox under Store (Bookkeeping or "
        "Invoicing, for example) and send the export again.",
        tenant=True,
    ),
    2001103: _fix(
        "Fortnox-företaget saknar licens för integrationer (API). Beställ Integrationslicensen i Fortnox under Butik.",
        "The Fortnox company has no licence for integrations (API). Order the Integration licence in Fortnox under "
        "Store.",
        tenant=True,
    ),
    # The chart of accounts.
    2001798: _fix(
        f"Kontot finns inte i Fortnox kontoplan för räkenskapsåret. Lägg till det under {_CHART[0]}, eller ändra "
        "mappningen så att raden bokförs på ett konto som finns.",
        f"The account is missing from the Fortnox chart of accounts for the financial year. Add it under {_CHART[1]}, "
        "or change the mapping to an account that exists.",
        tenant=True,
    ),
    2000423: _fix(
        f"Kontot hittades inte i Fortnox. Lägg till det under {_CHART[0]}, eller ändra mappningen till ett konto som "
        "finns.",
        f"Fortnox cannot find the account. Add it under {_CHART[1]}, or change the mapping to an account that exists.",
        tenant=True,
    ),
    2001304: _fix(
        f"Ett konto som används hittades inte i Fortnox. Kontrollera {_CHART[0]} och {_PREDEFINED[0]}.",
        f"An account in use cannot be found in Fortnox. Check {_CHART[1]} and {_PREDEFINED[1]}.",
        tenant=True,
    ),
    2001720: _fix(
        f"Inköpskontot finns inte i Fortnox kontoplan. Lägg till det under {_CHART[0]}, eller välj ett annat "
        "inköpskonto på artikeln under Register > Artiklar.",
        f"The purchase account is missing from the Fortnox chart of accounts. Add it under {_CHART[1]}, or pick "
        "another purchase account on the article under Registers > Articles.",
        tenant=True,
    ),
    2000550: _fix(
        f"Kontot är inte aktivt i Fortnox för räkenskapsåret. Aktivera det under {_CHART[0]} (välj rätt "
        "räkenskapsår), eller ändra mappningen till ett aktivt konto.",
        f"The account is not active in Fortnox for the financial year. Activate it under {_CHART[1]} (pick the right "
        "financial year), or change the mapping to an active account.",
        tenant=True,
    ),
    2001403: _fix(
        f"Ett fördefinierat konto saknas i Fortnox. Ange det under {_PREDEFINED[0]}.",
        f"A predefined account is missing in Fortnox. Set it under {_PREDEFINED[1]}.",
        tenant=True,
    ),
    2003095: _fix(
        f"Fortnox saknar fördefinierat konto för omvänd moms. Ange det under {_PREDEFINED[0]}.",
        f"Fortnox has no predefined account for reverse VAT. Set it under {_PREDEFINED[1]}.",
        tenant=True,
    ),
    2004167: _fix(
        "Rader med egen momssats måste ha ett konto i Fortnox. Lägg till ett försäljningskonto för momssatsen i "
        "mappningen.",
        "Rows with a custom VAT rate need an account in Fortnox. Add a sales account for the VAT rate to the mapping.",
        tenant=True,
    ),
    # Cost centres and projects.
    2000548: _fix(
        f"Kostnadsstället finns inte i Fortnox. Skapa det under {_COST_CENTRES[0]}, eller ta bort det ur mappningen.",
        f"The cost centre does not exist in Fortnox. Create it under {_COST_CENTRES[1]}, or remove it from the "
        "mapping.",
        tenant=True,
    ),
    2002821: _fix(
        f"Kostnadsstället är inte aktivt i Fortnox. Aktivera det under {_COST_CENTRES[0]}, eller ändra mappningen "
        "till ett aktivt kostnadsställe.",
        f"The cost centre is not active in Fortnox. Activate it under {_COST_CENTRES[1]}, or change the mapping to "
        "an active cost centre.",
        tenant=True,
    ),
    2000947: _fix(
        f"Verifikationen har ett kostnadsställe som inte är aktivt i Fortnox. Aktivera det under "
        f"{_COST_CENTRES[0]}, eller ändra mappningen.",
        f"The voucher has a cost centre that is not active in Fortnox. Activate it under {_COST_CENTRES[1]}, or "
        "change the mapping.",
        tenant=True,
    ),
    2000946: _fix(
        f"Kontot kräver ett kostnadsställe i Fortnox. Ange ett kostnadsställe för raden i mappningen, eller ta bort "
        f"kravet på kontot under {_CHART[0]}.",
        "The account requires a cost centre in Fortnox. Give the row a cost centre in the mapping, or remove the "
        f"requirement from the account under {_CHART[1]}.",
        tenant=True,
    ),
    2001161: _fix(
        "Projektet finns inte i Fortnox. Skapa det under Register > Projekt, eller ta bort det ur mappningen.",
        "The project does not exist in Fortnox. Create it under Registers > Projects, or remove it from the mapping.",
        tenant=True,
    ),
    # Vouchers and periods.
    2001940: _fix(
        f"Verifikationsserien tillåter inte manuell kontering. Kryssa i Manuell för serien under {_SERIES[0]}, "
        "eller välj en annan serie i mappningen.",
        f"The voucher series does not allow manual accounting. Tick Manual for the series under {_SERIES[1]}, or "
        "choose another series in the mapping.",
        tenant=True,
    ),
    2000401: _fix(
        "Perioden är låst i Fortnox. Lås upp den under Inställningar > Bokföring > Låsning av period, eller boka "
        "på ett datum efter den låsta perioden.",
        "The period is locked in Fortnox. Unlock it under Settings > Accounting > Locking of period, or book on a "
        "date after the locked period.",
        tenant=True,
    ),
    2000755: _upstream(
        "Verifikationen balanserar inte (debet och kredit är inte lika).",
        "The voucher does not balance (debit and credit differ).",
    ),
    2003115: _upstream("Rader med omvänd moms behöver en momskod.", "Rows with reverse VAT need a VAT code."),
    # Registers an invoice refers to.
    2000427: _fix(
        "Valutan finns inte i Fortnox. Lägg till den under Register > Valutor.",
        "The currency does not exist in Fortnox. Add it under Registers > Currencies.",
        tenant=True,
    ),
    2001302: _fix(
        "Artikeln finns inte i Fortnox. Skapa den under Register > Artiklar, eller ändra mappningen till en "
        "artikel som finns.",
        "The article does not exist in Fortnox. Create it under Registers > Articles, or change the mapping to an "
        "article that exists.",
        tenant=True,
    ),
    2000428: _fix(
        "Artikeln hittades inte i Fortnox. Skapa den under Register > Artiklar, eller ändra mappningen.",
        "Fortnox cannot find the article. Create it under Registers > Articles, or change the mapping.",
        tenant=True,
    ),
    2000429: _fix(
        "Betalningsvillkoret finns inte i Fortnox. Lägg till det under Register > Betalningsvillkor.",
        "The terms of payment do not exist in Fortnox. Add them under Registers > Terms of payment.",
        tenant=True,
    ),
    2000432: _fix(
        "Enheten finns inte i Fortnox. Lägg till den under Register > Enheter.",
        "The unit does not exist in Fortnox. Add it under Registers > Units.",
        tenant=True,
    ),
    2000435: _fix(
        "Leveransvillkoret finns inte i Fortnox. Lägg till det under Register > Leveransvillkor.",
        "The terms of delivery do not exist in Fortnox. Add them under Registers > Terms of delivery.",
        tenant=True,
    ),
    2000430: _fix(
        "Priset finns inte i Fortnox. Lägg in artikelns pris under Register > Artiklar > Priser.",
        "The price does not exist in Fortnox. Enter the article's price under Registers > Articles > Prices.",
        tenant=True,
    ),
    2000431: _fix(
        "Prislistan finns inte i Fortnox. Lägg till den under Register > Prislistor.",
        "The price list does not exist in Fortnox. Add it under Registers > Price lists.",
        tenant=True,
    ),
    2000204: _fix(
        "Kunden hittades inte i Fortnox; den kan ha tagits bort. Lägg tillbaka den under Register > Kunder, eller "
        "skicka kunden igen från tjänsten.",
        "Fortnox cannot find the customer; it may have been deleted. Restore it under Registers > Customers, or send "
        "the customer again from the service.",
        tenant=True,
    ),
    2000433: _fix(
        "Kunden hittades inte i Fortnox; den kan ha tagits bort. Lägg tillbaka den under Register > Kunder, eller "
        "skicka kunden igen från tjänsten.",
        "Fortnox cannot find the customer; it may have been deleted. Restore it under Registers > Customers, or send "
        "the customer again from the service.",
        tenant=True,
    ),
    2000434: _upstream(
        "Fakturan finns inte i Fortnox (den kan ha tagits bort där).",
        "The invoice is not in Fortnox (it may have been deleted there).",
    ),
    2000439: _upstream(
        "Ordern finns inte i Fortnox (den kan ha tagits bort där).",
        "The order is not in Fortnox (it may have been deleted there).",
    ),
    2000637: _upstream(
        "Kundnumret är redan använt i Fortnox, också om kunden har tagits bort: ett nummer kan inte återanvändas.",
        "The customer number is already used in Fortnox, also if the customer was deleted: a number cannot be reused.",
    ),
    2003498: _fix(
        "Fakturan måste klarmarkeras innan den kan bokföras. Klarmarkera den i Fortnox under Kundfakturor, eller "
        "stäng av bokföring vid export i inställningarna.",
        "The invoice must be marked as finished before it can be booked. Mark it finished in Fortnox under Customer "
        "invoices, or turn off bookkeeping on export in the settings.",
        tenant=True,
    ),
    2003977: _upstream(
        "En fakturarad har antal men varken text eller artikel.",
        "An invoice row has a quantity but neither a description nor an article.",
    ),
    # Values in the event.
    2000106: _upstream(
        "Ett värde får bara innehålla bokstäver och siffror.", "A value may contain only letters and digits."
    ),
    2000108: _upstream("Ett värde måste vara ett tal.", "A value must be a number."),
    2000134: _upstream("Ett värde måste vara sant eller falskt.", "A value must be true or false."),
    2000359: _upstream(
        "Ett värde innehåller tecken som Fortnox inte tillåter.", "A value contains characters Fortnox does not allow."
    ),
    # Fortnox Warehouse (Lager).
    2003124: _warehouse("lagret tillåter inte ändringen.", "the warehouse does not allow the change."),
    2003125: Fix(
        "Dokumentet är klarmarkerat i Fortnox och kan inte ändras. Gör ändringen med ett nytt dokument.",
        "The document is marked as finished in Fortnox and cannot be changed. Make the change with a new document.",
        False,
    ),
    2003126: _warehouse("lagerdokumentet kan inte ändras.", "the warehouse document cannot be changed."),
    2003127: _warehouse("lagerdokumentet hittades inte.", "the warehouse document was not found."),
    2003241: _warehouse("lagerplatsen är inte giltig.", "the stock location is not valid."),
    2003275: _warehouse("artikeln är inte en lagerartikel.", "the article is not a stock article."),
    2003277: _warehouse("lagersaldot räcker inte.", "the stock balance is not enough."),
    2003399: _warehouse("lagerinställningarna stoppar dokumentet.", "the warehouse settings stop the document."),
}


def explain(error: FortnoxError) -> Explanation:
    fix = FIXES.get(error.code or 0)
    if fix is None:
        # A code we have not met yet: tell the bookkeeper plainly and keep Fortnox's words beside it. A 400 that
        # names the tenant's setup is still theirs to fix.
        return Explanation(
            error.code,
            error.message,
            "Fortnox avvisade exporten av ett skäl som integrationen inte känner till ännu. Fortnox meddelande står "
            "bredvid; kontrollera det som nämns där i Fortnox och skicka exporten igen.",
            "Fortnox refused the export for a reason the integration does not know yet. Fortnox's message is beside "
            "this; check what it names in Fortnox and send the export again.",
            tenant_fixable=isinstance(error, NeedsTenantActionError),
        )
    return Explanation(error.code, error.message, fix.sv, fix.en, tenant_fixable=fix.tenant_fixable)


class ExportRefused(NeedsTenantActionError):
    """An export the tenant must fix first; carries the explanation in both languages."""

    def __init__(self, explanation: Explanation) -> None:
        super().__init__(explanation.en)
        self.explanation = explanation


def refusal(
    sv: str, en: str, *, code: int | None = None, fortnox_message: str = "", tenant_fixable: bool = True
) -> ExportRefused:
    return ExportRefused(Explanation(code, fortnox_message, sv, en, tenant_fixable=tenant_fixable))


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
            tenant_fixable=False,
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
        explanation.code,
        explanation.fortnox_message,
        explanation.sv + MAY_EXIST[0],
        explanation.en + MAY_EXIST[1],
        tenant_fixable=False,
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
            tenant_fixable=False,
        )
    if isinstance(cause, FortnoxError):
        # Fortnox's own message is kept beside the explanation, not inside it: it may be in either language.
        answer = "inget svar" if cause.status == 0 else f"HTTP {cause.status}"
        answer_en = "no answer" if cause.status == 0 else f"HTTP {cause.status}"
        return Explanation(
            cause.code,
            cause.message,
            f"Fortnox svarade med ett fel ({answer}), också efter flera försök. Skicka händelsen igen senare.",
            f"Fortnox answered with an error ({answer_en}), also after several attempts. Send the event again later.",
            tenant_fixable=False,
        )
    return Explanation(
        None,
        "",
        "Exporten misslyckades efter flera försök av ett tillfälligt skäl (det tekniska skälet står i den engelska "
        "texten). Skicka händelsen igen senare.",
        f"The export failed after several attempts: {cause}. Send the event again later.",
        tenant_fixable=False,
    )


def exported_as_order(upstream: str, order: str) -> ExportRefused:
    return refusal(
        f"Faktura {upstream} exporterades som order {order} i Fortnox. Kreditera fakturan som Fortnox gjorde av "
        "ordern direkt i Fortnox.",
        f"Invoice {upstream} was exported as order {order} in Fortnox. Credit the invoice Fortnox made from the order "
        "in Fortnox itself.",
        tenant_fixable=False,
    )


def not_ours(upstream: str, number: str) -> ExportRefused:
    return refusal(
        f"Dokument {number} i det anslutna Fortnox-företaget kommer inte från exporten av faktura {upstream}, så "
        "det ändras och krediteras inte.",
        f"Document {number} in the connected Fortnox company was not made by the export of invoice {upstream}, so "
        "it is neither changed nor credited.",
        tenant_fixable=False,
    )


def already_fully_credited(upstream: str, number: str, credit: str) -> ExportRefused:
    return refusal(
        f"Faktura {upstream} (nummer {number}) är redan helt krediterad i Fortnox med kreditfaktura {credit}. En "
        "kreditfaktura till skulle kreditera kunden mer än det som fakturerades, så den görs inte.",
        f"Invoice {upstream} (number {number}) is already fully credited in Fortnox by credit invoice {credit}. "
        "Another credit note would credit the customer more than was invoiced, so it is not made.",
        tenant_fixable=False,
    )


def partly_credited(upstream: str, credit_notes: list[str]) -> ExportRefused:
    notes = ", ".join(credit_notes)
    return refusal(
        f"Faktura {upstream} är redan delvis krediterad med kreditfaktura {notes}. En hel kreditering ovanpå skulle "
        "kreditera kunden mer än det som fakturerades, så den görs inte. Kreditera resten med en kreditfaktura.",
        f"Invoice {upstream} is already partly credited by credit note {notes}. A full credit on top would credit "
        "the customer more than was invoiced, so it is not made. Credit the rest with a credit note.",
        tenant_fixable=False,
    )


def corrected_by_credit_notes(upstream: str, number: str, credit_notes: list[str]) -> ExportRefused:
    notes = ", ".join(credit_notes)
    return refusal(
        f"Faktura {upstream} (nummer {number}) är rättad med kreditfaktura {notes} och kan inte ändras: "
        "kreditfakturan tar tillbaka rader ur den. Gör ändringen med en ny kreditfaktura eller faktura.",
        f"Invoice {upstream} (number {number}) is corrected by credit note {notes} and cannot be changed: the credit "
        "note takes back rows of it. Make the change with another credit note or invoice.",
        tenant_fixable=False,
    )


def other_currency(note: str, note_currency: str, upstream: str, invoice_currency: str) -> ExportRefused:
    return refusal(
        f"Kreditfaktura {note} är i {note_currency} men faktura {upstream} är i {invoice_currency}. En kreditfaktura "
        "görs i samma valuta som fakturan den rättar.",
        f"Credit note {note} is in {note_currency} but invoice {upstream} is in {invoice_currency}. A credit note is "
        "made in the currency of the invoice it corrects.",
        tenant_fixable=False,
    )


def credit_of_a_credit_note(upstream: str) -> ExportRefused:
    return refusal(
        f"{upstream} är en kreditfaktura, inte en faktura, och en kreditfaktura krediteras inte. Skicka en ny "
        "faktura om kunden ska debiteras igen.",
        f"{upstream} is a credit note, not an invoice, and a credit note is not credited. Send a new invoice if the "
        "customer is to be charged again.",
        tenant_fixable=False,
    )


def number_of_the_other_kind(upstream: str, number: str, *, credit: bool) -> ExportRefused:
    this, other = ("kreditfaktura", "faktura") if credit else ("faktura", "kreditfaktura")
    this_en, other_en = ("credit note", "invoice") if credit else ("invoice", "credit note")
    return refusal(
        f"Nummer {number} i Fortnox är redan {other} {upstream} från den här exporten, så {this} {upstream} kan inte "
        "få det numret. Fakturor och kreditfakturor behöver olika nummer upstream.",
        f"Number {number} in Fortnox is already {other_en} {upstream} from this export, so {this_en} {upstream} "
        "cannot have that number. Invoices and credit notes need different numbers upstream.",
        tenant_fixable=False,
    )


def explanation_of(error: Exception) -> Explanation:
    """What to tell the bookkeeper about an export that stopped, whole in both languages: a refusal explained
    where it was raised, a Fortnox answer by its code, and the bridge's own refusals by their kind."""
    explained = getattr(error, "explanation", None)
    if isinstance(explained, Explanation):
        return explained
    if isinstance(error, FortnoxError):
        return explain(error)
    if isinstance(error, MarkedExported):
        day, reason = f"{error.mark.at:%Y-%m-%d}", error.mark.reason
        return Explanation(
            None,
            "",
            f"Dokumentet markerades som exporterat för hand {day} ({reason}), så integrationen skickar det inte "
            "till Fortnox.",
            f"The document was marked as exported by hand on {day} ({reason}), so the integration does not send it "
            "to Fortnox.",
            tenant_fixable=False,
        )
    message = getattr(error, "message", str(error))
    for kind, (sv, en, fixable) in _BY_KIND.items():
        if isinstance(error, kind):
            return Explanation(None, "", sv, f"{en} ({message})", tenant_fixable=fixable)
    return Explanation(
        None,
        "",
        "Exporten avvisades. Orsaken står i den engelska texten; skicka den till tjänsten som skickar händelserna om "
        "den inte säger dig något.",
        f"The export was refused: {message}",
        tenant_fixable=isinstance(error, NeedsTenantActionError),
    )


# The bridge's own refusals that reach an export, most specific first.
_BY_KIND: dict[type[Exception], tuple[str, str, bool]] = {
    UnknownTenant: (
        "Kunden som händelsen nämner finns inte i integrationen. Tjänsten som skickar händelserna behöver "
        "kontrollera tenant_id.",
        "The tenant the event names is not known to the integration. The service sending the events needs to "
        "check tenant_id.",
        False,
    ),
    ConnectionLost: (
        # No cause named: the grant may have been withdrawn, have expired, or been rotated by a refresh whose
        # answer was lost; the fix is the same.
        "Fortnox godtar inte längre integrationens anslutning. " + _RECONNECT[0],
        "Fortnox no longer accepts the integration's connection. " + _RECONNECT[1],
        True,
    ),
    TokensOfAnotherCompany: (
        "Inloggningen gäller ett annat Fortnox-företag än det som är anslutet. " + _RECONNECT[0],
        "The login is for another Fortnox company than the one connected. " + _RECONNECT[1],
        True,
    ),
    StaleMapping: (
        "Den sparade mappningen följer inte längre reglerna. Rätta den och spara den igen.",
        "The saved mapping no longer follows the rules. Correct it and save it again.",
        True,
    ),
}
