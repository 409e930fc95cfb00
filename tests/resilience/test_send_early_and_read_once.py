"""Issue 13: attacks on today's two behaviour changes.

1. The limiter lets a request go as soon as the window allows, not at its logged slot. The judge is Fortnox's rule
   over arrivals: no window of ``limit + 1`` sends closer together than a window plus the arrival jitter. Workers
   are threads on the virtual clock of ``tests/unit/test_sliding_window_send.py``, writing to moto's table. Hosts
   whose clocks disagree with the log's by more than the horizon are refused, and never crowd the others' window.
2. The invoice export reads its tenant (connection, profile, mapping, customer hash) in one BatchGetItem before
   the idempotency record. Through the real handler and queue path against the sandbox and moto.
"""

import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fortnox_bridge import wiring
from fortnox_bridge.errors import RetryableError
from fortnox_bridge.ids import TenantId
from fortnox_bridge.mapping.rules import TenantMapping
from fortnox_bridge.ratelimit.sliding_window import DynamoDbSlidingWindow
from fortnox_bridge.store.connections import ConnectionState, ConnectionStore
from fortnox_bridge.store.mappings import MappingStore
from tests.exporting import Export, export, rejected_by_event
from tests.unit.test_sliding_window_send import RULE, Draws, crowded, run

__all__ = ["export"]  # the fixture, imported so pytest finds it


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    workers=st.integers(min_value=2, max_value=6),
    seed=st.integers(min_value=0, max_value=2**32 - 1),
    late=st.sampled_from([RULE.window_seconds / 2, RULE.window_seconds, 2 * RULE.window_seconds]),
)
def test_workers_that_wake_a_window_late_move_their_slots_out_of_a_full_log_without_crowding_it(
    table: Any, workers: int, seed: int, late: float
) -> None:
    # A moved slot is taken out of a log that holds only the last `limit` slots, so the moved request's bound is
    # counted over `limit - 1` of them (no bound at all). It must still never make a crowded window: the slot it
    # gives back is a send that never happened. Wake-ups late by up to two windows, writes slower than the tolerated
    # lateness, Fortnox faster than the gap, so the log is always full and slots are reserved ahead.
    draws = Draws(seed)
    crew = run(
        table,
        workers=workers,
        requests=6,
        write=draws.uniform(0.001, 2 * RULE.tolerated_lateness),
        fortnox=draws.uniform(0.0, RULE.gap_seconds / 2),
        lateness=draws.lateness(late, 0.4),
    )

    sends = [moment for worker in crew for moment in worker.sends]
    assert len(sends) == workers * 6
    assert crowded(sends) == []


class _Clock:
    """Real time for a sequence of acquires made one after another, and each host's view of it."""

    def __init__(self) -> None:
        self.now = 2_000.0

    def host(self, offset: float) -> tuple[Callable[[], float], Callable[[float], None]]:
        def clock() -> float:
            return self.now + offset

        def sleep(seconds: float) -> None:
            self.now += max(seconds, 0.0)

        return clock, sleep


def _limiter(table: Any, tenant: str, host: str, clock: Callable[[], float], sleep: Callable[[float], None]) -> Any:
    class _Named:
        """The table under a per-host name: the limiter keeps its copy of the log per process and table name."""

        name = f"{table.name}@{host}"

        def put_item(self, **kwargs: Any) -> Any:
            return table.put_item(**kwargs)

    return DynamoDbSlidingWindow(
        _Named(),  # type: ignore[arg-type]
        client_id="c",
        tenant_key=tenant,
        rule=RULE,
        clock=clock,
        sleep=sleep,
        timer=clock,
    )


def test_a_host_whose_clock_is_behind_by_less_than_the_horizon_never_crowds_the_window(table: Any) -> None:
    # A host a few seconds behind reads every slot as further ahead than it is and waits for it: it sends late
    # against the others' slots, never early, so others counting from its slot stay clear.
    real = _Clock()
    tenant = uuid.uuid4().hex
    right = _limiter(table, tenant, "right", *real.host(0.0))
    behind = _limiter(table, tenant, "behind", *real.host(-0.5))
    sends: list[float] = []
    for limiter in [right, right, right, behind, right, right, behind, right]:
        limiter.acquire()
        sends.append(real.now)

    assert crowded(sends) == []


