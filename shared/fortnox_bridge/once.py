"""A process-wide object built once, even when two threads ask for it first at the same moment.

``functools.cache`` lets two threads that miss together both build, and each keeps its own: for a boto3 client that
is two builds on the default session at once (botocore's session is not safe for that), and for a stateful object
(the token cache, the tenant reader) a second copy whose memory the other thread never sees. The invoice export
works two records at a time (``export/in_flight.py``), so the first record of a cold process and its neighbour do
ask at the same moment. One reentrant lock for every such factory: they call one another (the table calls the
DynamoDB resource, which reads the AWS settings), and building happens a few times per process, so sharing it costs
nothing and cannot deadlock.
"""

import threading
from collections.abc import Callable
from functools import update_wrapper
from typing import Generic, TypeVar

T = TypeVar("T")

_building = threading.RLock()
_NOT_BUILT = object()


class BuiltOnce(Generic[T]):
    def __init__(self, factory: Callable[[], T]) -> None:
        self._factory = factory
        self._value: object = _NOT_BUILT
        update_wrapper(self, factory)

    def __call__(self) -> T:
        value = self._value
        if value is _NOT_BUILT:
            with _building:
                if self._value is _NOT_BUILT:
                    self._value = self._factory()
                value = self._value
        return value  # type: ignore[return-value]

    def cache_clear(self) -> None:
        """Forget the object (tests change the environment between cases); the next call builds a new one."""
        with _building:
            self._value = _NOT_BUILT


def once(factory: Callable[[], T]) -> BuiltOnce[T]:
    return BuiltOnce(factory)
