"""An operator hand-edits a tenant's rate-limit item (the runbook's way out of a parked tenant is deleting it; an
edit is the next thing a person tries). The limiter refuses what it cannot trust with a message that says what to do,
and does not burn its whole give-up time in writes on an item it can never win. Against moto's table."""

import uuid
from decimal import Decimal
from typing import Any

import pytest

from fortnox_bridge.errors import RetryableError
from fortnox_bridge.ratelimit.sliding_window import DynamoDbSlidingWindow
from tests.unit.test_sliding_window_send import RULE


class _Host:
    """One process: a clock on the real time line, sleeps that pass at once, and a timer that says each DynamoDB
    write took a second (so the give-up is reached in a few dozen writes, not in 30 s of real ones)."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0
        self.ticks = 0.0

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds

    def timer(self) -> float:
        self.ticks += 0.5
        return self.ticks


class _Counted:
    """The table under a name of its own (the limiter keeps its copy of the log per table name), counting writes."""

    def __init__(self, table: Any) -> None:
        self.name = f"{table.name}@{uuid.uuid4().hex}"
        self.writes = 0
        self._table = table

    def put_item(self, **kwargs: Any) -> Any:
        self.writes += 1
        return self._table.put_item(**kwargs)


def _limiter(table: Any, tenant: str) -> tuple[DynamoDbSlidingWindow, _Counted, _Host]:
    counted, host = _Counted(table), _Host()
    limiter = DynamoDbSlidingWindow(
        counted,  # type: ignore[arg-type]
        client_id="c",
        tenant_key=tenant,
        rule=RULE,
        clock=host.clock,
        sleep=host.sleep,
        timer=host.timer,
    )
    return limiter, counted, host


def test_a_log_hand_edited_with_two_far_future_times_refuses_with_the_way_out_and_deleting_it_recovers(
    table: Any,
) -> None:
    tenant = uuid.uuid4().hex
    limiter, counted, host = _limiter(table, tenant)
    far = Decimal(int(host.now) + 3600)
    table.put_item(Item={"PK": f"RATE#c#{tenant}", "SK": "WINDOW", "version": 7, "sent": [far, far + 1]})

    with pytest.raises(RetryableError) as refused:
        limiter.acquire()
    assert "delete the item" in str(refused.value) and f"RATE#c#{tenant}" in str(refused.value)
    assert counted.writes <= 1  # it found out from its first, refused, write and wrote nothing more

    table.delete_item(Key={"PK": f"RATE#c#{tenant}", "SK": "WINDOW"})
    started = host.now
    limiter.acquire()
    assert host.now == started


@pytest.mark.parametrize("version", [0, "7"], ids=["version-zero", "version-as-string"])
def test_a_log_hand_edited_with_a_version_no_write_can_match_is_refused_at_once_as_unreadable(
    table: Any, version: Any
) -> None:
    tenant = uuid.uuid4().hex
    limiter, counted, _host = _limiter(table, tenant)
    table.put_item(Item={"PK": f"RATE#c#{tenant}", "SK": "WINDOW", "version": version, "sent": []})

    with pytest.raises(RetryableError) as refused:
        limiter.acquire()

    assert counted.writes <= 3 and "delete it" in str(refused.value)
