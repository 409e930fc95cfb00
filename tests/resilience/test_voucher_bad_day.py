"""A bad day for a voucher: a setup that changes under the export, a year that ends, a retry racing a read, a
create whose answer was lost while the mapping moved. Through the voucher queue and its handler, against the
sandbox and moto."""

from datetime import date
from typing import Any

import httpx
import pytest

from fortnox_bridge.fortnox.client import FortnoxClient
from fortnox_bridge.fortnox.ports import NoRateLimit, StaticToken
from fortnox_bridge.ids import TenantId
from fortnox_bridge.mapping.rules import TenantMapping
from fortnox_bridge.mapping.vouchers import LocationRule
from fortnox_bridge.store.connections import ConnectionStore
from fortnox_bridge.store.ledger import ExportScope, ExportState
from fortnox_bridge.store.mappings import MappingStore
from fortnox_bridge.store.setup_cache import SetupCache
from fortnox_bridge.vouchers.setup import SetupReader
from tests.exporting import VoucherExport, cafe_mapping, voucher_export

pytestmark = pytest.mark.integration
__all__ = ["voucher_export"]  # the fixture, imported so pytest finds it

TODAY = date.today()


def _published(events_tap: Any, detail_type: str) -> list[dict[str, Any]]:
    return [event.detail for event in events_tap.received() if event.detail_type == detail_type]


def _map(export: VoucherExport, mapping: TenantMapping) -> None:
    MappingStore(export.table).put(TenantId(export.tenant), mapping)


def _with_location(export: VoucherExport, **rule: str) -> None:
    mapping = cafe_mapping()
    assert mapping.vouchers is not None
    vouchers = mapping.vouchers.model_copy(update={"locations": {"kassa-1": LocationRule(**rule)}})
    _map(export, mapping.model_copy(update={"vouchers": vouchers}))


def _scope(export: VoucherExport) -> ExportScope:
    connection = ConnectionStore(export.table).get(TenantId(export.tenant))
    assert connection is not None
    return ExportScope(TenantId(export.tenant), connection.fortnox_tenant_id)


def test_an_inactive_cost_centre_on_every_row_of_a_day_is_one_finding_naming_the_location(
    voucher_export: VoucherExport, events_tap: Any
) -> None:
    # Given the till's location gives every row of the café's day (nine of them) a cost centre Fortnox has retired
    _with_location(voucher_export, cost_center="UND")

    outcomes = voucher_export.send(voucher_export.day())

    assert [(outcome.received, outcome.failed) for outcome in outcomes] == [(1, 0)]
    assert voucher_export.vouchers() == []
    [failed] = _published(events_tap, "voucher.export_failed")
    [finding] = failed["findings"]
    assert (finding["code"], finding["subject"]) == ("cost_center_inactive", "cost_center:UND")
    # The one thing to change is the location's cost centre: said once, not once per row the location reached
    assert finding["en"].endswith("or change the cost centre the mapping gives location 'kassa-1'.")
    assert "payment method" not in finding["en"] and "product group" not in finding["en"]
    assert failed["reason_en"].count("Cost centre UND") == 1
    entry = voucher_export.ledger(f"{TODAY}#kassa-1")
    assert entry is not None and entry.failure is not None and entry.failure.tenant_fixable  # retry-failed sends it


def test_a_default_cost_centre_missing_from_fortnox_is_named_as_the_default_once(
    voucher_export: VoucherExport, events_tap: Any
) -> None:
    mapping = cafe_mapping()
    assert mapping.vouchers is not None
    vouchers = mapping.vouchers.model_copy(update={"locations": {}, "default_cost_center": "NOPE"})
    _map(voucher_export, mapping.model_copy(update={"vouchers": vouchers}))

    voucher_export.send(voucher_export.day())

    [failed] = _published(events_tap, "voucher.export_failed")
    [finding] = failed["findings"]
    assert finding["code"] == "cost_center_missing"
    assert finding["en"].endswith("or change the cost centre the mapping gives the default cost centre.")
    assert finding["sv"].endswith("eller ändra kostnadsstället i mappningen för standardkostnadsstället.")


