"""Settings churn against the payment schedule's tick: a tenant's settings saved while a tick is between sending its
poll job and moving it on. Whatever the order, one due time gives one poll job, and a tenant with payment sync on is
never lost from the schedule."""

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from fortnox_bridge.ids import TenantId
from fortnox_bridge.payments.poll_request import PollRequested
from fortnox_bridge.schedule.poll_queue import PollQueue
from fortnox_bridge.store.tenants import PaymentSyncSettings, TenantSettings
from local_stack.runner import LocalRunner
from tests.integration.test_payment_fan_out import SYNC_OFF, SYNC_ON, PollQueueReader, Tenants, tick

HOURLY = TenantSettings(features=SYNC_ON.features, payment_sync=PaymentSyncSettings(interval_minutes=60))


@pytest.fixture
def tenants(table: Any, unique: str) -> Any:
    seeded = Tenants(table, f"churn-{unique}")
    yield seeded
    seeded.remove()


@pytest.fixture
def poll_queue(deployed: Any) -> PollQueueReader:
    return PollQueueReader(deployed)


def saved_while_sending(
    monkeypatch: pytest.MonkeyPatch, tenant: TenantId, save: Callable[[], None]
) -> pytest.MonkeyPatch:
    """The tick's jobs go on the queue as ever; right after the one for ``tenant`` was accepted, and before the tick
    moves it on, its settings are saved (``save``: what ``PUT .../settings`` does to the schedule)."""
    send = PollQueue.send

    def send_then_save(self: PollQueue, jobs: Sequence[PollRequested]) -> list[PollRequested]:
        refused = send(self, jobs)
        if any(job.tenant_id == tenant for job in jobs):
            save()
        return refused

    monkeypatch.setattr(PollQueue, "send", send_then_save)
    return monkeypatch


def test_an_interval_saved_while_the_tick_sends_still_gives_one_poll_for_the_due_time(
    runner: LocalRunner, tenants: Tenants, poll_queue: PollQueueReader, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tenant,) = tenants.add(1)
    due = tenants.schedule.next_due(tenant)
    assert due is not None
    with monkeypatch.context() as during:
        saved_while_sending(during, tenant, lambda: tenants.schedule.apply(tenant, HOURLY, datetime.now(UTC)))
        tick(runner)

    tick(runner)

    assert [job.due_at for job in poll_queue.take({tenant})] == [due]
    # Moved on by the interval now saved: the next poll an hour after the due time that was polled.
    assert tenants.schedule.next_due(tenant) == due + timedelta(hours=1)


def test_switched_off_while_the_tick_sends_stays_off_and_switched_on_again_is_polled_once(
    runner: LocalRunner, tenants: Tenants, poll_queue: PollQueueReader, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tenant,) = tenants.add(1)
    with monkeypatch.context() as during:
        saved_while_sending(during, tenant, lambda: tenants.schedule.apply(tenant, SYNC_OFF, datetime.now(UTC)))
        tick(runner)

    assert tenants.schedule.next_due(tenant) is None
    assert len(poll_queue.take({tenant})) == 1
    tick(runner)
    assert poll_queue.take({tenant}) == []

    tenants.schedule.apply(tenant, SYNC_ON, datetime.now(UTC))
    tick(runner)
    tick(runner)
    assert len(poll_queue.take({tenant})) == 1
    assert tenants.schedule.next_due(tenant) is not None