def test_a_host_whose_clock_is_a_horizon_behind_neither_sends_into_a_full_window_nor_empties_the_log(
    table: Any,
) -> None:
    # The host two minutes behind sees the whole log far ahead of its clock. It cannot know when, on the others'
    # time line, it would send, so it sends nothing and writes nothing; the others' window stays theirs.
    real = _Clock()
    tenant = uuid.uuid4().hex
    right = _limiter(table, tenant, "right", *real.host(0.0))
    behind = _limiter(table, tenant, "behind", *real.host(-(DynamoDbSlidingWindow.MAX_AHEAD_SECONDS + 60)))
    sends: list[float] = []
    refused: list[Any] = []
    for limiter in [right, right, right, behind, right, right, right]:
        try:
            limiter.acquire()
        except RetryableError:
            refused.append(limiter)
            continue
        sends.append(real.now)

    assert refused == [behind]
    assert len(sends) == 6
    assert crowded(sends) == []


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    seed=st.integers(min_value=0, max_value=2**32 - 1),
    behind=st.sampled_from([DynamoDbSlidingWindow.MAX_AHEAD_SECONDS + 1, 120.0, 3600.0]),
)
def test_workers_sharing_a_tenant_with_a_host_far_behind_never_crowd_a_window(
    table: Any, seed: int, behind: float
) -> None:
    # Three workers on the right time send at the limit; a fourth, whose clock is far behind, joins once they have
    # filled the log and keeps trying, its refused requests coming back a second later (an SQS redelivery). On the
    # old rule it dropped the whole log as "ahead", sent at once and left a log of its one stale slot.
    draws = Draws(seed)
    crew = run(
        table,
        workers=4,
        requests=8,
        write=draws.uniform(0.001, 0.05),
        fortnox=draws.uniform(0.0, RULE.gap_seconds),
        clock_offsets=[0.0, 0.0, 0.0, -behind],
        joins_after=[0.0, 0.0, 0.0, RULE.window_seconds],
        redelivery=1.0,
    )

    *right, late = crew
    sends = [moment for worker in right for moment in worker.sends]
    assert len(sends) == 3 * 8
    # While the others send, every request of the host far behind is refused. It may send once they have stopped
    # long enough for the log to age within its horizon, and then it waits out the log's window on its own clock.
    assert late.refusals
    assert all(moment > max(sends) for moment in late.sends)
    assert crowded([*sends, *late.sends]) == []


def test_one_far_future_time_in_a_log_the_host_agrees_with_is_dropped_without_parking_the_tenant(
    table: Any,
) -> None:
    # A hand edit (or one write of a host that ran an hour ahead) leaves a single time far beyond the others:
    # honouring it would park every worker of the tenant for an hour.
    real = _Clock()
    tenant = uuid.uuid4().hex
    worker = _limiter(table, tenant, "right", *real.host(0.0))
    for _ in range(RULE.limit):
        worker.acquire()
    key = {"PK": f"RATE#c#{tenant}", "SK": "WINDOW"}
    item = table.get_item(Key=key, ConsistentRead=True)["Item"]
    table.put_item(Item={**item, "sent": [*item["sent"], Decimal(f"{real.now + 3600:.6f}")], "version": 999})
    started = real.now

    worker.acquire()  # its copy is stale: the refused write returns the edited item

    assert real.now - started <= RULE.window_seconds + RULE.margin_seconds + 1e-6
    logged = [float(value) for value in table.get_item(Key=key, ConsistentRead=True)["Item"]["sent"]]
    assert max(logged) < real.now + DynamoDbSlidingWindow.MAX_AHEAD_SECONDS  # and it is gone from the item


def test_a_log_written_by_a_host_that_ran_ahead_parks_the_tenant_for_that_error_and_a_window_at_most(
    table: Any,
) -> None:
    # A host two minutes ahead fills the log, then its clock is corrected. Every host now sees a log two minutes
    # ahead, which none can tell from its own clock being two minutes behind (where sending would crowd the
    # window), so the tenant waits: refused while two or more times are beyond the horizon, then counted from the
    # log's times. The wait is bounded by the error plus a window, and each refusal says what to do.
    real = _Clock()
    tenant = uuid.uuid4().hex
    error = DynamoDbSlidingWindow.MAX_AHEAD_SECONDS + 60
    ahead = _limiter(table, tenant, "ahead", *real.host(error))
    for _ in range(RULE.limit):
        ahead.acquire()
    corrected = _limiter(table, tenant, "ahead-corrected", *real.host(0.0))
    started = real.now
    refusals: list[str] = []

    while True:
        try:
            corrected.acquire()
            break
        except RetryableError as refusal:
            refusals.append(str(refusal))
            real.now += 1.0  # the message comes back a second later

    assert refusals and "delete the item" in refusals[0]
    assert real.now - started <= error + RULE.window_seconds + RULE.margin_seconds + 1.0


def test_deleting_a_log_that_is_far_ahead_lets_even_a_warm_process_send_at_once(table: Any) -> None:
    # The operator's way out when the log, not the host, was wrong: the refusal forgot the process's copy, so the
    # next attempt reads the item again instead of refusing from memory.
    real = _Clock()
    tenant = uuid.uuid4().hex
    ahead = _limiter(table, tenant, "ahead", *real.host(3600.0))
    for _ in range(RULE.limit):
        ahead.acquire()
    worker = _limiter(table, tenant, "right", *real.host(0.0))
    with pytest.raises(RetryableError):
        worker.acquire()
    table.delete_item(Key={"PK": f"RATE#c#{tenant}", "SK": "WINDOW"})
    started = real.now

    worker.acquire()

    assert real.now == started


# Point 2: the export's one read.


