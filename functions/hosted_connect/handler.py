"""The public hosted pages: a connect link's landing page and Fortnox's OAuth callback."""

from typing import Any

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
from fortnox_bridge.observability import logger, tracer

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


@app.not_found
def not_found(_: Exception) -> Response[str]:
    return _error("unknown")


def broken(error: Exception) -> Response[str]:
    # Only the kind goes to the log: a message could quote a state or a code.
    logger.error("hosted page failed", extra={"error": type(error).__name__})
    return _error("broken")


app.exception_handler(Exception)(broken)


@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
