"""Preflight: what Fortnox would refuse in a voucher, found before the voucher is sent, each with where to fix it.

Every finding is one of the refusals of seed 004 and FACTS.md section 4, with the code Fortnox answers for it where
a public source gives one (``fortnox_code``), so the explanation of a refusal Fortnox sends anyway and the finding
agree. A finding names the thing (account 4903), the place in Fortnox to fix it, and the mapping entry that put it
in the voucher (product group 'Drinks'), in Swedish and English.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict

from fortnox_bridge.export.explanations import Explanation, ExportRefused
from fortnox_bridge.mapping.vouchers import VoucherMapping
from fortnox_bridge.vouchers.setup import AccountSetup, FortnoxSetup

if TYPE_CHECKING:
    # For annotations only: the mapping check (management API) uses this module's findings and never a journal.
    from fortnox_bridge.vouchers.journal import Journal, RowOrigin

# Where each thing is set up in Fortnox, as its menus name it.
CHART = ("Inställningar > Bokföring > Kontoplan", "Settings > Accounting > Chart of accounts")
COST_CENTERS = ("Inställningar > Bokföring > Kostnadsställen", "Settings > Accounting > Cost centres")
PROJECTS = ("Projekt > Projekt", "Project > Projects")
SERIES = ("Inställningar > Bokföring > Verifikationsserier", "Settings > Accounting > Voucher series")
YEARS = ("Inställningar > Bokföring > Räkenskapsår", "Settings > Accounting > Financial years")
LOCKING = ("Inställningar > Bokföring > Låsning av period", "Settings > Accounting > Locked period")
ARTICLES = ("Register > Artiklar", "Register > Articles")


class Finding(BaseModel):
    """One thing Fortnox would refuse. ``subject`` says what, machine-readably (``account:4903``,
    ``cost_center:36``, ``series:F``); ``fortnox_code`` is the code Fortnox answers for it, where one is known."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    code: str
    sv: str
    en: str
    subject: str
    fortnox_code: int | None = None


class PreflightFailed(ExportRefused):
    """A voucher preflight refused: nothing was sent. Carries every finding, not only the first. Always the
    tenant's to fix (in Fortnox or the mapping), so "retry failed" sends it again once they have."""

    def __init__(self, findings: Sequence[Finding]) -> None:
        if not findings:
            raise ValueError("PreflightFailed needs at least one finding")
        self.findings = list(findings)
        super().__init__(
            Explanation(
                findings[0].fortnox_code,
                "",
                " ".join(finding.sv for finding in findings),
                " ".join(finding.en for finding in findings),
                tenant_fixable=True,
            )
        )


@dataclass(frozen=True)
class Where:
    """The mapping entry (or upstream row) a posting comes from, named as a bookkeeper would: ``product group
    'Drinks'``. ``upstream`` when the sending system chose the account itself, so the fix is made there."""

    sv: str
    en: str
    upstream: bool = False


@dataclass(frozen=True)
class Posting:
    """An account with its dimensions, as a voucher row or a mapping entry would put it in Fortnox; no account for
    a mapping entry that names only a cost centre or project (a location)."""

    account: int | None
    cost_center: str | None
    project: str | None
    where: Where
    cost_center_from: Where | None = None
    """The mapping entry that gave the row its cost centre, when that is not ``where`` (a location's, the default):
    a cost centre wrong on every row of a day is one thing to fix, named once."""
    project_from: Where | None = None


