"""The management API for the SaaS backend (IAM-authorised): tenants, settings, connect links, connections."""

import base64
import re
from datetime import date, timedelta
from typing import Annotated, Any, Literal

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from fortnox_bridge import json_codec, settings, wiring
from fortnox_bridge.connect.service import AlreadyConnected, Disconnected, LinkRefused, NotConnected, TenantStatus
from fortnox_bridge.contracts.text import Reason
from fortnox_bridge.errors import BadInputError, BridgeError, NeedsTenantActionError, RetryableError
from fortnox_bridge.export.review import ExportConflict, ExportPage, ExportView, UnknownExport
from fortnox_bridge.ids import TENANT_ID_PATTERN, TenantId, is_tenant_id
from fortnox_bridge.mapping.rules import TenantMapping
from fortnox_bridge.observability import logger, metrics, tracer
from fortnox_bridge.status.payments import (
    PaymentSyncOverview,
    PaymentSyncView,
    ResyncRefused,
    check_webhook,
)
from fortnox_bridge.store.connections import ConnectionStore
from fortnox_bridge.store.mappings import MappingStore
from fortnox_bridge.store.payment_schedule import PaymentSchedule
from fortnox_bridge.store.tenants import Tenant, TenantSettings, TenantStore, UnknownTenant
from fortnox_bridge.vouchers.mapping_check import MappingCheck, check_tenant_mapping

settings.require(*settings.FORTNOX_CALLER, settings.WebhookDestinationSettings)
app = APIGatewayHttpResolver(enable_validation=True)
# Routes are traced without their answers: a tenant's status names its organisation number, which for a sole
# trader is a personal identity number, and links and settings have no place in a trace either.


def plain_tenant_ids(resolver: APIGatewayHttpResolver, next_middleware: NextMiddleware) -> Response[str]:
    """Powertools' router matches with ``$``, so an id with a trailing newline reaches the route without it: check
    the path parameter API Gateway saw instead."""
    tenant = (resolver.current_event.path_parameters or {}).get("tenant_id")
    if tenant is not None and not is_tenant_id(tenant):
        message = "a tenant id is letters, digits, '_', '.' and '-', and starts and ends with a letter or digit"
        return _json({"error": "bad_input", "message": message}, 422)
    response: Response[str] = next_middleware(resolver)
    return response


app.use(middlewares=[plain_tenant_ids])
TenantPath = Annotated[str, Path(pattern=TENANT_ID_PATTERN)]
LinkIdPath = Annotated[str, Path(pattern=r"^[0-9a-f]{64}$")]


class TenantProfile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    display_name: str = Field(min_length=1, max_length=200)


class LinkRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    service_account: bool | None = None
    """Ask for a service account (``account_type=service``); defaults to the tenant's setting."""
    valid_days: int | None = Field(default=None, ge=1, le=90)
    replace_connection: bool = False
    """Required for a connected tenant: the link replaces the live connection once the person confirms."""


class ConnectLinkAnswer(BaseModel):
    url: str
    link_id: str
    expires_at: str


def _json(body: Any, status: int) -> Response[str]:
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=json_codec.dumps(body))


@app.put("/tenants/<tenant_id>")
@tracer.capture_method(capture_response=False)
def put_tenant(tenant_id: TenantPath, profile: TenantProfile) -> Response[str]:
    store = TenantStore(wiring.table())
    existing = store.get(TenantId(tenant_id))
    tenant = (
        existing.model_copy(update={"display_name": profile.display_name})
        if existing
        else Tenant(tenant_id=TenantId(tenant_id), display_name=profile.display_name)
    )
    store.put(tenant)
    PaymentSchedule(wiring.table()).apply(tenant.tenant_id, tenant.settings, wiring.today())
    return _json(tenant.model_dump(mode="json", exclude={"last_probe"}), 200 if existing else 201)


@app.get("/tenants/<tenant_id>")
@tracer.capture_method(capture_response=False)
def get_tenant(tenant_id: TenantPath) -> TenantStatus:
    return wiring.connect_service().status(TenantId(tenant_id))


