"""The keep-alive meets Fortnox refusing a refresh, as the sandbox refuses it on request with Fortnox's own answers,
through the real scheduled handler against the sandbox and moto: ``invalid_grant`` loses the connection (marked and
told upstream once), ``invalid_client`` postpones it (the client secret may have been rotated; tomorrow may pass)."""

from dataclasses import dataclass
from typing import Any

import pytest

from fortnox_bridge import wiring
from fortnox_bridge.observability import metrics
from fortnox_bridge.store.connections import Connection, ConnectionStore
from local_stack.runner import LocalRunner
from tests.conftest import Scene
from tests.emitted_metrics import emitted
from tests.keepalive_due import due, due_connection

pytestmark = pytest.mark.integration
__all__ = ["due", "due_connection"]  # the fixtures, imported so pytest finds them

TOKEN_ENDPOINT = "/oauth-v1/token"
KEEP_ALIVE_OUTCOMES = ("refreshed", "skipped", "postponed", "failed", "lost")


@dataclass(frozen=True)
class Refusal:
    """Fortnox's answer to the refresh, and what the keep-alive makes of it."""

    error: str
    status: int
    outcome: str
    """The report's list the tenant is in, counted on the metric its alarm reads."""
    metric: str
    state: str
    reason: str | None
    lasts: bool
    """A used, expired or revoked refresh token stays refused; a rotated client secret is put right."""


LOST = Refusal(
    "invalid_grant",
    400,
    "lost",
    "ConnectionsLost",
    "needs_reconnect",
    "Fortnox refused the refresh token (used, expired or revoked)",
    lasts=True,
)
POSTPONED = Refusal("invalid_client", 401, "postponed", "ConnectionsPostponed", "connected", None, lasts=False)


def _token_answers(scene: Scene, since: int) -> list[int]:
    return [row["status"] for row in scene.control.requests()[since:] if row["path"] == TOKEN_ENDPOINT]


@pytest.mark.parametrize("refusal", [LOST, POSTPONED], ids=lambda refusal: refusal.error)
def test_a_refused_refresh_is_counted_for_its_alarm_and_tells_upstream_only_of_a_lost_connection(
    runner: LocalRunner,
    scene: Scene,
    table: Any,
    due_connection: Connection,
    events_tap: Any,
    capsys: pytest.CaptureFixture[str],
    refusal: Refusal,
) -> None:
    # Given a connected tenant due for its keep-alive, whose refresh Fortnox refuses from now on
    tenant = due_connection.tenant_id
    held = wiring.secrets_store().read(tenant)
    scene.control.fault(
        refusal.error, count=100, path_prefix=TOKEN_ENDPOINT, tenant_id=due_connection.fortnox_tenant_id
    )
    events_tap.received()
    metrics.clear_metrics()
    capsys.readouterr()
    asked = len(scene.control.requests())

    # When the keep-alive runs
    first = runner.run_scheduled(runner.function("ConnectKeepAlive"))

    # Then the tenant is in the refusal's list alone, counted on the metric its alarm reads
    assert [name for name in KEEP_ALIVE_OUTCOMES if tenant in first[name]] == [refusal.outcome]
    totals = emitted(capsys.readouterr().out)
    assert totals[refusal.metric] == len(first[refusal.outcome]) >= 1
    assert totals["ConnectionsLost"] == len(first["lost"])
    # After one refused refresh: a secret refused as invalid_client is read again past its cache and, the same,
    # not tried a second time; nothing else is asked
    assert _token_answers(scene, asked) == [refusal.status]
    # And the tenant reads as the refusal says, with its tokens left as they were
    standing = ConnectionStore(table).get(tenant)
    assert standing is not None and (standing.state.value, standing.reason) == (refusal.state, refusal.reason)
    assert wiring.secrets_store().read(tenant) == held

    # When the keep-alive runs again the next day, Fortnox refusing still or taking the client secret again
    if not refusal.lasts:
        scene.control.clear_faults()
    second = runner.run_scheduled(runner.function("ConnectKeepAlive"))

    # Then a lost tenant is not listed again, and a postponed one is refreshed
    if refusal.lasts:
        assert all(tenant not in tenants for tenants in second.values())
    else:
        assert tenant in second["refreshed"]
    # And upstream was told to reconnect a lost tenant once, with Fortnox's reason, and a postponed one never
    told = [
        event.detail
        for event in events_tap.received()
        if event.detail_type == "connection.needs_reconnect" and event.detail["tenant_id"] == tenant
    ]
    assert told == ([{"tenant_id": tenant, "reason": refusal.reason}] if refusal.outcome == "lost" else [])
