"""A poll that dies between telling upstream and remembering it told: whatever Fortnox does before the next poll,
upstream ends with the payment as Fortnox has it, each event with the id it had. Through the poll queue and its
handler, DynamoDB failing at the real boto3 boundary, the sandbox and moto."""

from collections.abc import Sequence
from typing import Any

import pytest

from tests.paying import DynamoDbFault, PaymentSync

pytestmark = pytest.mark.integration


def _upstream_view(events: Sequence[dict[str, Any]]) -> dict[str, str | None]:
    """What an upstream that dedupes on event id ends up holding: each payment's last amount, None once removed."""
    seen: set[str] = set()
    held: dict[str, str | None] = {}
    for event in events:
        if event["event_id"] in seen:
            continue
        seen.add(event["event_id"])
        removed = event["type"] == "payment.removed"
        held[event["payment_number"]] = None if removed else str(event["payment"]["amount_sek"])
    return held


def test_a_payment_changed_back_after_a_crashed_poll_ends_upstream_as_fortnox_has_it(
    payment_sync: PaymentSync, monkeypatch: pytest.MonkeyPatch
) -> None:
    invoice = payment_sync.exported_invoice("110400")
    number = payment_sync.pay(invoice, "100.00")
    payment_sync.poll()
    payment_sync.change(number, Amount="150.00")
    fault = DynamoDbFault(monkeypatch, "PutItem", "PAYMENT#")

    crashed = payment_sync.deliver_once()
    assert crashed is not None and crashed.failed == 1 and fault.hits >= 1
    fault.heal()
    payment_sync.change(number, Amount="100.00")
    payment_sync.drain()
    payment_sync.events()

    assert _upstream_view(payment_sync.published) == {number: "100.00"}
    assert payment_sync.poll() == []


def test_a_payment_changed_again_after_a_crashed_poll_ends_upstream_as_fortnox_has_it(
    payment_sync: PaymentSync, monkeypatch: pytest.MonkeyPatch
) -> None:
    invoice = payment_sync.exported_invoice("110401")
    number = payment_sync.pay(invoice, "100.00")
    payment_sync.poll()
    payment_sync.change(number, Amount="150.00")
    fault = DynamoDbFault(monkeypatch, "PutItem", "PAYMENT#")

    payment_sync.deliver_once()
    fault.heal()
    payment_sync.change(number, Amount="175.00")
    payment_sync.drain()
    payment_sync.events()

    assert _upstream_view(payment_sync.published) == {number: "175.00"}
    assert payment_sync.poll() == []
