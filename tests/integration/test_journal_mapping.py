"""A voucher mapping goes through the management API as any mapping does: checked when saved, read back whole (VAT
rates are JSON object keys, strings on the wire), and only ever the tenant's own."""

from typing import Any

import pytest

from tests.resilience.test_connect_links import Management

pytestmark = pytest.mark.integration

VOUCHERS = {
    "series": "K",
    "payment_methods": {"card": 1580, "cash": 1910, "swish": 1930},
    "product_groups": [{"group": "Alkohol", "vat_rate": 25, "account": 3011, "cost_center": "BAR"}],
    "output_vat_accounts": {"25": 2611, "12": 2621, "6": 2631},
    "allow_tips": True,
    "tips_account": 2890,
    "locations": {"kassa-1": {"cost_center": "SOD", "description": "Södermalm"}},
}


@pytest.fixture
def api(gateway: Any) -> Management:
    return Management(gateway.url)


def test_a_voucher_mapping_is_checked_stored_and_read_back_for_its_tenant_only(api: Management, unique: str) -> None:
    # Given two tenants, one of which saves a voucher mapping
    api.tenant(unique)
    api.tenant(f"{unique}-other")
    saved = api.http.put(f"/tenants/{unique}/mapping", json={"vouchers": VOUCHERS})
    assert saved.status_code == 200, saved.text

    # Then it reads back as saved, defaults filled in, VAT rates and all
    vouchers = api.http.get(f"/tenants/{unique}/mapping").json()["vouchers"]
    assert vouchers["series"] == "K"
    assert vouchers["payment_methods"] == VOUCHERS["payment_methods"]
    assert vouchers["output_vat_accounts"] == {"25": 2611, "12": 2621, "6": 2631}
    assert vouchers["default_sales_accounts"] == {"25": 3001, "12": 3002, "6": 3003, "0": 3004}
    assert (vouchers["rounding_account"], vouchers["gift_card_account"]) == (3740, 2420)
    assert vouchers["locations"]["kassa-1"] == {"cost_center": "SOD", "project": None, "description": "Södermalm"}
    # And the other tenant has none
    assert api.http.get(f"/tenants/{unique}-other/mapping").json()["vouchers"] is None


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"payment_methods": {"card": 3001}}, "cannot be where this is booked"),
        ({"product_groups": [{"group": "Alkohol", "account": 1930}]}, "cannot be a sales account"),
        ({"output_vat_accounts": {"25": 2611}}, "no output VAT account"),
        ({"allow_tips": True, "tips_account": None}, "needs a tips_account"),
        ({"description": "{location.__class__}"}, "description names"),
    ],
)
def test_a_voucher_mapping_that_could_not_be_right_is_refused_and_the_saved_one_kept(
    api: Management, unique: str, change: dict[str, Any], reason: str
) -> None:
    api.tenant(unique)
    assert api.http.put(f"/tenants/{unique}/mapping", json={"vouchers": VOUCHERS}).status_code == 200

    refused = api.http.put(f"/tenants/{unique}/mapping", json={"vouchers": {**VOUCHERS, **change}})

    assert refused.status_code == 422
    assert reason in refused.text
    assert api.http.get(f"/tenants/{unique}/mapping").json()["vouchers"]["series"] == "K"
