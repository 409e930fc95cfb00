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


def test_four_workers_share_one_tenant_limit_and_use_over_90_percent(scene: Scene, table: Any, unique: str) -> None:
    # Given the sandbox enforcing 25 requests per 2 s (Fortnox's rule on a shorter window) ...
    scene.control.set_rate_limit(LIMIT, WINDOW)
    rule = WindowRule(limit=LIMIT, window_seconds=WINDOW, margin_seconds=0.05)

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
    assert result.fraction_of_limit >= 0.9


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
