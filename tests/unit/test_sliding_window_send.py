"""When the limiter lets a request go: as soon as the window allows, never later than its slot, on moto's table.

Workers are threads on one virtual clock (time moves only when every worker sleeps), so write latencies, Fortnox's
answer times and late wake-ups are chosen by the test, not by how busy the machine is.
"""

import heapq
import itertools
import random
import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fortnox_bridge.errors import RetryableError
from fortnox_bridge.ratelimit.sliding_window import DynamoDbSlidingWindow, WindowRule

RULE = WindowRule(limit=3, window_seconds=1.0, margin_seconds=0.2, jitter_seconds=0.05)
"""Tolerates sends up to 0.15 s late; slots at least 0.4 s apart."""


class VirtualTime:
    """A clock shared by worker threads that wait only through ``sleep``: when every live worker sleeps, time
    jumps to the earliest wake-up."""

    def __init__(self, workers: int, start: float = 1_000.0) -> None:
        self.now = start
        self._live = workers
        self._asleep: list[tuple[float, int]] = []
        self._order = itertools.count()
        self._changed = threading.Condition()

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        with self._changed:
            wake = (self.now + max(seconds, 0.0), next(self._order))
            heapq.heappush(self._asleep, wake)
            self._advance()
            while self.now < wake[0]:
                self._changed.wait()
            self._asleep.remove(wake)
            heapq.heapify(self._asleep)

    def done(self) -> None:
        with self._changed:
            self._live -= 1
            self._advance()

    def _advance(self) -> None:
        if self._asleep and len(self._asleep) == self._live:
            self.now = max(self.now, self._asleep[0][0])
            self._changed.notify_all()


class Draws:
    """Random draws for worker threads: one seeded generator behind a lock, since the threads draw concurrently."""

    def __init__(self, seed: int) -> None:
        self._chance = random.Random(seed)
        self._lock = threading.Lock()

    def uniform(self, low: float, high: float) -> Callable[[], float]:
        def value() -> float:
            with self._lock:
                return self._chance.uniform(low, high)

        return value

    def lateness(self, most: float, share: float) -> Callable[[], float]:
        """A wake-up late by up to ``most`` seconds, for about ``share`` of the sleeps; on time otherwise."""

        def value() -> float:
            with self._lock:
                return self._chance.uniform(0, most) if self._chance.random() < share else 0.0

        return value


@dataclass
class SlowTable:
    """One worker's view of the moto table, each write taking the time ``latency`` says: half before it lands,
    half after. Its name is the worker's own, because the limiter keeps its copy of the log per process and table
    name: workers here are threads, and each must remember only what a Lambda instance of its own would."""

    table: Any
    process: str
    time_: VirtualTime
    latency: Callable[[], float]
    returned: list[float] = field(default_factory=list)
    """When each write's answer reached the worker, written or refused."""
    slots: list[float] = field(default_factory=list)
    """The slot each write that landed logged (the newest time of the item it wrote)."""

    @property
    def name(self) -> str:
        return f"{self.table.name}@{self.process}"

    def put_item(self, **kwargs: Any) -> Any:
        half = self.latency() / 2
        self.time_.sleep(half)
        try:
            answer = self.table.put_item(**kwargs)
            self.slots.append(float(kwargs["Item"]["sent"][-1]))
            return answer
        finally:
            self.time_.sleep(half)
            self.returned.append(self.time_.now)


@dataclass
class Worker:
    """One Lambda instance: its own limiter (and process memory), sending requests one after another."""

    limiter: DynamoDbSlidingWindow
    table: SlowTable
    sends: list[float] = field(default_factory=list)
    sleeps: list[float] = field(default_factory=list)
    costs: list[int] = field(default_factory=list)
    """The writes each request's ``acquire`` made, refused or landed."""
    refusals: list[float] = field(default_factory=list)
    """When the limiter refused a request (a ``RetryableError``), where ``run`` is told to expect that."""


