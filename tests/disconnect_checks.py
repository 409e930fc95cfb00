"""What disconnect tests look at and set up: the refresh token the bridge holds, whether Fortnox still honours it,
how many revokes reached Fortnox, a management invocation with little time left, a DeleteSecret or a
connection.connected refused once."""

import time
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from fortnox_bridge import wiring
from fortnox_bridge.events import EventBridgePublisher, PublishedEvent
from fortnox_bridge.ids import TenantId
from fortnox_bridge.tokens.secret_store import SecretTokenStore
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


def secrets_down_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Secrets Manager refusing the next DeleteSecret, as on a bad day at AWS: a disconnect stops after its mark,
    still holding the tokens."""
    delete = SecretTokenStore.delete
    failed: list[bool] = []

    def down_once(store: SecretTokenStore, tenant: Any) -> None:
        if not failed:
            failed.append(True)
            raise ClientError({"Error": {"Code": "ServiceUnavailable", "Message": "down for a moment"}}, "DeleteSecret")
        delete(store, tenant)

    monkeypatch.setattr(SecretTokenStore, "delete", down_once)


def connected_event_refused_once(monkeypatch: pytest.MonkeyPatch) -> list[PublishedEvent]:
    """The event bus refusing the next connection.connected, as on a bad day at AWS; the refused event is listed."""
    publish = EventBridgePublisher.publish
    refused: list[PublishedEvent] = []

    def down_once(publisher: EventBridgePublisher, event: PublishedEvent) -> None:
        if event.detail_type == "connection.connected" and not refused:
            refused.append(event)
            raise ClientError({"Error": {"Code": "ServiceUnavailable", "Message": "down for a moment"}}, "PutEvents")
        publish(publisher, event)

    monkeypatch.setattr(EventBridgePublisher, "publish", down_once)
    return refused
