"""When a worker stops racing for the log: after its lost writes took ``GIVE_UP_SECONDS``, not its own pauses.

One worker against rivals that win every write it tries, on moto's table and a virtual clock: each write takes the
time the test says, the back-off pauses as the limiter chooses.
"""

import random
import uuid
from decimal import Decimal
from typing import Any

import pytest

from fortnox_bridge.errors import RetryableError
from fortnox_bridge.ratelimit.sliding_window import DynamoDbSlidingWindow, WindowRule

RULE = WindowRule(limit=3, window_seconds=3.0, margin_seconds=0.2, jitter_seconds=0.05)
"""Slots about a second apart, so the back-off's pauses (at most a gap) add up quickly."""


class Time:
    def __init__(self) -> None:
        self.now = 1_000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class Rivalled:
    """The table, where before each of the worker's first ``losses`` writes a rival's write lands (it bumps the
    item's version), so that write is refused; each write takes ``seconds``."""

    def __init__(self, table: Any, time_: Time, *, losses: int, seconds: float) -> None:
        self._table = table
        self._time = time_
        self._left = losses
        self._seconds = seconds
        self.name = f"{table.name}@{uuid.uuid4().hex}"
        self.writes = 0

    def put_item(self, **kwargs: Any) -> Any:
        self.writes += 1
        self._time.now += self._seconds
        if self._left:
            self._left -= 1
            key = {"PK": kwargs["Item"]["PK"], "SK": "WINDOW"}
            self._table.update_item(
                Key=key, UpdateExpression="SET version = version + :one", ExpressionAttributeValues={":one": 1}
            )
        return self._table.put_item(**kwargs)


def _worker(table: Any, *, losses: int, seconds: float) -> tuple[DynamoDbSlidingWindow, Rivalled, Time]:
    time_ = Time()
    tenant = uuid.uuid4().hex
    # A busy tenant: its log is full and reserved well ahead, so the back-off has room to pause in every round.
    ahead = [time_.now + 55 + index * RULE.gap_seconds for index in range(RULE.limit)]
    table.put_item(
        Item={
            "PK": f"RATE#c#{tenant}",
            "SK": "WINDOW",
            "sent": [Decimal(f"{moment:.6f}") for moment in ahead],
            "version": 7,
        }
    )
    rivalled = Rivalled(table, time_, losses=losses, seconds=seconds)
    limiter = DynamoDbSlidingWindow(
        rivalled,  # type: ignore[arg-type]
        client_id="c",
        tenant_key=tenant,
        rule=RULE,
        clock=time_.clock,
        sleep=time_.sleep,
        timer=time_.clock,
    )
    return limiter, rivalled, time_


def test_a_worker_whose_back_off_pauses_outlast_the_give_up_keeps_racing_and_wins(table: Any) -> None:
    # 100 lost writes of 20 ms (2 s of writing), with the back-off's pauses between them coming to more than
    # GIVE_UP_SECONDS: the worker lost to others' progress, never to a window it could not win.
    random.seed(100)
    limiter, rivalled, time_ = _worker(table, losses=100, seconds=0.02)

    limiter.acquire()

    assert rivalled.writes == 101
    *pauses, _window = time_.sleeps  # the last sleep is the wait for the window its slot is in
    assert sum(pauses) > DynamoDbSlidingWindow.GIVE_UP_SECONDS


def test_a_worker_whose_lost_writes_take_longer_than_the_give_up_stops_with_a_retryable_error(table: Any) -> None:
    # Writes of a second each that all lose: after GIVE_UP_SECONDS of them the message goes back to the queue.
    random.seed(1)
    limiter, rivalled, _ = _worker(table, losses=1_000, seconds=1.0)

    with pytest.raises(RetryableError, match="too contended"):
        limiter.acquire()

    assert rivalled.writes == pytest.approx(DynamoDbSlidingWindow.GIVE_UP_SECONDS + 1, abs=1)
