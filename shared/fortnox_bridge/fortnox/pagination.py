"""Walk every page of a Fortnox list and prove nothing was missed."""

from collections.abc import Callable, Iterator, Mapping
from typing import Any, TypeVar

from pydantic import BaseModel

from fortnox_bridge.fortnox.errors import FortnoxUnexpectedResponse
from fortnox_bridge.fortnox.http import FortnoxHttp
from fortnox_bridge.fortnox.models.base import MetaInformation

MAX_PAGE_SIZE = 500
ItemT = TypeVar("ItemT", bound=BaseModel)


def iterate(
    http: FortnoxHttp,
    path: str,
    *,
    key: str,
    parse: Callable[[Any], ItemT],
    params: Mapping[str, str | int] | None = None,
    page_size: int = MAX_PAGE_SIZE,
) -> Iterator[ItemT]:
    """Yield every item of a list endpoint, page by page.

    The count is checked against ``@TotalResources`` of the first page: a list that changes while it is read, or
    an endpoint that pages differently than it says, raises instead of returning a silently short result.
    """
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise ValueError(f"page_size must be 1..{MAX_PAGE_SIZE}")
    page = 1
    seen = 0
    expected: int | None = None
    while True:
        query: dict[str, str | int] = {**(params or {}), "limit": page_size, "page": page}
        body = http.request("GET", path, params=query, idempotent=True)
        if not isinstance(body, dict) or not isinstance(body.get(key), list):
            raise FortnoxUnexpectedResponse(f"GET {path} did not return a {key} list", status=200)
        meta = MetaInformation.from_body(body)
        if expected is None and meta is not None:
            expected = meta.total_resources
        items = body[key]
        for raw in items:
            seen += 1
            yield parse(raw)
        total_pages = meta.total_pages if meta is not None else None
        if not items or total_pages is None or page >= total_pages:
            break
        page += 1
    if expected is not None and seen != expected:
        raise FortnoxUnexpectedResponse(
            f"GET {path} returned {seen} {key} but announced {expected}; the list changed while it was read",
            status=200,
        )
