"""A day is booked once whatever the queue, the workers and Fortnox do: Fortnox never changes or deletes a voucher, so
a day booked twice stays booked twice. Through the voucher queue and its handler, against the sandbox."""

import json
import threading
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from fortnox_bridge import aws, wiring
from fortnox_bridge.contracts.intake import parse_voucher_event
from fortnox_bridge.errors import RetryableError
from fortnox_bridge.ids import TenantId
from fortnox_bridge.mapping.rules import TenantMapping
from fortnox_bridge.store.connections import ConnectionStore
from fortnox_bridge.store.idempotency import EventRecords
from fortnox_bridge.store.ledger import ExportLedger, ExportScope, ExportState
from fortnox_bridge.store.mappings import MappingStore
from local_stack.onboarding import connect_service_account
from tests.exporting import VoucherExport, rejected, voucher_export

pytestmark = pytest.mark.integration
__all__ = ["voucher_export"]  # the fixture, imported so pytest finds it

TODAY = date.today()
KEY = f"{TODAY}#kassa-1"


def _published(events_tap: Any, detail_type: str) -> list[dict[str, Any]]:
    return [event.detail for event in events_tap.received() if event.detail_type == detail_type]


def _outcomes(outcomes: list[Any]) -> list[tuple[int, int]]:
    return [(outcome.received, outcome.failed) for outcome in outcomes]


def test_the_same_event_delivered_three_times_books_one_voucher(voucher_export: VoucherExport, events_tap: Any) -> None:
    day = voucher_export.day()
    voucher_export.send(day, day)
    voucher_export.send(day)

    assert len(voucher_export.vouchers()) == 1
    assert [event["action"] for event in _published(events_tap, "voucher.exported")] == ["created"]


def test_the_same_day_under_another_event_id_is_unchanged_and_costs_no_call(
    voucher_export: VoucherExport, events_tap: Any
) -> None:
    voucher_export.send(voucher_export.day(event_id="z-first"))
    before = len(voucher_export.calls())

    voucher_export.send(voucher_export.day(event_id="z-second"))

    assert len(voucher_export.calls()) == before
    [voucher] = voucher_export.vouchers()
    first, second = _published(events_tap, "voucher.exported")
    assert (first["action"], second["action"]) == ("created", "unchanged")
    assert (second["event_id"], second["series"], second["number"]) == ("z-second", "A", voucher.VoucherNumber)


def test_the_same_day_with_other_figures_is_refused_naming_the_voucher_it_is_booked_as(
    voucher_export: VoucherExport, events_tap: Any
) -> None:
    voucher_export.send(voucher_export.day(event_id="z-first"))
    # The till closed the day again after a late correction: Fortnox cannot change the voucher
    corrected = voucher_export.day(event_id="z-corrected", tips="360.00", cash_rounding="-10.30")
    outcomes = voucher_export.send(corrected)

    assert _outcomes(outcomes) == [(1, 0)]
    [voucher] = voucher_export.vouchers()
    [failed] = _published(events_tap, "voucher.export_failed")
    assert f"is already booked as voucher A {voucher.VoucherNumber} in Fortnox" in failed["reason_en"]
    assert "correction voucher" in failed["reason_en"] and "rättelseverifikation" in failed["reason_sv"]
    entry = voucher_export.ledger(KEY)
    assert entry is not None and entry.state is ExportState.CONFIRMED  # the ledger keeps the voucher it has


def test_two_workers_on_the_same_day_under_two_event_ids_book_one_voucher(voucher_export: VoucherExport) -> None:
    events = [parse_voucher_event(json.dumps(voucher_export.day(event_id=f"z-worker-{n}"))) for n in range(2)]
    results: list[str] = []

    def work(event: Any) -> None:
        try:
            outcome = wiring.voucher_exporter().export(event)
            results.append(outcome.action or "failed")
        except RetryableError:
            results.append("busy")

    threads = [threading.Thread(target=work, args=(event,)) for event in events]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(results) in (["busy", "created"], ["created", "unchanged"])
    assert all(wiring.voucher_exporter().export(event).action == "unchanged" for event in events)  # the retries
    assert len(voucher_export.vouchers()) == 1


def test_a_create_whose_answer_was_lost_after_the_commit_is_found_not_repeated(
    voucher_export: VoucherExport, events_tap: Any
) -> None:
    voucher_export.scene.control.fault("drop_after_commit", method="POST", path_prefix="/3/vouchers")

    outcomes = voucher_export.send(voucher_export.day())

    assert _outcomes(outcomes) == [(1, 0)]
    [voucher] = voucher_export.vouchers()
    [exported] = _published(events_tap, "voucher.exported")
    assert (exported["number"], exported["action"]) == (voucher.VoucherNumber, "created")