def test_a_setup_read_in_flight_while_a_retry_invalidates_does_not_put_the_old_setup_back(
    voucher_export: VoucherExport, events_tap: Any
) -> None:
    # Given the café's day refused for the retired cost centre, its setup cached
    _with_location(voucher_export, cost_center="UND")
    voucher_export.send(voucher_export.day())
    [refused] = _published(events_tap, "voucher.export_failed")
    assert refused["findings"][0]["code"] == "cost_center_inactive"
    scope = _scope(voucher_export)
    cache = SetupCache(voucher_export.table)

    # And another worker reading the setup: it has the cost centres (still retired) when, before it has written
    # what it read, the bookkeeper activates the cost centre and presses retry, which forgets the cached setup
    def fixed_meanwhile(response: httpx.Response) -> None:
        if response.request.url.path == "/3/projects":
            voucher_export.scene.control.put_cost_center(voucher_export.company, "UND", Active=True)
            cache.invalidate(scope)

    token = voucher_export.scene.control.token(
        voucher_export.scene.app,
        {"grant_type": "client_credentials"},
        headers={"TenantId": str(voucher_export.company)},
    ).json()["access_token"]
    with (
        httpx.Client(event_hooks={"response": [fixed_meanwhile]}) as http,
        FortnoxClient(
            base_url=voucher_export.scene.url, tokens=StaticToken(token), rate_limiter=NoRateLimit(), http=http
        ) as client,
    ):
        stale = SetupReader(client, cache, scope).for_date(TODAY, fresh=True)
    assert stale.cost_centers["UND"] is False  # what the in-flight read saw, and then wrote to the cache
    with voucher_export.fortnox() as client:
        assert SetupReader(client, cache, scope).for_date(TODAY).cost_centers["UND"] is True  # not the old read

    # When the retried day arrives
    outcomes = voucher_export.send(voucher_export.day(event_id="z-retried"))

    # Then it is judged on Fortnox as it is now, not on the read from before the fix
    assert [(outcome.received, outcome.failed) for outcome in outcomes] == [(1, 0)]
    [booked] = voucher_export.vouchers()
    assert {row.CostCenter for row in booked.VoucherRows} == {"UND"}


def test_the_last_day_of_one_year_and_the_first_of_the_next_are_each_judged_by_their_own_year(
    voucher_export: VoucherExport, events_tap: Any
) -> None:
    # Given the café's card account is closed in this year's chart but open in last year's
    new_year = date(TODAY.year, 1, 1)
    old_year_end = date(TODAY.year - 1, 12, 31)
    with voucher_export.fortnox() as client:
        years = {day: client.financial_years.for_date(day) for day in (old_year_end, new_year)}
    this_year = years[new_year]
    assert this_year is not None and this_year.Id is not None
    voucher_export.scene.control.patch_account(voucher_export.company, 1940, Active=False, financialyear=this_year.Id)

    # When New Year's Eve is booked first (its year cached), then New Year's Day
    voucher_export.send(voucher_export.day(day=old_year_end))
    voucher_export.send(voucher_export.day(day=new_year))

    # Then the old year takes its day, and the new year's chart refuses the other, naming the year
    published = events_tap.received()  # each read takes what it returns off the tap
    [exported] = [event.detail for event in published if event.detail_type == "voucher.exported"]
    last_year = years[old_year_end]
    assert last_year is not None
    assert (exported["transaction_date"], exported["year"]) == (old_year_end.isoformat(), last_year.Id)
    [failed] = [event.detail for event in published if event.detail_type == "voucher.export_failed"]
    assert failed["business_key"] == f"{new_year}#kassa-1"
    assert [(found["code"], found["subject"]) for found in failed["findings"]] == [("account_inactive", "account:1940")]
    assert f"for {TODAY.year}" in failed["findings"][0]["en"]


def test_a_lost_answer_is_found_after_the_mapping_moved_the_day_to_another_series(
    voucher_export: VoucherExport, events_tap: Any
) -> None:
    # Given a create in series A whose answer was lost, and every lookup failing until the delivery gives up
    voucher_export.send(voucher_export.day("kassa-2"))  # warms the setup and the day listing
    voucher_export.scene.control.fault("drop_after_commit", method="POST", path_prefix="/3/vouchers")
    voucher_export.scene.control.fault("500", method="GET", path_prefix="/3/vouchers", count=5)
    first = voucher_export.deliver_once(voucher_export.day())
    assert (first.received, first.failed) == (1, 1)
    # And the bookkeeper moves the till's vouchers to series B before the redelivery
    mapping = cafe_mapping()
    assert mapping.vouchers is not None
    _map(voucher_export, mapping.model_copy(update={"vouchers": mapping.vouchers.model_copy(update={"series": "B"})}))
    voucher_export.scene.control.patch_series(voucher_export.company, "B", Manual=True)

    voucher_export.send()

    # Then the voucher in series A is found and recorded, and nothing is booked in B
    assert [voucher.VoucherSeries for voucher in voucher_export.vouchers()] == ["A", "A"]
    entry = voucher_export.ledger(f"{TODAY}#kassa-1")
    assert entry is not None and entry.state is ExportState.CONFIRMED and entry.fortnox_id is not None
    assert entry.fortnox_id.startswith("A-")


