"""The shared limiter over DynamoDB (moto server) and the sandbox's own limit: workers never exceed it."""

import threading
from decimal import Decimal
from typing import Any

import pytest
from fortnox_bridge.fortnox.client import FortnoxClient
from fortnox_bridge.fortnox.ports import StaticToken
from fortnox_bridge.ratelimit.sliding_window import DynamoDbSlidingWindow, WindowRule

from tests.conftest import Scene

pytestmark = pytest.mark.integration

WINDOW = 2.0
LIMIT = 25


def _max_in_any_window(times: list[float], window: float) -> int:
    times = sorted(times)
    best = 0
    for index, start in enumerate(times):
        best = max(best, sum(1 for moment in times[index:] if moment < start + window))
    return best


def test_four_workers_share_one_tenant_limit_and_use_over_90_percent(scene: Scene, table: Any, unique: str) -> None:
    # Given the sandbox enforcing 25 requests per 2 s (Fortnox's rule on a shorter window) ...
    scene.control.set_rate_limit(LIMIT, WINDOW)
    token = scene.token()
    rule = WindowRule(limit=LIMIT, window_seconds=WINDOW, margin_seconds=0.05)
    per_worker = 40

    def worker() -> None:
        limiter = DynamoDbSlidingWindow(
            table, client_id="test-client", tenant_key=f"{scene.tenant_id}-{unique}", rule=rule
        )
        client = FortnoxClient(base_url=scene.url, tokens=StaticToken(token), rate_limiter=limiter)
        for _ in range(per_worker):
            client.company_information.get()

    # ... when four workers, each with its own limiter object, call Fortnox as fast as they may ...
    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # ... then the sandbox never refused one and never saw more than 25 in any window ...
    log = [row for row in scene.control.requests(scene.tenant_id) if row["path"] == "/3/companyinformation"]
    assert len(log) == 4 * per_worker
    assert {row["status"] for row in log} == {200}
    times = [float(row["time"]) for row in log]
    assert _max_in_any_window(times, WINDOW) <= LIMIT
    # ... and the full windows were used: 160 requests fit in 6 windows after the first burst.
    first = min(times)
    full_windows = 5
    used = sum(1 for moment in times if moment < first + full_windows * WINDOW)
    assert used >= 0.9 * full_windows * LIMIT


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
