"""The status page's "recent exports" are the newest by the time each was exported, however large the company's
ledger, and each export is shown once with its state now. Through the management API's status link, the hosted page
and moto; the ledger is written by the store the exporters use."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from fortnox_bridge.export.review import export_id
from fortnox_bridge.ids import FortnoxTenantId, TenantId
from fortnox_bridge.status.service import RECENT
from fortnox_bridge.store.ledger import ExportLedger, ExportScope, ExportState, LedgerEntry
from fortnox_bridge.store.table import ledger_key
from tests.exporting import Export, export
from tests.integration.test_status_page import Seen, Site, site

__all__ = ["export", "site"]  # the fixtures, imported so pytest finds them

pytestmark = pytest.mark.integration

OWNER = "exporter-under-test"


def _exported(ledger: ExportLedger, scope: ExportScope, number: str, *, again: bool = False) -> None:
    """An invoice claimed and confirmed in Fortnox, as the invoice exporter moves its ledger entry."""
    entry = ledger.claim(scope, "invoice", number, owner=OWNER, lease=timedelta(minutes=5), reopen=again)
    ledger.mark(entry, ExportState.CONFIRMED, owner=OWNER, fortnox_id=number)


def _exported_long_ago(table: Any, scope: ExportScope, numbers: list[str]) -> None:
    """Invoices confirmed before the ledger kept when each was exported: entries as such a ledger holds them, written
    in batches (through the exporter's store, 500 of them took a minute in moto)."""
    long_ago = datetime(2025, 1, 1, tzinfo=UTC)
    with table.batch_writer() as batch:
        for n, number in enumerate(numbers):
            entry = LedgerEntry(
                tenant_id=scope.tenant,
                fortnox_company=scope.company,
                kind="invoice",
                business_key=number,
                state=ExportState.CONFIRMED,
                attempts=1,
                fortnox_id=number,
                updated_at=long_ago + timedelta(minutes=n),
            )
            item = entry.model_dump(mode="json", exclude_none=True, exclude={"exported_at", "credit_notes"})
            batch.put_item(Item={**ledger_key(scope.tenant, scope.company, "invoice", number), **item})


def _recent(seen: Seen) -> list[str]:
    return list(seen.exports)


def test_recent_exports_are_the_newest_of_a_ledger_of_more_than_500(export: Export, site: Site, table: Any) -> None:
    # Given 500 invoices exported long ago, then 20 more, all numbered in the order they were exported so the newest
    # come last in key order, and an early one exported again (an update) after all of them
    ledger = ExportLedger(table)
    scope = ExportScope(TenantId(export.tenant), FortnoxTenantId(export.company))
    numbers = [str(100000 + n) for n in range(520)]
    _exported_long_ago(table, scope, numbers[:500])
    for number in numbers[500:]:
        _exported(ledger, scope, number)
    _exported(ledger, scope, "100003", again=True)

    # When the bookkeeper opens the status page
    answer, seen = site.open(site.link(export.tenant))

    # Then "recent" is the re-exported invoice, then the newest 19, newest first, each once
    assert answer.status_code == 200
    expected = ["100003", *reversed(numbers[-(RECENT - 1) :])]
    assert _recent(seen) == [export_id("invoice", number) for number in expected]


def test_exports_from_before_the_ledger_kept_export_times_fill_recent_up_behind_the_newer(
    export: Export, site: Site, table: Any
) -> None:
    # Given 5 invoices exported long ago (no export time kept) and 3 exported since
    ledger = ExportLedger(table)
    scope = ExportScope(TenantId(export.tenant), FortnoxTenantId(export.company))
    _exported_long_ago(table, scope, ["300001", "300002", "300003", "300004", "300005"])
    for number in ("300006", "300007", "300008"):
        _exported(ledger, scope, number)

    _, seen = site.open(site.link(export.tenant))

    # Then the 3 newer come first, newest first, and the older follow by when they were last written
    expected = ["300008", "300007", "300006", "300005", "300004", "300003", "300002", "300001"]
    assert _recent(seen) == [export_id("invoice", number) for number in expected]


def test_recent_reads_on_past_a_page_of_exports_that_failed_since(table: Any, unique: str) -> None:
    # Given five invoices exported in turn, the newest three of which were reopened and refused since
    ledger = ExportLedger(table)
    scope = ExportScope(TenantId(f"t-{unique}"), FortnoxTenantId(int(unique, 16)))
    numbers = ["400001", "400002", "400003", "400004", "400005"]
    for number in numbers:
        _exported(ledger, scope, number)
    for number in numbers[2:]:
        entry = ledger.claim(scope, "invoice", number, owner=OWNER, lease=timedelta(minutes=5), reopen=True)
        ledger.mark(entry, ExportState.FAILED, owner=OWNER, error="refused")

    # When the newest two are asked for
    recent = ledger.recent(scope, limit=2)

    # Then they are the newest two that did not fail, read past the three that did
    assert [(entry.business_key, entry.state) for entry in recent] == [
        ("400002", ExportState.CONFIRMED),
        ("400001", ExportState.CONFIRMED),
    ]


def test_a_failed_export_is_not_among_the_recent_and_one_marked_by_hand_is(
    export: Export, site: Site, table: Any
) -> None:
    ledger = ExportLedger(table)
    scope = ExportScope(TenantId(export.tenant), FortnoxTenantId(export.company))
    for number in ("200001", "200002"):
        _exported(ledger, scope, number)
    refused = ledger.claim(scope, "invoice", "200003", owner=OWNER, lease=timedelta(minutes=5))
    ledger.mark(refused, ExportState.FAILED, owner=OWNER, error="refused")
    ledger.mark_exported(scope, "invoice", "200003", reason="Inskriven för hand")

    _, seen = site.open(site.link(export.tenant))

    assert seen.exports == {
        export_id("invoice", "200003"): "marked",
        export_id("invoice", "200002"): "exported",
        export_id("invoice", "200001"): "exported",
    }


def test_an_export_given_up_on_once_in_fortnox_is_among_the_recent(table: Any, unique: str) -> None:
    # Given an invoice confirmed, then one created in Fortnox whose after-create steps were given up on
    ledger = ExportLedger(table)
    scope = ExportScope(TenantId(f"t-{unique}"), FortnoxTenantId(int(unique, 16)))
    _exported(ledger, scope, "500001")
    entry = ledger.claim(scope, "invoice", "500002", owner=OWNER, lease=timedelta(minutes=5))
    ledger.mark(entry, ExportState.CREATED, owner=OWNER, fortnox_id="17", pending_steps=["send"], release=True)
    ledger.record_failure(scope, "invoice", "500002", "the e-mail could not be sent")

    # Then it is the newest export, as it is in Fortnox: created, its number kept
    recent = ledger.recent(scope, limit=5)
    assert [(entry.business_key, entry.state, entry.fortnox_id) for entry in recent] == [
        ("500002", ExportState.CREATED, "17"),
        ("500001", ExportState.CONFIRMED, "500001"),
    ]
