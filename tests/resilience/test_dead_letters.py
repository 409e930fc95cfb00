"""Issue 8, point 5: a message that fails on every delivery says why before it reaches the dead-letter queue, and
once the cause is gone a redrive exports it exactly once."""

import json
from typing import Any

import pytest

from fortnox_bridge.fortnox.retry import RetryPolicy
from fortnox_bridge_cli.main import main as cli
from fortnox_bridge_cli.redrive import redrive
from infra.names import MAX_RECEIVE_COUNT
from tests.exporting import Export

pytestmark = pytest.mark.integration


def _of(events_tap: Any, detail_type: str, event_id: str) -> list[dict[str, Any]]:
    return [
        event.detail
        for event in events_tap.received()
        if event.detail_type == detail_type and event.detail["event_id"] == event_id
    ]


def test_seven_500s_on_a_create_are_reported_on_the_last_delivery_and_redriven_once(
    export: Export, events_tap: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    export.scene.control.fault("500", count=7, method="POST", path_prefix="/3/invoices")
    event = export.event("7001")
    outcomes = export.send(event)
    assert [(outcome.received, outcome.failed) for outcome in outcomes] == [(1, 1)] * MAX_RECEIVE_COUNT
    assert export.invoices() == []
    [failed] = [event.detail for event in events_tap.received() if event.detail_type == "invoice.export_failed"]
    assert (failed["event_id"], failed["invoice_number"]) == (event["id"], "7001")
    assert "500" in failed["reason_en"] and "after several attempts" in failed["reason_en"]
    # Another tenant's dead letter stays where it is.
    stranger = {**export.event("7002"), "tenant_id": f"{export.tenant}-other"}
    export.sqs.send_message(QueueUrl=export.dead, MessageBody=json.dumps(stranger))

    assert cli(["redrive", "--queue-url", export.queue, "--tenant", export.tenant]) == 0
    assert f"1 dead letter(s) of tenant {export.tenant} moved back" in capsys.readouterr().out
    export.send()  # the two 500s left are absorbed by the redriven message's own deliveries

    [invoice] = export.invoices()
    assert invoice["ExternalInvoiceReference1"] == f"FB:{export.tenant}:7001"
    assert len(_of(events_tap, "invoice.exported", event["id"])) == 1
    assert redrive(export.sqs, export.queue, tenant=f"{export.tenant}-other") == 1
    export.send()  # the stranger is refused for good (no such tenant), not dead-lettered again
    assert redrive(export.sqs, export.queue, tenant=f"{export.tenant}-other") == 0


def test_forty_429s_on_a_create_are_reported_on_the_last_delivery(
    export: Export, events_tap: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Five attempts per delivery, as in production; only the waits between them are left out.
    monkeypatch.setattr(RetryPolicy, "backoff", lambda self, attempt: 0.0)
    export.scene.control.fault("429", count=40, method="POST", path_prefix="/3/invoices")
    event = export.event("7101")
    outcomes = export.send(event)
    assert [(outcome.received, outcome.failed) for outcome in outcomes] == [(1, 1)] * MAX_RECEIVE_COUNT
    [failed] = _of(events_tap, "invoice.export_failed", event["id"])
    assert "too many requests" in failed["reason_en"] and "för många anrop" in failed["reason_sv"]

    assert redrive(export.sqs, export.queue, tenant=export.tenant) == 1
    export.send()
    assert len(export.invoices()) == 1
    assert len(_of(events_tap, "invoice.exported", event["id"])) == 1


def test_nothing_is_reported_before_the_last_delivery(export: Export, events_tap: Any) -> None:
    export.scene.control.fault("500", count=MAX_RECEIVE_COUNT - 1, method="POST", path_prefix="/3/invoices")
    event = export.event("7201")
    outcomes = export.send(event)
    assert [(outcome.received, outcome.failed) for outcome in outcomes] == [(1, 1)] * (MAX_RECEIVE_COUNT - 1) + [(1, 0)]
    assert [event.detail_type for event in events_tap.received()] == ["invoice.exported"]
    assert len(export.invoices()) == 1
    assert redrive(export.sqs, export.queue, tenant=export.tenant) == 0
