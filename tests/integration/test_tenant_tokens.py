"""Single-use refresh tokens under concurrency, lost answers, and the keep-alive, against the sandbox."""

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from fortnox_bridge import wiring
from fortnox_bridge.ids import TenantId
from fortnox_bridge.store.connections import ConnectionStore
from fortnox_bridge.tokens.tenant_tokens import ConnectionLost
from local_stack.runner import LocalRunner
from tests.conftest import Scene
from tests.exporting import connect_as_a_person

pytestmark = pytest.mark.integration


def _refreshes(scene: Scene, since: int) -> int:
    return sum(
        1
        for row in scene.control.requests()[since:]
        if row["path"] == "/oauth-v1/token" and row["grant_type"] == "refresh_token" and row["status"] == 200
    )


def test_twenty_workers_on_an_expired_token_cause_exactly_one_refresh(gateway: Any, scene: Scene, unique: str) -> None:
    # Given a connected tenant whose access token has expired at Fortnox
    connection = connect_as_a_person(gateway, scene, unique, "Samtidig AB")
    scene.control.set_rate_limit(1000, 5.0)
    scene.control.advance_clock(3601)
    before = len(scene.control.requests())
    results: list[str] = []
    failures: list[BaseException] = []

    # When twenty workers, each with its own token provider as separate Lambdas would have, call Fortnox at once
    def work() -> None:
        try:
            with wiring.fortnox_client(connection) as client:
                results.append(client.company_information.get().CompanyName or "")
        except BaseException as error:
            failures.append(error)

    threads = [threading.Thread(target=work) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # Then all succeed and Fortnox saw exactly one refresh
    assert failures == []
    assert results == ["Samtidig AB"] * 20
    assert _refreshes(scene, before) == 1
    stored = ConnectionStore(wiring.table()).get(TenantId(unique))
    assert stored is not None and stored.last_refresh_at is not None


def test_a_refresh_that_timed_out_before_fortnox_acted_is_recovered(
    gateway: Any, scene: Scene, unique: str, monkeypatch: pytest.MonkeyPatch, events_tap: Any
) -> None:
    connection = connect_as_a_person(gateway, scene, unique, "Tålmodig AB")
    monkeypatch.setenv("FORTNOX_TIMEOUT_SECONDS", "0.5")
    wiring.reset()
    scene.control.fault("timeout", path_prefix="/oauth-v1/token", delay_seconds=1.0)
    tokens = wiring.tokens_for(connection)
    old = tokens.access_token()
    tokens.invalidate(old)
    assert tokens.access_token() != old
    assert ConnectionStore(wiring.table()).get(TenantId(unique)).state.value == "connected"  # type: ignore[union-attr]
    assert "connection.needs_reconnect" not in [event.detail_type for event in events_tap.received()]


def test_a_refresh_whose_answer_was_lost_after_rotation_marks_the_tenant_and_says_so(
    gateway: Any, scene: Scene, unique: str, events_tap: Any
) -> None:
    connection = connect_as_a_person(gateway, scene, unique, "Tappad AB")
    events_tap.received()
    scene.control.fault("drop_after_commit", path_prefix="/oauth-v1/token")
    tokens = wiring.tokens_for(connection)
    tokens.invalidate(tokens.access_token())
    with pytest.raises(ConnectionLost):
        tokens.access_token()
    stored = ConnectionStore(wiring.table()).get(TenantId(unique))
    assert stored is not None and stored.state.value == "needs_reconnect"
    assert stored.reason == "Fortnox rotated the refresh token but its answer was lost"
    published = [event for event in events_tap.received() if event.detail_type == "connection.needs_reconnect"]
    assert len(published) == 1 and published[0].detail["tenant_id"] == unique
    assert set(published[0].detail) == {"tenant_id", "reason"}  # no link leaves the system: upstream asks for one


def test_keepalive_refreshes_a_31_day_old_connection_and_flags_a_dead_one(
    gateway: Any, runner: LocalRunner, scene: Scene, unique: str, events_tap: Any, table: Any
) -> None:
    alive = connect_as_a_person(gateway, scene, f"{unique}-alive", "Vaken AB")
    dead = connect_as_a_person(gateway, scene, f"{unique}-dead", "Sovande AB")
    events_tap.received()
    old = (datetime.now(UTC) - timedelta(days=31)).isoformat()
    for tenant in (alive.tenant_id, dead.tenant_id):
        table.update_item(
            Key={"PK": f"TENANT#{tenant}", "SK": "CONNECTION"},
            UpdateExpression="SET last_refresh_at = :old, GSI1SK = :old",
            ExpressionAttributeValues={":old": old},
        )
    stored_dead = wiring.secrets_store().read(dead.tenant_id)
    assert stored_dead is not None and stored_dead.refresh_token is not None
    httpx.post(
        f"{scene.url}/oauth-v1/revoke",
        data={"token": stored_dead.refresh_token.get_secret_value()},
        auth=(scene.app.client_id, scene.app.client_secret),
    )
    scene.control.advance_clock(31 * 24 * 3600)
    before = wiring.secrets_store().read(alive.tenant_id)

    report = runner.invoke(
        runner.function("ConnectKeepAlive"), {"source": "aws.events", "detail-type": "Scheduled Event"}
    )

    assert alive.tenant_id in report["refreshed"] and dead.tenant_id in report["lost"]
    refreshed = ConnectionStore(table).get(alive.tenant_id)
    assert refreshed is not None and refreshed.last_refresh_at is not None
    assert refreshed.last_refresh_at > datetime.now(UTC) - timedelta(minutes=1)
    after = wiring.secrets_store().read(alive.tenant_id)
    assert before is not None and after is not None and after.refresh_token != before.refresh_token
    flagged = ConnectionStore(table).get(dead.tenant_id)
    assert flagged is not None and flagged.state.value == "needs_reconnect"
    kinds = [(event.detail_type, event.detail["tenant_id"]) for event in events_tap.received()]
    assert ("connection.needs_reconnect", dead.tenant_id) in kinds


def test_no_refresh_starts_when_the_invocation_is_about_to_end(gateway: Any, scene: Scene, unique: str) -> None:
    from fortnox_bridge.tokens.tenant_tokens import RefreshPending

    connection = connect_as_a_person(gateway, scene, unique, "Brådskande AB")
    before = len(scene.control.requests())
    tokens = wiring.tokens_for(connection, remaining_seconds=lambda: 5.0)
    tokens.invalidate(tokens.access_token())
    with pytest.raises(RefreshPending):
        tokens.access_token()
    assert _refreshes(scene, before) == 0
    assert ConnectionStore(wiring.table()).get(TenantId(unique)).state.value == "connected"  # type: ignore[union-attr]
