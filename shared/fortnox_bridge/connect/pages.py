"""The hosted pages a tenant's user sees: neutral, in Swedish and English, always saying what to do next."""

import base64
import hashlib
import html
from dataclasses import dataclass

from fortnox_bridge.store.tenants import Feature

SCOPE_TEXT: dict[str, tuple[str, str]] = {
    "companyinformation": ("Företagsuppgifter", "Company information"),
    "customer": ("Kunder", "Customers"),
    "invoice": ("Kundfakturor", "Customer invoices"),
    "order": ("Order", "Orders"),
    "currency": ("Valutor", "Currencies"),
    "settings": ("Inställningar", "Settings"),
    "inbox": ("Inkorg (bifogade PDF:er)", "Inbox (attached PDFs)"),
    "archive": ("Arkiv", "Archive"),
    "connectfile": ("Koppla filer till dokument", "Attach files to documents"),
    "bookkeeping": ("Bokföring", "Bookkeeping"),
    "costcenter": ("Kostnadsställen", "Cost centres"),
    "project": ("Projekt", "Projects"),
    "payment": ("Inbetalningar", "Payments"),
}


@dataclass(frozen=True)
class Message:
    title: tuple[str, str]
    body: tuple[str, str]
    status: int


ERRORS: dict[str, Message] = {
    "unknown": Message(
        ("Länken fungerar inte", "This link does not work"),
        (
            "Kontrollera att du använde hela länken, eller be om en ny.",
            "Check that you used the whole link, or ask for a new one.",
        ),
        404,
    ),
    "expired": Message(
        ("Länken har gått ut", "This link has expired"),
        ("Be tjänsten som skickade länken om en ny.", "Ask the service that sent it for a new link."),
        410,
    ),
    "used": Message(
        ("Länken är redan använd", "This link has already been used"),
        (
            "Varje länk fungerar en gång. Be om en ny om du vill ansluta igen.",
            "Each link works once. Ask for a new one to connect again.",
        ),
        410,
    ),
    "superseded": Message(
        ("Länken gäller inte längre", "This link no longer works"),
        (
            "En nyare anslutning eller länk har ersatt den, eller så har tjänsten dragit tillbaka den. "
            "Be om en ny länk om du vill ansluta.",
            "A newer connection or link replaced it, or the service withdrew it. Ask for a new link to connect.",
        ),
        410,
    ),
    "connected": Message(
        ("Fortnox är redan anslutet", "Fortnox is already connected"),
        (
            "Den här länken kan inte ersätta den anslutning som finns. Be tjänsten om en länk för att byta anslutning.",
            "This link cannot replace the existing connection. Ask the service for a link that replaces it.",
        ),
        409,
    ),
    "busy": Message(
        ("Anslutningen pågår redan", "A connection is already in progress"),
        (
            "Någon annan ansluter just nu. Öppna anslutningslänken igen om en stund.",
            "Someone else is connecting right now. Open the connect link again in a moment.",
        ),
        503,
    ),
    "broken": Message(
        ("Något gick fel", "Something went wrong"),
        (
            "Inget har ändrats. Öppna anslutningslänken igen om en stund.",
            "Nothing was changed. Open the connect link again in a moment.",
        ),
        500,
    ),
    "forged": Message(
        ("Svaret från Fortnox kunde inte verifieras", "Fortnox's answer could not be verified"),
        ("Öppna anslutningslänken igen och börja om.", "Open the connect link again and start over."),
        400,
    ),
    "state_expired": Message(
        ("Det tog för lång tid", "That took too long"),
        (
            "Fortnox godkännande gäller i 10 minuter. Öppna anslutningslänken igen.",
            "Fortnox's approval is valid for 10 minutes. Open the connect link again.",
        ),
        400,
    ),
    "replayed": Message(
        ("Anslutningen är redan gjord", "This connection was already completed"),
        (
            "Sidan laddades om efter att anslutningen var klar. Du behöver inte göra något mer.",
            "The page was reloaded after the connection was completed. Nothing more to do.",
        ),
        409,
    ),
    "in_progress": Message(
        ("Anslutningen görs klar", "The connection is being completed"),
        (
            "Godkännandet från Fortnox kom hit nyss och anslutningen görs klar. Ladda om sidan om en stund för att se "
            "hur det gick.",
            "Fortnox's approval arrived here a moment ago and the connection is being completed. Reload this page in "
            "a moment to see how it went.",
        ),
        503,
    ),
    "approval_used": Message(
        ("Godkännandet är redan använt", "This approval was already used"),
        (
            "Godkännandet från Fortnox skickades hit en gång redan, och anslutningen blev inte klar då. Öppna "
            "anslutningslänken igen för att försöka på nytt.",
            "Fortnox's approval was sent here once already, and the connection was not completed then. Open the "
            "connect link again to try once more.",
        ),
        409,
    ),
    "cross_tenant": Message(
        ("Svaret hör till en annan anslutning", "This answer belongs to another connection"),
        ("Öppna den länk du själv fick och börja om.", "Open the link you were given and start over."),
        400,
    ),
    "denied": Message(
        ("Anslutningen avbröts", "The connection was cancelled"),
        (
            "Inget har ändrats. Öppna länken igen om du vill ansluta.",
            "Nothing was changed. Open the link again if you want to connect.",
        ),
        200,
    ),
    "company_taken": Message(
        ("Företaget är redan anslutet", "This company is already connected"),
        (
            "Fortnox-företaget {company} är redan kopplat till ett annat konto hos tjänsten. "
            "Logga in i Fortnox med rätt företag, eller be tjänsten tillåta delade företag.",
            "The Fortnox company {company} is already connected to another account of this "
            "service. Sign in to Fortnox with the right company, or ask the service to allow "
            "shared companies.",
        ),
        409,
    ),
    "fortnox": Message(
        ("Fortnox svarade med ett fel", "Fortnox answered with an error"),
        (
            "Försök igen om en stund. Kvarstår felet, be om en ny länk. ({detail})",
            "Try again in a while. If it persists, ask for a new link. ({detail})",
        ),
        502,
    ),
}


