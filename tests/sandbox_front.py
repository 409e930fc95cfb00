"""A test standing in front of the sandbox's dispatch (the server thread calls it for every request), to force
two of the invoice export's lanes into the order a behaviour needs, by holding a request until another arrives."""

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from werkzeug.wrappers import Request, Response

from fortnox_sandbox.server import SandboxServer

Dispatch = Callable[[Request], Response]
Wrapper = Callable[[Request, Dispatch], Response]


@pytest.fixture
def in_front(sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[Wrapper], None]]:
    """Puts a test's wrapper in front of the sandbox's dispatch for the test."""
    original: Dispatch = sandbox.app._dispatch

    def install(wrapper: Wrapper) -> None:
        monkeypatch.setattr(sandbox.app, "_dispatch", lambda request: wrapper(request, original))

    yield install


def is_create(request: Request) -> bool:
    return request.method == "POST" and request.path == "/3/invoices"


def to_customer(customer_number: str, event: dict[str, Any]) -> dict[str, Any]:
    """``event`` to a customer of its own: the first record of a batch to name a customer goes before the others
    naming it (it may create it), so records meant to be in flight together name different customers."""
    event["data"]["customer"] = {**event["data"]["customer"], "customer_number": customer_number}
    return event


class Pairs:
    """Holds each invoice create until a second one arrives beside it; a create that waits ``alone_after`` seconds
    in vain goes on alone and is counted (``alone``)."""

    def __init__(self, alone_after: float = 5.0) -> None:
        self._pair = threading.Barrier(2, timeout=alone_after)
        self.alone = 0

    def __call__(self, request: Request, dispatch: Dispatch) -> Response:
        if is_create(request):
            try:
                self._pair.wait()
            except threading.BrokenBarrierError:
                self.alone += 1
                self._pair.reset()
        return dispatch(request)
