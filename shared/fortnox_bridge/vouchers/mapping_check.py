"""The preflight's checks over a tenant's whole mapping, so everything can be fixed before the first export.

Every account, cost centre, project and article the mapping can put in Fortnox, and the voucher series, are checked
against the setup of today's financial year with the same rules and words as a voucher's preflight. A mapping entry
is checked with the dimensions it gets when no location rule adds its own (its rule's, else the defaults); a
location's cost centre and project are checked for existence.
"""

from collections.abc import Callable, Iterator
from datetime import date

from pydantic import BaseModel

from fortnox_bridge.connect.service import NotConnected
from fortnox_bridge.fortnox.client import FortnoxClient
from fortnox_bridge.ids import TenantId
from fortnox_bridge.mapping.rules import MappingRule, TenantMapping
from fortnox_bridge.mapping.vouchers import VoucherMapping
from fortnox_bridge.store.connections import Connection, ConnectionState, ConnectionStore
from fortnox_bridge.store.mappings import MappingStore
from fortnox_bridge.store.tenants import TenantStore
from fortnox_bridge.vouchers.preflight import (
    ARTICLES,
    DEFAULT_COST_CENTER,
    DEFAULT_PROJECT,
    Finding,
    Posting,
    Where,
    location_where,
    no_financial_year,
    posting_findings,
    series_findings,
)
from fortnox_bridge.vouchers.setup import SCOPES, FortnoxSetup, Register, read_setup

REGISTER_NAMES: dict[Register, tuple[str, str]] = {
    "accounts": ("kontoplanen och räkenskapsåren", "the chart of accounts and the financial years"),
    "series": ("verifikationsserierna", "the voucher series"),
    "cost_centers": ("kostnadsställena", "the cost centres"),
    "projects": ("projekten", "the projects"),
    "articles": ("artikelregistret", "the article register"),
}


class MappingCheck(BaseModel):
    ok: bool
    checked_on: date
    """The day whose financial year the accounts and series were checked for."""
    findings: list[Finding]


def check_tenant_mapping(
    tenant: TenantId,
    *,
    tenants: TenantStore,
    connections: ConnectionStore,
    mappings: MappingStore,
    client_for: Callable[[Connection], FortnoxClient],
    today: date,
) -> MappingCheck:
    """The tenant's saved mapping checked against its own connected Fortnox company, and nobody else's."""
    tenants.require(tenant)
    connection = connections.get(tenant)
    if connection is None or connection.state is not ConnectionState.CONNECTED:
        state = connection.state.value if connection is not None else "not_connected"
        raise NotConnected(
            f"tenant {tenant} is not connected to Fortnox ({state}): connect it "
            f"(POST /tenants/{tenant}/connect-links), then check the mapping against its Fortnox company"
        )
    mapping = mappings.get(tenant)
    with client_for(connection) as client:
        findings = check_mapping(mapping, client, today)
    return MappingCheck(ok=not findings, checked_on=today, findings=findings)


def check_mapping(mapping: TenantMapping, client: FortnoxClient, today: date) -> list[Finding]:
    """Every finding over ``mapping``, against the tenant's Fortnox as it is for ``today``'s financial year."""
    articles = any(rule.article_number for rule in mapping.rules)
    setup = read_setup(client, today, tolerant=True, with_articles=articles)
    unread: dict[str, list[Register]] = {}
    for register in sorted(setup.unread):
        unread.setdefault(SCOPES[register], []).append(register)
    findings = [not_checked(scope, registers) for scope, registers in unread.items()]
    if setup.financial_year is None and "accounts" not in setup.unread:
        findings.append(no_financial_year(today))
    if mapping.vouchers is not None:
        findings += series_findings(mapping.vouchers.series, setup)
    findings += posting_findings([*invoice_postings(mapping), *voucher_postings(mapping.vouchers)], setup)
    return findings + article_findings(mapping.rules, setup)


def not_checked(scope: str, registers: list[Register]) -> Finding:
    sv = " och ".join(REGISTER_NAMES[register][0] for register in registers)
    en = " and ".join(REGISTER_NAMES[register][1] for register in registers)
    return Finding(
        code="not_checked",
        sv=f"{sv[0].upper()}{sv[1:]} kunde inte kontrolleras: anslutningen saknar behörigheten '{scope}' i Fortnox "
        "(eller företaget saknar licens för den). Anslut igen med den behörigheten för att få det kontrollerat här.",
        en=f"{en[0].upper()}{en[1:]} could not be checked: the connection lacks the '{scope}' permission in Fortnox "
        "(or the company has no licence for it). Connect again with that permission to have it checked here.",
        subject=f"scope:{scope}",
    )