def _customer_writes(export: Export) -> list[tuple[str, str]]:
    return [
        (row["method"], row["path"])
        for row in export.scene.control.requests(export.company)
        if row["method"] in {"POST", "PUT"} and row["path"].startswith("/3/customers")
    ]


@pytest.mark.integration
def test_two_invoices_of_one_customer_in_one_batch_create_the_customer_once_and_update_it_never(
    export: Export,
) -> None:
    # The second record's read-ahead hash is read after the first record wrote it: a stale read would send an
    # update (or a create refused as a number in use) for data Fortnox already holds.
    export.send(export.event("100353"), export.event("100354"))

    assert len(export.invoices()) == 2
    assert _customer_writes(export) == [("POST", "/3/customers")]


@pytest.mark.integration
def test_a_customer_update_then_an_invoice_in_one_batch_sends_the_invoices_customer_data_once(
    export: Export,
) -> None:
    # The customer event records its data; the invoice that follows in the same batch carries other data for the
    # same customer (an e-mail, no VAT number), and must see the first record's hash, not a read from before it.
    export.send(export.customer(), export.event("100353"))

    writes = _customer_writes(export)
    assert writes[0] == ("POST", "/3/customers")
    assert len(writes) == 2 and writes[1][0] == "PUT"  # the invoice's data differs, so exactly one update
    assert len(export.invoices()) == 1


@pytest.mark.integration
def test_a_reconnect_between_two_batches_sends_the_very_next_record_to_the_new_company(export: Export) -> None:
    # The process remembers the company it last saw for the hash's key: after a reconnect that guess is wrong, and
    # the hash read under it must not count (the customer does not exist in the new company yet).
    export.send(export.event("100353"))
    first = export.company
    second = export.scene.new_company("Andra Bolaget AB")
    export.reconnect(second)

    export.send(export.event("100354"))

    assert [row["method"] for row in export.scene.control.requests(second) if row["path"] == "/3/customers"] == ["POST"]
    assert len(export.invoices()) == 1
    assert len(export.scene.control.company(first)["invoices"]) == 1


@pytest.mark.integration
def test_keys_left_unprocessed_by_the_tenant_read_are_read_again_and_the_export_is_the_same(
    export: Export, monkeypatch: pytest.MonkeyPatch
) -> None:
    # DynamoDB may answer a BatchGetItem with only some items and the rest as UnprocessedKeys (moto never does):
    # a missing connection or hash taken as absent would refuse the invoice or create the customer again.
    export.send(export.event("100353"))  # the customer exists, and the process has a company to guess
    client = wiring.table().meta.client
    real: Callable[..., dict[str, Any]] = client.batch_get_item  # type: ignore[assignment]
    answers: list[int] = []

    def half_unprocessed(*, RequestItems: dict[str, Any]) -> dict[str, Any]:
        (name, request), *_ = RequestItems.items()
        keys = request["Keys"]
        answers.append(len(keys))
        if len(answers) > 1:
            return real(RequestItems=RequestItems)
        half = (len(keys) + 1) // 2
        answered = real(RequestItems={name: {**request, "Keys": keys[half:]}})
        answered["UnprocessedKeys"] = {name: {**request, "Keys": keys[:half]}}
        return answered

    monkeypatch.setattr(client, "batch_get_item", half_unprocessed)

    export.send(export.event("100354"))

    assert answers[:2] == [4, 2]  # connection, profile, mapping and hash; then the half left unread
    assert len(export.invoices()) == 2
    assert _customer_writes(export) == [("POST", "/3/customers")]


@pytest.mark.integration
def test_a_disconnect_between_two_batches_stops_the_very_next_record(export: Export) -> None:
    export.send(export.event("100353"))
    ConnectionStore(export.table).mark(TenantId(export.tenant), ConnectionState.DISCONNECTED, "disconnected")

    export.send(export.event("100354"))

    assert len(export.invoices()) == 1
    assert export.dead_letters() == []  # refused for a reason a person fixes, not retried in vain


@pytest.mark.integration
def test_an_event_for_an_unknown_tenant_is_rejected_with_its_body_kept(export: Export) -> None:
    stranger = export.event("100353", event_id="evt-stranger")
    stranger["tenant_id"] = f"{export.tenant}-unknown"

    export.send(stranger)

    assert list(rejected_by_event(export.table, stranger["tenant_id"])) == ["evt-stranger"]
    assert export.invoices() == []


@pytest.mark.integration
def test_a_mapping_changed_between_two_batches_is_used_by_the_very_next_record(export: Export) -> None:
    # The fixture maps freight and fuel to 3041; the tenant then saves an empty mapping (the BAS defaults).
    export.send(export.event("100353"))
    MappingStore(export.table).put(TenantId(export.tenant), TenantMapping())

    export.send(export.event("100354"))

    accounts = {
        invoice["ExternalInvoiceReference1"].rsplit(":", 1)[1]: {
            row.get("AccountNumber") for row in invoice["InvoiceRows"]
        }
        for invoice in export.invoices()
    }
    assert 3041 in accounts["100353"]
    assert 3041 not in accounts["100354"]
