"""The public hosted pages: a connect link's landing page, Fortnox's OAuth callback and the status page."""

import logging
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.utilities.typing import LambdaContext

from fortnox_bridge import settings, wiring
from fortnox_bridge.connect import pages
from fortnox_bridge.connect.consent_state import StateRefused
from fortnox_bridge.connect.service import (
    CompanyTaken,
    CompletionBusy,
    ConsentDenied,
    FortnoxRefusedConnect,
    LinkRefused,
)
from fortnox_bridge.errors import BadInputError
from fortnox_bridge.export.review import UnknownExport
from fortnox_bridge.observability import logger, metrics, tracer
from fortnox_bridge.status import page as status_page
from fortnox_bridge.status.links import FormRefused, StatusLink, StatusLinkRefused
from fortnox_bridge.status.service import NoSieFile, SieUnbuildable

settings.require(*settings.FORTNOX_CALLER, settings.SigningSettings)
app = APIGatewayHttpResolver()
HTML = "text/html; charset=utf-8"
SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": pages.CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Strict-Transport-Security": "max-age=63072000; includeSubDomains",
}


def _html(body: str, status: int = 200) -> Response[str]:
    return Response(status_code=status, content_type=HTML, body=body, headers=dict(SECURITY_HEADERS))


def _language(default: str = "sv") -> str:
    """``?lang=`` first, then the browser's first language if it is Swedish or English, then the tenant's."""
    asked = app.current_event.get_query_string_value("lang")
    if asked in ("sv", "en"):
        return asked
    header = app.current_event.headers.get("accept-language", "").lower()
    for language in ("sv", "en"):
        if header.startswith(language):
            return language
    return default


def _error(kind: str, language: str | None = None, **values: str) -> Response[str]:
    body, status = pages.error(kind, language or _language(), **values)
    return _html(body, status)


# The landing page holds the consent URL with its state, and the callback's answer follows a code: neither goes into
# a trace (capture_response=False), however the tracer is configured.
@app.get("/connect/<link_token>")
@tracer.capture_method(capture_response=False)
def landing(link_token: str) -> Response[str]:
    confirmed = app.current_event.get_query_string_value("confirm") == "replace"
    try:
        page = wiring.connect_service().landing(link_token, confirmed=confirmed)
    except LinkRefused as refused:
        return _error(refused.reason)
    except BadInputError:  # the link's tenant is gone
        return _error("unknown")
    language = _language(page.language)
    return _html(
        pages.landing(
            tenant_name=page.tenant_name,
            features=page.features,
            scopes=page.scopes,
            service_account=page.service_account,
            authorize_url=page.authorize_url,
            language=language,
            replaces=(page.replaces.name, page.replaces.organisation_number) if page.replaces else None,
        )
    )


@app.get("/oauth/callback")
@tracer.capture_method(capture_response=False)
def callback() -> Response[str]:
    query = app.current_event.get_query_string_value
    try:
        done = wiring.connect_service().complete(state=query("state"), code=query("code"), error=query("error"))
    except StateRefused as refused:
        logger.warning("consent state refused", extra={"reason": refused.reason})
        return _error("state_expired" if refused.reason == "expired" else refused.reason)
    except LinkRefused as refused:
        return _error(refused.reason)
    except ConsentDenied:
        return _error("denied")
    except CompanyTaken as taken:
        return _error("company_taken", company=taken.company)
    except FortnoxRefusedConnect as failure:
        return _error("fortnox", detail=failure.message)
    except CompletionBusy:
        return _error("busy")
    except BadInputError:
        return _error("unknown")
    return _html(
        pages.connected(
            company_name=done.company_name, organisation_number=done.organisation_number, language=done.language
        )
    )


# -- status page (issue 10) ------------------------------------------------------------------------------------
# The token in these paths is a bearer link: no route's answer goes into a trace, and no log line names the path.
STATUS_HEADERS = {**SECURITY_HEADERS, "Content-Security-Policy": status_page.CONTENT_SECURITY_POLICY}


def _status_html(body: str, status: int = 200) -> Response[str]:
    return Response(status_code=status, content_type=HTML, body=body, headers=dict(STATUS_HEADERS))


def _status_error(kind: str, language: str | None = None, detail: tuple[str, str] | None = None) -> Response[str]:
    body, status = status_page.error(kind, language or _language(), detail)
    return _status_html(body, status)


class _RefusalsAreAnswers(logging.Filter):
    """Powertools' ``capture_method`` logs every exception that leaves a route at ERROR, with its traceback. A refused
    link or form is a stranger's probe or an old bookmark, answered with the refusal page: not a failure, and no
    ERROR line for an alarm. The handlers below log it at WARNING by its reason, never the link."""

    def filter(self, record: logging.LogRecord) -> bool:
        refused = record.exc_info[1] if record.exc_info else None
        return not isinstance(refused, (StatusLinkRefused, FormRefused))


