"""The status page a tenant's bookkeeper opens from a status link: the connection, recent exports, each failure with
its fix, and the buttons that act on it. Same look and languages as the connect pages; every value is escaped, and
the page runs no script and loads nothing."""

import base64
import hashlib
import html
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Literal
from urllib.parse import quote

from fortnox_bridge.connect import pages

STYLE = pages.STYLE + (
    "body{max-width:48rem}h2{font-size:1.15rem;margin-top:2rem}.export{border-top:1px solid #d9e2ec;"
    "padding:.8rem 0}.export h3{font-size:1rem;margin:0}.state{font-weight:600}.failed .state{color:#b42318}"
    ".fix{background:#fff4e5;padding:.5rem .7rem;border-radius:.3rem}.flash{background:#e3f8ec;padding:.6rem .8rem;"
    "border-radius:.3rem}.warning{background:#fdecea;padding:.6rem .8rem;border-radius:.3rem}"
    "form{margin:.5rem 0}label{display:block}input[type=text]{font:inherit;padding:.4rem;width:100%;"
    "box-sizing:border-box;margin:.2rem 0 .4rem}.secondary{background:#52606d}.actions{display:flex;gap:.6rem;"
    "flex-wrap:wrap;align-items:flex-end}.facts{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem}"
    ".facts dt{color:#52606d}.facts dd{margin:0}"
)
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; "
    f"style-src 'sha256-{base64.b64encode(hashlib.sha256(STYLE.encode()).digest()).decode()}'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
"""Like the connect pages: no script, nothing loaded, only the page's own style by its hash, forms to itself."""

Language = Literal["sv", "en"]
Flash = Literal[
    "retried", "marked", "reason_missing", "reason_unprintable", "not_found", "not_retryable", "not_markable"
]
FLASHES: dict[Flash, tuple[str, str]] = {
    "retried": (
        "Exporten skickades igen. Ladda om sidan om en stund för att se hur det gick.",
        "The export was sent again. Reload the page in a moment to see how it went.",
    ),
    "marked": (
        "Exporten är markerad som exporterad och skickas inte igen.",
        "The export is marked as exported and will not be sent again.",
    ),
    "reason_missing": (
        "Skriv varför exporten markeras som exporterad (högst 500 tecken).",
        "Say why the export is marked as exported (at most 500 characters).",
    ),
    "reason_unprintable": (
        "Anledningen innehåller osynliga tecken eller styrtecken. Skriv den igen utan dem.",
        "The reason holds invisible or control characters. Type it again without them.",
    ),
    "not_found": ("Exporten finns inte längre här.", "That export is no longer here."),
    "not_retryable": (
        "Den här exporten kan inte skickas igen härifrån: bara misslyckade exporter kan det.",
        "This export cannot be sent again from here: only failed exports can.",
    ),
    "not_markable": (
        "Bara en misslyckad export kan markeras som exporterad.",
        "Only a failed export can be marked as exported.",
    ),
}


@dataclass(frozen=True)
class ConnectionView:
    state: str
    company_name: str | None
    organisation_number: str | None
    reason: str | None
    ending: tuple[str, str] | None = None
    """For a connection ended on request: how it stands at Fortnox and what is left to do there (sv, en), shown
    in place of the reason, which is the bridge's own English."""


@dataclass(frozen=True)
class FailureView:
    sv: str
    en: str
    code: int | None
    fortnox_message: str
    findings: tuple[tuple[str, str], ...]
    """Each preflight finding in Swedish and English."""


@dataclass(frozen=True)
class ExportLine:
    export_id: str
    kind: str
    business_key: str
    state: Literal["failed", "exported", "marked", "in_progress"]
    updated_at: datetime
    fortnox_id: str | None
    failure: FailureView | None
    marked_reason: str | None
    retryable: bool
    """Failed with its event kept, so it can be sent again."""
    sie: bool
    """A voucher that can be downloaded as an SIE file instead of typed in by hand."""


@dataclass(frozen=True)
class PaymentsView:
    """The payment sync as the bookkeeper sees it (``status.payments``); no webhook address, which may hold a
    token."""

    state: str
    fix: tuple[str, str] | None
    """What the state means and what to do, in Swedish and English, when there is something to do."""
    last_poll_at: datetime | None
    last_outcome: str | None
    received: int
    changed: int
    removed: int
    cursor: datetime | None
    next_due: datetime | None
    resync_from: date | None


@dataclass(frozen=True)
class Overview:
    tenant_name: str
    language: Language
    """The tenant's own language, used when neither the link nor the browser asks for another."""
    connection: ConnectionView | None
    failed: Sequence[ExportLine]
    recent: Sequence[ExportLine]
    payments: PaymentsView | None
    """None while payment sync is off: the page has no payments section then."""


