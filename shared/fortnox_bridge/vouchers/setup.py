"""The tenant's Fortnox setup that decides whether a voucher will be accepted, read through the client and cached.

What Fortnox checks on a voucher (FACTS.md 3.4, 3.5; seed 004): a financial year holds the date, the period is not
locked, the series exists and takes manual vouchers *that year*, every account exists and is active in *that year's*
chart, its cost-centre and project settings are met, and every cost centre and project exists (a cost centre must be
active). Accounts and series are read for the year of the date (``financialyear``), because Fortnox keeps a chart and
the series' "manual accounting" per year: an account active in 2025 may be inactive in 2026.
"""

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from fortnox_bridge.fortnox.client import FortnoxClient
from fortnox_bridge.fortnox.errors import FortnoxError
from fortnox_bridge.store.ledger import ExportScope
from fortnox_bridge.store.setup_cache import SetupCache

Dimension = Literal["ALLOWED", "MANDATORY", "NOTALLOWED"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class FinancialYearSpan(_Frozen):
    id: int
    from_date: date
    to_date: date

    def holds(self, day: date) -> bool:
        return self.from_date <= day <= self.to_date

    @property
    def label(self) -> str:
        """How a bookkeeper names the year: ``2026``, or ``2025/2026`` for a broken year."""
        if self.from_date.year == self.to_date.year:
            return str(self.from_date.year)
        return f"{self.from_date.year}/{self.to_date.year}"


class AccountSetup(_Frozen):
    active: bool
    cost_center: Dimension = "ALLOWED"
    project: Dimension = "ALLOWED"


class ProjectSetup(_Frozen):
    status: str | None = None
    start_date: date | None = None
    end_date: date | None = None


Register = Literal["accounts", "cost_centers", "projects", "series", "articles"]


class FortnoxSetup(_Frozen):
    """One financial year's setup. ``financial_year`` None: Fortnox has no year for the date asked about, and
    nothing else was read. ``unread`` names registers the connection may not read (a missing scope): their checks
    are skipped, and the mapping check says so."""

    financial_year: FinancialYearSpan | None
    locked_until: date | None = None
    accounts: dict[int, AccountSetup] = Field(default_factory=dict)
    cost_centers: dict[str, bool] = Field(default_factory=dict)
    """Code -> active."""
    projects: dict[str, ProjectSetup] = Field(default_factory=dict)
    series: dict[str, bool] = Field(default_factory=dict)
    """Code -> takes manual vouchers in this financial year."""
    articles: frozenset[str] | None = None
    """Article numbers, read only by the mapping check."""
    unread: frozenset[Register] = frozenset()
    read_at: datetime


def _dimension(value: str | None) -> Dimension:
    if value == "MANDATORY":
        return "MANDATORY"
    if value == "NOTALLOWED":
        return "NOTALLOWED"
    return "ALLOWED"


SCOPES: dict[Register, str] = {
    "accounts": "bookkeeping",
    "series": "bookkeeping",
    "cost_centers": "costcenter",
    "projects": "project",
    "articles": "article",
}
"""The Fortnox scope each register is read with (FACTS.md 1.8)."""

T = TypeVar("T")


def _not_permitted(error: FortnoxError) -> bool:
    """Fortnox refused the read for the connection's scopes or the company's licences, not for the request."""
    return error.status == 403 or error.code in MISSING_PERMISSION


MISSING_PERMISSION = frozenset({2000663, 2001101})


class _Reads:
    """Register reads; in a tolerant read (the mapping check) a register the connection may not read is noted in
    ``unread`` instead of failing the whole read. A voucher's preflight is strict: it cannot pass unchecked."""

    def __init__(self, *, tolerant: bool) -> None:
        self.tolerant = tolerant
        self.unread: set[Register] = set()

    def read(self, registers: tuple[Register, ...], read: Callable[[], T]) -> T | None:
        try:
            return read()
        except FortnoxError as error:
            if not (self.tolerant and _not_permitted(error)):
                raise
            self.unread.update(registers)
            return None


def read_setup(
    client: FortnoxClient, day: date, *, tolerant: bool = False, with_articles: bool = False
) -> FortnoxSetup:
    """Fortnox's setup for the financial year holding ``day``: six calls while the registers fit a page each (seven
    with the article register, which only the mapping check reads). Without a year nothing that depends on one is
    read; a tolerant read still reads the registers that do not."""
    now = datetime.now(UTC)
    reads = _Reads(tolerant=tolerant)
    year = reads.read(("accounts", "series"), lambda: client.financial_years.for_date(day))
    span = (
        FinancialYearSpan(id=year.Id, from_date=year.FromDate, to_date=year.ToDate)
        if year is not None and year.Id is not None and year.FromDate is not None and year.ToDate is not None
        else None
    )
    if span is None and not tolerant:
        return FortnoxSetup(financial_year=None, read_at=now)
    locked = accounts = series = None
    if span is not None:
        locked = reads.read(("accounts",), lambda: client.locked_period.get().EndDate)
        accounts = reads.read(("accounts",), lambda: list(client.accounts.list(financial_year=span.id)))
        series = reads.read(("series",), lambda: list(client.voucher_series.list(financial_year=span.id)))
    centers = reads.read(("cost_centers",), lambda: list(client.cost_centers.list()))
    projects = reads.read(("projects",), lambda: list(client.projects.list()))
    articles = (
        reads.read(("articles",), lambda: frozenset(a.ArticleNumber for a in client.articles.list() if a.ArticleNumber))
        if with_articles
        else None
    )
    return FortnoxSetup(
        financial_year=span,
        locked_until=locked,
        accounts={
            account.Number: AccountSetup(
                active=bool(account.Active),
                cost_center=_dimension(account.CostCenterSettings),
                project=_dimension(account.ProjectSettings),
            )
            for account in accounts or []
            if account.Number is not None
        },
        cost_centers={center.Code: bool(center.Active) for center in centers or [] if center.Code is not None},
        projects={
            project.ProjectNumber: ProjectSetup(
                status=project.Status, start_date=project.StartDate, end_date=project.EndDate
            )
            for project in projects or []
            if project.ProjectNumber is not None
        },
        series={entry.Code: bool(entry.Manual) for entry in series or [] if entry.Code is not None},
        articles=articles,
        unread=frozenset(reads.unread),
        read_at=now,
    )


class SetupReader:
    """The setup for a date, from the cache while it is fresh, else from Fortnox (and then cached). A year Fortnox
    does not have is not cached: the voucher fails either way, and the year is seen the moment the tenant adds it."""

    def __init__(self, client: FortnoxClient, cache: SetupCache, scope: ExportScope) -> None:
        self._client = client
        self._cache = cache
        self._scope = scope

    def for_date(self, day: date, *, fresh: bool = False) -> FortnoxSetup:
        if not fresh:
            cached = self._cache.get(self._scope, day)
            if cached is not None:
                try:
                    return FortnoxSetup.model_validate_json(cached)
                except ValidationError:
                    pass  # written by an older release in another shape: read Fortnox instead
        setup = read_setup(self._client, day)
        year = setup.financial_year
        if year is not None:
            self._cache.put(
                self._scope,
                first_day=year.from_date,
                last_day=year.to_date,
                setup=setup.model_dump_json(),
                read_at=setup.read_at,
            )
        return setup

    def invalidate(self) -> None:
        self._cache.invalidate(self._scope)