def run(
    table: Any,
    *,
    workers: int,
    requests: int,
    write: Callable[[], float],
    fortnox: Callable[[], float],
    lateness: Callable[[], float] = lambda: 0.0,
    rule: WindowRule = RULE,
    clock_offsets: Sequence[float] = (),
    joins_after: Sequence[float] = (),
    redelivery: float | None = None,
) -> list[Worker]:
    """``clock_offsets`` and ``joins_after`` give worker ``i`` a clock that much off the others' and a start that
    many seconds late (none when left out). With ``redelivery``, a request the limiter refuses comes back that many
    seconds later, as an SQS message does, and is counted in ``refusals``; without it a refusal fails the test."""
    time_ = VirtualTime(workers)
    key = uuid.uuid4().hex
    crew: list[Worker] = []
    for index in range(workers):
        slow = SlowTable(table, f"{key}-{index}", time_, write)
        sleeps: list[float] = []
        offset = clock_offsets[index] if index < len(clock_offsets) else 0.0

        def clock(offset: float = offset) -> float:
            return time_.clock() + offset

        def sleep(seconds: float, sleeps: list[float] = sleeps) -> None:
            sleeps.append(seconds)
            time_.sleep(seconds + lateness())

        limiter = DynamoDbSlidingWindow(
            slow,  # type: ignore[arg-type]
            client_id="c",
            tenant_key=key,
            rule=rule,
            clock=clock,
            sleep=sleep,
            timer=time_.clock,
        )
        crew.append(Worker(limiter, slow, sleeps=sleeps))
    failures: list[BaseException] = []

    def work(worker: Worker, joins_after: float) -> None:
        try:
            if joins_after:
                time_.sleep(joins_after)
            for _ in range(requests):
                before = len(worker.table.returned)
                try:
                    worker.limiter.acquire()
                except RetryableError:
                    if redelivery is None:
                        raise
                    worker.refusals.append(time_.now)
                    time_.sleep(redelivery)
                    continue
                worker.sends.append(time_.now)
                worker.costs.append(len(worker.table.returned) - before)
                time_.sleep(fortnox())
        except BaseException as error:  # re-raised in the test's thread
            failures.append(error)
        finally:
            time_.done()

    threads = [
        threading.Thread(target=work, args=(worker, joins_after[index] if index < len(joins_after) else 0.0))
        for index, worker in enumerate(crew)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a worker hung"
    if failures:
        raise failures[0]
    return crew


def crowded(sends: list[float]) -> list[list[float]]:
    """Every run of limit + 1 sends closer together than a window plus the arrival jitter the margin covers."""
    ordered = sorted(sends)
    span = RULE.window_seconds + RULE.jitter_seconds - 1e-6
    return [
        ordered[index : index + RULE.limit + 1]
        for index in range(len(ordered) - RULE.limit)
        if ordered[index + RULE.limit] - ordered[index] < span
    ]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    workers=st.integers(min_value=1, max_value=5),
    requests=st.integers(min_value=2, max_value=8),
    seed=st.integers(min_value=0, max_value=2**32 - 1),
    slowest_write=st.sampled_from([0.005, 0.03, 0.1, 0.25]),
    late_share=st.sampled_from([0.0, 0.3, 1.0]),
)
def test_no_window_of_actual_sends_ever_holds_more_than_the_limit(
    table: Any, workers: int, requests: int, seed: int, slowest_write: float, late_share: float
) -> None:
    # Writes from instant to slower than the tolerated lateness, Fortnox answering in 0-0.6 s (faster and slower
    # than the gap), and some wake-ups up to three margins late: every send may go before its slot, none after.
    draws = Draws(seed)
    crew = run(
        table,
        workers=workers,
        requests=requests,
        write=draws.uniform(0.001, slowest_write),
        fortnox=draws.uniform(0.0, 0.6),
        lateness=draws.lateness(3 * RULE.margin_seconds, late_share),
    )

    sends = [moment for worker in crew for moment in worker.sends]
    assert len(sends) == workers * requests
    assert crowded(sends) == []


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    seed=st.integers(min_value=0, max_value=2**32 - 1),
    write=st.floats(min_value=0.001, max_value=RULE.tolerated_lateness - 0.01),
)
def test_a_worker_whose_requests_take_longer_than_the_gap_never_sleeps(table: Any, seed: int, write: float) -> None:
    # One worker, its writes all as slow as each other, Fortnox slower than the gap between slots: every window
    # it sends into has room, so it must never wait, neither for a lead nor for a gap.
    chance = random.Random(seed)
    (worker,) = run(
        table,
        workers=1,
        requests=12,
        write=lambda: write,
        fortnox=lambda: chance.uniform(RULE.gap_seconds + 0.001, 2 * RULE.gap_seconds),
    )

    assert worker.sleeps == []
    assert worker.sends == pytest.approx(worker.table.returned)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(min_value=0, max_value=2**32 - 1))
def test_a_worker_sends_when_its_write_returns_or_when_the_window_frees_whichever_is_later(
    table: Any, seed: int
) -> None:
    # One worker, Fortnox sometimes much faster than the gap: it may wait, but only for the window, never for its
    # own slot or a lead. The window is counted over the slots logged before (the item keeps the last `limit`).
    chance = random.Random(seed)
    (worker,) = run(
        table,
        workers=1,
        requests=12,
        write=lambda: chance.uniform(0.001, 0.05),
        fortnox=lambda: chance.uniform(0.0, 0.3),
    )
    slots, returned = worker.table.slots, worker.table.returned

    # With no wake-up late and writes within the tolerance, every request logged one slot with one write.
    assert len(slots) == len(returned) == len(worker.sends)
    for index, (send, answered) in enumerate(zip(worker.sends, returned, strict=True)):
        bound = slots[index - RULE.limit] + RULE.window_seconds + RULE.margin_seconds if index >= RULE.limit else 0.0
        assert send == pytest.approx(max(answered, bound))
    # Fortnox answering in at most 0.3 s puts four sends inside 1.2 s: the window held the worker back.
    assert any(worker.sleeps)


PRODUCTION = WindowRule()
"""Fortnox's own rule, 25 per 5 s, with the default margin: where the bench counts calls per request."""


@pytest.mark.parametrize("seed", [16, 61])
def test_sixteen_workers_pay_two_writes_a_request_once_the_start_up_race_is_over(table: Any, seed: int) -> None:
    # Sixteen Lambda instances scaled out on a backlog at the same moment, each sending 7 requests (112 in all),
    # Fortnox answering in 100-300 ms: the bench's 16-worker row, on a clock no load can bend.
    draws = Draws(seed)
    random.seed(seed)  # the limiter's own back-off
    crew = run(
        table,
        workers=16,
        requests=7,
        write=draws.uniform(0.005, 0.02),
        fortnox=draws.uniform(0.1, 0.3),
        rule=PRODUCTION,
    )
    costs = [
        cost
        for _, cost in sorted(
            (send, cost) for worker in crew for send, cost in zip(worker.sends, worker.costs, strict=True)
        )
    ]

    # A worker's copy of the log is stale whenever another worker wrote since its last write, which at 16
    # workers is always: a request then costs the refused write (which returns the item) and the one that lands.
    # Once the start-up race is over, that is all it costs ...
    after_start = costs[2 * PRODUCTION.limit :]
    assert sum(after_start) / len(after_start) <= 2.0
    # ... and the race itself, workers losing to each other for the first versions, stays bounded by the back-off:
    # 3.38 and 3.55 for these seeds (losers retrying at once without it pay a write for every rival's win).
    assert sum(costs) / len(costs) <= 3.7
