"""A process-wide object asked for by two threads at once is built once, and both get that one."""

import threading
import time

from fortnox_bridge.once import once


def test_two_threads_asking_first_at_once_get_one_object() -> None:
    built: list[object] = []

    @once
    def shared() -> object:
        time.sleep(0.05)  # long enough for the second thread to ask while the first builds
        made = object()
        built.append(made)
        return made

    start = threading.Barrier(2)
    got: list[object] = []

    def ask() -> None:
        start.wait()
        got.append(shared())

    threads = [threading.Thread(target=ask) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(built) == 1
    assert got == [built[0], built[0]]


def test_cache_clear_builds_anew() -> None:
    @once
    def fresh() -> object:
        return object()

    first = fresh()
    fresh.cache_clear()
    assert fresh() is not first
