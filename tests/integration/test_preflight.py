"""Preflight: every refusal of seed 004 (and a missing year, a locked period) is found before any voucher is sent.

Sales days go through the real path: the voucher queue, the exporter Lambda, the tenant's Fortnox setup read
through the client (and cached in the table), the sandbox. The sandbox's request log is the witness that no
voucher was posted, and that a warm cache reads no setup.
"""

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import boto3
import pytest

from fortnox_bridge import wiring
from fortnox_bridge.fortnox.client import FortnoxClient
from fortnox_bridge.fortnox.models.vouchers import Voucher
from fortnox_bridge.ids import FortnoxTenantId, TenantId
from fortnox_bridge.mapping.rules import TenantMapping
from fortnox_bridge.mapping.vouchers import LocationRule, ProductGroupRule, VoucherMapping
from fortnox_bridge.store.connections import ConnectionStore
from fortnox_bridge.store.ledger import ExportScope
from fortnox_bridge.store.mappings import MappingStore
from fortnox_bridge.store.setup_cache import SETUP_TTL, SetupCache
from fortnox_bridge.vouchers.journal import Journal, JournalRow, RowOrigin
from fortnox_bridge.vouchers.preflight import preflight
from fortnox_bridge.vouchers.setup import SetupReader
from local_stack.moto_server import REGION
from tests.exporting import Export, export

pytestmark = pytest.mark.integration
__all__ = ["export"]  # the fixture, imported so pytest finds it

SETUP_PATHS = (
    "/3/financialyears",
    "/3/settings/lockedperiod",
    "/3/accounts",
    "/3/costcenters",
    "/3/projects",
    "/3/voucherseries",
)


def _mapping(**changes: Any) -> TenantMapping:
    """A café's mapping against the sandbox's BAS chart: card and Swish to the bank, drinks to 3001."""
    vouchers: dict[str, Any] = {
        "payment_methods": {"card": 1930, "swish": 1930},
        "product_groups": [ProductGroupRule(group="Drinks", account=3001)],
        "output_vat_accounts": {25: 2610, 12: 2620, 6: 2630},
        "locations": {"kassa-1": LocationRule(cost_center="STHLM")},
    }
    vouchers.update(changes)
    return TenantMapping(vouchers=VoucherMapping(**vouchers))


class Till:
    """A connected tenant's voucher queue and what the sandbox saw of it."""

    def __init__(self, export: Export, deployed: Any) -> None:
        self.export = export
        self.control = export.scene.control
        self.company = export.company
        self.sqs = boto3.client("sqs", region_name=REGION)
        physical = deployed.physical_ids
        self.queue = next(v for k, v in physical.items() if k.startswith("VoucherExportWorkQueue"))
        self._own: set[int] = set()
        self.map(_mapping())

    def map(self, mapping: TenantMapping) -> None:
        MappingStore(self.export.table).put(TenantId(self.export.tenant), mapping)

    def day(
        self,
        day: date | None = None,
        *,
        location: str = "kassa-1",
        group: str = "Drinks",
        method: str = "card",
        event_id: str | None = None,
    ) -> dict[str, Any]:
        business_day = day or date.today()
        return {
            "type": "sales.day_closed",
            "id": event_id or f"z-{business_day}-{location}-{uuid.uuid4().hex[:6]}",
            "tenant_id": self.export.tenant,
            "occurred_at": datetime.now(UTC).isoformat(),
            "data": {
                "business_day": business_day.isoformat(),
                "location": location,
                "location_name": "Café Åkern",
                "currency": "SEK",
                "sales": [{"product_group": group, "vat_rate": 25, "net": "100.00", "vat": "25.00"}],
                "payments": [{"method": method, "amount": "125.00"}],
            },
        }

    def send(self, *events: dict[str, Any]) -> list[Any]:
        for event in events:
            self.sqs.send_message(QueueUrl=self.queue, MessageBody=json.dumps(event))
        return self.export.runner.drain(self.export.runner.function("VoucherExportExporter"))

    def requests(self) -> list[dict[str, Any]]:
        """What the exporter asked the tenant's company, without the test's own look-ups."""
        log = self.control.requests(self.company)
        return [row for index, row in enumerate(log) if index not in self._own]

    @contextmanager
    def _looking(self) -> Iterator[FortnoxClient]:
        """The test's own reads of the company, left out of ``requests``."""
        before = len(self.control.requests(self.company))
        connection = ConnectionStore(self.export.table).get(TenantId(self.export.tenant))
        assert connection is not None
        with wiring.fortnox_client(connection) as client:
            yield client
        self._own |= set(range(before, len(self.control.requests(self.company))))

    def voucher_posts(self) -> int:
        return sum(1 for row in self.requests() if row["method"] == "POST" and row["path"] == "/3/vouchers")

    def setup_reads(self) -> int:
        return sum(1 for row in self.requests() if row["method"] == "GET" and row["path"].startswith(SETUP_PATHS))

    def vouchers(self) -> list[Voucher]:
        """Every voucher of the company, rows and all, read through the API as a bookkeeper's tool would."""
        found = []
        with self._looking() as client:
            for year in client.financial_years.list():
                assert year.Id is not None
                for item in client.vouchers.list(financial_year=year.Id):
                    assert item.VoucherSeries is not None and item.VoucherNumber is not None
                    found.append(client.vouchers.get(item.VoucherSeries, item.VoucherNumber, financial_year=year.Id))
        return found

    def year_id(self, day: date) -> int:
        with self._looking() as client:
            year = client.financial_years.for_date(day)
        assert year is not None and year.Id is not None
        return year.Id

    @property
    def scope(self) -> ExportScope:
        return ExportScope(TenantId(self.export.tenant), FortnoxTenantId(self.company))


