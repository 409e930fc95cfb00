"""The shared limiter over DynamoDB (moto server) and the sandbox's own limit: workers never exceed it."""

from decimal import Decimal
from typing import Any

import pytest

from fortnox_bridge.ratelimit.sliding_window import DynamoDbSlidingWindow, WindowRule
from local_stack.burst import max_in_any_window, run_burst
from tests.conftest import Scene

pytestmark = pytest.mark.integration

WINDOW = 2.0
LIMIT = 25


def test_four_workers_share_one_tenant_limit_without_a_refusal_or_starving(
    scene: Scene, table: Any, unique: str
) -> None:
    # Given the sandbox enforcing 25 requests per 2 s (Fortnox's rule on a shorter window) ...
    scene.control.set_rate_limit(LIMIT, WINDOW)
    rule = WindowRule(limit=LIMIT, window_seconds=WINDOW, margin_seconds=0.1)

    # ... when four workers, each with its own limiter object, call Fortnox as fast as they may ...
    result = run_burst(
        table=table,
        control=scene.control,
        api_url=scene.url,
        token=scene.token(),
        tenant_id=scene.tenant_id,
        client_id=scene.app.client_id,
        workers=4,
        per_worker=40,
        rule=rule,
        limiter_key=f"{scene.tenant_id}-{unique}",
    )

    # ... then the sandbox refused none, never saw more than 25 in any window, and the limit was used.
    assert result.requests == 160
    assert result.refused == 0
    assert result.max_in_any_window <= LIMIT
    # A limiter that starves its workers fails here; how close it gets to the limit is a speed goal, measured by
    # `make bench` (bench/rate_limit.py), since a loaded machine moves it.
    assert result.fraction_of_limit >= 0.5


def test_max_in_any_window_counts_a_sliding_window() -> None:
    assert max_in_any_window([0.0, 0.5, 1.9, 2.0, 2.1], 2.0) == 4  # 0.5 .. 2.1
    assert max_in_any_window([], 2.0) == 0


def test_the_sandbox_refuses_the_26th_request_in_a_window(scene: Scene) -> None:
    client = scene.client()
    client.http._retry.max_attempts = 1  # observe the raw 429
    from fortnox_bridge.fortnox.errors import FortnoxRateLimited

    for _ in range(25):
        client.company_information.get()
    with pytest.raises(FortnoxRateLimited):
        client.company_information.get()


def test_reservations_survive_a_lost_race(table: Any, unique: str) -> None:
    # Two limiters that read the same version: one write wins, the other re-reads and takes the next slot.
    clock = [Decimal(0)]
    rule = WindowRule(limit=2, window_seconds=1.0, margin_seconds=0.0)
    first = DynamoDbSlidingWindow(table, client_id="c", tenant_key=unique, rule=rule, clock=lambda: float(clock[0]))
    second = DynamoDbSlidingWindow(table, client_id="c", tenant_key=unique, rule=rule, clock=lambda: float(clock[0]))
    slots = [first.reserve(), second.reserve(), first.reserve(), second.reserve()]
    assert slots == [0.0, 0.0, 1.0, 1.0]


def test_a_worker_that_wakes_up_late_gives_its_slot_up_and_takes_a_new_one(table: Any, unique: str) -> None:
    clock = [1000.0]
    paused = [True]

    def sleep(seconds: float) -> None:
        clock[0] += seconds + (0.5 if paused[0] else 0.0)  # the first wake-up comes half a second late
        paused[0] = False

    rule = WindowRule(limit=1, window_seconds=1.0, margin_seconds=0.1)
    limiter = DynamoDbSlidingWindow(
        table, client_id="c", tenant_key=unique, rule=rule, clock=lambda: clock[0], sleep=sleep
    )
    limiter.acquire()  # the first slot is free at once: no sleep, no lateness
    limiter.acquire()  # slot at 1001.1 is missed by 0.5 s, so a second slot (1002.2) is reserved and kept
    assert clock[0] == pytest.approx(1002.2)
