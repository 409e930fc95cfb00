"""The payment schedule's tick through its handler: due, connected tenants with payment sync on get one poll job each
on the payment poll queue, and nobody else does."""

import json
import time
from collections.abc import Iterator
from collections.abc import Set as AbstractSet
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from fortnox_bridge.ids import FortnoxTenantId, TenantId
from fortnox_bridge.payments.poll_request import PollRequested
from fortnox_bridge.schedule.fan_out import FAN_OUT_LOCK, LEASE_SECONDS, PaymentFanOut
from fortnox_bridge.schedule.poll_queue import PollQueue
from fortnox_bridge.store.connections import Connection, ConnectionState, ConnectionStore
from fortnox_bridge.store.locks import LockStore
from fortnox_bridge.store.payment_schedule import PaymentSchedule
from fortnox_bridge.store.table import connection_key, payment_schedule_key
from fortnox_bridge.store.tenants import Feature, PaymentSyncSettings, TenantSettings
from local_stack.moto_server import REGION
from local_stack.runner import LocalRunner
from tests.paying import PaymentSync

SYNC_ON = TenantSettings(features=[Feature.INVOICE_EXPORT, Feature.PAYMENT_SYNC])
SYNC_OFF = TenantSettings(features=[Feature.INVOICE_EXPORT])


class PollQueueReader:
    """The session's payment poll queue, read for some tenants only: other tests' jobs are put back untouched."""

    def __init__(self, deployed: Any) -> None:
        self.url = next(v for k, v in deployed.physical_ids.items() if k.startswith("PaymentSyncPollWorkQueue"))
        self.sqs = boto3.client("sqs", region_name=REGION)

    def take(self, tenants: AbstractSet[str]) -> list[PollRequested]:
        """Remove and return every job on the queue for ``tenants``."""
        mine: list[PollRequested] = []
        others: list[str] = []
        while True:
            messages = self.sqs.receive_message(
                QueueUrl=self.url, MaxNumberOfMessages=10, VisibilityTimeout=120, WaitTimeSeconds=0
            ).get("Messages", [])
            if not messages:
                break
            taken: list[Any] = []
            for message in messages:
                job = PollRequested.model_validate_json(message["Body"])
                if job.tenant_id in tenants:
                    mine.append(job)
                    taken.append({"Id": str(len(taken)), "ReceiptHandle": message["ReceiptHandle"]})
                else:
                    others.append(message["ReceiptHandle"])
            if taken:
                self.sqs.delete_message_batch(QueueUrl=self.url, Entries=taken)
        for start in range(0, len(others), 10):
            self.sqs.change_message_visibility_batch(
                QueueUrl=self.url,
                Entries=[
                    {"Id": str(number), "ReceiptHandle": handle, "VisibilityTimeout": 0}
                    for number, handle in enumerate(others[start : start + 10])
                ],
            )
        return mine


@pytest.fixture
def poll_queue(deployed: Any) -> PollQueueReader:
    return PollQueueReader(deployed)


class Tenants:
    """Tenants seeded straight into the table (a thousand connects through the sandbox would test the sandbox), and
    removed from the schedule afterwards so no later tick of the session enqueues them."""

    def __init__(self, table: Any, prefix: str) -> None:
        self.table = table
        self.prefix = prefix
        self.schedule = PaymentSchedule(table)
        self.made: list[TenantId] = []

    def add(
        self,
        count: int,
        *,
        settings: TenantSettings = SYNC_ON,
        state: ConnectionState | None = ConnectionState.CONNECTED,
        label: str = "t",
    ) -> list[TenantId]:
        tenants = [TenantId(f"{self.prefix}-{label}{number:04d}") for number in range(count)]
        now = datetime.now(UTC)
        with self.table.batch_writer() as batch:
            for number, tenant in enumerate(tenants):
                if state is not None:
                    connection = Connection(
                        tenant_id=tenant,
                        fortnox_tenant_id=FortnoxTenantId(700_000_000 + number),
                        company_name=f"Åkeri {number}",
                        service_account=True,
                        state=state,
                    )
                    batch.put_item(Item={**connection_key(tenant), **connection.model_dump(mode="json")})
        for tenant in tenants:
            self.schedule.apply(tenant, settings, now)
        self.made += tenants
        return tenants

    def remove(self) -> None:
        with self.table.batch_writer() as batch:
            for tenant in self.made:
                batch.delete_item(Key=payment_schedule_key(tenant))
                batch.delete_item(Key=connection_key(tenant))


@pytest.fixture
def tenants(table: Any, unique: str) -> Iterator[Tenants]:
    seeded = Tenants(table, f"fan-{unique}")
    yield seeded
    seeded.remove()