def where_of(origin: "RowOrigin", location: str | None = None) -> Where:
    """Where a journal row came from, for the sentence that says what to change in the mapping."""
    key = origin.key or ""
    at = (f" på plats '{location}'", f" at location '{location}'") if location else ("", "")
    named = {
        "product_group": (f"produktgrupp '{key}'", f"product group '{key}'"),
        "refund": (f"returer i produktgrupp '{key}'", f"refunds of product group '{key}'"),
        "payment_method": (f"betalsätt '{key}'", f"payment method '{key}'"),
        "tips": ("dricks", "tips"),
        "rounding": ("öresavrundning", "cash rounding"),
        "vat": (f"utgående moms {key} %", f"output VAT {key}%"),
        "gift_card": ("presentkort", "gift cards"),
        "mapping_key": (f"mappningsnyckel '{key}'", f"mapping key '{key}'"),
        "account": (f"raden med konto {key}" if key else "raden", f"the row on account {key}" if key else "the row"),
    }
    sv, en = named.get(origin.kind, (origin.kind, origin.kind))
    if origin.kind == "account":
        return Where(sv + at[0], en + at[1], upstream=True)
    return Where(sv + at[0], en + at[1])


DEFAULT_COST_CENTER = Where("standardkostnadsstället", "the default cost centre")
DEFAULT_PROJECT = Where("standardprojektet", "the default project")


def location_where(code: str) -> Where:
    return Where(f"plats '{code}'", f"location '{code}'")


def journal_postings(journal: "Journal", mapping: VoucherMapping | None = None) -> list[Posting]:
    """One posting per origin of each row: a row that sums two product groups names both in a finding. With the
    mapping, a cost centre or project is named by the entry that gave it (the location, the default, a product
    group), not by every row that carries it."""
    postings = []
    for row in journal.rows:
        for origin in row.origins:
            where = where_of(origin, journal.location)
            postings.append(
                Posting(
                    row.account,
                    row.cost_center,
                    row.project,
                    where,
                    cost_center_from=_dimension_from("cost_center", row.cost_center, origin, journal, mapping),
                    project_from=_dimension_from("project", row.project, origin, journal, mapping),
                )
            )
    return postings


def _dimension_from(
    dimension: Literal["cost_center", "project"],
    code: str | None,
    origin: "RowOrigin",
    journal: "Journal",
    mapping: VoucherMapping | None,
) -> Where | None:
    """The mapping entry that put ``code`` on a row of ``origin``, as journal.py applies them: the product group's
    own rule first, then the row's own (upstream's), then the location's, then the default. None: the row's."""
    if mapping is None or not code:
        return None
    if origin.kind in ("product_group", "refund") and any(
        rule.group == origin.key and getattr(rule, dimension) == code for rule in mapping.product_groups
    ):
        return None
    location = mapping.locations.get(journal.location or "")
    if location is not None and getattr(location, dimension) == code:
        return location_where(journal.location or "")
    default = mapping.default_cost_center if dimension == "cost_center" else mapping.default_project
    if default == code:
        return DEFAULT_COST_CENTER if dimension == "cost_center" else DEFAULT_PROJECT
    return None


def preflight(journal: "Journal", setup: FortnoxSetup | None, mapping: VoucherMapping | None = None) -> list[Finding]:
    """Everything in ``journal`` that Fortnox would refuse, given its setup for the journal's date; ``setup`` None
    (or without a year) when Fortnox has no financial year for the date. ``mapping``, the one the journal was made
    with, lets a finding name the mapping entry to change rather than every row it reached."""
    day = journal.transaction_date
    if setup is None or setup.financial_year is None:
        return [no_financial_year(day)]
    if not setup.financial_year.holds(day):
        raise ValueError(f"the setup of financial year {setup.financial_year.label} cannot judge a voucher of {day}")
    findings = [*_period(day, setup), *series_findings(journal.series, setup)]
    return findings + posting_findings(journal_postings(journal, mapping), setup)


def no_financial_year(day: date) -> Finding:
    return Finding(
        code="no_financial_year",
        sv=f"Det finns inget räkenskapsår i Fortnox för {day}. Lägg upp det i Fortnox under {YEARS[0]}.",
        en=f"There is no financial year in Fortnox for {day}. Create it in Fortnox under {YEARS[1]}.",
        subject=f"financial_year:{day}",
    )


