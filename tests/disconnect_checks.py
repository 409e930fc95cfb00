"""What disconnect tests look at: the refresh token the bridge holds, whether Fortnox still honours it, how many
revokes reached Fortnox, and a management invocation with little time left."""

import time
from collections.abc import Callable

from fortnox_bridge import wiring
from fortnox_bridge.ids import TenantId
from local_stack.runner import LambdaContext
from tests.conftest import Scene

REVOKE = "/oauth-v1/revoke"


def held_refresh_token(tenant: str) -> str:
    """The refresh token in the tenant's secret; the tenant must hold one."""
    stored = wiring.secrets_store().read(TenantId(tenant))
    assert stored is not None and stored.refresh_token is not None
    return stored.refresh_token.get_secret_value()


def alive_at_fortnox(scene: Scene, refresh_token: str) -> bool:
    """Whether Fortnox still refreshes with the token (asked through the sandbox's control, not the bridge)."""
    answer = scene.control.token(scene.app, {"grant_type": "refresh_token", "refresh_token": refresh_token})
    return answer.status_code == 200


def revokes(scene: Scene) -> int:
    """Revoke requests the sandbox has logged since its last reset, whatever their answer."""
    return sum(row["path"] == REVOKE for row in scene.control.requests())


def with_seconds_left(seconds: float) -> Callable[..., LambdaContext]:
    """Lambda's context for an invocation that has ``seconds`` left of its timeout (it waited for locks): patched
    over ``local_stack.runner.LambdaContext``, which the runner builds each invocation's context with."""

    def context(*, function_name: str, timeout_seconds: int) -> LambdaContext:
        return LambdaContext(function_name, timeout_seconds, started=time.monotonic() - (timeout_seconds - seconds))

    return context