@pytest.fixture
def till(export: Export, deployed: Any) -> Till:
    return Till(export, deployed)


def _failures(events_tap: Any, tenant: str) -> list[dict[str, Any]]:
    return [
        event.detail
        for event in events_tap.received()
        if event.detail_type == "voucher.export_failed" and event.detail["tenant_id"] == tenant
    ]


def _refused_before_any_voucher(till: Till, events_tap: Any, event: dict[str, Any]) -> dict[str, Any]:
    outcomes = till.send(event)
    assert [(outcome.received, outcome.failed) for outcome in outcomes] == [(1, 0)]  # refused, not retried in vain
    assert till.voucher_posts() == 0
    assert till.vouchers() == []
    [failure] = [detail for detail in _failures(events_tap, till.export.tenant) if detail["event_id"] == event["id"]]
    return failure


def test_a_cost_centre_mandatory_on_the_account_is_found_before_the_voucher(till: Till, events_tap: Any) -> None:
    """Seed 004: "Kostnadsställe är obligatoriskt på konto: 1930" (2000946)."""
    till.control.patch_account(till.company, 1930, CostCenterSettings="MANDATORY")

    failure = _refused_before_any_voucher(till, events_tap, till.day(location="kassa-9"))

    assert [(found["code"], found["subject"]) for found in failure["findings"]] == [
        ("cost_center_required", "account:1930")
    ]
    assert failure["fortnox_code"] == 2000946
    [finding] = failure["findings"]
    assert (
        "Account 1930 requires a cost centre in Fortnox, but the rows for payment method 'card' at location "
        "'kassa-9' have none" in finding["en"]
    )
    assert "Konto 1930 kräver kostnadsställe i Fortnox" in finding["sv"]


def test_an_inactive_cost_centre_is_found_before_the_voucher(till: Till, events_tap: Any) -> None:
    """Seed 004: 'Angivet kostnadsställe "UND" är inte aktivt.' (2002821)."""
    till.map(_mapping(locations={"kassa-1": LocationRule(cost_center="UND")}))

    failure = _refused_before_any_voucher(till, events_tap, till.day())

    assert [(found["code"], found["subject"]) for found in failure["findings"]] == [
        ("cost_center_inactive", "cost_center:UND")
    ]
    assert failure["fortnox_code"] == 2002821
    assert failure["findings"][0]["en"].startswith(
        "Cost centre UND is not active in Fortnox. Activate it under Settings > Accounting > Cost centres"
    )
    assert "Kostnadsställe UND är inte aktivt i Fortnox" in failure["reason_sv"]


def test_a_cost_centre_fortnox_does_not_have_is_found_before_the_voucher(till: Till, events_tap: Any) -> None:
    """Seed 004: 'Angivet kostnadsställe "36" existerar inte.' (2000548)."""
    till.map(_mapping(locations={"kassa-1": LocationRule(cost_center="36")}))

    failure = _refused_before_any_voucher(till, events_tap, till.day())

    assert [(found["code"], found["subject"]) for found in failure["findings"]] == [
        ("cost_center_missing", "cost_center:36")
    ]
    assert failure["fortnox_code"] == 2000548
    assert (
        "Cost centre 36 does not exist in Fortnox. Create it under Settings > Accounting > Cost centres"
        in (failure["reason_en"])
    )


