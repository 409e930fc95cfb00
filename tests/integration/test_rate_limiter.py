"""The shared limiter over DynamoDB (moto server) and the sandbox's own limit: workers never exceed it."""

import random
import threading
import time
from typing import Any

import pytest

from fortnox_bridge.ratelimit.sliding_window import WindowRule
from local_stack.burst import max_in_any_window, run_burst, steady_fraction
from tests.conftest import Scene

pytestmark = pytest.mark.integration

WINDOW = 2.0
LIMIT = 25
RULE = WindowRule(limit=LIMIT, window_seconds=WINDOW, margin_seconds=0.1)
"""Fortnox's rule on a shorter window, as the sandbox is set to enforce it (``_burst``)."""


def _burst(scene: Scene, table: Any, unique: str, *, workers: int, per_worker: int, **limiter: Any) -> Any:
    """``workers`` threads, each with a limiter of its own on one fresh window item, calling the sandbox, which
    enforces 25 requests per 2 s, as fast as their limiters let them."""
    scene.control.set_rate_limit(LIMIT, WINDOW)
    limiter.setdefault("rule", RULE)
    return run_burst(
        table=table,
        control=scene.control,
        api_url=scene.url,
        token=scene.token(),
        tenant_id=scene.tenant_id,
        client_id=scene.app.client_id,
        workers=workers,
        per_worker=per_worker,
        limiter_key=f"{scene.tenant_id}-{unique}",
        **limiter,
    )


def test_four_workers_share_one_tenant_limit_without_a_refusal_or_starving(
    scene: Scene, table: Any, unique: str
) -> None:
    # Given the sandbox enforcing 25 requests per 2 s (Fortnox's rule on a shorter window) ...
    # ... when four workers, each with its own limiter object, call Fortnox as fast as they may ...
    result = _burst(scene, table, unique, workers=4, per_worker=40)

    # ... then the sandbox refused none, never saw more than 25 in any window, and the limit was used.
    assert result.requests == 160
    assert result.refused == 0
    assert result.max_in_any_window <= LIMIT
    # A limiter that starves its workers fails here; how close it gets to the limit is a speed goal, measured by
    # `make bench` (bench/rate_limit.py), since a loaded machine moves it.
    assert result.fraction_of_limit >= 0.5


def test_workers_that_wake_late_keep_or_move_their_slots_without_a_refusal(
    scene: Scene, table: Any, unique: str
) -> None:
    # Given workers whose every wake-up may come up to three margins late (a paused thread, a loaded host) ...
    rule = WindowRule(limit=LIMIT, window_seconds=WINDOW, margin_seconds=0.1, jitter_seconds=0.03)
    lateness = random.Random(13)
    lock = threading.Lock()

    def late_sleep(seconds: float) -> None:
        with lock:
            extra = lateness.uniform(0, 3 * rule.margin_seconds)
        time.sleep(seconds + extra)

    # ... when four of them call Fortnox as fast as their limiters let them ...
    result = _burst(scene, table, unique, workers=4, per_worker=25, rule=rule, sleep=late_sleep)

    # ... then every request went, the sandbox refused none and no window held more than the limit: a late send
    # kept its slot only within the tolerance, and moved it otherwise.
    assert result.requests == 100
    assert result.refused == 0
    assert result.max_in_any_window <= LIMIT


def test_a_worker_with_room_in_the_window_sends_as_soon_as_its_slot_is_written(
    scene: Scene, table: Any, unique: str
) -> None:
    # Given a worker whose limiter reserves slots ahead by its slowest recent write (the lead) ...
    sleeps: list[float] = []

    def recorded_sleep(seconds: float) -> None:
        sleeps.append(seconds)
        time.sleep(seconds)

    # ... when it sends fewer requests than the window holds, one after another ...
    result = _burst(scene, table, unique, workers=1, per_worker=LIMIT - 5, sleep=recorded_sleep)

    # ... then it never waited: not for the lead, not for the gap between slots, since the window had room.
    assert result.requests == LIMIT - 5
    assert result.refused == 0
    assert sleeps == []


def test_eight_workers_starting_together_on_an_empty_window_draw_no_refusal(
    scene: Scene, table: Any, unique: str
) -> None:
    # Given an empty window, which lets every worker send as soon as its slot is written ...
    # ... when eight workers start together and send three windows' worth ...
    result = _burst(scene, table, unique, workers=8, per_worker=10)

    # ... then the sandbox, which counts arrivals, refused none and never saw more than the limit in a window.
    assert result.requests == 80
    assert result.refused == 0
    assert result.max_in_any_window <= LIMIT


def test_max_in_any_window_counts_a_sliding_window() -> None:
    assert max_in_any_window([0.0, 0.5, 1.9, 2.0, 2.1], 2.0) == 4  # 0.5 .. 2.1
    assert max_in_any_window([], 2.0) == 0


def test_steady_fraction_leaves_the_first_window_out_and_measures_the_pace_after_it() -> None:
    # A burst of 3, then one request every 0.6 s: at the limit of 3 per 1.5 s would be one every 0.5 s.
    burst = [0.0, 0.0, 0.0]
    stream = [1.5 + 0.6 * index for index in range(12)]
    assert steady_fraction(burst + stream, 3, 1.5) == pytest.approx(0.5 / 0.6)
    assert steady_fraction(burst, 3, 1.5) == 0.0


def test_the_sandbox_refuses_the_26th_request_in_a_window(scene: Scene) -> None:
    client = scene.client()
    client.http._retry.max_attempts = 1  # observe the raw 429
    from fortnox_bridge.fortnox.errors import FortnoxRateLimited

    for _ in range(25):
        client.company_information.get()
    with pytest.raises(FortnoxRateLimited):
        client.company_information.get()
