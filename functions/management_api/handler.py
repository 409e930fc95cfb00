"""The management API for the SaaS backend (IAM-authorised): tenants, settings, connect links, connections."""

from datetime import timedelta
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict, Field

from fortnox_bridge import json_codec, settings, wiring
from fortnox_bridge.connect.service import NotConnected, TenantStatus
from fortnox_bridge.errors import BadInputError, BridgeError, NeedsTenantActionError, RetryableError
from fortnox_bridge.ids import TENANT_ID_PATTERN, TenantId
from fortnox_bridge.mapping.rules import TenantMapping
from fortnox_bridge.observability import logger, tracer
from fortnox_bridge.store.mappings import MappingStore
from fortnox_bridge.store.tenants import Tenant, TenantSettings, TenantStore, UnknownTenant

settings.require(*settings.FORTNOX_CALLER)
app = APIGatewayHttpResolver(enable_validation=True)
TenantPath = Annotated[str, Path(pattern=TENANT_ID_PATTERN)]


class TenantProfile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    display_name: str = Field(min_length=1, max_length=200)


class LinkRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    service_account: bool | None = None
    """Ask for a service account (``account_type=service``); defaults to the tenant's setting."""
    valid_days: int | None = Field(default=None, ge=1, le=90)


class ConnectLinkAnswer(BaseModel):
    url: str
    expires_at: str


def _json(body: Any, status: int) -> Response[str]:
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=json_codec.dumps(body))


@app.put("/tenants/<tenant_id>")
@tracer.capture_method
def put_tenant(tenant_id: TenantPath, profile: TenantProfile) -> Response[str]:
    store = TenantStore(wiring.table())
    existing = store.get(TenantId(tenant_id))
    tenant = (
        existing.model_copy(update={"display_name": profile.display_name})
        if existing
        else Tenant(tenant_id=TenantId(tenant_id), display_name=profile.display_name)
    )
    store.put(tenant)
    return _json(tenant.model_dump(mode="json", exclude={"last_probe"}), 200 if existing else 201)


@app.get("/tenants/<tenant_id>")
@tracer.capture_method
def get_tenant(tenant_id: TenantPath) -> TenantStatus:
    return wiring.connect_service().status(TenantId(tenant_id))


@app.put("/tenants/<tenant_id>/settings")
@tracer.capture_method
def put_settings(tenant_id: TenantPath, tenant_settings: TenantSettings) -> TenantSettings:
    TenantStore(wiring.table()).put_settings(TenantId(tenant_id), tenant_settings)
    return tenant_settings


@app.get("/tenants/<tenant_id>/settings")
@tracer.capture_method
def get_settings(tenant_id: TenantPath) -> TenantSettings:
    return TenantStore(wiring.table()).require(TenantId(tenant_id)).settings


@app.put("/tenants/<tenant_id>/mapping")
@tracer.capture_method
def put_mapping(tenant_id: TenantPath, mapping: TenantMapping) -> TenantMapping:
    TenantStore(wiring.table()).require(TenantId(tenant_id))
    MappingStore(wiring.table()).put(TenantId(tenant_id), mapping)
    return mapping


@app.get("/tenants/<tenant_id>/mapping")
@tracer.capture_method
def get_mapping(tenant_id: TenantPath) -> TenantMapping:
    TenantStore(wiring.table()).require(TenantId(tenant_id))
    return MappingStore(wiring.table()).get(TenantId(tenant_id))


@app.post("/tenants/<tenant_id>/connect-links")
@tracer.capture_method
def create_link(tenant_id: TenantPath, request: LinkRequest) -> Response[str]:
    url, valid_until = wiring.connect_service().create_link(
        TenantId(tenant_id),
        service_account=request.service_account,
        lifetime=timedelta(days=request.valid_days) if request.valid_days else None,
    )
    return _json(ConnectLinkAnswer(url=url, expires_at=valid_until.isoformat()).model_dump(), 201)


@app.delete("/tenants/<tenant_id>/connection")
@tracer.capture_method
def delete_connection(tenant_id: TenantPath) -> TenantStatus:
    return wiring.connect_service().disconnect(TenantId(tenant_id))


# Kinds, most specific first: what the SaaS backend sees for each failure.
PROBLEMS: list[tuple[type[BridgeError], int, str]] = [
    (UnknownTenant, 404, "unknown_tenant"),
    (NotConnected, 409, "not_connected"),
    (BadInputError, 400, "bad_input"),
    (NeedsTenantActionError, 409, "needs_tenant_action"),
    (RetryableError, 503, "try_again"),
]


def problem(error: BridgeError) -> Response[str]:
    status, kind = next(((status, kind) for cls, status, kind in PROBLEMS if isinstance(error, cls)), (500, "error"))
    return _json({"error": kind, "message": error.message}, status)


app.exception_handler(BridgeError)(problem)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
