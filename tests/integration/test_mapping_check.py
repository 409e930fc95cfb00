"""GET /tenants/{id}/mapping/check: the preflight's checks over the whole mapping, before the first export.

Through the local API gateway and the management Lambda, against the tenant's own company in the sandbox.
"""

from typing import Any

import httpx
import pytest

from fortnox_bridge.fortnox.oauth import TokenEndpoint
from fortnox_bridge.ids import FortnoxTenantId, TenantId
from fortnox_bridge.mapping.rules import MappingRule, TenantMapping
from fortnox_bridge.mapping.vouchers import LocationRule, ProductGroupRule, VoucherMapping
from fortnox_bridge.store.connections import Connection, ConnectionState, ConnectionStore
from fortnox_bridge.store.mappings import MappingStore
from fortnox_bridge.store.tenants import Tenant, TenantStore
from local_stack.onboarding import connect_service_account
from tests.conftest import LOCAL_API_KEY, Scene
from tests.exporting import Export, export

pytestmark = pytest.mark.integration
__all__ = ["export"]  # the fixture, imported so pytest finds it

INVOICE_ONLY_SCOPES = "companyinformation customer invoice order inbox connectfile"
"""What a tenant with only invoice export consents to (connect/scopes.py)."""


def _vouchers(**changes: Any) -> VoucherMapping:
    """Against the sandbox's BAS chart: its output VAT accounts are 2610/2620/2630."""
    values: dict[str, Any] = {
        "payment_methods": {"card": 1930, "swish": 1930},
        "product_groups": [ProductGroupRule(group="Drinks", account=3001)],
        "output_vat_accounts": {25: 2610, 12: 2620, 6: 2630},
        "locations": {"kassa-1": LocationRule(cost_center="STHLM", project="P100")},
    }
    values.update(changes)
    return VoucherMapping(**values)


@pytest.fixture
def management(gateway: Any) -> httpx.Client:
    return httpx.Client(base_url=gateway.url, headers={"x-api-key": LOCAL_API_KEY}, timeout=60)


@pytest.fixture
def company(export: Export) -> int:
    """The tenant's company, with the gift-card account BAS has and the sandbox's chart subset lacks."""
    export.scene.control.patch_account(export.company, 2420, Active=True, Description="Förskott från kunder")
    return export.company


def _check(management: httpx.Client, tenant: str) -> httpx.Response:
    return management.get(f"/tenants/{tenant}/mapping/check")


def test_a_mapping_that_fits_the_company_is_ok(export: Export, company: int, management: httpx.Client) -> None:
    MappingStore(export.table).put(
        TenantId(export.tenant),
        TenantMapping(
            rules=[MappingRule(match_on="service_type", value="FREIGHT", account=3041, cost_center="GBG")],
            vouchers=_vouchers(),
        ),
    )

    answer = _check(management, export.tenant)

    assert answer.status_code == 200, answer.text
    assert answer.json()["ok"] is True and answer.json()["findings"] == []


def test_a_mapping_with_several_problems_lists_each_with_its_fix(
    export: Export, company: int, management: httpx.Client
) -> None:
    export.scene.control.patch_account(company, 1930, CostCenterSettings="MANDATORY")
    MappingStore(export.table).put(
        TenantId(export.tenant),
        TenantMapping(
            rules=[
                MappingRule(
                    match_on="service_type", value="FREIGHT", account=3990, article_number="NOPE", cost_center="36"
                ),
                MappingRule(match_on="service_type", value="FUEL", account=3041, project="P404"),
            ],
            vouchers=_vouchers(
                series="F",
                payment_methods={"card": 1930, "swish": 1930, "bank": 1950},
                locations={"kassa-2": LocationRule(cost_center="UND")},
            ),
        ),
    )

    answer = _check(management, export.tenant)

    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["ok"] is False
    found = {(finding["code"], finding["subject"]): finding for finding in body["findings"]}
    assert sorted(found) == [
        ("account_inactive", "account:1950"),
        ("account_missing", "account:3990"),
        ("article_missing", "article:NOPE"),
        ("cost_center_inactive", "cost_center:UND"),
        ("cost_center_missing", "cost_center:36"),
        ("cost_center_required", "account:1930"),
        ("project_missing", "project:P404"),
        ("series_not_manual", "series:F"),
    ]
    assert (
        "map the invoice rule for service type 'FREIGHT' to another account"
        in found[("account_missing", "account:3990")]["en"]
    )
    assert "map payment method 'bank' to another account" in found[("account_inactive", "account:1950")]["en"]
    assert (
        "the rows for payment method 'card' and payment method 'swish' have none"
        in found[("cost_center_required", "account:1930")]["en"]
    )
    assert "location 'kassa-2'" in found[("cost_center_inactive", "cost_center:UND")]["en"]
    assert (
        "rätta artikelnumret i fakturaregeln för tjänstetyp 'FREIGHT'"
        in found[("article_missing", "article:NOPE")]["sv"]
    )
    assert {finding["fortnox_code"] for finding in body["findings"]} == {
        2000550,
        2001798,
        2001302,
        2002821,
        2000548,
        2000946,
        2001161,
        2001940,
    }
    # Read only: the check posts nothing to the company.
    assert [row for row in export.scene.control.requests(company) if row["method"] != "GET"] == []


