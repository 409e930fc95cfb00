"""A bad day for the limiter, on moto's table with a fake clock: lost answers, far-future times, garbage items."""

import contextlib
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from botocore.exceptions import ClientError

from fortnox_bridge.errors import BridgeError, RetryableError
from fortnox_bridge.ratelimit.sliding_window import DynamoDbSlidingWindow, WindowRule

RULE = WindowRule(limit=3, window_seconds=1.0, margin_seconds=0.2, jitter_seconds=0.05)
"""Tolerates sends up to 0.15 s late; slots at least 0.4 s apart."""


class TrueTime:
    """Real time for the test, read by every limiter. Records every sleep."""

    def __init__(self, start: float = 1_000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def clock(self) -> Callable[[], float]:
        return lambda: self.now


def limiter(table: Any, key: str, time_: TrueTime, *, client_id: str = "c") -> DynamoDbSlidingWindow:
    clock = time_.clock()
    return DynamoDbSlidingWindow(
        table, client_id=client_id, tenant_key=key, rule=RULE, clock=clock, sleep=time_.sleep, timer=clock
    )


def logged(table: Any, key: str, client_id: str = "c") -> list[float]:
    item = table.get_item(Key={"PK": f"RATE#{client_id}#{key}", "SK": "WINDOW"}, ConsistentRead=True)["Item"]
    return [float(value) for value in item["sent"]]


def crowded_windows(arrivals: list[float], rule: WindowRule = RULE) -> list[list[float]]:
    """Every run of limit + 1 arrivals inside one window: what Fortnox answers with a 429."""
    ordered = sorted(arrivals)
    return [
        ordered[index : index + rule.limit + 1]
        for index in range(len(ordered) - rule.limit)
        if ordered[index + rule.limit] - ordered[index] < rule.window_seconds
    ]


def seed(table: Any, key: str, sent: list[float], **extra: Any) -> None:
    table.put_item(
        Item={
            "PK": f"RATE#c#{key}",
            "SK": "WINDOW",
            "sent": [Decimal(f"{value:.6f}") for value in sent],
            "version": 7,
            **extra,
        }
    )


class AnswerLostOnce:
    """The table, except that the first put_item is applied and its answer lost, so the SDK sends it again (as
    botocore does after a timeout or a 500)."""

    def __init__(self, table: Any) -> None:
        self._table = table
        self.name = table.name
        self.lost = False

    def put_item(self, **kwargs: Any) -> Any:
        if not self.lost:
            self.lost = True
            self._table.put_item(**kwargs)
        return self._table.put_item(**kwargs)


class AppliedThen500:
    """The first put_item is applied, and the caller sees a 500 (retries exhausted)."""

    def __init__(self, table: Any) -> None:
        self._table = table
        self.name = table.name
        self.failed = False

    def put_item(self, **kwargs: Any) -> Any:
        result = self._table.put_item(**kwargs)
        if not self.failed:
            self.failed = True
            raise ClientError({"Error": {"Code": "InternalServerError", "Message": "x"}}, "PutItem")
        return result


# Findings against fedfb8d: each of these failed on it.


def test_a_far_future_time_in_the_log_does_not_park_the_tenant(table: Any, unique: str) -> None:
    """One host an hour ahead (or a hand-edited item) must not make every worker of the tenant sleep an hour."""
    time_ = TrueTime()
    seed(table, unique, [time_.now + 3600])

    with contextlib.suppress(BridgeError):  # refusing clearly is acceptable; parking is not
        limiter(table, unique, time_).acquire()

    assert max(time_.sleeps, default=0.0) <= DynamoDbSlidingWindow.GIVE_UP_SECONDS


def test_a_retried_write_whose_first_answer_was_lost_reserves_one_slot_not_two(table: Any, unique: str) -> None:
    time_ = TrueTime()
    first = limiter(table, unique, time_)
    first.acquire()
    sent_at = [time_.now]
    flaky = limiter(AnswerLostOnce(table), unique, time_)

    flaky.acquire()
    sent_at.append(time_.now)

    assert len(logged(table, unique)) == len(sent_at)  # no slot in the log that nobody sends in


def test_an_out_of_order_log_with_more_than_the_limit_still_keeps_the_window(table: Any, unique: str) -> None:
    """A hand-edited item: three recent sends first, three old ones after."""
    time_ = TrueTime()
    now = time_.now
    recent = [now - 0.3, now - 0.2, now - 0.1]
    seed(table, unique, [*recent, now - 5.0, now - 5.0, now - 5.0])

    limiter(table, unique, time_).acquire()

    assert crowded_windows([*recent, time_.now]) == []


def test_an_item_without_a_version_gives_a_clear_error_or_is_repaired(table: Any, unique: str) -> None:
    time_ = TrueTime()
    table.put_item(Item={"PK": f"RATE#c#{unique}", "SK": "WINDOW", "sent": [Decimal("1.5")]})

    try:
        limiter(table, unique, time_).acquire()
    except BridgeError:
        return
    except Exception as error:
        pytest.fail(f"a garbage item surfaced as {type(error).__name__}: {error}")


def test_a_write_that_still_fails_after_the_sdk_retries_is_a_retryable_error(table: Any, unique: str) -> None:
    """Throttled or a 500 to the end: the worker did not send, and the SQS message must come back, not crash."""
    time_ = TrueTime()
    flaky = limiter(AppliedThen500(table), unique, time_)
    with pytest.raises(RetryableError):
        flaky.acquire()

    start = time_.now
    flaky.acquire()  # the next request goes; the landed write's slot is the documented price of not knowing

    assert time_.now == start  # the window has room, so it goes at once ...
    assert logged(table, unique) == pytest.approx([start, start + RULE.gap_seconds])  # ... logged after the landed one


# Keepers: right today, pinned here.


def test_two_client_ids_of_one_tenant_keep_separate_logs_and_copies(table: Any, unique: str) -> None:
    time_ = TrueTime()
    for _ in range(3):
        limiter(table, unique, time_, client_id="a").acquire()
    start = time_.now

    limiter(table, unique, time_, client_id="b").acquire()

    assert time_.now == start  # b's window is empty: it waits for nothing a's log holds
    assert len(logged(table, unique, "a")) == 3
    assert logged(table, unique, "b") == [start]


def test_an_item_removed_by_ttl_while_a_process_holds_a_copy_is_started_again(table: Any, unique: str) -> None:
    time_ = TrueTime()
    worker = limiter(table, unique, time_)
    worker.acquire()
    table.delete_item(Key={"PK": f"RATE#c#{unique}", "SK": "WINDOW"})
    time_.now += 3600

    worker.acquire()

    assert logged(table, unique) == [time_.now]


def test_a_worker_thawed_long_after_its_slot_moves_it_and_leaves_the_log_true(table: Any, unique: str) -> None:
    time_ = TrueTime()
    other = limiter(table, unique, time_)
    arrivals = []
    for _ in range(3):
        other.acquire()
        arrivals.append(time_.now)
    thaws = iter([10.0])

    def frozen_sleep(seconds: float) -> None:
        time_.sleep(seconds + next(thaws, 0.0))

    clock = time_.clock()
    frozen = DynamoDbSlidingWindow(
        table, client_id="c", tenant_key=unique, rule=RULE, clock=clock, sleep=frozen_sleep, timer=clock
    )
    frozen.acquire()
    arrivals.append(time_.now)
    other.acquire()
    arrivals.append(time_.now)

    assert crowded_windows(arrivals) == []
    # The missed slot left the log: the thawed worker's slot is the moment it went, and the other worker's (which
    # went at once, the window having room) is logged a gap after it.
    assert logged(table, unique)[-2:] == pytest.approx([arrivals[3], arrivals[3] + RULE.gap_seconds])
    assert len(logged(table, unique)) == RULE.limit
