"""Fortnox list endpoints: status filters, search parameters, sorting and paging, for every resource alike.

A list route reads its rows, then narrows them in this order: ``only_status`` (the ``filter`` parameter),
``matching`` / ``within`` / ``flagged`` (search parameters), ``modified_since``, then ``sort`` and ``page``.

Query parameters a resource does not know are ignored, as Fortnox does: parameters the spec does not declare
(``offset``, ``limit`` on /3/projects) are honoured, and no recording shows Fortnox refusing a query parameter
(accodeing/fortnox-api spec/vcr_cassettes/projects/find_by_hash_failure.yml, multi_param_find_by_hash.yml).
"""

from collections.abc import Callable, Mapping
from typing import Any

from werkzeug.wrappers import Response

from fortnox_sandbox import codes
from fortnox_sandbox.errors import ApiError
from fortnox_sandbox.http_util import ApiContext, json_response
from fortnox_sandbox.state import Record

Match = Callable[[str, str], bool]
MAX_LIMIT = 500
DEFAULT_LIMIT = 100


def exact(wanted: str, value: str) -> bool:
    """Identifiers (document, customer and account numbers, OCR, currency codes) match whole and case-sensitively."""
    return value == wanted


def substring(wanted: str, value: str) -> bool:
    return wanted in value


def any_case(wanted: str, value: str) -> bool:
    """Free text (names, references): Fortnox finds "Test" in "Test customer" (invoices/search_by_name.yml)."""
    return wanted.casefold() in value.casefold()


def only_status(ctx: ApiContext, rows: list[Record], filters: Mapping[str, Callable[[Record], bool]]) -> list[Record]:
    """The ``filter`` parameter: one named status at a time; a name the resource lacks is 2000587.

    Evidence: invoices/filter_invalid.yml and orders/filter_invalid.yml (``filter=doesntexist`` -> 400, 2000587).
    """
    status = ctx.arg("filter")
    if status is None:
        return rows
    keep = filters.get(status)
    if keep is None:
        raise ApiError(codes.INVALID_FILTER)
    return [row for row in rows if keep(row)]


def matching(ctx: ApiContext, rows: list[Record], fields: Mapping[str, str], match: Match) -> list[Record]:
    """Keep the rows whose field matches each search parameter given (``{parameter: field}``).

    A field holding a list (``Labels``) matches when one of its items' ``Id`` does.
    """
    for name, field in fields.items():
        wanted = ctx.arg(name)
        if wanted is not None:
            rows = [row for row in rows if any(match(wanted, value) for value in _texts(row.get(field)))]
    return rows


def _texts(value: Any) -> list[str]:
    if isinstance(value, list):
        return [str(item.get("Id", "")) if isinstance(item, dict) else str(item) for item in value]
    return [str(value) if value is not None else ""]


def within(ctx: ApiContext, rows: list[Record], field: str, *, since: str, until: str) -> list[Record]:
    """A date range on ``field``, both ends inclusive (``fromdate``/``todate``); a row without the date is left out."""
    earliest, latest = ctx.arg(since), ctx.arg(until)
    if earliest is not None:
        rows = [row for row in rows if row.get(field) and str(row[field]) >= earliest]
    if latest is not None:
        rows = [row for row in rows if row.get(field) and str(row[field]) <= latest]
    return rows


def flagged(ctx: ApiContext, rows: list[Record], fields: Mapping[str, str]) -> list[Record]:
    """Boolean search parameters (``sent=true``): anything but ``true`` (any case) asks for false."""
    for name, field in fields.items():
        wanted = ctx.arg(name)
        if wanted is not None:
            rows = [row for row in rows if _truthy(row.get(field)) == (wanted.lower() == "true")]
    return rows


def _truthy(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")


def modified_since(ctx: ApiContext, rows: list[Record]) -> list[Record]:
    """``lastmodified``: rows changed at or after the given time (Fortnox's ``YYYY-MM-DD HH:MM:SS``)."""
    since = ctx.arg("lastmodified")
    return rows if since is None else [row for row in rows if row["_modified"] >= since]


def sort(ctx: ApiContext, rows: list[Record], keys: Mapping[str, Callable[[Record], Any]]) -> list[Record]:
    """``sortby`` (one of ``keys``) and ``sortorder`` (ascending or descending); rows keep their order otherwise."""
    key = keys.get(ctx.arg("sortby") or "")
    if key is None:
        return rows
    return sorted(rows, key=key, reverse=(ctx.arg("sortorder") or "").lower() == "descending")


def page(ctx: ApiContext, key: str, items: list[dict[str, Any]]) -> Response:
    """Fortnox paging: ``offset`` skips rows first, then ``limit`` (default 100, at most 500) and 1-based ``page``.

    ``@TotalResources`` and ``@TotalPages`` count what is left after ``offset``, and an empty list has 0 pages
    while ``@CurrentPage`` stays the page asked for (projects/find_by_hash_failure.yml: ``offset=10000`` over two
    projects answers 0 resources, 0 pages, page 1; invoices/search_miss.yml: 0 pages).
    """
    limit = _whole(ctx, "limit", DEFAULT_LIMIT)
    number = _whole(ctx, "page", 1)
    offset = _whole(ctx, "offset", 0)
    if not 1 <= limit <= MAX_LIMIT or number < 1 or offset < 0:
        raise ApiError(codes.INVALID_PARAMETER, field="limit/page/offset")
    remaining = items[offset:]
    total = len(remaining)
    start = (number - 1) * limit
    return json_response(
        {
            "MetaInformation": {
                "@TotalResources": total,
                "@TotalPages": -(-total // limit),
                "@CurrentPage": number,
            },
            key: remaining[start : start + limit],
        }
    )


def _whole(ctx: ApiContext, name: str, default: int) -> int:
    raw = ctx.arg(name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ApiError(codes.INVALID_PARAMETER, field=name) from None