KINDS: dict[str, tuple[str, str]] = {
    "invoice": ("Faktura", "Invoice"),
    "credit_note": ("Kreditfaktura", "Credit note"),
    "voucher": ("Verifikation", "Voucher"),
    "customer": ("Kund", "Customer"),
}
STATES: dict[str, tuple[str, str]] = {
    "failed": ("Misslyckades", "Failed"),
    "exported": ("Exporterad", "Exported"),
    "marked": ("Markerad som exporterad", "Marked as exported"),
    "in_progress": ("Pågår", "In progress"),
}


def flash_named(name: str | None) -> Flash | None:
    """The flash a redirect named, if it is one of ours: the page never shows text taken from its URL."""
    return next((flash for flash in FLASHES if flash == name), None)


def _i(language: str) -> int:
    return 1 if language == "en" else 0


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _page(title: str, body: str, language: str) -> str:
    return f"""<!doctype html>
<html lang="{"en" if language == "en" else "sv"}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>{_e(title)}</title>
<style>{STYLE}</style>
</head><body>{body}</body></html>"""


def _connection(connection: ConnectionView | None, tenant_name: str, i: int) -> str:
    if connection is None:
        text = (
            f"Fortnox är inte anslutet ännu. Be {_e(tenant_name)} om en anslutningslänk.",
            f"Fortnox is not connected yet. Ask {_e(tenant_name)} for a connect link.",
        )[i]
        return f'<p id="connection" class="warning" data-state="not_connected">{text}</p>'
    company = _e(connection.company_name or "")
    number = f" ({_e(connection.organisation_number)})" if connection.organisation_number else ""
    if connection.state == "connected":
        text = (
            f"Anslutet till <strong>{company}</strong>{number}.",
            f"Connected to <strong>{company}</strong>{number}.",
        )[i]
        return f'<p id="connection" data-state="connected">{text}</p>'
    if connection.state == "needs_reconnect":
        text = (
            f"Fortnox behöver anslutas igen för <strong>{company}</strong>{number}: inget kan skickas till dess. "
            f"Be {_e(tenant_name)} om en ny anslutningslänk.",
            f"Fortnox must be connected again for <strong>{company}</strong>{number}: nothing can be sent until "
            f"then. Ask {_e(tenant_name)} for a new connect link.",
        )[i]
    else:
        text = (
            f"Fortnox är inte längre anslutet (<strong>{company}</strong>{number}).",
            f"Fortnox is no longer connected (<strong>{company}</strong>{number}).",
        )[i]
    if connection.ending is not None:
        reason = f'<br><span data-ending="{_e(connection.state)}">{_e(connection.ending[i])}</span>'
    else:
        reason = f'<br><span class="muted">{_e(connection.reason)}</span>' if connection.reason else ""
    return f'<p id="connection" class="warning" data-state="{_e(connection.state)}">{text}{reason}</p>'


def _title(export: ExportLine, i: int) -> str:
    kind = KINDS.get(export.kind, (export.kind, export.kind))[i]
    return f"{_e(kind)} {_e(export.business_key.replace('#', ' · '))}"


def _failure(failure: FailureView, i: int) -> str:
    fix = f'<p class="fix">{_e((failure.sv, failure.en)[i])}</p>'
    findings = ""
    if failure.findings:
        findings = '<ul class="findings">' + "".join(f"<li>{_e(f[i])}</li>" for f in failure.findings) + "</ul>"
    raw = ""
    if failure.code is not None or failure.fortnox_message:
        code = f"Fortnox {_e(failure.code)}: " if failure.code is not None else "Fortnox: "
        raw = f'<p class="muted raw">{code}{_e(failure.fortnox_message)}</p>'
    return fix + findings + raw


def _actions(export: ExportLine, action_base: str, csrf: str, language: str, i: int) -> str:
    base = f"{action_base}/exports/{quote(export.export_id, safe='')}"
    lang = f"?lang={language}"
    token = f'<input type="hidden" name="csrf" value="{_e(csrf)}">'
    retry = ""
    if export.retryable:
        retry = (
            f'<form method="post" action="{_e(base + "/retry" + lang)}">{token}'
            f'<button class="button retry" type="submit">{("Försök igen", "Retry")[i]}</button></form>'
        )
    mark = (
        f'<form method="post" action="{_e(base + "/mark-exported" + lang)}">{token}'
        f"<label>{('Anledning', 'Reason')[i]}"
        f'<input type="text" name="reason" required maxlength="500" autocomplete="off"></label>'
        f'<button class="button secondary mark" type="submit">{("Markera som exporterad", "Mark as exported")[i]}'
        "</button></form>"
    )
    sie = ""
    if export.sie:
        sie = (
            f'<p><a class="button secondary sie" href="{_e(base + "/sie")}">'
            f"{('Ladda ner SIE-fil', 'Download SIE file')[i]}</a></p>"
        )
    return f'<div class="actions">{retry}{sie}</div>{mark}'