def tick(runner: LocalRunner) -> dict[str, int]:
    counts: dict[str, int] = runner.run_scheduled(runner.function("PaymentSyncFanOut"))
    return counts


def test_a_thousand_tenants_fan_out_in_one_tick_each_once_and_the_next_tick_enqueues_none(
    runner: LocalRunner, tenants: Tenants, poll_queue: PollQueueReader
) -> None:
    due = tenants.add(1000)
    scheduled = {tenant: tenants.schedule.next_due(tenant) for tenant in due}

    first = tick(runner)

    # Within the function's own timeout, as the runner gives it: nothing left for a later tick.
    assert first["deferred"] == 0
    assert first["enqueued"] >= 1000
    jobs = poll_queue.take(set(due))
    assert sorted(job.tenant_id for job in jobs) == sorted(due)
    assert all(job.due_at == scheduled[TenantId(job.tenant_id)] for job in jobs)
    # Each moved on by its interval from when it was due, not from when the tick ran.
    for tenant in due[:10]:
        before = scheduled[tenant]
        assert before is not None
        assert tenants.schedule.next_due(tenant) == before + timedelta(minutes=15)

    tick(runner)

    assert poll_queue.take(set(due)) == []


def test_only_connected_tenants_with_payment_sync_on_are_enqueued_and_a_reconnected_one_at_the_next_tick(
    runner: LocalRunner, tenants: Tenants, poll_queue: PollQueueReader, table: Any
) -> None:
    (connected,) = tenants.add(1, label="connected")
    (lost,) = tenants.add(1, state=ConnectionState.NEEDS_RECONNECT, label="lost")
    (never,) = tenants.add(1, state=None, label="never")
    (off,) = tenants.add(1, settings=SYNC_OFF, label="off")
    (switched_off,) = tenants.add(1, label="switched")
    tenants.schedule.apply(switched_off, SYNC_OFF, datetime.now(UTC))
    everyone = {connected, lost, never, off, switched_off}

    tick(runner)

    assert [job.tenant_id for job in poll_queue.take(everyone)] == [connected]
    assert tenants.schedule.next_due(off) is None
    assert tenants.schedule.next_due(switched_off) is None
    # A tenant not connected keeps its place on the schedule but is no tick's to read, until it connects: then it is
    # polled at the first tick.
    assert not {lost, never} & set(tenants.schedule.due(datetime.now(UTC)))
    assert tenants.schedule.next_due(lost) is not None
    ConnectionStore(table).bind(_connection(lost, 700_000_101))
    tick(runner)
    assert [job.tenant_id for job in poll_queue.take(everyone)] == [lost]


def test_a_tenant_that_disconnects_leaves_the_ticks_and_comes_back_when_it_reconnects(
    runner: LocalRunner, tenants: Tenants, poll_queue: PollQueueReader, table: Any
) -> None:
    # Given a connected tenant with payment sync on, polled at a tick
    (tenant,) = tenants.add(1, label="leaving")
    tick(runner)
    assert [job.tenant_id for job in poll_queue.take({tenant})] == [tenant]

    # When its connection is ended on request (as DELETE /tenants/{id}/connection marks it), and later lost again
    # after a reconnect
    assert ConnectionStore(table).mark(
        tenant,
        ConnectionState.DISCONNECTED,
        "disconnected on request",
        only_from=(ConnectionState.CONNECTED, ConnectionState.NEEDS_RECONNECT),
    )

    # Then no tick reads it, however long it stays disconnected
    much_later = datetime.now(UTC) + timedelta(days=2)
    assert tenant not in tenants.schedule.due(much_later)
    tick(runner)
    assert poll_queue.take({tenant}) == []

    # And once it connects again it is due at once, polled at the next tick, and leaves again when Fortnox drops it
    ConnectionStore(table).bind(_connection(tenant, 700_000_102))
    assert tenant in tenants.schedule.due(datetime.now(UTC))
    tick(runner)
    assert [job.tenant_id for job in poll_queue.take({tenant})] == [tenant]
    assert ConnectionStore(table).mark(tenant, ConnectionState.NEEDS_RECONNECT, "Fortnox refused the refresh token")
    assert tenant not in tenants.schedule.due(much_later)


def _connection(tenant: TenantId, company: int) -> Connection:
    return Connection(
        tenant_id=tenant,
        fortnox_tenant_id=FortnoxTenantId(company),
        company_name="Åkeri igen",
        service_account=True,
    )


