"""The hosted pages a tenant's user sees: neutral, in Swedish and English, always saying what to do next."""

import html
from dataclasses import dataclass

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


def _page(title: str, body: str, language: str) -> str:
    return f"""<!doctype html>
<html lang="{"en" if language == "en" else "sv"}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:34rem;margin:3rem auto;padding:0 1rem;color:#1f2933;
line-height:1.5}}h1{{font-size:1.5rem}}a.button{{display:inline-block;background:#1f6f43;color:#fff;
padding:.6rem 1.2rem;
border-radius:.3rem;text-decoration:none}}ul{{padding-left:1.2rem}}.muted{{color:#616e7c;font-size:.9rem}}</style>
</head><body>{body}</body></html>"""


def landing(*, tenant_name: str, scopes: list[str], service_account: bool, authorize_url: str, language: str) -> str:
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
    intro = (
        f"<p><strong>{html.escape(tenant_name)}</strong> vill skicka fakturor och verifikationer till ert "
        "Fortnox och läsa inbetalningar. Fortnox frågar om lov för att läsa och skriva:</p>",
        f"<p><strong>{html.escape(tenant_name)}</strong> wants to send invoices and vouchers to your Fortnox and "
        "read payments. Fortnox will ask you to allow reading and writing:</p>",
    )[i]
    button = ("Fortsätt till Fortnox", "Continue to Fortnox")[i]
    note = (
        "Du kan när som helst ta bort kopplingen i Fortnox under Integrationer.",
        "You can remove the connection in Fortnox under Integrations at any time.",
    )[i]
    body = (
        f"<h1>{title}</h1>{intro}<ul>{items}</ul>{service}"
        f'<p><a class="button" id="continue" href="{html.escape(authorize_url, quote=True)}">{button}</a></p>'
        f'<p class="muted">{note}</p>'
    )
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
