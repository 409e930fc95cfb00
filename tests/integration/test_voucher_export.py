"""Voucher export through the voucher queue and its handler, against the sandbox: a closed day becomes one balanced
voucher with the right rows, failures say what to fix, and a day Fortnox already holds is not booked again."""

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from fortnox_bridge.fortnox.models.vouchers import VoucherRowWrite, VoucherWrite
from fortnox_bridge.ids import TenantId
from fortnox_bridge.mapping.rules import TenantMapping
from fortnox_bridge.store.connections import ConnectionState, ConnectionStore
from fortnox_bridge.store.ledger import ExportLedger, ExportState
from fortnox_bridge.store.mappings import MappingStore
from fortnox_bridge.vouchers.marker import voucher_marker
from tests.exporting import VoucherExport, rejected, voucher_export

pytestmark = pytest.mark.integration
__all__ = ["voucher_export"]  # the fixture, imported so pytest finds it

TODAY = date.today()
KEY = f"{TODAY}#kassa-1"


def _published(events_tap: Any, detail_type: str) -> list[dict[str, Any]]:
    return [event.detail for event in events_tap.received() if event.detail_type == detail_type]


def _rows(voucher: Any) -> list[tuple[int, Decimal, Decimal, str | None]]:
    return [(row.Account, row.Debit, row.Credit, row.CostCenter or None) for row in voucher.VoucherRows]


def _create_voucher_by_hand(export: VoucherExport, description: str, series: str = "K") -> str:
    """What a bookkeeper does in Fortnox, or an SIE import from the till: a voucher the bridge did not make."""
    with export.fortnox() as client:
        year = client.financial_years.for_date(TODAY)
        assert year is not None and year.Id is not None
        voucher = client.vouchers.create(
            VoucherWrite(
                Description=description,
                TransactionDate=TODAY,
                VoucherSeries=series,
                VoucherRows=[
                    VoucherRowWrite(Account=1910, Debit=Decimal("14350.00")),
                    VoucherRowWrite(Account=3001, Credit=Decimal("14350.00")),
                ],
            ),
            financial_year=year.Id,
        )
    return f"{voucher.VoucherSeries} {voucher.VoucherNumber}"


def test_a_closed_day_becomes_one_balanced_voucher_with_the_mapped_rows(
    voucher_export: VoucherExport, events_tap: Any
) -> None:
    # Given seed 001's café day: food at 12 %, drinks and alcohol at 25 %, card, cash and Swish, tips and rounding
    outcomes = voucher_export.send(voucher_export.day())

    assert [(outcome.received, outcome.failed) for outcome in outcomes] == [(1, 0)]
    [voucher] = voucher_export.vouchers()
    assert voucher.VoucherSeries == "A" and voucher.TransactionDate == TODAY
    assert (
        voucher.Description == f"Dagskassa {TODAY} Kassa kassa-1 {voucher_marker(TenantId(voucher_export.tenant), KEY)}"
    )
    assert _rows(voucher) == [
        (1940, Decimal("11850.00"), Decimal("0.00"), "STHLM"),  # card
        (1910, Decimal("1249.70"), Decimal("0.00"), "STHLM"),  # cash
        (1930, Decimal("1250.00"), Decimal("0.00"), "STHLM"),  # Swish
        (3002, Decimal("0.00"), Decimal("8035.71"), "STHLM"),  # food, 12 %
        (2620, Decimal("0.00"), Decimal("964.29"), "STHLM"),
        (3001, Decimal("0.00"), Decimal("4000.00"), "STHLM"),  # drinks and alcohol, 25 %, one row
        (2610, Decimal("0.00"), Decimal("1000.00"), "STHLM"),
        (2890, Decimal("0.00"), Decimal("350.00"), "STHLM"),  # tips, owed to staff
        (3740, Decimal("0.30"), Decimal("0.00"), "STHLM"),  # customers paid 0.30 less than the sales
    ]
    [exported] = _published(events_tap, "voucher.exported")
    assert exported == {
        "tenant_id": voucher_export.tenant,
        "event_id": f"z-{TODAY}-kassa-1",
        "business_key": KEY,
        "transaction_date": TODAY.isoformat(),
        "location": "kassa-1",
        "series": "A",
        "number": voucher.VoucherNumber,
        "year": voucher.Year,
        "action": "created",
    }
    entry = voucher_export.ledger(KEY)
    assert entry is not None and entry.state is ExportState.CONFIRMED
    assert entry.fortnox_id == f"A-{voucher.VoucherNumber}-{voucher.Year}"