def test_the_check_reads_the_tenant_s_own_company_and_no_other(
    export: Export, company: int, management: httpx.Client, scene: Scene, table: Any, unique: str
) -> None:
    """Two tenants, each connected to its own company: checking one reads that company only, and answers for its
    mapping only."""
    other_company = scene.new_company("Grannens Café AB")
    scene.control.patch_account(other_company, 2420, Active=True, Description="Förskott från kunder")
    other = f"{unique}-other"
    connect_service_account(
        table, scene.control, scene.app, tenant_id=TenantId(other), fortnox_tenant_id=other_company, display_name="B"
    )
    MappingStore(table).put(TenantId(other), TenantMapping(vouchers=_vouchers(series="F")))
    MappingStore(table).put(TenantId(export.tenant), TenantMapping(vouchers=_vouchers()))
    before = len(scene.control.requests(other_company))

    mine = _check(management, export.tenant)

    assert mine.json() == {"ok": True, "checked_on": mine.json()["checked_on"], "findings": []}
    assert len(scene.control.requests(other_company)) == before
    theirs = _check(management, other)
    assert [finding["subject"] for finding in theirs.json()["findings"]] == ["series:F"]


def test_a_tenant_without_a_connection_gets_a_clear_answer(
    management: httpx.Client, table: Any, unique: str, runner: Any
) -> None:
    TenantStore(table).put(Tenant(tenant_id=TenantId(unique), display_name="Ej ansluten"))

    answer = _check(management, unique)

    assert answer.status_code == 409
    assert answer.json()["error"] == "not_connected"
    assert f"POST /tenants/{unique}/connect-links" in answer.json()["message"]
    assert _check(management, f"{unique}-nobody").status_code == 404
    assert _check(management, "bad%0Aid").status_code == 422


def test_a_lost_connection_is_not_checked(export: Export, management: httpx.Client) -> None:
    ConnectionStore(export.table).mark(TenantId(export.tenant), ConnectionState.REVOKED, "disconnected on request")
    before = len(export.scene.control.requests(export.company))

    answer = _check(management, export.tenant)

    assert answer.status_code == 409 and "revoked" in answer.json()["message"]
    assert len(export.scene.control.requests(export.company)) == before


def test_registers_the_connection_may_not_read_are_named_not_skipped_silently(
    management: httpx.Client, scene: Scene, table: Any, unique: str, runner: Any
) -> None:
    """A tenant connected for invoice export only: Fortnox refuses the chart, cost centres, projects and articles
    to it (2000663), so the check says what it could not check and which permission that takes."""
    company = scene.new_company("Bara Fakturor AB")
    code = scene.control.consent(scene.app, company, INVOICE_ONLY_SCOPES, service_account=True)
    endpoint = TokenEndpoint(
        auth_url=scene.control.base_url, client_id=scene.app.client_id, client_secret=lambda: scene.app.client_secret
    )
    granted = endpoint.exchange_code(code, redirect_uri=None)
    TenantStore(table).put(Tenant(tenant_id=TenantId(unique), display_name="Fakturor"))
    ConnectionStore(table).bind(
        Connection(
            tenant_id=TenantId(unique),
            fortnox_tenant_id=FortnoxTenantId(company),
            company_name="Bara Fakturor AB",
            service_account=True,
            scopes=sorted(granted.scopes),
        )
    )
    MappingStore(table).put(
        TenantId(unique),
        TenantMapping(rules=[MappingRule(match_on="article", value="A1", account=3001, article_number="A1")]),
    )

    answer = _check(management, unique)

    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["ok"] is False
    assert sorted((finding["code"], finding["subject"]) for finding in body["findings"]) == [
        ("not_checked", "scope:article"),
        ("not_checked", "scope:bookkeeping"),
        ("not_checked", "scope:costcenter"),
        ("not_checked", "scope:project"),
    ]
    bookkeeping = next(finding for finding in body["findings"] if finding["subject"] == "scope:bookkeeping")
    assert bookkeeping["en"].startswith(
        "The chart of accounts and the financial years and the voucher series could not be checked: the connection "
        "lacks the 'bookkeeping' permission"
    )


def test_a_bad_minute_at_fortnox_answers_try_again_not_a_verdict(
    export: Export, company: int, management: httpx.Client
) -> None:
    """Fortnox answers 500 to every try of the cost-centre read: the check says try again rather than pass or fail
    the mapping on half a setup; asked again, it answers."""
    MappingStore(export.table).put(TenantId(export.tenant), TenantMapping(vouchers=_vouchers()))
    export.scene.control.fault("500", count=5, method="GET", path_prefix="/3/costcenters")

    answer = _check(management, export.tenant)

    assert answer.status_code == 503 and answer.json()["error"] == "try_again"
    assert _check(management, export.tenant).json()["ok"] is True
