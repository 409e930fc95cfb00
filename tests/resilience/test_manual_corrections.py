"""Issue 8, point 9 (first bullet): manual correction invoices are numbered upstream (seed 000). With Fortnox
numbering they would be neither numbered upstream nor linked, so that combination is refused when it is saved."""

from typing import Any

import httpx
import pytest

from tests.conftest import LOCAL_API_KEY
from tests.exporting import Export

pytestmark = pytest.mark.integration


def _put_settings(gateway: Any, tenant: str, invoice_export: dict[str, Any]) -> httpx.Response:
    return httpx.put(
        f"{gateway.url}/tenants/{tenant}/settings",
        json={"service_account": True, "invoice_export": invoice_export},
        headers={"x-api-key": LOCAL_API_KEY},
        timeout=30,
    )


def test_manual_corrections_with_fortnox_numbering_are_refused_when_saved(export: Export, gateway: Any) -> None:
    answer = _put_settings(gateway, export.tenant, {"always_manual_correction": True})
    assert answer.status_code == 422
    assert [issue["loc"] for issue in answer.json()["detail"]] == [["body", "invoice_export"]]
    stored = httpx.get(
        f"{gateway.url}/tenants/{export.tenant}/settings", headers={"x-api-key": LOCAL_API_KEY}, timeout=30
    )
    assert stored.json()["invoice_export"]["always_manual_correction"] is False  # nothing half-saved
