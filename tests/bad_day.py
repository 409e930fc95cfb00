"""What the bad-day tests share: no waits between the client's retries, the events published so far, the dead-letter
queue driven back onto the export queue."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from fortnox_bridge.fortnox.retry import RetryPolicy
from fortnox_bridge_cli.redrive import redrive
from tests.exporting import Export, VoucherExport


@pytest.fixture(autouse=True)
def no_retry_waits(monkeypatch: pytest.MonkeyPatch) -> None:
    """The client's backoff between retries is the test's time, not what it asserts: a module that imports this
    fixture runs every test without it."""
    monkeypatch.setattr(RetryPolicy, "backoff", lambda self, attempt: 0.0)


def published(events_tap: Any, kind: str, event_id: str | None = None) -> list[dict[str, Any]]:
    """Everything published so far (the tap's queue is read once and kept, since reading it empties it)."""
    if not hasattr(events_tap, "seen"):
        events_tap.seen = []
    seen = events_tap.seen
    seen.extend(events_tap.received())
    return [
        e.detail for e in seen if e.detail_type == kind and (event_id is None or e.detail.get("event_id") == event_id)
    ]


def redrive_and_drain(export: Export | VoucherExport) -> int:
    """Fortnox well again, the tenant's dead letters moved back and exported; how many were moved."""
    export.scene.control._call("DELETE", "/faults")
    moved = redrive(export.sqs, export.queue, tenant=export.tenant)
    export.send()
    return moved


def moment(offset_seconds: float = 0) -> str:
    """Now, moved by ``offset_seconds``, as an event's ISO time."""
    return (datetime.now(UTC) + timedelta(seconds=offset_seconds)).isoformat()