def _lose_the_answer(export: VoucherExport, day: dict[str, Any]) -> None:
    """The create commits and its answer is lost, and the lookup fails too until the delivery gives up: the ledger
    says ``sent``. The setup and the day listing are warmed first by another register."""
    export.send(export.day("kassa-2"))
    export.scene.control.fault("drop_after_commit", method="POST", path_prefix="/3/vouchers")
    export.scene.control.fault("500", method="GET", path_prefix="/3/vouchers", count=5)
    first = export.deliver_once(day)
    assert (first.received, first.failed) == (1, 1)
    entry = export.ledger(f"{TODAY}#kassa-1")
    assert entry is not None and entry.state is ExportState.SENT
    _drop_from_queue(export, day["id"])


def _drop_from_queue(export: VoucherExport, event_id: str) -> None:
    """The worker that sent the create died with its message: the queue holds it no more (other tests' messages stay,
    since the session shares the queue, and a purge is allowed once a minute)."""
    while messages := export.sqs.receive_message(
        QueueUrl=export.queue, MaxNumberOfMessages=10, VisibilityTimeout=0, WaitTimeSeconds=0
    ).get("Messages", []):
        ours = [
            message
            for message in messages
            if f'"id": "{event_id}"' in message["Body"] and f'"tenant_id": "{export.tenant}"' in message["Body"]
        ]
        for message in ours:
            export.sqs.delete_message(QueueUrl=export.queue, ReceiptHandle=message["ReceiptHandle"])
        if not ours:
            return


def test_a_day_whose_answer_was_lost_is_found_even_after_the_bookkeeper_locked_the_period(
    voucher_export: VoucherExport, events_tap: Any
) -> None:
    # Given the day's create went through unheard, and by the redelivery half an hour later (the setup's ten minutes
    # past) the bookkeeper has locked the period up to today
    day = voucher_export.day()
    _lose_the_answer(voucher_export, day)
    voucher_export.scene.control.lock_period(voucher_export.company, TODAY.isoformat())
    SetupCache(voucher_export.table).invalidate(_scope(voucher_export))
    events_tap.received()

    outcomes = voucher_export.send(day)

    # Then the day is found booked, not refused for a lock that came after it
    assert [(outcome.received, outcome.failed) for outcome in outcomes] == [(1, 0)]
    published = events_tap.received()
    assert [event.detail_type for event in published] == ["voucher.exported"]
    assert len(voucher_export.vouchers()) == 2
    entry = voucher_export.ledger(f"{TODAY}#kassa-1")
    assert entry is not None and entry.state is ExportState.CONFIRMED


def test_a_day_whose_answer_was_lost_is_found_after_its_mapping_stopped_covering_it(
    voucher_export: VoucherExport, events_tap: Any
) -> None:
    # Given the day's create went through unheard, and then the card payment method was taken out of the mapping
    day = voucher_export.day()
    _lose_the_answer(voucher_export, day)
    mapping = cafe_mapping()
    assert mapping.vouchers is not None
    methods = {"cash": 1910, "swish": 1930}
    _map(
        voucher_export,
        mapping.model_copy(update={"vouchers": mapping.vouchers.model_copy(update={"payment_methods": methods})}),
    )
    events_tap.received()

    voucher_export.send(day)

    assert [event.detail_type for event in events_tap.received()] == ["voucher.exported"]
    entry = voucher_export.ledger(f"{TODAY}#kassa-1")
    assert entry is not None and entry.state is ExportState.CONFIRMED


def test_a_day_closed_again_with_other_figures_after_a_lost_answer_is_not_reported_as_those_figures(
    voucher_export: VoucherExport, events_tap: Any
) -> None:
    # Given the till's first close went into Fortnox unheard
    _lose_the_answer(voucher_export, voucher_export.day(event_id="z-first"))
    [booked] = [voucher for voucher in voucher_export.vouchers() if "kassa-1" in voucher.Description]
    events_tap.received()

    # When the till closes the day again with a late correction, under a new event id
    voucher_export.send(voucher_export.day(event_id="z-corrected", tips="360.00", cash_rounding="-10.30"))

    # Then upstream is told the day is booked with other content, not that its new figures were booked
    published = events_tap.received()
    assert [event.detail_type for event in published] == ["voucher.export_failed"]
    assert f"already booked as voucher A {booked.VoucherNumber}" in published[0].detail["reason_en"]
    assert len(voucher_export.vouchers()) == 2
    # And the first close, redelivered, is what the ledger holds the voucher as
    voucher_export.send(voucher_export.day(event_id="z-first-again"))
    [exported] = [event.detail for event in events_tap.received() if event.detail_type == "voucher.exported"]
    assert (exported["action"], exported["number"]) == ("unchanged", booked.VoucherNumber)


