"""Another actor's step, run from inside a function the local runner is invoking, as that actor would run it.

Attack tests hook a function's code to force an interleaving (the keep-alive lists its tenants, and the tenant is
disconnected before it refreshes them). The hook runs inside the runner's invocation, and the session's IAM guard
(``tests/iam_guard.py``) charges every AWS call made there to the invoked function's role, read from
``local_stack.runner.current_invocation``: a disconnect run in the hook charged the keep-alive with a DeleteSecret its
role rightly lacks. The management API or the hosted connect would run that step in another invocation altogether.
"""

import contextvars
import threading
from collections.abc import Callable

import pytest

_PATIENCE_SECONDS = 120.0
"""Longer than any step (a whole hosted reconnect) takes against the sandbox; past it the step is taken as hung."""


def run_outside_invocation(step: Callable[[], object]) -> None:
    """Run ``step`` on no function's invocation, and wait for it.

    In an empty context, so ``current_invocation`` is unset and the guard charges the step's calls to no role (made
    explicitly: on free-threaded Pythons from 3.14 a thread starts with a copy of its starter's context). On a thread
    of its own, so the step shares none of the invoking thread's per-thread state (the idempotency layer's key
    prefix) or reentrant locks, as another Lambda would not; it cannot go through the runner, which answers one
    invocation at a time, so it calls the service the handler would (``tests/connect_service.py``). A step that
    raises or hangs fails the test through ``pytest.fail``: ``Failed`` is no ``Exception``, so the error handling of
    the function the hook runs inside cannot take it for one of its own failures and carry on.
    """
    raised: list[BaseException] = []

    def run() -> None:
        try:
            step()
        except BaseException as error:
            raised.append(error)

    thread = threading.Thread(target=contextvars.Context().run, args=(run,), name="outside-invocation", daemon=True)
    thread.start()
    thread.join(_PATIENCE_SECONDS)
    if thread.is_alive():
        pytest.fail(f"the step outside the invocation had not finished after {_PATIENCE_SECONDS:.0f} s")
    if raised:
        raise pytest.fail.Exception(f"the step outside the invocation raised {raised[0]!r}") from raised[0]