def _period(day: date, setup: FortnoxSetup) -> list[Finding]:
    locked = setup.locked_until
    if locked is None or day > locked:
        return []
    return [
        Finding(
            code="period_locked",
            sv=f"Perioden till och med {locked} är låst i Fortnox, så en verifikation daterad {day} kan inte "
            f"bokföras. Lås upp perioden i Fortnox under {LOCKING[0]}.",
            en=f"The period up to and including {locked} is locked in Fortnox, so a voucher dated {day} cannot be "
            f"booked. Unlock the period in Fortnox under {LOCKING[1]}.",
            subject=f"locked_period:{locked}",
            fortnox_code=2000401,
        )
    ]


def series_findings(series: str, setup: FortnoxSetup) -> list[Finding]:
    year = setup.financial_year
    if year is None or "series" in setup.unread:
        return []
    if series not in setup.series:
        return [
            Finding(
                code="series_missing",
                sv=f"Verifikationsserie {series} finns inte i Fortnox för {year.label}. Lägg upp den under "
                f"{SERIES[0]}, eller välj en annan serie i verifikationsmappningen.",
                en=f"Voucher series {series} does not exist in Fortnox for {year.label}. Create it under "
                f"{SERIES[1]}, or choose another series in the voucher mapping.",
                subject=f"series:{series}",
            )
        ]
    if not setup.series[series]:
        return [
            Finding(
                code="series_not_manual",
                sv=f"Verifikationsserie {series} tillåter inte manuell kontering för {year.label}, och exporten "
                f"bokför som manuella verifikationer. Kryssa i Manuell kontering för serie {series} och "
                f"räkenskapsåret under {SERIES[0]}, eller välj en annan serie i verifikationsmappningen.",
                en=f"Voucher series {series} does not allow manual accounting for {year.label}, and the export books "
                f"manual vouchers. Tick Manual accounting for series {series} and that financial year under "
                f"{SERIES[1]}, or choose another series in the voucher mapping.",
                subject=f"series:{series}",
                fortnox_code=2001940,
            )
        ]
    return []


def _joined(wheres: Iterable[Where], language: str) -> str:
    names = list(dict.fromkeys(where.sv if language == "sv" else where.en for where in wheres))
    if len(names) <= 1:
        return "".join(names)
    word = " och " if language == "sv" else " and "
    return ", ".join(names[:-1]) + word + names[-1]


def _account_fix(wheres: list[Where]) -> tuple[str, str]:
    mapped = [where for where in wheres if not where.upstream]
    upstream = [where for where in wheres if where.upstream]
    sv: list[str] = []
    en: list[str] = []
    if mapped:
        sv.append(f"mappa {_joined(mapped, 'sv')} till ett annat konto")
        en.append(f"map {_joined(mapped, 'en')} to another account")
    if upstream:
        sv.append("låt systemet som skickar verifikationen använda ett annat konto")
        en.append("have the system that sends the voucher use another account")
    return " eller ".join(sv), " or ".join(en)


def _dimension_fix(thing_sv: str, thing_en: str, wheres: list[Where]) -> tuple[str, str]:
    """Change a cost centre or project: in the mapping, or also upstream when the sending system named the row."""
    sv_where, en_where = _joined(wheres, "sv"), _joined(wheres, "en")
    if any(where.upstream for where in wheres):
        return (
            f"ändra {thing_sv} för {sv_where} (i mappningen, eller i systemet som skickar verifikationen)",
            f"change the {thing_en} of {en_where} (in the mapping, or in the system that sends the voucher)",
        )
    return f"ändra {thing_sv} i mappningen för {sv_where}", f"change the {thing_en} the mapping gives {en_where}"


class _Collector:
    """Findings keyed by (code, subject), each with every mapping entry that leads to it, in the order found."""

    def __init__(self) -> None:
        self._wheres: dict[tuple[str, str], list[Where]] = {}
        self._what: dict[tuple[str, str], int | str] = {}

    def add(self, code: str, subject: str, what: int | str, where: Where) -> None:
        key = (code, subject)
        self._wheres.setdefault(key, []).append(where)
        self._what.setdefault(key, what)

    def findings(self, year: str) -> list[Finding]:
        return [
            _finding(code, subject, self._what[(code, subject)], wheres, year)
            for (code, subject), wheres in self._wheres.items()
        ]