@app.put("/tenants/<tenant_id>/settings")
@tracer.capture_method(capture_response=False)
def put_settings(tenant_id: TenantPath, tenant_settings: TenantSettings) -> TenantSettings:
    store = TenantStore(wiring.table())
    previous = store.require(TenantId(tenant_id)).settings
    check_webhook(previous, tenant_settings, settings.load(settings.WebhookDestinationSettings).allow_loopback)
    store.put_settings(TenantId(tenant_id), tenant_settings)
    # After the settings are saved: a failure in between leaves the schedule as it was, and the same PUT again
    # brings it in step.
    PaymentSchedule(wiring.table()).apply(TenantId(tenant_id), tenant_settings, wiring.today())
    return tenant_settings


@app.get("/tenants/<tenant_id>/settings")
@tracer.capture_method(capture_response=False)
def get_settings(tenant_id: TenantPath) -> TenantSettings:
    return TenantStore(wiring.table()).require(TenantId(tenant_id)).settings


@app.put("/tenants/<tenant_id>/mapping")
@tracer.capture_method(capture_response=False)
def put_mapping(tenant_id: TenantPath, mapping: TenantMapping) -> TenantMapping:
    TenantStore(wiring.table()).require(TenantId(tenant_id))
    MappingStore(wiring.table()).put(TenantId(tenant_id), mapping)
    return mapping


@app.get("/tenants/<tenant_id>/mapping")
@tracer.capture_method(capture_response=False)
def get_mapping(tenant_id: TenantPath) -> TenantMapping:
    TenantStore(wiring.table()).require(TenantId(tenant_id))
    return MappingStore(wiring.table()).get(TenantId(tenant_id))


# The answer is a working link: it never goes into a trace.
@app.post("/tenants/<tenant_id>/connect-links")
@tracer.capture_method(capture_response=False)
def create_link(tenant_id: TenantPath, request: LinkRequest) -> Response[str]:
    link = wiring.connect_service().create_link(
        TenantId(tenant_id),
        service_account=request.service_account,
        lifetime=timedelta(days=request.valid_days) if request.valid_days else None,
        replace_connection=request.replace_connection,
    )
    answer = ConnectLinkAnswer(url=link.url, link_id=link.link_id, expires_at=link.valid_until.isoformat())
    return _json(answer.model_dump(), 201)


@app.delete("/tenants/<tenant_id>/connect-links")
@tracer.capture_method(capture_response=False)
def revoke_links(tenant_id: TenantPath) -> Response[str]:
    wiring.connect_service().revoke_links(TenantId(tenant_id))
    return _json({"tenant_id": tenant_id, "revoked": "every unused link"}, 200)


@app.delete("/tenants/<tenant_id>/connect-links/<link_id>")
@tracer.capture_method(capture_response=False)
def revoke_link(tenant_id: TenantPath, link_id: LinkIdPath) -> Response[str]:
    wiring.connect_service().revoke_links(TenantId(tenant_id), link_id)
    return _json({"tenant_id": tenant_id, "revoked": link_id}, 200)


@app.delete("/tenants/<tenant_id>/connection")
@tracer.capture_method(capture_response=False)
def delete_connection(tenant_id: TenantPath) -> Disconnected:
    within = app.lambda_context.get_remaining_time_in_millis() / 1000
    return wiring.connect_service().disconnect(TenantId(tenant_id), within=within)


# -- status links (issue 10) -----------------------------------------------------------------------------------
class StatusLinkRequest(BaseModel):
    """How long the link works: hours or days (one of them), 7 days when neither is given."""

    model_config = ConfigDict(extra="forbid")
    valid_hours: int | None = Field(default=None, ge=1, le=2160)
    valid_days: int | None = Field(default=None, ge=1, le=90)


# The answer is a working link: it never goes into a trace.
@app.post("/tenants/<tenant_id>/status-links")
@tracer.capture_method(capture_response=False)
def create_status_link(tenant_id: TenantPath, request: StatusLinkRequest) -> Response[str]:
    if request.valid_hours is not None and request.valid_days is not None:
        raise BadInputError("give valid_hours or valid_days, not both")
    valid = timedelta(hours=request.valid_hours) if request.valid_hours else timedelta(days=request.valid_days or 7)
    url, expires_at = wiring.status_links().create(TenantId(tenant_id), valid)
    return _json({"url": url, "expires_at": expires_at.isoformat()}, 201)