def test_a_series_without_manual_accounting_is_found_before_the_voucher(till: Till, events_tap: Any) -> None:
    """Seed 004: "Verifikationsserien är inte manuell (F)." (2001940)."""
    till.map(_mapping(series="F"))

    failure = _refused_before_any_voucher(till, events_tap, till.day())

    assert [(found["code"], found["subject"]) for found in failure["findings"]] == [("series_not_manual", "series:F")]
    assert failure["fortnox_code"] == 2001940
    assert f"Voucher series F does not allow manual accounting for {date.today().year}" in failure["reason_en"]


def test_manual_accounting_is_read_for_the_year_of_the_day(till: Till, events_tap: Any) -> None:
    """Fortnox keeps "manual accounting" per financial year: series A manual this year but not last year stops
    only last year's day."""
    last_year = date.today() - timedelta(days=366)
    till.control.patch_series(till.company, "A", Manual=False, financialyear=till.year_id(last_year))

    failure = _refused_before_any_voucher(till, events_tap, till.day(last_year))
    assert [found["code"] for found in failure["findings"]] == ["series_not_manual"]

    till.send(till.day())
    [voucher] = till.vouchers()
    assert voucher.TransactionDate == date.today()


def test_an_account_missing_from_the_chart_names_the_product_group_to_remap(till: Till, events_tap: Any) -> None:
    """Seed 004: "Konto 4903 saknas i kontoplanen." (2001798), with the issue's own sentence."""
    till.map(_mapping(product_groups=[ProductGroupRule(group="Drinks", account=3990)]))

    failure = _refused_before_any_voucher(till, events_tap, till.day())

    assert [(found["code"], found["subject"]) for found in failure["findings"]] == [("account_missing", "account:3990")]
    assert failure["fortnox_code"] == 2001798
    year = date.today().year
    assert failure["findings"][0]["en"] == (
        f"Account 3990 does not exist in your chart of accounts for {year}. Add it in Fortnox under Settings > "
        "Accounting > Chart of accounts, or map product group 'Drinks' at location 'kassa-1' to another account."
    )
    assert failure["findings"][0]["sv"] == (
        f"Konto 3990 finns inte i kontoplanen för {year}. Lägg till det i Fortnox under Inställningar > Bokföring > "
        "Kontoplan, eller mappa produktgrupp 'Drinks' på plats 'kassa-1' till ett annat konto."
    )


def test_an_account_a_ready_made_journal_names_itself_is_sent_back_upstream(till: Till, events_tap: Any) -> None:
    """Seed 004's own case, "Konto 4903 saknas i kontoplanen.": the till chose the account, so the fix is there."""
    journal = {
        "type": "voucher.ready",
        "id": f"brp-{uuid.uuid4().hex[:8]}",
        "tenant_id": till.export.tenant,
        "occurred_at": datetime.now(UTC).isoformat(),
        "data": {
            "journal_id": uuid.uuid4().hex[:8],
            "transaction_date": date.today().isoformat(),
            "description": "Gym Centrum, försäljning",
            "location": None,
            "rows": [
                {"account": 1930, "debit": "80.00", "description": "Swish"},
                {"account": 4903, "credit": "80.00", "description": "Korrigering"},
            ],
        },
    }

    failure = _refused_before_any_voucher(till, events_tap, journal)

    [finding] = failure["findings"]
    assert (finding["code"], finding["subject"]) == ("account_missing", "account:4903")
    assert finding["sv"].startswith(f"Konto 4903 finns inte i kontoplanen för {date.today().year}.")
    assert finding["en"].endswith("or have the system that sends the voucher use another account.")


def test_an_inactive_account_names_the_payment_method_to_remap(till: Till, events_tap: Any) -> None:
    """Seed 004: "Konto 1950 är inte aktivt." (2000550); BRP's tenant forgot to activate 1950."""
    till.map(_mapping(payment_methods={"card": 1930, "giftcard-bank": 1950}))

    failure = _refused_before_any_voucher(till, events_tap, till.day(method="giftcard-bank"))

    assert [(found["code"], found["subject"]) for found in failure["findings"]] == [
        ("account_inactive", "account:1950")
    ]
    assert failure["fortnox_code"] == 2000550
    assert "map payment method 'giftcard-bank' at location 'kassa-1' to another account" in failure["reason_en"]


def test_a_day_without_a_financial_year_is_found_before_the_voucher(till: Till, events_tap: Any) -> None:
    """Users often forget to create the new year (FACTS.md 3.4, Fortnox's voucher best practice)."""
    next_year = date(date.today().year + 1, 1, 15)
    till.control.delete_financial_year(till.company, till.year_id(next_year))

    failure = _refused_before_any_voucher(till, events_tap, till.day(next_year))

    assert [(found["code"], found["subject"]) for found in failure["findings"]] == [
        ("no_financial_year", f"financial_year:{next_year}")
    ]
    assert "Create it in Fortnox under Settings > Accounting > Financial years" in failure["reason_en"]
    # Without a year nothing else was read: no chart to check the rows against.
    assert [row["path"] for row in till.requests() if row["path"].startswith(SETUP_PATHS)] == ["/3/financialyears"]