def test_a_429_storm_on_the_create_leaves_the_day_unsent_and_the_next_delivery_books_it_once(
    voucher_export: VoucherExport,
) -> None:
    # Fortnox refuses a 429 before doing anything: after the client's five tries nothing can be in Fortnox
    voucher_export.scene.control.fault("429", method="POST", path_prefix="/3/vouchers", count=5)

    first = voucher_export.deliver_once(voucher_export.day())

    assert (first.received, first.failed) == (1, 1)
    entry = voucher_export.ledger(f"{TODAY}#kassa-1")
    assert entry is not None and entry.state is ExportState.CLAIMED and entry.lease_owner is None
    voucher_export.send()
    assert len(voucher_export.vouchers()) == 1


def test_a_create_that_timed_out_before_fortnox_booked_it_is_booked_once_by_the_next_delivery(
    voucher_export: VoucherExport,
) -> None:
    voucher_export.scene.control.fault("timeout", method="POST", path_prefix="/3/vouchers", delay_seconds=0.2)

    first = voucher_export.deliver_once(voucher_export.day())

    assert (first.received, first.failed) == (1, 1)
    entry = voucher_export.ledger(f"{TODAY}#kassa-1")
    assert entry is not None and entry.state is ExportState.SENT  # nobody knows yet: the next one looks first
    voucher_export.send()
    assert len(voucher_export.vouchers()) == 1
    entry = voucher_export.ledger(f"{TODAY}#kassa-1")
    assert entry is not None and entry.state is ExportState.CONFIRMED


def test_a_bad_minute_on_the_day_listing_sends_nothing_and_the_next_delivery_books_once(
    voucher_export: VoucherExport,
) -> None:
    voucher_export.scene.control.fault("500", method="GET", path_prefix="/3/vouchers", count=5)

    first = voucher_export.deliver_once(voucher_export.day())

    assert (first.received, first.failed) == (1, 1)
    assert not [call for call in voucher_export.calls() if call["method"] == "POST"]
    entry = voucher_export.ledger(f"{TODAY}#kassa-1")
    assert entry is not None and entry.state is ExportState.CLAIMED
    voucher_export.send()
    assert len(voucher_export.vouchers()) == 1


def test_a_day_whose_create_timed_out_and_is_then_refused_is_kept_for_a_retry(
    voucher_export: VoucherExport, events_tap: Any
) -> None:
    # Given a create that timed out before Fortnox booked it (the ledger cannot know: ``sent``)
    voucher_export.scene.control.fault("timeout", method="POST", path_prefix="/3/vouchers", delay_seconds=0.2)
    day = voucher_export.day()
    voucher_export.deliver_once(day)
    _drop_from_queue(voucher_export, day["id"])
    # And before the next delivery the bookkeeper closes the card account for this year
    with voucher_export.fortnox() as client:
        year = client.financial_years.for_date(TODAY)
    assert year is not None
    voucher_export.scene.control.patch_account(voucher_export.company, 1940, Active=False, financialyear=year.Id)
    SetupCache(voucher_export.table).invalidate(_scope(voucher_export))  # the setup's ten minutes have passed
    events_tap.received()

    voucher_export.send(day)

    # Then the day, looked for and not in Fortnox, is refused with its finding and kept with the event for a retry
    [failed] = _published(events_tap, "voucher.export_failed")
    assert [found["code"] for found in failed["findings"]] == ["account_inactive"]
    entry = voucher_export.ledger(f"{TODAY}#kassa-1")
    assert entry is not None and entry.state is ExportState.FAILED and entry.event_body is not None
    assert entry.failure is not None and entry.failure.tenant_fixable
    assert voucher_export.vouchers() == []


def test_a_period_locked_after_the_setup_was_read_is_explained_and_the_day_goes_through_once_unlocked(
    voucher_export: VoucherExport, events_tap: Any
) -> None:
    # Given the setup read (and cached) with the period open, and then the bookkeeper locks it up to today
    voucher_export.send(voucher_export.day("kassa-2"))
    voucher_export.scene.control.lock_period(voucher_export.company, TODAY.isoformat())
    events_tap.received()

    day = voucher_export.day()
    voucher_export.send(day)

    # Then Fortnox's refusal is explained, and the day kept for a retry, with nothing booked
    [failed] = _published(events_tap, "voucher.export_failed")
    assert failed["fortnox_code"] == 2000401
    entry = voucher_export.ledger(f"{TODAY}#kassa-1")
    assert entry is not None and entry.state is ExportState.FAILED and entry.event_body is not None
    assert entry.failure is not None and entry.failure.tenant_fixable
    # And once the period is open again the same event goes through: the setup was read afresh, not the cached one
    voucher_export.scene.control.lock_period(voucher_export.company, None)
    voucher_export.send(day)
    assert [event.detail["action"] for event in events_tap.received()] == ["created"]
    assert len(voucher_export.vouchers()) == 2