def test_while_another_tick_runs_a_second_one_enqueues_nothing_and_a_dead_ticks_lease_runs_out(
    runner: LocalRunner, tenants: Tenants, poll_queue: PollQueueReader, table: Any
) -> None:
    """EventBridge delivers a scheduled event at least once, and retries a slow run: one tick at a time enqueues,
    and one that died holding the fan-out delays the next by its lease, not for ever."""
    (tenant,) = tenants.add(1)
    dead_tick = LockStore(table)
    assert dead_tick.acquire(FAN_OUT_LOCK, owner="a-tick-that-died", lease_seconds=LEASE_SECONDS)
    try:
        assert tick(runner)["overlapping"] == 1
        assert poll_queue.take({tenant}) == []
        after_the_lease = LockStore(table, clock=lambda: time.time() + LEASE_SECONDS + 1)
        assert after_the_lease.acquire(FAN_OUT_LOCK, owner="the-next-tick", lease_seconds=LEASE_SECONDS)
        after_the_lease.release(FAN_OUT_LOCK, owner="the-next-tick")
    finally:
        dead_tick.release(FAN_OUT_LOCK, owner="a-tick-that-died")

    assert tick(runner)["overlapping"] == 0
    assert [job.tenant_id for job in poll_queue.take({tenant})] == [tenant]


def test_a_tick_that_cannot_reach_the_queue_moves_nobody_on_and_the_next_one_enqueues_them(
    runner: LocalRunner, deployed: Any, tenants: Tenants, poll_queue: PollQueueReader
) -> None:
    """A bad minute at SQS: the invocation fails (EventBridge retries it, then its dead-letter queue keeps it), no
    tenant's schedule moved and the fan-out is free again, so the next tick enqueues them all."""
    due = tenants.add(3)
    before = {tenant: tenants.schedule.next_due(tenant) for tenant in due}
    broken = LocalRunner(
        deployed,
        overrides={
            **runner.environment(runner.function("PaymentSyncFanOut")),
            "PAYMENT_POLL_QUEUE_URL": f"{poll_queue.url}-gone",
        },
    )
    with pytest.raises(Exception, match=r"NonExistentQueue|does not exist"):
        broken.run_scheduled(broken.function("PaymentSyncFanOut"))

    assert {tenant: tenants.schedule.next_due(tenant) for tenant in due} == before
    tick(runner)
    assert sorted(job.tenant_id for job in poll_queue.take(set(due))) == sorted(due)


