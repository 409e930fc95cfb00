"""Two tenants in one Fortnox company (the second allowed to share it): the same event ids and upstream numbers,
and nothing of one reaches the other's documents or answers."""

from typing import Any

import pytest

from fortnox_bridge.fortnox.oauth import TokenEndpoint
from fortnox_bridge.ids import FortnoxTenantId, TenantId
from fortnox_bridge.store.connections import Connection, ConnectionStore
from fortnox_bridge.store.mappings import MappingStore
from fortnox_bridge.store.tenants import Tenant, TenantSettings, TenantStore
from fortnox_sandbox.control_client import ALL_SCOPES
from tests.exporting import Export

pytestmark = pytest.mark.integration


def _guest(export: Export) -> Export:
    """A second tenant, allowed to share, connected to the first tenant's company as a service account."""
    guest = f"{export.tenant}-g"
    control, app = export.scene.control, export.scene.app
    code = control.consent(app, export.company, ALL_SCOPES, service_account=True)
    granted = TokenEndpoint(
        auth_url=control.base_url, client_id=app.client_id, client_secret=lambda: app.client_secret
    ).exchange_code(code, redirect_uri=None)
    TenantStore(export.table).put(
        Tenant(
            tenant_id=TenantId(guest),
            display_name="Gäst",
            settings=TenantSettings(allow_shared_fortnox_company=True),
        )
    )
    ConnectionStore(export.table).bind(
        Connection(
            tenant_id=TenantId(guest),
            fortnox_tenant_id=FortnoxTenantId(export.company),
            company_name="Sandlådan Åkeri AB",
            service_account=True,
            scopes=sorted(granted.scopes),
        ),
        allow_shared=True,
    )
    MappingStore(export.table).put(TenantId(guest), MappingStore(export.table).get(TenantId(export.tenant)))
    return _twin(export, guest)


def _twin(export: Export, tenant: str) -> Export:
    """The same queue and company, another tenant."""
    twin = object.__new__(Export)
    twin.__dict__.update(export.__dict__)
    twin.tenant = tenant
    return twin


def test_two_tenants_in_one_company_with_the_same_event_ids_and_numbers_each_get_their_own(
    export: Export, events_tap: Any
) -> None:
    guest = _guest(export)
    export.send(export.event("100", event_id="same-id"))
    events_tap.received()

    # The guest sends the same event id and upstream number, then credits it
    guest.send(guest.event("100", event_id="same-id", our_reference="Gästen"))
    guest.send(guest.credit("100", event_id="same-credit"))

    invoices = {invoice["DocumentNumber"]: invoice for invoice in export.invoices()}
    # Fortnox copies the marker onto a credit invoice: the originals are the ones that are not credits
    by_marker = {
        invoice["ExternalInvoiceReference1"]: invoice for invoice in invoices.values() if invoice["Credit"] != "true"
    }
    host = by_marker[f"FB:{export.tenant}:100"]
    visitor = by_marker[f"FB:{guest.tenant}:100"]
    assert (host["OurReference"], host["CreditInvoiceReference"]) == ("Anna Lind", "0")  # untouched
    published = [event.detail for event in events_tap.received()]
    assert visitor["OurReference"] == "Gästen" and visitor["CreditInvoiceReference"] != "0"
    assert invoices[visitor["CreditInvoiceReference"]]["InvoiceReference"] == visitor["DocumentNumber"]
    assert [event for event in published if event.get("reason_en")] == []
    assert {event["tenant_id"] for event in published} == {guest.tenant}