def test_a_day_in_a_locked_period_is_found_before_the_voucher(till: Till, events_tap: Any) -> None:
    yesterday = date.today() - timedelta(days=1)
    till.control.lock_period(till.company, yesterday.isoformat())

    failure = _refused_before_any_voucher(till, events_tap, till.day(yesterday))

    assert [(found["code"], found["subject"]) for found in failure["findings"]] == [
        ("period_locked", f"locked_period:{yesterday}")
    ]
    assert failure["fortnox_code"] == 2000401
    assert f"The period up to and including {yesterday} is locked in Fortnox" in failure["reason_en"]


def test_every_problem_of_a_day_is_listed_at_once(till: Till, events_tap: Any) -> None:
    """One round trip for the bookkeeper: the day names all it needs fixed, not the first thing Fortnox trips on."""
    till.control.patch_account(till.company, 2610, Active=False)
    till.map(
        _mapping(
            series="F",
            payment_methods={"card": 1950},
            product_groups=[ProductGroupRule(group="Drinks", account=3990, cost_center="36")],
        )
    )

    failure = _refused_before_any_voucher(till, events_tap, till.day())

    assert sorted((found["code"], found["subject"]) for found in failure["findings"]) == [
        ("account_inactive", "account:1950"),
        ("account_inactive", "account:2610"),
        ("account_missing", "account:3990"),
        ("cost_center_missing", "cost_center:36"),
        ("series_not_manual", "series:F"),
    ]
    assert "output VAT 25%" in failure["reason_en"]


def test_a_warm_setup_costs_no_read_per_voucher(till: Till) -> None:
    """The issue's goal: a steady day costs the voucher's own calls, not the setup's."""
    till.send(till.day(location="kassa-1"))
    cold = till.setup_reads()
    assert cold == len(SETUP_PATHS)

    till.send(till.day(location="kassa-2"), till.day(location="kassa-3"))

    assert till.setup_reads() == cold
    assert till.voucher_posts() == 3 and len(till.vouchers()) == 3


def test_a_fixed_setup_is_seen_by_the_next_delivery(till: Till, events_tap: Any) -> None:
    """The bookkeeper activates the account; the day sent again is booked once, though the cached setup still
    says inactive: a refusal is only ever made on what Fortnox says now."""
    till.map(_mapping(payment_methods={"card": 1950}))
    first = till.day()
    _refused_before_any_voucher(till, events_tap, first)

    till.control.patch_account(till.company, 1950, Active=True)
    till.send({**first, "id": first["id"] + "-again"})

    [voucher] = till.vouchers()
    assert {row.Account for row in voucher.VoucherRows} == {1950, 3001, 2610}
    assert till.voucher_posts() == 1


def test_a_reconnect_to_another_company_reads_that_company_s_setup(till: Till, events_tap: Any) -> None:
    """The cache belongs to the tenant and the Fortnox company: a warm cache of the old company never vouches for
    the new one, whose chart lacks the account."""
    till.send(till.day(location="kassa-1"))
    other = till.export.scene.new_company("Nya Caféet AB")
    till.control.patch_account(other, 1930, delete=True)
    till.export.reconnect(other)
    till.company = other
    till._own = set()

    failure = _refused_before_any_voucher(till, events_tap, till.day(location="kassa-2"))

    assert [(found["code"], found["subject"]) for found in failure["findings"]] == [("account_missing", "account:1930")]
    assert till.setup_reads() == len(SETUP_PATHS)


def test_a_bad_minute_at_fortnox_while_reading_the_setup_is_retried_and_books_once(till: Till) -> None:
    """The chart answers 503 on every try of one delivery: the day goes back to the queue, nothing is posted or
    cached half-read, and the next delivery books it once."""
    till.control.fault("500", count=5, method="GET", path_prefix="/3/accounts")  # every try of one delivery

    outcomes = till.send(till.day())

    assert [(outcome.received, outcome.failed) for outcome in outcomes] == [(1, 1), (1, 0)]
    [voucher] = till.vouchers()
    assert voucher.TransactionDate == date.today()
    assert till.voucher_posts() == 1