def _index(language: str) -> int:
    return 1 if language == "en" else 0


STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:34rem;margin:3rem auto;padding:0 1rem;color:#1f2933;"
    "line-height:1.5}h1{font-size:1.5rem}.button{display:inline-block;background:#1f6f43;color:#fff;"
    "padding:.6rem 1.2rem;border:0;font:inherit;cursor:pointer;"
    "border-radius:.3rem;text-decoration:none}ul{padding-left:1.2rem}.muted{color:#616e7c;font-size:.9rem}"
)
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; "
    f"style-src 'sha256-{base64.b64encode(hashlib.sha256(STYLE.encode()).digest()).decode()}'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
"""The pages run no script and load nothing: only their own inline style, by its hash."""


def _page(title: str, body: str, language: str) -> str:
    return f"""<!doctype html>
<html lang="{"en" if language == "en" else "sv"}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title>
<style>{STYLE}</style>
</head><body>{body}</body></html>"""


FEATURE_TEXT: dict[Feature, tuple[str, str]] = {
    Feature.INVOICE_EXPORT: ("skicka fakturor", "send invoices"),
    Feature.VOUCHER_EXPORT: ("skicka verifikationer", "send vouchers"),
    Feature.PAYMENT_SYNC: ("läsa inbetalningar", "read payments"),
}


def _joined(parts: list[str], language: str) -> str:
    if len(parts) < 2:
        return "".join(parts)
    return f"{', '.join(parts[:-1])} {('och', 'and')[_index(language)]} {parts[-1]}"


