"""Several workers hammer one tenant through the shared limiter; the sandbox's request log says how it went."""

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fortnox_bridge.fortnox.client import FortnoxClient
from fortnox_bridge.fortnox.ports import StaticToken
from fortnox_bridge.ratelimit.sliding_window import DynamoDbSlidingWindow, WindowRule
from fortnox_sandbox.control_client import SandboxControl


@dataclass(frozen=True)
class BurstResult:
    workers: int
    requests: int
    refused: int
    max_in_any_window: int
    seconds: float
    fraction_of_limit: float
    """The steady-state rate as a fraction of the limit (``steady_fraction``): 1.0 uses the limit fully."""


def max_in_any_window(times: list[float], window: float) -> int:
    ordered = sorted(times)
    best, start = 0, 0
    for end, moment in enumerate(ordered):
        while moment - ordered[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best


def steady_fraction(arrivals: list[float], limit: int, window: float) -> float:
    """The rate after the first window, as a fraction of the limit; 1.0 when every request arrived exactly a
    window after the one ``limit`` places before it, the closest the rule allows.

    The rule spaces request ``i + limit`` at least a window after request ``i``, so the mean of that gap is
    ``limit`` over the rate whatever the pattern (a burst a window, an even stream). The first window is left out:
    a fresh tenant may send a whole window at once, which says nothing about the rate it can keep.
    """
    ordered = sorted(arrivals)
    if not ordered:
        return 0.0
    start = next((index for index, moment in enumerate(ordered) if moment >= ordered[0] + window), len(ordered))
    gaps = [ordered[index + limit] - ordered[index] for index in range(start, len(ordered) - limit)]
    return window * len(gaps) / sum(gaps) if gaps else 0.0


def run_burst(
    *,
    table: Any,
    control: SandboxControl,
    api_url: str,
    token: str,
    tenant_id: int,
    client_id: str,
    workers: int,
    per_worker: int,
    rule: WindowRule,
    limiter_key: str,
    sleep: Callable[[float], None] = time.sleep,
) -> BurstResult:
    """``sleep`` is each worker's sleep: a test passes one that oversleeps, as a paused thread or a slow host does."""

    def work() -> None:
        limiter = DynamoDbSlidingWindow(table, client_id=client_id, tenant_key=limiter_key, rule=rule, sleep=sleep)
        with FortnoxClient(base_url=api_url, tokens=StaticToken(token), rate_limiter=limiter) as client:
            for _ in range(per_worker):
                client.company_information.get()

    before = len(control.requests(tenant_id))
    started = time.monotonic()
    threads = [threading.Thread(target=work) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.monotonic() - started
    log = [row for row in control.requests(tenant_id)[before:] if row["path"] == "/3/companyinformation"]
    times = sorted(float(row["time"]) for row in log if row["status"] != 429)
    return BurstResult(
        workers=workers,
        requests=len(log),
        refused=sum(1 for row in log if row["status"] == 429),
        max_in_any_window=max_in_any_window(times, rule.window_seconds),
        seconds=seconds,
        fraction_of_limit=steady_fraction(times, rule.limit, rule.window_seconds),
    )
