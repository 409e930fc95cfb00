"""Issue 8, point 3 (the idempotency parts): a redelivery is recognised by its whole content, not its id alone;
refusals the tenant can fix are not remembered as done; and what was handled is remembered per Fortnox company."""

import json
from typing import Any

import pytest

from fortnox_bridge.ids import TenantId
from fortnox_bridge.store.connections import ConnectionState, ConnectionStore
from fortnox_bridge.store.tenants import Tenant, TenantStore
from local_stack.onboarding import connect_service_account
from tests.exporting import Export, rejected

pytestmark = pytest.mark.integration


def _failed(events_tap: Any) -> list[dict[str, Any]]:
    return [event.detail for event in events_tap.received() if event.detail_type == "invoice.export_failed"]


def _reconnect(export: Export, company: int) -> None:
    connect_service_account(
        export.table,
        export.scene.control,
        export.scene.app,
        tenant_id=TenantId(export.tenant),
        fortnox_tenant_id=company,
        display_name="Åkeri",
    )


def test_an_event_id_reused_for_other_content_is_refused_loudly(export: Export, table: Any, events_tap: Any) -> None:
    first = export.event("100353", event_id="evt-1")
    export.send(first, first)  # a true redelivery: silent
    assert rejected(table, export.tenant) == [] and _failed(events_tap) == []

    outcomes = export.send(export.event("100353", event_id="evt-1", our_reference="Någon annan"))

    assert [(outcome.received, outcome.failed) for outcome in outcomes] == [(1, 0)]
    [invoice] = export.invoices()
    assert invoice["OurReference"] == "Anna Lind"  # the other content was not applied
    [kept] = rejected(table, export.tenant)
    assert "event id evt-1 was already used for an event with other content" in kept["reason"]
    assert json.loads(kept["body"])["data"]["our_reference"] == "Någon annan"  # kept whole
    [failed] = _failed(events_tap)
    assert (failed["event_id"], failed["invoice_number"]) == ("evt-1", "100353")
    assert "evt-1 was already used" in failed["reason_en"]


def test_a_credit_reusing_an_invoice_events_id_is_refused_loudly(export: Export, table: Any, events_tap: Any) -> None:
    export.send(export.event("8812", event_id="evt-2"))
    credit = {
        "type": "invoice.credited",
        "id": "evt-2",
        "tenant_id": export.tenant,
        "occurred_at": "2024-10-01T08:00:00Z",
        "data": {"invoice_number": "8812"},
    }
    export.send(credit)
    [invoice] = export.invoices()
    assert invoice["CreditInvoiceReference"] in (None, "", "0")
    [kept] = rejected(table, export.tenant)
    assert json.loads(kept["body"])["type"] == "invoice.credited"
    assert [failed["event_id"] for failed in _failed(events_tap)] == ["evt-2"]


def test_an_inactive_account_fixed_then_redelivered_twenty_times_makes_one_invoice(
    export: Export, events_tap: Any
) -> None:
    export.scene.control.patch_account(export.company, 3041, Active=False)
    event = export.event("9001")
    export.send(event)
    assert export.invoices() == []
    assert [failed["fortnox_code"] for failed in _failed(events_tap)] == [2000550]

    export.scene.control.patch_account(export.company, 3041, Active=True)
    export.send(*[event] * 20)

    assert len(export.invoices()) == 1
    assert _failed(events_tap) == []


def test_a_tenant_that_connects_after_its_event_was_refused_gets_it(
    export: Export, deployed: Any, table: Any, events_tap: Any, unique: str
) -> None:
    tenant = f"{unique}-late"
    TenantStore(table).put(Tenant(tenant_id=TenantId(tenant), display_name="Sent ansluten"))
    late = Export(export.runner, deployed, export.scene, table, tenant, export.scene.new_company("Sen AB"))
    event = late.event("9101")
    late.send(event)
    assert "not connected" in _failed(events_tap)[0]["reason_en"]

    _reconnect(late, late.company)
    late.send(event)

    assert len(late.invoices()) == 1


def test_a_lost_connection_reconnected_then_the_same_event_exports(export: Export, events_tap: Any) -> None:
    ConnectionStore(export.table).mark(
        TenantId(export.tenant), ConnectionState.NEEDS_RECONNECT, "Fortnox refused the refresh token"
    )
    event = export.event("9201")
    export.send(event)
    assert export.invoices() == [] and len(_failed(events_tap)) == 1

    _reconnect(export, export.company)
    export.send(*[event] * 20)

    assert len(export.invoices()) == 1


def test_after_a_reconnect_to_another_company_the_same_events_export_there(export: Export) -> None:
    event = export.event("100353")
    export.send(event)
    second = export.scene.new_company("Andra Bolaget AB")
    _reconnect(export, second)

    export.send(event)

    assert len(export.scene.control.company(second)["invoices"]) == 1
    assert len(export.invoices()) == 1  # the first company got nothing more