logging.getLogger("aws_lambda_powertools.tracing.tracer").addFilter(_RefusalsAreAnswers())
# The resolver's debug lines quote the request's path and the route's arguments, which on every hosted route are a
# bearer link: a function whose log level is turned down to DEBUG must not log them.
logging.getLogger("aws_lambda_powertools.event_handler.api_gateway").setLevel(logging.INFO)


def status_link_refused(refused: StatusLinkRefused) -> Response[str]:
    logger.warning("status link refused", extra={"reason": refused.reason})
    return _status_error(refused.reason)


app.exception_handler(StatusLinkRefused)(status_link_refused)


def _posted(link: StatusLink) -> dict[str, str]:
    """The form's fields, once its CSRF token is this link's; ``FormRefused`` otherwise."""
    fields = {name: values[0] for name, values in parse_qs(app.current_event.decoded_body or "").items()}
    if not wiring.status_links().accepts(link, fields.get("csrf")):
        raise FormRefused("the form's CSRF token is missing or belongs to another link")
    return fields


def form_refused(_: FormRefused) -> Response[str]:
    logger.warning("status page form refused", extra={"reason": "csrf"})
    return _status_error("forbidden")


app.exception_handler(FormRefused)(form_refused)


def _back(token: str, flash: status_page.Flash) -> Response[str]:
    """303 to the page, so a reload does not post the form again."""
    query: dict[str, str] = {"flash": flash}
    asked = app.current_event.get_query_string_value("lang")
    if asked in ("sv", "en"):
        query["lang"] = asked
    location = f"{wiring.status_links().url(token)}?{urlencode(query)}"
    return Response(status_code=303, headers={**STATUS_HEADERS, "Location": location}, body="")


@app.get("/status/<token>")
@tracer.capture_method(capture_response=False)
def status(token: str) -> Response[str]:
    links = wiring.status_links()
    link = links.verify(token)
    overview = wiring.status_service().overview(link.tenant_id)
    return _status_html(
        status_page.status(
            overview,
            action_base=links.url(token),
            csrf=links.csrf_token(link),
            link_expires=link.expires_at,
            language=_language(overview.language),
            flash=status_page.flash_named(app.current_event.get_query_string_value("flash")),
        )
    )


@app.post("/status/<token>/exports/<export_id>/retry")
@tracer.capture_method(capture_response=False)
def status_retry(token: str, export_id: str) -> Response[str]:
    link = wiring.status_links().verify(token)
    _posted(link)
    return _back(token, wiring.status_service().retry(link.tenant_id, export_id))


@app.post("/status/<token>/exports/<export_id>/mark-exported")
@tracer.capture_method(capture_response=False)
def status_mark_exported(token: str, export_id: str) -> Response[str]:
    link = wiring.status_links().verify(token)
    reason = _posted(link).get("reason")
    return _back(token, wiring.status_service().mark_exported(link.tenant_id, export_id, reason))


@app.get("/status/<token>/exports/<export_id>/sie")
@tracer.capture_method(capture_response=False)
def status_sie(token: str, export_id: str) -> Response[bytes] | Response[str]:
    link = wiring.status_links().verify(token)
    service = wiring.status_service()
    try:
        sie = service.sie(link.tenant_id, export_id)
    except UnknownExport:
        return _status_error("not_found", _language(service.language(link.tenant_id)))
    except NoSieFile:
        return _status_error("no_sie", _language(service.language(link.tenant_id)))
    except SieUnbuildable as unbuildable:
        fix = (unbuildable.explanation.sv, unbuildable.explanation.en)
        return _status_error("sie_unbuildable", _language(service.language(link.tenant_id)), fix)
    headers = {
        **STATUS_HEADERS,
        "Content-Disposition": f'attachment; filename="{sie.filename}"',
    }
    return Response(status_code=200, content_type="application/octet-stream", body=sie.content, headers=headers)


# -- end of status page ----------------------------------------------------------------------------------------


@app.not_found
def not_found(_: Exception) -> Response[str]:
    return _error("unknown")


def broken(error: Exception) -> Response[str]:
    # Only the kind goes to the log: a message could quote a state or a code.
    logger.error("hosted page failed", extra={"error": type(error).__name__})
    if app.current_event.path.startswith("/status/"):
        return _status_error("broken")
    return _error("broken")


app.exception_handler(Exception)(broken)


def _without_base_path(event: dict[str, Any]) -> dict[str, Any]:
    """Behind a custom domain with a path (``PUBLIC_BASE_URL=https://host/bridge``), API Gateway matches the route
    without the mapping key but leaves it in ``rawPath``, which the resolver routes on: every page would be a 404."""
    base = urlsplit(str(settings.load(settings.ConnectSettings).public_base_url)).path.rstrip("/")
    path = str(event.get("rawPath", ""))
    return {**event, "rawPath": path.removeprefix(base)} if base and path.startswith(f"{base}/") else event


@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics  # token refreshes counted while it answered
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(_without_base_path(event), context)
