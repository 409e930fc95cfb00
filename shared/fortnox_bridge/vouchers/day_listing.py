"""What Fortnox holds on one transaction date: every voucher of the day, in every series, as its list shows them.

Before a day is booked the exporter looks for a voucher of that day it did not make (``foreign.py``). Listing the
day for every voucher would double what a voucher costs, so the listing is kept a few minutes in the company's
partition: a chain whose registers close together pays one listing for all of them. It is not amended with the
vouchers the bridge creates: those carry our marker, and a marked voucher is never foreign, so the cached listing
answers the only question it is asked whatever the bridge added since. Reconciling a lost create never uses it: that
reads the day afresh (``fresh=True``), because the voucher looked for is exactly one the listing may predate.
"""

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict

from fortnox_bridge.fortnox.client import FortnoxClient
from fortnox_bridge.store.ledger import ExportScope
from fortnox_bridge.store.table import StoreBase, voucher_day_key

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

DAY_TTL = timedelta(minutes=5)
"""How long a listing is trusted. A voucher someone else books for the day within these minutes of the listing is
not seen; a shorter TTL narrows that window and costs a listing more often."""
MAX_CACHED = 1000
"""A day with more vouchers than this is listed every time rather than stored (an item holds 400 KB)."""


class DayVoucher(BaseModel):
    model_config = ConfigDict(frozen=True)

    series: str
    number: int
    year: int
    description: str

    @property
    def name(self) -> str:
        """As a bookkeeper names it: ``A 12``."""
        return f"{self.series} {self.number}"


class _Listing(BaseModel):
    vouchers: list[DayVoucher]


class DayListings(StoreBase):
    """The cached listings, one item per (tenant, company, date), trusted for ``ttl``."""

    def __init__(
        self, table: "Table", *, ttl: timedelta = DAY_TTL, clock: Callable[[], datetime] | None = None
    ) -> None:
        super().__init__(table)
        self._ttl = ttl
        self._clock = clock or (lambda: datetime.now(UTC))

    def get(self, scope: ExportScope, day: date, year: int) -> list[DayVoucher] | None:
        item = self._table.get_item(
            Key=voucher_day_key(scope.tenant, scope.company, day.isoformat()), ConsistentRead=True
        ).get("Item")
        if item is None or int(str(item["year"])) != year:
            return None
        if float(str(item["listed_at"])) < (self._clock() - self._ttl).timestamp():
            return None
        return _Listing.model_validate_json(str(item["vouchers"])).vouchers

    def put(self, scope: ExportScope, day: date, year: int, vouchers: list[DayVoucher]) -> None:
        if len(vouchers) > MAX_CACHED:
            return
        now = self._clock()
        self._table.put_item(
            Item={
                **voucher_day_key(scope.tenant, scope.company, day.isoformat()),
                "year": year,
                "listed_at": str(now.timestamp()),
                "vouchers": _Listing(vouchers=vouchers).model_dump_json(),
                "expires_at": int((now + self._ttl).timestamp()) + 3600,
            }
        )


class DayReader:
    def __init__(self, client: FortnoxClient, listings: DayListings, scope: ExportScope) -> None:
        self._client = client
        self._listings = listings
        self._scope = scope

    def vouchers(self, day: date, year: int, *, fresh: bool = False) -> list[DayVoucher]:
        """The day's vouchers in financial year ``year`` (Fortnox's id), from the cache unless ``fresh``."""
        if not fresh:
            cached = self._listings.get(self._scope, day, year)
            if cached is not None:
                return cached
        listed = [
            DayVoucher(
                series=item.VoucherSeries,
                number=item.VoucherNumber,
                year=item.Year if item.Year is not None else year,
                description=item.Description or "",
            )
            for item in self._client.vouchers.list(
                financial_year=year, fromdate=day.isoformat(), todate=day.isoformat()
            )
            if item.VoucherSeries and item.VoucherNumber is not None and item.TransactionDate in (None, day)
        ]
        self._listings.put(self._scope, day, year, listed)
        return listed