class RefusingSqs:
    """SQS answering a batch send with some entries failed: the first ``flaky`` entries of each call fail for a
    passing reason once, entries whose tenant is in ``poison`` fail as the sender's fault every time."""

    def __init__(self, sqs: Any, *, flaky: int, poison: set[str]) -> None:
        self.sqs = sqs
        self.flaky = flaky
        self.poison = poison
        self.calls = 0
        self.seen: set[str] = set()

    def send_message_batch(self, *, QueueUrl: str, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        self.calls += 1
        failed = []
        passed = []
        for number, entry in enumerate(Entries):
            tenant = json.loads(entry["MessageBody"])["tenant_id"]
            if tenant in self.poison:
                failed.append({"Id": entry["Id"], "SenderFault": True, "Code": "InvalidMessageContents"})
            elif number < self.flaky and tenant not in self.seen:
                self.seen.add(tenant)
                failed.append({"Id": entry["Id"], "SenderFault": False, "Code": "InternalError"})
            else:
                passed.append(entry)
        if passed:
            self.sqs.send_message_batch(QueueUrl=QueueUrl, Entries=passed)
        return {"Successful": [{"Id": entry["Id"]} for entry in passed], "Failed": failed}


def test_failed_batch_entries_are_sent_again_and_a_refused_tenant_stays_due(
    tenants: Tenants, poll_queue: PollQueueReader
) -> None:
    due = tenants.add(25)
    poison = due[7]
    sqs = RefusingSqs(poll_queue.sqs, flaky=3, poison={poison})
    fan_out = PaymentFanOut(
        schedule=tenants.schedule,
        connections=ConnectionStore(tenants.table),
        locks=LockStore(tenants.table),
        queue=PollQueue(sqs, poll_queue.url),  # type: ignore[arg-type]
    )
    now = datetime.now(UTC)

    report = fan_out.tick(now)

    jobs = poll_queue.take(set(due))
    assert sorted(job.tenant_id for job in jobs) == sorted(set(due) - {poison})
    assert report.refused == 1
    # Those that failed for a passing reason went at the second try.
    assert len(sqs.seen) >= 3
    assert tenants.schedule.next_due(poison) is not None
    assert poison in tenants.schedule.due(now)
    assert [tenant for tenant in tenants.schedule.due(now) if tenant in set(due)] == [poison]


class ThrottledTable:
    """The state table as seen through a DynamoDB that leaves half of each batch read unprocessed the first time."""

    def __init__(self, table: Any) -> None:
        self.name = table.name
        self.meta = self
        self.client = self
        self._client = table.meta.client
        self.calls = 0

    def batch_get_item(self, *, RequestItems: dict[str, Any]) -> dict[str, Any]:
        self.calls += 1
        request = RequestItems[self.name]
        keys = request["Keys"]
        if self.calls > 1:
            answered: dict[str, Any] = self._client.batch_get_item(RequestItems=RequestItems)
            return answered
        half = len(keys) // 2
        answered = self._client.batch_get_item(RequestItems={self.name: {**request, "Keys": keys[:half]}})
        answered["UnprocessedKeys"] = {self.name: {**request, "Keys": keys[half:]}}
        return answered


def test_connections_left_unprocessed_are_read_again(tenants: Tenants, table: Any) -> None:
    connected = tenants.add(40)
    tenants.add(10, state=ConnectionState.REVOKED, label="gone")
    throttled = ThrottledTable(table)

    found = ConnectionStore(throttled).connected_among([*tenants.made, *connected])  # type: ignore[arg-type]

    assert found == set(connected)
    assert throttled.calls == 2


def test_a_shorter_interval_counts_at_once_and_a_longer_one_after_the_next_poll(tenants: Tenants) -> None:
    (tenant,) = tenants.add(1)
    set_at = tenants.schedule.next_due(tenant)
    assert set_at is not None
    hourly = TenantSettings(features=SYNC_ON.features, payment_sync=PaymentSyncSettings(interval_minutes=60))
    tenants.schedule.apply(tenant, hourly, set_at + timedelta(minutes=1))
    assert tenants.schedule.next_due(tenant) == set_at

    assert tenants.schedule.advance(tenant, set_at, set_at)
    assert tenants.schedule.next_due(tenant) == set_at + timedelta(hours=1)
    tenants.schedule.apply(tenant, SYNC_ON, set_at + timedelta(minutes=5))
    assert tenants.schedule.next_due(tenant) == set_at + timedelta(minutes=20)


def test_a_tenant_unreachable_for_hours_is_polled_once_and_keeps_its_rhythm(tenants: Tenants) -> None:
    (tenant,) = tenants.add(1)
    due = tenants.schedule.next_due(tenant)
    assert due is not None
    hours_later = due + timedelta(hours=3, minutes=7)

    assert tenants.schedule.advance(tenant, due, hours_later)
    # Not twelve polls to catch up: one, and the next on the tenant's own quarter-hour grid.
    assert tenants.schedule.next_due(tenant) == due + timedelta(hours=3, minutes=15)
    assert not tenants.schedule.advance(tenant, due, hours_later)


def test_a_tenant_switched_off_or_moved_after_the_index_listed_it_is_not_enqueued(tenants: Tenants) -> None:
    """The index lags the table: what it lists is read again from the table before any job is sent."""
    switched_off, moved, due = tenants.add(3)
    now = datetime.now(UTC)
    listed = [entry for entry in tenants.schedule.due_entries(now) if entry.tenant in {switched_off, moved, due}]
    assert len(listed) == 3
    tenants.schedule.apply(switched_off, SYNC_OFF, now)
    (moved_entry,) = [entry for entry in listed if entry.tenant == moved]
    assert tenants.schedule.advance_entry(moved_entry, now)

    assert [entry.tenant for entry in tenants.schedule.still_due(listed)] == [due]
    assert not tenants.schedule.advance_entry(moved_entry, now)
    assert tenants.schedule.next_due(switched_off) is None


def test_the_job_a_tick_enqueues_is_one_the_poll_worker_runs(
    runner: LocalRunner, payment_sync: PaymentSync, poll_queue: PollQueueReader, table: Any
) -> None:
    """The tick's job, as it sits on the queue, polls the tenant: a payment registered in Fortnox goes upstream."""
    tenant = TenantId(payment_sync.tenant)
    schedule = PaymentSchedule(table)
    schedule.apply(tenant, SYNC_ON, datetime.now(UTC))
    try:
        document = payment_sync.exported_invoice("100501")
        payment = payment_sync.pay(document, "100.00")

        tick(runner)

        (job,) = poll_queue.take({tenant})
        # Other tests' due tenants may share the queue; this tenant's job alone goes to the poll worker.
        payment_sync.request_poll(job.model_dump_json())
        assert [(outcome.received, outcome.failed) for outcome in payment_sync.drain()] == [(1, 0)]
        assert [(event["type"], event["payment_number"]) for event in payment_sync.events()] == [
            ("payment.received", payment)
        ]
    finally:
        schedule.apply(tenant, SYNC_OFF, datetime.now(UTC))