def _export(export: ExportLine, action_base: str, csrf: str, language: str, i: int) -> str:
    state = STATES[export.state][i]
    number = f" · Fortnox {_e(export.fortnox_id)}" if export.fortnox_id else ""
    when = export.updated_at.strftime("%Y-%m-%d %H:%M")
    parts = [
        f'<h3>{_title(export, i)}</h3><p><span class="state">{state}</span>{number} '
        f'<span class="muted">{_e(when)} UTC</span></p>'
    ]
    if export.marked_reason is not None:
        parts.append(f'<p class="reason">{("Anledning", "Reason")[i]}: {_e(export.marked_reason)}</p>')
    if export.failure is not None:
        parts.append(_failure(export.failure, i))
    if export.state == "failed":
        parts.append(_actions(export, action_base, csrf, language, i))
    return (
        f'<li class="export {export.state}" data-export="{_e(export.export_id)}" data-state="{export.state}">'
        + "".join(parts)
        + "</li>"
    )


PAYMENT_STATES: dict[str, tuple[str, str]] = {
    "ok": (
        "Betalningar som registreras i Fortnox hämtas och skickas vidare.",
        "Payments registered in Fortnox are fetched and passed on.",
    ),
    "pending": (
        "Betalningssynken är på. Betalningar hämtas vid nästa hämtning.",
        "Payment sync is on. Payments are fetched at the next poll.",
    ),
    "failed": ("Den senaste hämtningen av betalningar misslyckades.", "The last payment poll failed."),
    "not_connected": ("Betalningar hämtas inte just nu.", "Payments are not fetched right now."),
    "missing_access": ("Betalningar kan inte hämtas.", "Payments cannot be fetched."),
}
OUTCOMES: dict[str, tuple[str, str]] = {
    "ok": ("lyckades", "succeeded"),
    "failed": ("misslyckades", "failed"),
    "not_connected": ("Fortnox var inte anslutet", "Fortnox was not connected"),
}


def _utc(moment: datetime) -> str:
    utc = moment.astimezone(UTC) if moment.tzinfo is not None else moment
    return f"{utc:%Y-%m-%d %H:%M} UTC"


def _payments(payments: PaymentsView, i: int) -> str:
    headline = PAYMENT_STATES.get(payments.state, (payments.state, payments.state))[i]
    parts = [f'<p class="state">{_e(headline)}</p>']
    if payments.fix is not None:
        parts.append(f'<p class="fix" id="payments-fix">{_e(payments.fix[i])}</p>')
    facts: list[tuple[str, str, str]] = []
    if payments.last_poll_at is None:
        facts.append(("last-poll", ("Senaste hämtning", "Last poll")[i], ("ingen ännu", "none yet")[i]))
    else:
        outcome = OUTCOMES.get(payments.last_outcome or "", ("", ""))[i]
        when = _utc(payments.last_poll_at) + (f", {outcome}" if outcome else "")
        facts.append(("last-poll", ("Senaste hämtning", "Last poll")[i], when))
        counts = (
            f"{payments.received} nya, {payments.changed} ändrade, {payments.removed} borttagna",
            f"{payments.received} new, {payments.changed} changed, {payments.removed} removed",
        )[i]
        facts.append(("counts", ("Skickat vid senaste hämtningen", "Sent at the last poll")[i], counts))
    if payments.cursor is not None:
        facts.append(("cursor", ("Hämtar ändringar sedan", "Reads changes since")[i], _utc(payments.cursor)))
    if payments.next_due is not None:
        facts.append(("next-due", ("Nästa hämtning", "Next poll")[i], _utc(payments.next_due)))
    if payments.resync_from is not None:
        resync = (
            f"från {payments.resync_from.isoformat()}, vid nästa hämtning",
            f"from {payments.resync_from.isoformat()}, at the next poll",
        )[i]
        facts.append(("resync", ("Omsynkning begärd", "Re-sync requested")[i], resync))
    parts.append(
        '<dl class="facts">'
        + "".join(f'<dt>{_e(label)}</dt><dd id="payments-{key}">{_e(value)}</dd>' for key, label, value in facts)
        + "</dl>"
    )
    return f'<div id="payments" data-state="{_e(payments.state)}">{"".join(parts)}</div>'


