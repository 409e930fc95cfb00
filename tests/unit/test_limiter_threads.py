"""Two requests of one process on one tenant (the invoice export works two records at a time) reserve their slots
one after the other: each write goes over the version the other just wrote, so neither loses a race to its twin."""

import threading
import time
import uuid
from collections import Counter
from typing import Any

from fortnox_bridge.ratelimit.sliding_window import DynamoDbSlidingWindow, WindowRule

ROOMY = WindowRule(limit=1000, window_seconds=1.0, margin_seconds=0.2, jitter_seconds=0.05)
"""Never full: every acquire is one write and no wait, so only a lost race can add a call."""


def test_two_threads_of_one_process_never_race_each_other_for_the_log(table: Any) -> None:
    key = uuid.uuid4().hex
    writes: Counter[str] = Counter()

    def slow_write(model: Any, **_: Any) -> None:
        if model.name == "PutItem":
            writes["PutItem"] += 1
            # A write that takes a while, as one to DynamoDB does: the twin starts its own meanwhile.
            time.sleep(0.02)

    events = table.meta.client.meta.events
    events.register("before-call.dynamodb", slow_write, unique_id="test-limiter-threads")
    start = threading.Barrier(2)
    failures: list[BaseException] = []

    def worker() -> None:
        # A limiter per request, as the bridge builds one per Fortnox client; the process's memory is shared.
        try:
            start.wait()
            for _ in range(10):
                DynamoDbSlidingWindow(table, client_id="c", tenant_key=key, rule=ROOMY).acquire()
        except BaseException as error:
            failures.append(error)

    try:
        threads = [threading.Thread(target=worker) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
    finally:
        events.unregister("before-call.dynamodb", unique_id="test-limiter-threads")

    assert failures == []
    assert writes["PutItem"] == 20
    item = table.get_item(Key={"PK": f"RATE#c#{key}", "SK": "WINDOW"}, ConsistentRead=True)["Item"]
    assert len(item["sent"]) == 20
