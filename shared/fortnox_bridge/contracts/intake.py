"""A queue message's body to an invoice event, or the reason it can never be one.

Everything here is decided from the body alone, before any state is read or any call is made, so a hostile or
careless body is refused once, with a reason a person can act on, and never retried.
"""

import json
import re
from typing import Any

from pydantic import TypeAdapter, ValidationError

from fortnox_bridge.contracts.invoices import InvoiceEvent
from fortnox_bridge.ids import TENANT_ID_PATTERN

MAX_BODY_BYTES = 256 * 1024
"""What one SQS message can carry; a larger body means something tried to inline a PDF or the like."""
MAX_DEPTH = 32
"""Events nest five levels deep; 32 leaves room for any honest change and refuses a body built to exhaust the
parser's recursion (50,000 levels raised RecursionError) before it is parsed."""

EVENTS: TypeAdapter[Any] = TypeAdapter(InvoiceEvent)
_TENANT_ID = re.compile(TENANT_ID_PATTERN)
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_BRACKET = re.compile(r"[\[\]{}]")


class RefusedBody(Exception):
    """A body that is not a valid event; the tenant and event id are given when the body names them validly."""

    def __init__(self, reason: str, tenant_id: str | None = None, event_id: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.tenant_id = tenant_id
        self.event_id = event_id


def parse_event(body: str) -> Any:
    """The event in ``body`` (an ``InvoiceEvent``), or ``RefusedBody`` with the reason."""
    size = len(body.encode())
    if size > MAX_BODY_BYTES:
        raise RefusedBody(
            f"the body is {size // 1024} KB; events are at most 256 KB (put PDFs in S3 and send bucket and key)"
        )
    if _depth_over(body, MAX_DEPTH):
        raise RefusedBody(f"the body nests deeper than {MAX_DEPTH} levels; no event does")
    try:
        raw = json.loads(body)
    except ValueError as error:
        raise RefusedBody(f"the body is not JSON ({error})") from None
    tenant = raw.get("tenant_id") if isinstance(raw, dict) else None
    event_id = raw.get("id") if isinstance(raw, dict) else None
    try:
        return EVENTS.validate_python(raw)
    except ValidationError as error:
        raise RefusedBody(
            _reason(error),
            tenant if isinstance(tenant, str) and _TENANT_ID.fullmatch(tenant) else None,
            event_id if isinstance(event_id, str) else None,
        ) from None


def _depth_over(body: str, limit: int) -> bool:
    depth = 0
    for bracket in _BRACKET.finditer(_STRING.sub("", body)):
        depth += 1 if bracket.group() in "[{" else -1
        if depth > limit:
            return True
    return False


def _reason(error: ValidationError) -> str:
    return "; ".join(f"{'.'.join(map(str, issue['loc']))}: {issue['msg']}" for issue in error.errors())