def posting_findings(postings: Iterable[Posting], setup: FortnoxSetup) -> list[Finding]:
    """What Fortnox checks on every voucher row and invoice row: the account in the year's chart, its settings for
    cost centre and project, and the cost centre and project themselves. Accounts are checked only against a year's
    chart that was read."""
    year = setup.financial_year
    chart = setup.accounts if year is not None and "accounts" not in setup.unread else None
    found = _Collector()
    for posting in postings:
        settings = None
        if chart is not None and posting.account is not None:
            settings = chart.get(posting.account)
            subject = f"account:{posting.account}"
            if settings is None:
                found.add("account_missing", subject, posting.account, posting.where)
            elif not settings.active:
                found.add("account_inactive", subject, posting.account, posting.where)
        _cost_center(found, posting, setup, settings)
        _project(found, posting, setup, settings)
    return found.findings(year.label if year is not None else "")


def _cost_center(found: _Collector, posting: Posting, setup: FortnoxSetup, settings: AccountSetup | None) -> None:
    code = posting.cost_center
    if code and "cost_centers" not in setup.unread:
        if code not in setup.cost_centers:
            found.add("cost_center_missing", f"cost_center:{code}", code, posting.cost_center_from or posting.where)
        elif not setup.cost_centers[code]:
            found.add("cost_center_inactive", f"cost_center:{code}", code, posting.cost_center_from or posting.where)
    if settings is None or posting.account is None:
        return
    if code and settings.cost_center == "NOTALLOWED":
        found.add("cost_center_not_allowed", f"account:{posting.account}", posting.account, posting.where)
    elif not code and settings.cost_center == "MANDATORY":
        found.add("cost_center_required", f"account:{posting.account}", posting.account, posting.where)


def _project(found: _Collector, posting: Posting, setup: FortnoxSetup, settings: AccountSetup | None) -> None:
    number = posting.project
    if number and "projects" not in setup.unread and number not in setup.projects:
        found.add("project_missing", f"project:{number}", number, posting.project_from or posting.where)
    if settings is None or posting.account is None:
        return
    if number and settings.project == "NOTALLOWED":
        found.add("project_not_allowed", f"account:{posting.account}", posting.account, posting.where)
    elif not number and settings.project == "MANDATORY":
        found.add("project_required", f"account:{posting.account}", posting.account, posting.where)


