"""The keep-alive tells a refresh that will fail again tomorrow from one that may pass, through the real scheduled
handler against the sandbox and moto: a repeating refusal is "failed" (its own metric, its own alarm), a passing one
stays "postponed"."""

import json
from typing import Any

import pytest

from fortnox_bridge import wiring
from fortnox_bridge.observability import metrics
from fortnox_bridge.store.connections import Connection
from local_stack.runner import LocalRunner
from tests.conftest import Scene
from tests.emitted_metrics import emitted
from tests.exporting import connect_as_a_person
from tests.keepalive_due import due, due_connection, make_due

pytestmark = pytest.mark.integration
__all__ = ["due", "due_connection"]  # the fixtures, imported so pytest finds them


def test_a_refusal_that_repeats_is_failed_and_counted_apart_from_a_postponed_refresh(
    gateway: Any,
    runner: LocalRunner,
    scene: Scene,
    unique: str,
    table: Any,
    due: list[str],
    due_connection: Connection,
    capsys: pytest.CaptureFixture[str],
    log_capture: Any,
) -> None:
    # Given a tenant whose stored tokens belong to another Fortnox company than the one it is connected to (a
    # connect to another company that stopped after writing its tokens): every refresh is refused, today and
    # every day after, until a person connects it again.
    stuck = connect_as_a_person(gateway, scene, f"{unique}-stuck", "Fastnande AB")
    other = connect_as_a_person(gateway, scene, f"{unique}-other", "Annat Bolag AB")
    foreign = wiring.secrets_store().read(other.tenant_id)
    assert foreign is not None
    wiring.secrets_store().write(stuck.tenant_id, foreign)
    make_due(table, due, stuck.tenant_id)
    # And a tenant whose refresh meets a Fortnox that is down today.
    waiting = due_connection
    scene.control.fault("500", method="POST", path_prefix="/oauth-v1/token", count=1000)
    metrics.clear_metrics()
    capsys.readouterr()
    logged_before = len(log_capture.lines)

    # When the daily keep-alive runs
    report = runner.run_scheduled(runner.function("ConnectKeepAlive"))

    # Then the repeating refusal is failed, not postponed, and the passing one stays postponed.
    assert stuck.tenant_id in report["failed"] and stuck.tenant_id not in report["postponed"]
    assert waiting.tenant_id in report["postponed"] and waiting.tenant_id not in report["failed"]
    totals = emitted(capsys.readouterr().out)
    assert totals["ConnectionsFailed"] == len(report["failed"]) >= 1
    assert totals["ConnectionsPostponed"] == len(report["postponed"]) >= 1
    # The log says which tenant and why, at ERROR, with no token in it.
    said = [
        record
        for record in map(json.loads, log_capture.lines[logged_before:])
        if record["levelname"] == "ERROR" and record.get("tenant_id") == stuck.tenant_id
    ]
    assert said and all(record["error"] == "TokensOfAnotherCompany" for record in said)
    assert foreign.access_token.get_secret_value() not in json.dumps(said)
