"""A queue message's body to an invoice event, or the reason it can never be one.

Everything here is decided from the body alone, before any state is read or any call is made, so a hostile or
careless body is refused once, with a reason a person can act on, and never retried.
"""

import json
import re
from functools import cache
from typing import TYPE_CHECKING, Any

from pydantic import TypeAdapter, ValidationError

from fortnox_bridge.contracts.invoices import EventId, InvoiceEvent
from fortnox_bridge.contracts.text import DocumentNumber, without_identity_numbers
from fortnox_bridge.ids import TENANT_ID_PATTERN

if TYPE_CHECKING:
    from fortnox_bridge.contracts.sales import SalesDayClosed, VoucherReady

MAX_BODY_BYTES = 256 * 1024
"""What one SQS message can carry; a larger body means something tried to inline a PDF or the like."""
MAX_DEPTH = 32
"""Events nest five levels deep; 32 leaves room for any honest change and refuses a body built to exhaust the
parser's recursion (50,000 levels raised RecursionError) before it is parsed."""

MAX_ISSUES = 10
"""Issues named in a refusal. The reason travels twice in invoice.export_failed (sv, en), and EventBridge refuses
an entry over 256 KB: 500 bad rows listed in full made 889 KB, so the refusal itself would have been lost."""
MAX_ISSUE_CHARS = 300
"""One issue's share: its location and message can quote the body (an unknown field's name, a wrong type tag)."""

EVENTS: TypeAdapter[Any] = TypeAdapter(InvoiceEvent)
_TENANT_ID = re.compile(TENANT_ID_PATTERN)
_DOCUMENT_NUMBER: TypeAdapter[str] = TypeAdapter(DocumentNumber)
_EVENT_ID: TypeAdapter[str] = TypeAdapter(EventId)
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_BRACKET = re.compile(r"[\[\]{}]")


class RefusedBody(Exception):
    """A body that is not a valid event; the tenant, event id and invoice number are given when the body names them
    validly."""

    def __init__(
        self,
        reason: str,
        tenant_id: str | None = None,
        event_id: str | None = None,
        invoice_number: str | None = None,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.tenant_id = tenant_id
        self.event_id = event_id
        self.invoice_number = invoice_number


def parse_event(body: str) -> Any:
    """The event in ``body`` (an ``InvoiceEvent``), or ``RefusedBody`` with the reason."""
    raw = json_within_limits(body)
    try:
        return EVENTS.validate_python(raw)
    except ValidationError as error:
        raise _refused(_reason(error), raw) from None


def parse_voucher_event(body: str) -> "SalesDayClosed | VoucherReady":
    """The event in ``body`` for the voucher queue, or ``RefusedBody`` with the reason, under the same limits."""
    raw = json_within_limits(body)
    try:
        return _voucher_events().validate_python(raw)
    except ValidationError as error:
        raise _refused(_reason(error), raw) from None


@cache
def _voucher_events() -> "TypeAdapter[SalesDayClosed | VoucherReady]":
    # The sales-day contracts are imported by the voucher worker (and the export review) that parse them, not by the
    # invoice worker, which imports this module for invoice events only: building their models cost it about 4 % of
    # a bare ``import boto3`` at each cold start, for nothing.
    from fortnox_bridge.contracts.sales import VoucherEvent

    return TypeAdapter(VoucherEvent)


def json_within_limits(body: str) -> Any:
    """The body's JSON, parsed only within the size and depth limits; ``RefusedBody`` for anything else."""
    size = len(body.encode())
    if size > MAX_BODY_BYTES:
        raise RefusedBody(
            f"the body is {size // 1024} KB; events are at most 256 KB (put PDFs in S3 and send bucket and key)"
        )
    if _depth_over(body, MAX_DEPTH):
        raise RefusedBody(f"the body nests deeper than {MAX_DEPTH} levels; no event does")
    try:
        return json.loads(body)
    except ValueError as error:
        raise RefusedBody(f"the body is not JSON ({error})") from None


def _refused(reason: str, raw: Any) -> RefusedBody:
    """The refusal, naming what the body names validly, so upstream can tell which event and invoice it was."""
    fields = raw if isinstance(raw, dict) else {}
    tenant, event_id = fields.get("tenant_id"), fields.get("id")
    data = fields.get("data")
    number = data.get("invoice_number") if isinstance(data, dict) else None
    return RefusedBody(
        reason,
        tenant if isinstance(tenant, str) and _TENANT_ID.fullmatch(tenant) else None,
        _valid(_EVENT_ID, event_id),
        _valid(_DOCUMENT_NUMBER, number),
    )


def _valid(kind: TypeAdapter[str], value: Any) -> str | None:
    try:
        return kind.validate_python(value) if isinstance(value, str) else None
    except ValidationError:
        return None


def _depth_over(body: str, limit: int) -> bool:
    depth = 0
    for bracket in _BRACKET.finditer(_STRING.sub("", body)):
        depth += 1 if bracket.group() in "[{" else -1
        if depth > limit:
            return True
    return False


def _reason(error: ValidationError) -> str:
    # A location quotes the body's keys, and a careless upstream can send a personal number as one: the reason is
    # logged and published, so such numbers are masked there (the message is ours and pydantic's, and quotes amounts).
    issues = [
        _shortened(f"{without_identity_numbers('.'.join(map(str, issue['loc'])))}: {issue['msg']}")
        for issue in error.errors()
    ]
    reason = "; ".join(issues[:MAX_ISSUES])
    if len(issues) > MAX_ISSUES:
        reason += f"; and {len(issues) - MAX_ISSUES} more"
    return reason


def _shortened(issue: str) -> str:
    return issue if len(issue) <= MAX_ISSUE_CHARS else issue[: MAX_ISSUE_CHARS - 1] + "…"