def status(
    overview: Overview,
    *,
    action_base: str,
    csrf: str,
    link_expires: datetime,
    language: str,
    flash: Flash | None = None,
) -> str:
    """The page. ``action_base`` is the link's own URL: every form posts back under it."""
    i = _i(language)
    until = link_expires.strftime("%Y-%m-%d %H:%M")
    expiry = (f"Länken gäller till {until} UTC.", f"This link works until {until} UTC.")[i]
    title = ("Exporter till Fortnox", "Exports to Fortnox")[i]
    notice = f'<p id="flash" class="flash" data-kind="{flash}">{FLASHES[flash][i]}</p>' if flash else ""
    failed = "".join(_export(export, action_base, csrf, language, i) for export in overview.failed)
    recent = "".join(_export(export, action_base, csrf, language, i) for export in overview.recent)
    nothing_failed = ("Inget har misslyckats.", "Nothing has failed.")[i]
    nothing_recent = ("Inga exporter ännu.", "No exports yet.")[i]
    body = (
        f"<h1>{title}</h1>"
        f'<p class="muted" id="tenant">{_e(overview.tenant_name)}</p>'
        f"{notice}{_connection(overview.connection, overview.tenant_name, i)}"
        f"<h2>{('Behöver åtgärdas', 'Needs fixing')[i]}</h2>"
        + (f'<ul id="failed">{failed}</ul>' if failed else f'<p id="failed">{nothing_failed}</p>')
        + f"<h2>{('Senaste exporter', 'Recent exports')[i]}</h2>"
        + (f'<ul id="recent">{recent}</ul>' if recent else f'<p id="recent">{nothing_recent}</p>')
        + (
            f"<h2>{('Betalningar', 'Payments')[i]}</h2>{_payments(overview.payments, i)}"
            if overview.payments is not None
            else ""
        )
        + f'<p class="muted" id="expires">{expiry} {_languages(action_base, i)}</p>'
    )
    return _page(title, body, language)


def _languages(action_base: str, i: int) -> str:
    return (
        f'<a href="{_e(action_base + "?lang=en")}" hreflang="en">In English</a>',
        f'<a href="{_e(action_base + "?lang=sv")}" hreflang="sv">På svenska</a>',
    )[i]


ERRORS: dict[str, tuple[tuple[str, str], tuple[str, str], int]] = {
    "unknown": (
        ("Länken fungerar inte", "This link does not work"),
        (
            "Kontrollera att du använde hela länken, eller be om en ny.",
            "Check that you used the whole link, or ask for a new one.",
        ),
        404,
    ),
    "expired": (
        ("Länken har gått ut", "This link has expired"),
        ("Be tjänsten som skickade länken om en ny.", "Ask the service that sent it for a new link."),
        410,
    ),
    "revoked": (
        ("Länken gäller inte längre", "This link no longer works"),
        ("Tjänsten har dragit tillbaka den. Be om en ny länk.", "The service withdrew it. Ask for a new link."),
        410,
    ),
    "rotated": (
        ("Länken gäller inte längre", "This link no longer works"),
        ("Be tjänsten som skickade länken om en ny.", "Ask the service that sent it for a new link."),
        410,
    ),
    "forbidden": (
        ("Formuläret kunde inte verifieras", "The form could not be verified"),
        (
            "Inget har ändrats. Öppna statussidan från din länk och försök igen.",
            "Nothing was changed. Open the status page from your link and try again.",
        ),
        403,
    ),
    "not_found": (
        ("Exporten finns inte", "No such export"),
        ("Öppna statussidan från din länk.", "Open the status page from your link."),
        404,
    ),
    "sie_unbuildable": (
        ("SIE-filen kan inte skapas", "The SIE file cannot be made"),
        (
            "Verifikationen byggs med dagens mappning, och den räcker inte. Rätta det här och försök igen:",
            "The voucher is built with today's mapping, and it falls short. Fix this and try again:",
        ),
        409,
    ),
    "broken": (
        ("Något gick fel", "Something went wrong"),
        ("Inget har ändrats. Försök igen om en stund.", "Nothing was changed. Try again in a moment."),
        500,
    ),
    "no_sie": (
        ("Ingen SIE-fil för den här exporten", "No SIE file for this export"),
        (
            "SIE-filer finns bara för verifikationer som inte exporterats.",
            "SIE files exist only for vouchers that were not exported.",
        ),
        409,
    ),
}


def error(kind: str, language: str, detail: tuple[str, str] | None = None) -> tuple[str, int]:
    """An error page; ``detail`` is what to fix, in Swedish and English."""
    title, text, status_code = ERRORS[kind]
    i = _i(language)
    fix = f'<p class="fix" id="detail">{_e(detail[i])}</p>' if detail is not None else ""
    body = f'<h1>{title[i]}</h1><p id="error" data-kind="{_e(kind)}">{text[i]}</p>{fix}'
    return _page(title[i], body, language), status_code