def landing(
    *,
    tenant_name: str,
    features: list[Feature],
    scopes: list[str],
    service_account: bool,
    authorize_url: str | None,
    language: str,
    replaces: tuple[str, str | None] | None = None,
) -> str:
    """The page before Fortnox: what the service will do and which access it asks for, nothing more. A link that
    replaces a live connection names the company connected now and asks to confirm before going on."""
    i = _index(language)
    title = ("Anslut Fortnox", "Connect Fortnox")[i]
    items = "".join(f"<li>{html.escape(SCOPE_TEXT.get(scope, (scope, scope))[i])}</li>" for scope in scopes)
    service = (
        (
            "<p>Anslutningen görs med ett <strong>servicekonto</strong>; bara en systemadministratör i Fortnox kan "
            "godkänna den.</p>",
            "<p>The connection uses a <strong>service account</strong>; only a Fortnox system administrator can "
            "approve it.</p>",
        )[i]
        if service_account
        else ""
    )
    does = _joined([FEATURE_TEXT[feature][i] for feature in FEATURE_TEXT if feature in features], language)
    intro = (
        f"<p><strong>{html.escape(tenant_name)}</strong> vill {does} i ert Fortnox. "
        "Fortnox frågar om lov för att läsa och skriva:</p>",
        f"<p><strong>{html.escape(tenant_name)}</strong> wants to {does} in your Fortnox. "
        "Fortnox will ask you to allow reading and writing:</p>",
    )[i]
    replacing = ""
    if replaces is not None:
        name, number = replaces
        company = html.escape(name) + (f" ({html.escape(number)})" if number else "")
        replacing = (
            f'<p id="replaces">Fortnox är i dag anslutet till <strong>{company}</strong>. Fortsätter du ersätts '
            "den anslutningen: fakturor skickas sedan till det företag du väljer hos Fortnox.</p>",
            f'<p id="replaces">Fortnox is connected to <strong>{company}</strong> today. If you go on, that '
            "connection is replaced: invoices then go to the company you choose at Fortnox.</p>",
        )[i]
    if authorize_url is None:
        confirm = ("Ersätt anslutningen", "Replace the connection")[i]
        action = (
            f'<form method="get"><input type="hidden" name="confirm" value="replace">'
            f'<input type="hidden" name="lang" value="{language}">'
            f'<p><button class="button" id="confirm" type="submit">{confirm}</button></p></form>'
        )
    else:
        button = ("Fortsätt till Fortnox", "Continue to Fortnox")[i]
        action = f'<p><a class="button" id="continue" href="{html.escape(authorize_url, quote=True)}">{button}</a></p>'
    note = (
        "Du kan när som helst ta bort kopplingen i Fortnox under Integrationer.",
        "You can remove the connection in Fortnox under Integrations at any time.",
    )[i]
    body = f'<h1>{title}</h1>{replacing}{intro}<ul>{items}</ul>{service}{action}<p class="muted">{note}</p>'
    return _page(title, body, language)


def connected(*, company_name: str, organisation_number: str | None, language: str) -> str:
    i = _index(language)
    title = ("Fortnox är anslutet", "Fortnox is connected")[i]
    number = f" ({html.escape(organisation_number)})" if organisation_number else ""
    text = (
        f'<p id="company">Anslutet till <strong>{html.escape(company_name)}</strong>{number}.</p>'
        "<p>Du kan stänga det här fönstret.</p>",
        f'<p id="company">Connected to <strong>{html.escape(company_name)}</strong>{number}.</p>'
        "<p>You can close this window.</p>",
    )[i]
    return _page(title, f"<h1>{title}</h1>{text}", language)


def error(kind: str, language: str, **values: str) -> tuple[str, int]:
    message = ERRORS[kind]
    i = _index(language)
    escaped = {name: html.escape(value) for name, value in values.items()}
    title = message.title[i]
    body = f'<h1>{title}</h1><p id="error" data-kind="{kind}">{message.body[i].format(**escaped)}</p>'
    return _page(title, body, language), message.status
