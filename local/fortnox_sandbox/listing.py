"""Fortnox list endpoints: search parameter matching, ``lastmodified`` and paging."""

from collections.abc import Callable
from typing import Any

from werkzeug.wrappers import Response

from fortnox_sandbox import codes
from fortnox_sandbox.errors import ApiError
from fortnox_sandbox.http_util import ApiContext, json_response
from fortnox_sandbox.state import Record


def matching(
    ctx: ApiContext, rows: list[Record], fields: dict[str, str], match: Callable[[str, str], bool]
) -> list[Record]:
    """Keep the rows whose field matches each search parameter given (``{parameter: field}``)."""
    for name, field in fields.items():
        wanted = ctx.arg(name)
        if wanted is not None:
            rows = [row for row in rows if match(wanted, str(row.get(field) or ""))]
    return rows


def exact(wanted: str, value: str) -> bool:
    return value == wanted


def substring(wanted: str, value: str) -> bool:
    return wanted in value


def any_case(wanted: str, value: str) -> bool:
    return wanted.lower() in value.lower()


def modified_since(ctx: ApiContext, rows: list[Record]) -> list[Record]:
    """``lastmodified``: rows changed at or after the given time (Fortnox's ``YYYY-MM-DD HH:MM:SS``)."""
    since = ctx.arg("lastmodified")
    return rows if since is None else [row for row in rows if row["_modified"] >= since]


def page(ctx: ApiContext, key: str, items: list[dict[str, Any]]) -> Response:
    """Fortnox paging: ``limit`` (default 100, at most 500) and 1-based ``page``, with MetaInformation."""
    try:
        limit = int(ctx.arg("limit") or 100)
        number = int(ctx.arg("page") or 1)
    except ValueError:
        raise ApiError(codes.INVALID_PARAMETER, field="limit/page") from None
    if not 1 <= limit <= 500 or number < 1:
        raise ApiError(codes.INVALID_PARAMETER, field="limit/page")
    total = len(items)
    pages = max(1, -(-total // limit))
    start = (number - 1) * limit
    return json_response(
        {
            "MetaInformation": {"@TotalResources": total, "@TotalPages": pages, "@CurrentPage": number},
            key: items[start : start + limit],
        }
    )