def _lose_the_answer_and_the_lookup(export: VoucherExport) -> Any:
    """The create commits and its answer is lost, and every read of the day fails until the client gives up (five
    attempts). The setup and the day listing are warmed first by another register, so only the lookup reads."""
    export.send(export.day("kassa-2"))
    export.scene.control.fault("drop_after_commit", method="POST", path_prefix="/3/vouchers")
    export.scene.control.fault("500", method="GET", path_prefix="/3/vouchers", count=5)
    return export.deliver_once(export.day("kassa-1"))


def test_a_lost_answer_that_cannot_be_looked_up_at_once_is_found_by_the_next_delivery(
    voucher_export: VoucherExport,
) -> None:
    first = _lose_the_answer_and_the_lookup(voucher_export)

    assert (first.received, first.failed) == (1, 1)
    entry = voucher_export.ledger(KEY)
    assert entry is not None and entry.state is ExportState.SENT and entry.lease_owner is None
    # When Fortnox answers again, the next delivery reads the day back before it creates anything
    voucher_export.send()
    assert len(voucher_export.vouchers()) == 2
    entry = voucher_export.ledger(KEY)
    assert entry is not None and entry.state is ExportState.CONFIRMED


def test_a_lease_taken_over_from_a_worker_that_died_after_sending_looks_before_creating(
    voucher_export: VoucherExport, table: Any
) -> None:
    # Given a worker that sent the create, was never answered, and died holding the lease, which has run out
    _lose_the_answer_and_the_lookup(voucher_export)
    voucher_export.sqs.purge_queue(QueueUrl=voucher_export.queue)
    connection = ConnectionStore(table).get(TenantId(voucher_export.tenant))
    assert connection is not None
    scope = ExportScope(TenantId(voucher_export.tenant), connection.fortnox_tenant_id)
    dead = ExportLedger(table).claim(scope, "voucher", KEY, owner="died", lease=timedelta(seconds=-1))
    assert dead.state is ExportState.SENT

    # When another event id of the same day arrives
    voucher_export.send(voucher_export.day(event_id="z-after-the-crash"))

    # Then the day is found in Fortnox, not booked again
    assert len(voucher_export.vouchers()) == 2
    entry = voucher_export.ledger(KEY)
    assert entry is not None and entry.state is ExportState.CONFIRMED and entry.lease_owner is None


def test_a_fortnox_fault_on_the_create_is_retried_and_still_books_one(voucher_export: VoucherExport) -> None:
    voucher_export.scene.control.fault("500", method="POST", path_prefix="/3/vouchers")

    outcomes = voucher_export.send(voucher_export.day())

    assert _outcomes(outcomes) == [(1, 1), (1, 0)]
    assert len(voucher_export.vouchers()) == 1


def test_an_older_event_and_a_bad_body_fail_alone_in_their_batch(
    voucher_export: VoucherExport, events_tap: Any, table: Any
) -> None:
    newer = voucher_export.day("kassa-1", event_id="z-newer")
    older = voucher_export.day("kassa-1", event_id="z-older", tips="300.00", cash_rounding="49.70")
    older["occurred_at"] = (datetime.now(UTC) - timedelta(days=1)).isoformat(timespec="seconds")
    other = voucher_export.day("kassa-2")

    garbage = f"not json, from {voucher_export.tenant}"
    outcome = voucher_export.deliver_once(newer, garbage, older, other)

    assert (outcome.received, outcome.failed) == (4, 0)
    assert len(voucher_export.vouchers()) == 2
    published = events_tap.received()  # each read takes what it returns off the tap
    exported = {event.detail["business_key"] for event in published if event.detail_type == "voucher.exported"}
    assert exported == {KEY, f"{TODAY}#kassa-2"}
    [failed] = [event.detail for event in published if event.detail_type == "voucher.export_failed"]
    assert failed["event_id"] == "z-older" and "older than the one booked" in failed["reason_en"]
    [kept] = [item for item in rejected(table, "unknown") if item["body"] == garbage]  # it names no tenant
    assert kept["source"] == "voucher_export" and "not JSON" in kept["reason"]