# -- the cache and the preflight as a domain, against the same table and sandbox ------------------------------------
def _journal(rows: list[JournalRow], *, day: date | None = None, series: str = "A") -> Journal:
    return Journal(
        business_key=f"journal#{uuid.uuid4().hex[:8]}",
        transaction_date=day or date.today(),
        location=None,
        series=series,
        description="Dagskassa",
        rows=tuple(rows),
    )


def _row(account: int, debit: str = "0", credit: str = "0", *, origin: RowOrigin, **dimensions: str) -> JournalRow:
    return JournalRow(
        account=account,
        debit=Decimal(debit),
        credit=Decimal(credit),
        cost_center=dimensions.get("cost_center"),
        project=dimensions.get("project"),
        description=None,
        origin=origin,
    )


def test_a_setup_older_than_its_ttl_is_read_again(till: Till) -> None:
    connection = ConnectionStore(till.export.table).get(TenantId(till.export.tenant))
    assert connection is not None
    now = [datetime.now(UTC)]
    cache = SetupCache(till.export.table, clock=lambda: now[0])
    with wiring.fortnox_client(connection) as client:
        reader = SetupReader(client, cache, till.scope)
        reader.for_date(date.today())
        reader.for_date(date.today())
        assert till.setup_reads() == len(SETUP_PATHS)
        now[0] += SETUP_TTL + timedelta(seconds=1)
        reader.for_date(date.today())
    assert till.setup_reads() == 2 * len(SETUP_PATHS)


def test_a_project_fortnox_does_not_have_or_an_account_demands_is_found(till: Till) -> None:
    till.control.patch_account(till.company, 3001, ProjectSettings="MANDATORY")
    till.control.patch_account(till.company, 2610, ProjectSettings="NOTALLOWED")
    connection = ConnectionStore(till.export.table).get(TenantId(till.export.tenant))
    assert connection is not None
    journal = _journal(
        [
            _row(1930, debit="125", origin=RowOrigin("mapping_key", "card"), project="P404"),
            _row(3001, credit="100", origin=RowOrigin("account", "3001")),
            _row(2610, credit="25", origin=RowOrigin("vat", "25"), project="P100"),
        ]
    )
    with wiring.fortnox_client(connection) as client:
        setup = SetupReader(client, SetupCache(till.export.table), till.scope).for_date(journal.transaction_date)

    findings = preflight(journal, setup)

    assert [(found.code, found.subject, found.fortnox_code) for found in findings] == [
        ("project_missing", "project:P404", 2001161),
        ("project_required", "account:3001", None),
        ("project_not_allowed", "account:2610", None),
    ]
    assert "have the system that sends the voucher" not in findings[1].en  # a dimension, not the account, to fix
    assert "rows for the row on account 3001" in findings[1].en
    assert till.voucher_posts() == 0


def test_a_cached_setup_in_an_older_shape_is_read_again_not_trusted(till: Till) -> None:
    """A release that changed the setup's shape meets items the previous one cached: it reads Fortnox instead."""
    today = date.today()
    SetupCache(till.export.table).put(
        till.scope, first_day=date(today.year, 1, 1), last_day=date(today.year, 12, 31), setup='{"chart": []}'
    )

    outcomes = till.send(till.day())

    assert [(outcome.received, outcome.failed) for outcome in outcomes] == [(1, 0)]
    assert till.setup_reads() == len(SETUP_PATHS)
    assert len(till.vouchers()) == 1


def test_after_invalidate_the_cached_setup_gives_way_to_the_fix(till: Till) -> None:
    """What retry does before it sends a failed day again: the cache forgets the company, the next read is
    Fortnox's setup as it is now, and that read is cached for the vouchers after it."""
    journal = _journal(
        [
            _row(1950, debit="125", origin=RowOrigin("payment_method", "giftcard-bank")),
            _row(3001, credit="100", origin=RowOrigin("product_group", "Drinks")),
            _row(2610, credit="25", origin=RowOrigin("vat", "25")),
        ]
    )
    cache = SetupCache(till.export.table)
    with till._looking() as client:
        reader = SetupReader(client, cache, till.scope)
        assert [found.code for found in preflight(journal, reader.for_date(journal.transaction_date))] == [
            "account_inactive"
        ]
        till.control.patch_account(till.company, 1950, Active=True)
        cached = reader.for_date(journal.transaction_date)
        assert [found.code for found in preflight(journal, cached)] == ["account_inactive"]

        cache.invalidate(till.scope)

        assert preflight(journal, reader.for_date(journal.transaction_date)) == []
        reads = len(till.control.requests(till.company))
        assert preflight(journal, reader.for_date(journal.transaction_date)) == []
        assert len(till.control.requests(till.company)) == reads