@app.delete("/tenants/<tenant_id>/status-links")
@tracer.capture_method(capture_response=False)
def revoke_status_links(tenant_id: TenantPath) -> Response[str]:
    wiring.status_links().revoke_all(TenantId(tenant_id))
    return _json({"tenant_id": tenant_id, "revoked": "every status link made so far"}, 200)


# -- end of status links ---------------------------------------------------------------------------------------


# -- mapping check (preflight over the whole mapping) ---------------------------------------------------------------
@app.get("/tenants/<tenant_id>/mapping/check")
@tracer.capture_method(capture_response=False)
def check_mapping(tenant_id: TenantPath) -> MappingCheck:
    return check_tenant_mapping(
        TenantId(tenant_id),
        tenants=TenantStore(wiring.table()),
        connections=ConnectionStore(wiring.table()),
        mappings=MappingStore(wiring.table()),
        client_for=wiring.fortnox_client,
        today=wiring.today().date(),
    )


# -- export review (issue 10) -----------------------------------------------------------------------------------
# Export ids are ``{kind}.{base64url}`` (``export/review.py``): anything else is not found, the same answer an id of
# another tenant gets, so the route checks no pattern of its own.
ExportIdPath = Annotated[str, Path(max_length=800)]


class MarkExportedRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: Reason
    """Why and how the document is in Fortnox without the bridge (typed in by hand, imported as SIE)."""


class RetriedAnswer(BaseModel):
    replayed: list[str]
    """The export ids whose events were sent again: those failed for a cause the tenant can fix."""


def review_problem(error: BridgeError) -> Response[str]:
    if isinstance(error, UnknownExport):
        return _json({"error": "unknown_export", "message": error.message}, 404)
    return _json({"error": "conflict", "message": error.message}, 409)


app.exception_handler(UnknownExport)(review_problem)
app.exception_handler(ExportConflict)(review_problem)


@app.get("/tenants/<tenant_id>/exports")
@tracer.capture_method(capture_response=False)
def list_exports(
    tenant_id: TenantPath,
    status: Annotated[Literal["failed"] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    start: Annotated[str | None, Query(max_length=800)] = None,
) -> ExportPage:
    return wiring.export_review().list(TenantId(tenant_id), status=status, limit=limit, start=start)


@app.post("/tenants/<tenant_id>/exports/retry-failed")
@tracer.capture_method(capture_response=False)
def retry_failed_exports(tenant_id: TenantPath) -> RetriedAnswer:
    return RetriedAnswer(replayed=wiring.export_review().retry_failed(TenantId(tenant_id)))


@app.get("/tenants/<tenant_id>/exports/<export_id>")
@tracer.capture_method(capture_response=False)
def get_export(tenant_id: TenantPath, export_id: ExportIdPath) -> ExportView:
    return wiring.export_review().get(TenantId(tenant_id), export_id)


@app.post("/tenants/<tenant_id>/exports/<export_id>/retry")
@tracer.capture_method(capture_response=False)
def retry_export(tenant_id: TenantPath, export_id: ExportIdPath) -> Response[str]:
    view = wiring.export_review().retry(TenantId(tenant_id), export_id)
    return _json(view.model_dump(mode="json"), 202)


@app.post("/tenants/<tenant_id>/exports/<export_id>/mark-exported")
@tracer.capture_method(capture_response=False)
def mark_export_exported(tenant_id: TenantPath, export_id: ExportIdPath, request: MarkExportedRequest) -> ExportView:
    return wiring.export_review().mark_exported(TenantId(tenant_id), export_id, request.reason)


@app.get("/tenants/<tenant_id>/exports/<export_id>/sie")
@tracer.capture_method(capture_response=False)
def export_sie(tenant_id: TenantPath, export_id: ExportIdPath) -> Response[str]:
    sie = wiring.export_review().sie(TenantId(tenant_id), export_id)
    response = Response(
        status_code=200,
        content_type="application/octet-stream",
        body=base64.b64encode(sie.content).decode(),
        headers={"Content-Disposition": f'attachment; filename="{sie.filename}"'},
    )
    # Code page 437, not UTF-8: Powertools' response validation would decode bytes as UTF-8, so the body goes as
    # API Gateway's base64 and arrives as the bytes SIE requires.
    response.base64_encoded = True
    return response


# -- end of export review ---------------------------------------------------------------------------------------


# -- payment sync (issue 11) ------------------------------------------------------------------------------------
def _iso_day(value: object) -> object:
    # Only the day as typed: pydantic would also read a Unix timestamp or a midnight datetime as a date.
    if not (isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value)):
        raise ValueError("give the day as YYYY-MM-DD")
    return value


class ResyncRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    since: Annotated[date, BeforeValidator(_iso_day), Field(alias="from")]
    """Send upstream again every payment modified in Fortnox on or after this day (``status.payments``)."""


def resync_refused(error: ResyncRefused) -> Response[str]:
    return _json({"error": error.kind, "message": error.message}, 409)


app.exception_handler(ResyncRefused)(resync_refused)


@app.get("/tenants/<tenant_id>/payment-sync")
@tracer.capture_method(capture_response=False)
def get_payment_sync(tenant_id: TenantPath) -> PaymentSyncView:
    return PaymentSyncOverview.on(wiring.table()).view(TenantId(tenant_id))


@app.post("/tenants/<tenant_id>/payment-sync/resync")
@tracer.capture_method(capture_response=False)
def resync_payments(tenant_id: TenantPath, request: ResyncRequest) -> Response[str]:
    overview = PaymentSyncOverview.on(wiring.table())
    view = overview.request_resync(TenantId(tenant_id), request.since, wiring.today())
    return _json(view.model_dump(mode="json"), 202)


# -- end of payment sync ----------------------------------------------------------------------------------------


# -- webhook secret (issue 11) ----------------------------------------------------------------------------------
# The answer is the secret itself: shown this once, never traced, logged or kept anywhere but Secrets Manager.
@app.post("/tenants/<tenant_id>/webhook-secret")
@tracer.capture_method(capture_response=False)
def issue_webhook_secret(tenant_id: TenantPath) -> Response[str]:
    tenant = TenantStore(wiring.table()).require(TenantId(tenant_id)).tenant_id
    issued = wiring.webhook_secret_issuer().issue(tenant, wiring.today())
    answer = {
        "tenant_id": issued.tenant_id,
        "secret": issued.secret.get_secret_value(),
        "rotated": issued.rotated,
        "previous_signs_until": issued.previous_signs_until.isoformat() if issued.previous_signs_until else None,
    }
    return _json(answer, 200 if issued.rotated else 201)


# -- end of webhook secret --------------------------------------------------------------------------------------


# Kinds, most specific first: what the SaaS backend sees for each failure.
PROBLEMS: list[tuple[type[BridgeError], int, str]] = [
    (UnknownTenant, 404, "unknown_tenant"),
    (NotConnected, 409, "not_connected"),
    (AlreadyConnected, 409, "connected"),
    (LinkRefused, 404, "unknown_link"),
    (BadInputError, 400, "bad_input"),
    (NeedsTenantActionError, 409, "needs_tenant_action"),
    (RetryableError, 503, "try_again"),
]


def problem(error: BridgeError) -> Response[str]:
    status, kind = next(((status, kind) for cls, status, kind in PROBLEMS if isinstance(error, cls)), (500, "error"))
    return _json({"error": kind, "message": error.message}, status)


app.exception_handler(BridgeError)(problem)


def invalid_request(error: RequestValidationError) -> Response[str]:
    """Say which field is wrong and why. The messages are our validators' own words; the input is never echoed, so a
    secret or personal number sent by mistake does not come back in the answer (or in a log of it)."""
    problems = [
        {"loc": list(issue.get("loc", ())), "type": issue.get("type"), "msg": issue.get("msg")}
        for issue in error.errors()
    ]
    return _json({"error": "invalid_request", "detail": problems}, 422)


app.exception_handler(RequestValidationError)(invalid_request)


@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics  # token refreshes counted while it answered
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