def test_a_ready_made_journal_is_booked_row_for_row(voucher_export: VoucherExport, events_tap: Any) -> None:
    voucher_export.send(voucher_export.journal())

    [voucher] = voucher_export.vouchers()
    assert voucher.Description is not None and voucher.Description.startswith("Gym Centrum, försäljning")
    assert _rows(voucher) == [
        (1940, Decimal("4950.00"), Decimal("0.00"), None),  # mapping key "card"
        (1930, Decimal("1300.00"), Decimal("0.00"), None),
        (3003, Decimal("0.00"), Decimal("5000.00"), None),  # mapping key "memberships"
        (2630, Decimal("0.00"), Decimal("300.00"), None),
        (3001, Decimal("0.00"), Decimal("760.00"), "GBG"),
        (2610, Decimal("0.00"), Decimal("190.00"), None),
    ]
    assert [event["business_key"] for event in _published(events_tap, "voucher.exported")] == ["journal#gym-centrum"]


def test_an_unbalanced_day_is_refused_without_a_fortnox_call(voucher_export: VoucherExport, events_tap: Any) -> None:
    # Given a till whose payments come to 10 kronor more than its sales
    day = voucher_export.day(
        payments=[
            {"method": "card", "amount": "11860.00"},
            {"method": "cash", "amount": "1249.70"},
            {"method": "swish", "amount": "1250.00"},
        ]
    )

    outcomes = voucher_export.send(day)

    assert [(outcome.received, outcome.failed) for outcome in outcomes] == [(1, 0)]  # acknowledged, not retried
    assert voucher_export.calls() == []
    [failed] = _published(events_tap, "voucher.export_failed")
    assert "debit 14360.00 SEK, credit 14350.00 SEK" in failed["reason_en"]
    assert "10.00 kr för mycket på debetsidan" in failed["reason_sv"]
    entry = voucher_export.ledger(KEY)
    assert entry is not None and entry.state is ExportState.FAILED
    assert entry.event_body is not None and '"11860.00"' in entry.event_body  # kept as it came, for a retry


def test_a_refusal_preflight_could_not_foresee_is_explained_and_the_setup_read_again(
    voucher_export: VoucherExport, events_tap: Any
) -> None:
    # Given a first day that leaves the tenant's setup in the cache
    voucher_export.send(voucher_export.day("kassa-1"))
    # When the bookkeeper deactivates the sales account in Fortnox meanwhile, preflight's cached setup says it is active
    voucher_export.scene.control.patch_account(voucher_export.company, 3001, Active=False)
    voucher_export.send(voucher_export.day("kassa-2"))

    # Then Fortnox's refusal comes back as the fix, with Fortnox's own code and words beside it
    [failed] = _published(events_tap, "voucher.export_failed")
    assert failed["fortnox_code"] == 2000550
    assert failed["fortnox_message"]
    assert "not active" in failed["reason_en"] and "Kontoplan" in failed["reason_sv"]
    assert len(voucher_export.vouchers()) == 1
    entry = voucher_export.ledger(f"{TODAY}#kassa-2")
    assert entry is not None and entry.state is ExportState.FAILED and entry.failure is not None
    assert entry.failure.code == 2000550 and entry.failure.tenant_fixable

    # And the setup is read again: the same day now fails in preflight, before any voucher call, naming the account
    before = len(voucher_export.calls())
    voucher_export.send(voucher_export.day("kassa-2", event_id="z-kassa-2-again"))
    posts = [call for call in voucher_export.calls()[before:] if call["method"] == "POST"]
    assert posts == []
    again = _published(events_tap, "voucher.export_failed")[-1]
    assert [finding["code"] for finding in again["findings"]] == ["account_inactive"]
    assert "Account 3001 is not active" in again["reason_en"]

    # When the account is active again, the day goes through once
    voucher_export.scene.control.patch_account(voucher_export.company, 3001, Active=True)
    voucher_export.send(voucher_export.day("kassa-2", event_id="z-kassa-2-fixed"))
    assert len(voucher_export.vouchers()) == 2


def test_a_voucher_of_the_day_the_bridge_did_not_make_stops_the_day(
    voucher_export: VoucherExport, events_tap: Any
) -> None:
    # Given the till's SIE file was imported into Fortnox beside the integration (seed 001 warns against it)
    imported = _create_voucher_by_hand(voucher_export, f"Z-rapport Kassa kassa-2 {TODAY}")
    _create_voucher_by_hand(voucher_export, "Växelkassa till kassa-30")  # names another register, not kassa-3

    outcomes = voucher_export.send(voucher_export.day("kassa-2"), voucher_export.day("kassa-3"))

    assert [(outcome.received, outcome.failed) for outcome in outcomes] == [(2, 0)]
    # Then kassa-2's day is not booked a second time, and kassa-3 (named by neither voucher) is booked
    ours = [voucher.Description or "" for voucher in voucher_export.vouchers() if voucher.VoucherSeries == "A"]
    assert len(ours) == 1 and ours[0].startswith(f"Dagskassa {TODAY} Kassa kassa-3 FB:")
    [failed] = _published(events_tap, "voucher.export_failed")
    assert failed["business_key"] == f"{TODAY}#kassa-2"
    assert f"already holds voucher {imported}" in failed["reason_en"] and "SIE" in failed["reason_en"]
    assert "Z-rapport" not in failed["reason_en"]  # someone else's text is never quoted upstream
    entry = voucher_export.ledger(f"{TODAY}#kassa-2")
    assert entry is not None and entry.state is ExportState.FAILED and entry.event_body is not None
    assert entry.failure is not None and not entry.failure.tenant_fixable  # a retry cannot fix it; marking can

    # When the bookkeeper confirms the imported voucher is that day, the day is never sent, whatever arrives later
    ExportLedger(voucher_export.table).mark_exported(entry.scope, "voucher", entry.business_key, reason=imported)
    voucher_export.send(voucher_export.day("kassa-2", event_id="z-kassa-2-again"))
    assert len(voucher_export.vouchers()) == 3
    [told] = _published(events_tap, "voucher.export_failed")
    assert f"was marked as exported by hand on {TODAY} ({imported})" in told["reason_en"]