def _finding(code: str, subject: str, what: int | str, wheres: list[Where], year: str) -> Finding:
    sv_where, en_where = _joined(wheres, "sv"), _joined(wheres, "en")
    if code == "account_missing":
        fix_sv, fix_en = _account_fix(wheres)
        return Finding(
            code=code,
            sv=f"Konto {what} finns inte i kontoplanen för {year}. Lägg till det i Fortnox under {CHART[0]}, "
            f"eller {fix_sv}.",
            en=f"Account {what} does not exist in your chart of accounts for {year}. Add it in Fortnox under "
            f"{CHART[1]}, or {fix_en}.",
            subject=subject,
            fortnox_code=2001798,
        )
    if code == "account_inactive":
        fix_sv, fix_en = _account_fix(wheres)
        return Finding(
            code=code,
            sv=f"Konto {what} är inte aktivt i kontoplanen för {year}. Aktivera det för {year} i Fortnox under "
            f"{CHART[0]}, eller {fix_sv}.",
            en=f"Account {what} is not active in your chart of accounts for {year}. Activate it for {year} in "
            f"Fortnox under {CHART[1]}, or {fix_en}.",
            subject=subject,
            fortnox_code=2000550,
        )
    if code == "cost_center_missing":
        return Finding(
            code=code,
            sv=f"Kostnadsställe {what} finns inte i Fortnox. Lägg upp det under {COST_CENTERS[0]}, eller "
            f"{_dimension_fix('kostnadsstället', 'cost centre', wheres)[0]}.",
            en=f"Cost centre {what} does not exist in Fortnox. Create it under {COST_CENTERS[1]}, or "
            f"{_dimension_fix('kostnadsstället', 'cost centre', wheres)[1]}.",
            subject=subject,
            fortnox_code=2000548,
        )
    if code == "cost_center_inactive":
        return Finding(
            code=code,
            sv=f"Kostnadsställe {what} är inte aktivt i Fortnox. Aktivera det under {COST_CENTERS[0]}, eller "
            f"{_dimension_fix('kostnadsstället', 'cost centre', wheres)[0]}.",
            en=f"Cost centre {what} is not active in Fortnox. Activate it under {COST_CENTERS[1]}, or "
            f"{_dimension_fix('kostnadsstället', 'cost centre', wheres)[1]}.",
            subject=subject,
            fortnox_code=2002821,
        )
    if code == "cost_center_required":
        return Finding(
            code=code,
            sv=f"Konto {what} kräver kostnadsställe i Fortnox, men raderna för {sv_where} har inget. Ge dem ett "
            f"i mappningen (platsens kostnadsställe eller standardkostnadsstället), eller ändra kontots "
            f"inställning för kostnadsställe till Tillåten under {CHART[0]}.",
            en=f"Account {what} requires a cost centre in Fortnox, but the rows for {en_where} have none. Give them "
            f"one in the mapping (the location's cost centre or the default cost centre), or set the account's "
            f"cost centre setting to Allowed under {CHART[1]}.",
            subject=subject,
            fortnox_code=2000946,
        )
    if code == "cost_center_not_allowed":
        return Finding(
            code=code,
            sv=f"Konto {what} tillåter inte kostnadsställe i Fortnox, men raderna för {sv_where} har ett. Ta bort "
            f"kostnadsstället för dem i mappningen, eller tillåt kostnadsställe på kontot under {CHART[0]}.",
            en=f"Account {what} does not allow a cost centre in Fortnox, but the rows for {en_where} carry one. "
            f"Remove their cost centre in the mapping, or allow cost centres on the account under {CHART[1]}.",
            subject=subject,
        )
    if code == "project_missing":
        return Finding(
            code=code,
            sv=f"Projekt {what} finns inte i Fortnox. Lägg upp det under {PROJECTS[0]}, eller "
            f"{_dimension_fix('projektet', 'project', wheres)[0]}.",
            en=f"Project {what} does not exist in Fortnox. Create it under {PROJECTS[1]}, or "
            f"{_dimension_fix('projektet', 'project', wheres)[1]}.",
            subject=subject,
            fortnox_code=2001161,
        )
    if code == "project_required":
        return Finding(
            code=code,
            sv=f"Konto {what} kräver projekt i Fortnox, men raderna för {sv_where} har inget. Ge dem ett projekt i "
            f"mappningen, eller ändra kontots inställning för projekt till Tillåten under {CHART[0]}.",
            en=f"Account {what} requires a project in Fortnox, but the rows for {en_where} have none. Give them a "
            f"project in the mapping, or set the account's project setting to Allowed under {CHART[1]}.",
            subject=subject,
        )
    if code == "project_not_allowed":
        return Finding(
            code=code,
            sv=f"Konto {what} tillåter inte projekt i Fortnox, men raderna för {sv_where} har ett. Ta bort "
            f"projektet för dem i mappningen, eller tillåt projekt på kontot under {CHART[0]}.",
            en=f"Account {what} does not allow a project in Fortnox, but the rows for {en_where} carry one. Remove "
            f"their project in the mapping, or allow projects on the account under {CHART[1]}.",
            subject=subject,
        )
    raise ValueError(f"no wording for finding {code}")
