"""The limiter's own logic on moto's table with a fake clock: late workers, the log, DynamoDB calls per request."""

import uuid
from collections import Counter
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fortnox_bridge.ratelimit.sliding_window import DynamoDbSlidingWindow, WindowRule

RULE = WindowRule(limit=3, window_seconds=1.0, margin_seconds=0.2, jitter_seconds=0.05)
"""Tolerates sends up to 0.15 s late; slots at least 0.4 s apart."""


class FakeTime:
    """One clock for every limiter of a test; ``sleep`` oversleeps by whatever ``late`` says next."""

    def __init__(self, start: float = 1_000.0) -> None:
        self.now = start
        self.lateness: Iterator[float] = iter(())

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds + next(self.lateness, 0.0)


@pytest.fixture
def time_() -> FakeTime:
    return FakeTime()


@pytest.fixture
def calls(table: Any) -> Iterator[Counter[str]]:
    """Every DynamoDB call the table's client makes, by operation."""
    counted: Counter[str] = Counter()

    def count(model: Any, **_: Any) -> None:
        counted[model.name] += 1

    events = table.meta.client.meta.events
    events.register("before-call.dynamodb", count, unique_id="test-limiter-calls")
    yield counted
    events.unregister("before-call.dynamodb", unique_id="test-limiter-calls")


def limiter_for(table: Any, key: str, time_: FakeTime, rule: WindowRule = RULE) -> DynamoDbSlidingWindow:
    return DynamoDbSlidingWindow(
        table, client_id="c", tenant_key=key, rule=rule, clock=time_.clock, sleep=time_.sleep, timer=time_.clock
    )


def logged(table: Any, key: str) -> list[float]:
    item = table.get_item(Key={"PK": f"RATE#c#{key}", "SK": "WINDOW"}, ConsistentRead=True)["Item"]
    return [float(value) for value in item["sent"]]


def sends(limiter: DynamoDbSlidingWindow, time_: FakeTime, count: int) -> list[float]:
    moments = []
    for _ in range(count):
        limiter.acquire()
        moments.append(time_.now)
    return moments


def test_a_worker_late_within_the_margin_sends_in_its_slot_without_another_write(
    table: Any, unique: str, time_: FakeTime, calls: Counter[str]
) -> None:
    limiter = limiter_for(table, unique, time_)
    first = sends(limiter, time_, 3)  # 0, 0.4, 0.8 s: slots are a gap apart
    calls.clear()

    # The fourth slot waits for the first to leave the window; the worker wakes 0.12 s after it.
    time_.lateness = iter([0.12])
    limiter.acquire()

    slot = first[0] + RULE.window_seconds + RULE.margin_seconds
    assert time_.now == pytest.approx(slot + 0.12)
    assert calls == Counter(PutItem=1)  # the reservation; keeping it costs nothing
    assert logged(table, unique)[-1] == pytest.approx(slot)


def test_a_worker_too_late_to_keep_its_slot_moves_it_and_leaves_no_phantom(
    table: Any, unique: str, time_: FakeTime
) -> None:
    limiter = limiter_for(table, unique, time_)
    sent = sends(limiter, time_, 3)
    before = logged(table, unique)

    # Half a second late: sending now could crowd the window of the slot reserved three places later.
    time_.lateness = iter([0.5])
    sent += sends(limiter, time_, 1)

    # The log holds the moment the late request went, not the slot that was missed.
    assert logged(table, unique) == pytest.approx([*before[1:], sent[-1]])
    # And the next slot counts from the late send, so no window holds more than the limit.
    sent += sends(limiter, time_, 4)
    assert all(later - earlier >= RULE.window_seconds for earlier, later in zip(sent, sent[RULE.limit :], strict=False))


def test_one_worker_pays_one_dynamodb_write_per_request_and_never_reads(
    table: Any, unique: str, time_: FakeTime, calls: Counter[str]
) -> None:
    limiter = limiter_for(table, unique, time_)
    sends(limiter, time_, 10)
    assert calls == Counter(PutItem=10)


def test_a_limiter_built_per_request_still_needs_no_read(
    table: Any, unique: str, time_: FakeTime, calls: Counter[str]
) -> None:
    # The bridge builds a limiter per Fortnox client; what the process saw of the log outlives each of them.
    for _ in range(5):
        limiter_for(table, unique, time_).acquire()
    assert calls == Counter(PutItem=5)


def test_a_write_by_another_worker_costs_one_refused_write_and_its_slot_is_respected(
    table: Any, unique: str, time_: FakeTime, calls: Counter[str]
) -> None:
    limiter = limiter_for(table, unique, time_)
    sends(limiter, time_, 1)
    # Another Lambda reserves a slot half a second ahead; this process has not seen it.
    item = table.get_item(Key={"PK": f"RATE#c#{unique}", "SK": "WINDOW"}, ConsistentRead=True)["Item"]
    other = Decimal(str(time_.now + 0.5))
    table.put_item(Item={**item, "sent": [*item["sent"], other], "version": item["version"] + 1})
    calls.clear()

    start = time_.now
    limiter.acquire()

    assert calls == Counter(PutItem=2)  # refused (returning the item as it is), then written; no GetItem
    assert logged(table, unique)[-1] >= float(other) + RULE.gap_seconds - 1e-6  # logged after the other's slot
    assert time_.now == start  # and, the window having room, sent at once


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(
        st.tuples(st.integers(min_value=0, max_value=2), st.floats(min_value=0, max_value=0.6)),
        min_size=5,
        max_size=15,
    )
)
def test_late_workers_never_crowd_a_window_even_with_arrival_jitter(table: Any, plan: list[tuple[int, float]]) -> None:
    # Three workers take turns; each may wake late by up to three times the margin.
    time_ = FakeTime()
    key = uuid.uuid4().hex
    workers = [limiter_for(table, key, time_) for _ in range(3)]
    sent = []
    for worker, lateness in plan:
        time_.lateness = iter([lateness])
        workers[worker].acquire()
        sent.append(time_.now)
        time_.now += 0.01  # the request itself

    # A send may be late by what the margin leaves after jitter, so arrivals jittered by up to `jitter_seconds`
    # still keep `limit` places a full window apart.
    ordered = sorted(sent)
    gaps = [later - earlier for earlier, later in zip(ordered, ordered[RULE.limit :], strict=False)]
    assert all(gap >= RULE.window_seconds + RULE.jitter_seconds - 1e-6 for gap in gaps)
    # No send went later than its slot allows (a send may go earlier, when the window has room): paired in
    # order, the last sends are each at most the tolerance after the slots the log holds for them.
    behind = [send - slot for slot, send in zip(logged(table, key), ordered[-RULE.limit :], strict=True)]
    assert all(lag <= RULE.tolerated_lateness + 1e-6 for lag in behind)
