"""Several workers hammer one tenant through the shared limiter; the sandbox's request log says how it went."""

import math
import threading
import time
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
    """The fastest time the rule allows for these requests over the time they took: 1.0 uses the limit fully."""


def max_in_any_window(times: list[float], window: float) -> int:
    ordered = sorted(times)
    best, start = 0, 0
    for end, moment in enumerate(ordered):
        while moment - ordered[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best


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
) -> BurstResult:
    def work() -> None:
        limiter = DynamoDbSlidingWindow(table, client_id=client_id, tenant_key=limiter_key, rule=rule)
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
    times = sorted(float(row["time"]) for row in log)
    # The fastest schedule the rule allows sends a full window's worth at once, then waits a window: n requests
    # need (ceil(n / limit) - 1) windows. The fraction is that ideal time over the time the workers really took.
    span = times[-1] - times[0] if len(times) > 1 else 0.0
    ideal = (math.ceil(len(times) / rule.limit) - 1) * rule.window_seconds
    return BurstResult(
        workers=workers,
        requests=len(log),
        refused=sum(1 for row in log if row["status"] == 429),
        max_in_any_window=max_in_any_window(times, rule.window_seconds),
        seconds=seconds,
        fraction_of_limit=ideal / span if span > 0 else 1.0,
    )