def _rule_where(rule: MappingRule) -> Where:
    names = {
        "article": ("artikel", "article"),
        "service_type": ("tjänstetyp", "service type"),
        "product_group": ("produktgrupp", "product group"),
    }
    sv, en = names[rule.match_on]
    rate = (f" med moms {rule.vat_rate} %", f" at VAT {rule.vat_rate}%") if rule.vat_rate is not None else ("", "")
    return Where(
        f"fakturaregeln för {sv} '{rule.value}'{rate[0]}", f"the invoice rule for {en} '{rule.value}'{rate[1]}"
    )


def invoice_postings(mapping: TenantMapping) -> Iterator[Posting]:
    cost_center, project = mapping.default_cost_center, mapping.default_project
    for rule in mapping.rules:
        yield Posting(rule.account, rule.cost_center or cost_center, rule.project or project, _rule_where(rule))
    for rate, account in sorted(mapping.default_accounts.items()):
        where = Where(f"fakturornas standardkonto för moms {rate} %", f"the invoices' default account for VAT {rate}%")
        yield Posting(account, cost_center, project, where)


def voucher_postings(vouchers: VoucherMapping | None) -> Iterator[Posting]:
    if vouchers is None:
        return
    cost_center, project = vouchers.default_cost_center, vouchers.default_project
    entries: list[tuple[int, Where]] = [
        *(
            (account, Where(f"betalsätt '{method}'", f"payment method '{method}'"))
            for method, account in sorted(vouchers.payment_methods.items())
        ),
        *(
            (
                account,
                Where(f"standardförsäljningskontot för moms {rate} %", f"the default sales account for VAT {rate}%"),
            )
            for rate, account in sorted(vouchers.default_sales_accounts.items())
        ),
        *(
            (account, Where(f"utgående moms {rate} %", f"output VAT {rate}%"))
            for rate, account in sorted(vouchers.output_vat_accounts.items())
        ),
        (vouchers.rounding_account, Where("öresavrundning", "cash rounding")),
        (vouchers.gift_card_account, Where("presentkort", "gift cards")),
        *(
            (account, Where(f"mappningsnyckel '{key}'", f"mapping key '{key}'"))
            for key, account in sorted(vouchers.keys.items())
        ),
    ]
    if vouchers.allow_tips and vouchers.tips_account is not None:
        entries.append((vouchers.tips_account, Where("dricks", "tips")))
    # A default cost centre or project is one mapping entry, named once, not through every account it reaches.
    for account, where in entries:
        yield Posting(
            account, cost_center, project, where, cost_center_from=DEFAULT_COST_CENTER, project_from=DEFAULT_PROJECT
        )
    for rule in vouchers.product_groups:
        rate = (f" med moms {rule.vat_rate} %", f" at VAT {rule.vat_rate}%") if rule.vat_rate is not None else ("", "")
        where = Where(f"produktgrupp '{rule.group}'{rate[0]}", f"product group '{rule.group}'{rate[1]}")
        yield Posting(
            rule.account,
            rule.cost_center or cost_center,
            rule.project or project,
            where,
            cost_center_from=None if rule.cost_center else DEFAULT_COST_CENTER,
            project_from=None if rule.project else DEFAULT_PROJECT,
        )
    for code, location in sorted(vouchers.locations.items()):
        if location.cost_center or location.project:
            yield Posting(None, location.cost_center, location.project, location_where(code))


def article_findings(rules: list[MappingRule], setup: FortnoxSetup) -> list[Finding]:
    if setup.articles is None:
        return []
    wheres: dict[str, list[Where]] = {}
    for rule in rules:
        if rule.article_number and rule.article_number not in setup.articles:
            wheres.setdefault(rule.article_number, []).append(_rule_where(rule))
    return [
        Finding(
            code="article_missing",
            sv=f"Artikel {number} finns inte i Fortnox artikelregister. Lägg upp den under {ARTICLES[0]}, eller "
            f"rätta artikelnumret i {' och '.join(where.sv for where in found)}.",
            en=f"Article {number} is not in the Fortnox article register. Add it under {ARTICLES[1]}, or correct "
            f"the article number in {' and '.join(where.en for where in found)}.",
            subject=f"article:{number}",
            fortnox_code=2001302,
        )
        for number, found in wheres.items()
    ]