def test_a_voucher_by_hand_that_names_the_day_only_by_its_text_is_found_too(
    voucher_export: VoucherExport, events_tap: Any
) -> None:
    _create_voucher_by_hand(voucher_export, "Gym Centrum, försäljning 2026-11-23", series="A")
    voucher_export.send(voucher_export.journal())
    [failed] = _published(events_tap, "voucher.export_failed")
    assert "already holds voucher A 1" in failed["reason_en"]
    assert len(voucher_export.vouchers()) == 1


def test_a_warm_setup_costs_at_most_1_05_fortnox_calls_per_voucher(voucher_export: VoucherExport) -> None:
    # Given the setup read once (a journal without a location reads no day listing)
    voucher_export.send(voucher_export.journal(location=None))
    before = len(voucher_export.calls())

    # When twenty registers close the same day
    voucher_export.send(*[voucher_export.day(f"kassa-{number}") for number in range(1, 21)])

    # Then they cost twenty creates and one listing of the day
    calls = voucher_export.calls()[before:]
    assert len(voucher_export.vouchers()) == 21
    assert sorted({(call["method"], call["path"]) for call in calls}) == [
        ("GET", "/3/vouchers"),
        ("POST", "/3/vouchers"),
    ]
    assert len(calls) / 20 <= 1.05


def test_a_tenant_that_reconnects_to_another_company_exports_the_day_there(
    voucher_export: VoucherExport, events_tap: Any
) -> None:
    day = voucher_export.day()
    voucher_export.send(day)
    first_company = voucher_export.company

    voucher_export.reconnect(voucher_export.scene.new_company("Café Åkern Nya AB"))
    voucher_export.send(day)  # the same event: handled in the first company, not in this one

    assert len(voucher_export.vouchers()) == 1
    assert voucher_export.scene.control.company(first_company)["vouchers"] == 1
    assert [event["action"] for event in _published(events_tap, "voucher.exported")] == ["created", "created"]


def test_a_day_without_a_voucher_mapping_names_what_to_map(voucher_export: VoucherExport, events_tap: Any) -> None:
    # Given a tenant whose mapping covers invoices only
    MappingStore(voucher_export.table).put(TenantId(voucher_export.tenant), TenantMapping())
    voucher_export.send(voucher_export.day())

    assert voucher_export.calls() == []
    [failed] = _published(events_tap, "voucher.export_failed")
    assert "Payment method 'card' has no account in the mapping" in failed["reason_en"]


def test_bad_bodies_and_unknown_tenants_are_kept_with_their_reason(
    voucher_export: VoucherExport, table: Any, events_tap: Any
) -> None:
    stranger = voucher_export.day(event_id="z-stranger")
    stranger["tenant_id"] = "nobody-here"
    wrong = voucher_export.day(event_id="z-wrong")
    wrong["data"]["currency"] = "EUR"

    outcomes = voucher_export.send("not json", stranger, wrong)

    assert [(outcome.received, outcome.failed) for outcome in outcomes] == [(3, 0)]
    assert voucher_export.vouchers() == []
    reasons = {item["body"][:20]: item["reason"] for item in rejected(table, voucher_export.tenant)}
    assert any("booked in SEK" in reason for reason in reasons.values())
    [kept] = rejected(table, "nobody-here")
    assert "no tenant nobody-here is known" in kept["reason"]
    failed = {event["event_id"]: event for event in _published(events_tap, "voucher.export_failed")}
    assert set(failed) == {"z-stranger", "z-wrong"}
    assert failed["z-wrong"]["business_key"] is None


def test_a_day_sent_while_the_connection_is_lost_is_kept_for_a_retry(
    voucher_export: VoucherExport, events_tap: Any
) -> None:
    ConnectionStore(voucher_export.table).mark(
        TenantId(voucher_export.tenant), ConnectionState.NEEDS_RECONNECT, "consent withdrawn"
    )

    voucher_export.send(voucher_export.day())

    assert voucher_export.calls() == []
    [failed] = _published(events_tap, "voucher.export_failed")
    assert "not connected" in failed["reason_en"]
    entry = voucher_export.ledger(KEY)
    assert entry is not None and entry.state is ExportState.FAILED and entry.event_body is not None
    assert entry.failure is not None and entry.failure.tenant_fixable
