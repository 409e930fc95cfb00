"""Request parsing and response building shared by every sandbox route."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from werkzeug.wrappers import Request, Response

from fortnox_bridge import json_codec
from fortnox_sandbox import codes
from fortnox_sandbox.errors import ApiError
from fortnox_sandbox.spec_fields import WRITABLE_FIELDS
from fortnox_sandbox.state import Company, SandboxState


@dataclass
class ApiContext:
    state: SandboxState
    company: Company
    client_id: str
    request: Request

    def arg(self, name: str) -> str | None:
        value = self.request.args.get(name)
        return value if value not in (None, "") else None


@dataclass(frozen=True)
class ApiRoute:
    method: str
    path: str
    scope: str
    handler: Callable[..., Response]
    multipart: bool = False


def json_response(body: Any, status: int = 200, content_type: str = "application/json") -> Response:
    response = Response(json_codec.dumps(body), status=status, content_type=content_type)
    response.headers["Server"] = "Fortnox"
    if status == 201:
        response.headers["Location"] = "created"
    return response


def read_json(request: Request) -> Any:
    raw = request.get_data()
    if not raw.strip():
        raise ApiError(codes.EMPTY_BODY)
    try:
        return json_codec.loads(raw)
    except ValueError:
        raise ApiError(codes.INVALID_JSON) from None


def wrapped(request: Request, key: str) -> dict[str, Any]:
    """The object under a resource's singular root key, with its field names checked against the spec."""
    body = read_json(request)
    if not isinstance(body, dict) or not isinstance(body.get(key), dict):
        raise ApiError(codes.EMPTY_BODY)
    payload: dict[str, Any] = body[key]
    check_fields(key, payload)
    return payload


def check_fields(resource: str, payload: dict[str, Any]) -> None:
    allowed = WRITABLE_FIELDS[resource]
    for name, value in payload.items():
        if name not in allowed:
            raise ApiError(codes.INVALID_FIELD, field=name)
        nested = f"{resource}.{name}"
        if nested in WRITABLE_FIELDS and isinstance(value, list):
            for row in value:
                if not isinstance(row, dict):
                    raise ApiError(codes.EMPTY_BODY)
                check_fields(nested, row)


def require(payload: dict[str, Any], field: str) -> Any:
    value = payload.get(field)
    if value is None or (isinstance(value, str) and not value.strip()):
        raise ApiError(codes.FIELD_REQUIRED, field=field)
    return value


def check_length(payload: dict[str, Any], limits: dict[str, int]) -> None:
    for field, maximum in limits.items():
        value = payload.get(field)
        if isinstance(value, str) and len(value) > maximum:
            raise ApiError(codes.FIELD_TOO_LONG, field=field, max=maximum)


def public(record: dict[str, Any]) -> dict[str, Any]:
    """A stored record without the sandbox's private bookkeeping keys (those starting with ``_``)."""
    return {key: value for key, value in record.items() if not key.startswith("_")}


def url(ctx: ApiContext, path: str) -> str:
    return f"{ctx.request.host_url.rstrip('/')}{path}"


def host(ctx: ApiContext) -> str:
    return url(ctx, "")


def one(key: str, record: dict[str, Any], status: int = 200) -> Response:
    response = json_response({key: public(record)}, status)
    if status == 201:
        # Fortnox's Location names the collection, not the new record: "Location: invoices" after POST /3/invoices
        # (accodeing/fortnox-api invoices/save_new.yml, orders/save_new.yml, customers/save_new_with_*.yml).
        response.headers["Location"] = f"{key.lower()}s"
    return response