def test_an_event_id_reused_for_another_day_is_refused_and_kept(
    voucher_export: VoucherExport, events_tap: Any, table: Any
) -> None:
    voucher_export.send(voucher_export.day("kassa-1", event_id="z-1"))
    voucher_export.send(voucher_export.day("kassa-2", event_id="z-1"))

    assert len(voucher_export.vouchers()) == 1
    [kept] = rejected(table, voucher_export.tenant)
    assert "event id z-1 was already used for an event with other content" in kept["reason"]
    [failed] = _published(events_tap, "voucher.export_failed")
    assert failed["business_key"] == f"{TODAY}#kassa-2"


def test_an_invoice_event_id_does_not_shadow_a_voucher_event_with_the_same_id(
    voucher_export: VoucherExport, table: Any
) -> None:
    # Given the tenant's invoicing system used event id 42 first (it numbers its events from 1, as the till does)
    connection = ConnectionStore(table).get(TenantId(voucher_export.tenant))
    assert connection is not None
    invoice_like = {"type": "invoice.ready", "id": "42", "tenant_id": voucher_export.tenant, "data": {}}
    EventRecords(aws.dynamodb_client(), table.name).once(
        TenantId(voucher_export.tenant), connection.fortnox_tenant_id, invoice_like, lambda **_: {"done": True}
    )

    voucher_export.send(voucher_export.day(event_id="42"))

    assert len(voucher_export.vouchers()) == 1
    assert rejected(table, voucher_export.tenant) == []


def test_one_tenant_cannot_book_into_another_tenants_company_or_claim_its_day(
    voucher_export: VoucherExport, scene: Any, table: Any, events_tap: Any
) -> None:
    # Given a second tenant with its own company, and the first tenant's day booked
    voucher_export.send(voucher_export.day())
    other_company = scene.new_company("Grannen AB")
    neighbour = f"{voucher_export.tenant}-grannen"
    connect_service_account(
        table,
        scene.control,
        scene.app,
        tenant_id=TenantId(neighbour),
        fortnox_tenant_id=other_company,
        display_name="Grannen",
    )

    # When the other tenant sends the same till's day under the first tenant's event id
    foreign = voucher_export.day(event_id=f"z-{TODAY}-kassa-1")
    foreign["tenant_id"] = neighbour
    voucher_export.send(foreign)

    # Then nothing lands in the first tenant's company, and the first tenant's ledger is untouched
    assert scene.control.company(voucher_export.company)["vouchers"] == 1
    entry = voucher_export.ledger(KEY)
    assert entry is not None and entry.tenant_id == voucher_export.tenant and entry.state is ExportState.CONFIRMED
    failed = _published(events_tap, "voucher.export_failed")
    assert [event["tenant_id"] for event in failed] == [neighbour]  # it has no mapping: told so, nobody else
    assert scene.control.company(other_company)["vouchers"] == 0


def test_a_day_that_keeps_failing_is_told_upstream_before_the_dead_letter_queue_and_looked_for_after(
    voucher_export: VoucherExport, events_tap: Any
) -> None:
    # Given Fortnox answers every create with a 500, which may or may not have committed
    voucher_export.scene.control.fault("500", method="POST", path_prefix="/3/vouchers", count=5)
    day = voucher_export.day()

    outcomes = voucher_export.send(day)

    # Then on its last delivery upstream hears that the day may be in Fortnox, and the ledger keeps it ``sent``
    assert [outcome.failed for outcome in outcomes] == [1, 1, 1, 1, 1]
    [failed] = _published(events_tap, "voucher.export_failed")
    assert failed["fortnox_code"] == 1000003 and "may already have created" in failed["reason_en"]
    entry = voucher_export.ledger(KEY)
    assert entry is not None and entry.state is ExportState.SENT
    # When the day is sent again once Fortnox is well, it is looked for first, then booked once
    voucher_export.send(day)
    assert len(voucher_export.vouchers()) == 1


def test_a_day_booked_before_the_mapping_and_the_registers_name_changed_is_still_unchanged(
    voucher_export: VoucherExport, events_tap: Any
) -> None:
    voucher_export.send(voucher_export.day(event_id="z-first"))
    MappingStore(voucher_export.table).put(TenantId(voucher_export.tenant), TenantMapping())  # vouchers unmapped

    voucher_export.send(voucher_export.day(event_id="z-resent", location_name="Kassan vid entrén"))

    assert [event["action"] for event in _published(events_tap, "voucher.exported")] == ["created", "unchanged"]
    assert len(voucher_export.vouchers()) == 1
