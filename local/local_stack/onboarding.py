"""A shortcut to a connected service-account tenant, for tests about something other than connecting.

It consents through the sandbox's control API and records the tenant and its connection directly; the hosted
flow itself is exercised by tests/integration/test_connect.py and the browser test.
"""

from typing import Any

from fortnox_bridge.fortnox.oauth import TokenEndpoint
from fortnox_bridge.ids import FortnoxTenantId, TenantId
from fortnox_bridge.store.connections import Connection, ConnectionStore
from fortnox_bridge.store.tenants import Tenant, TenantStore
from fortnox_sandbox.control_client import ALL_SCOPES, AppCredentials, SandboxControl


def connect_service_account(
    table: Any,
    control: SandboxControl,
    app: AppCredentials,
    *,
    tenant_id: TenantId,
    fortnox_tenant_id: int,
    display_name: str,
) -> Connection:
    code = control.consent(app, fortnox_tenant_id, ALL_SCOPES, service_account=True)
    endpoint = TokenEndpoint(
        auth_url=control.base_url, client_id=app.client_id, client_secret=lambda: app.client_secret
    )
    granted = endpoint.exchange_code(code, redirect_uri=None)
    TenantStore(table).put(Tenant(tenant_id=tenant_id, display_name=display_name))
    company = control.company(fortnox_tenant_id)
    connection = Connection(
        tenant_id=tenant_id,
        fortnox_tenant_id=FortnoxTenantId(fortnox_tenant_id),
        company_name=str(company["name"]),
        service_account=True,
        scopes=sorted(granted.scopes),
    )
    ConnectionStore(table).bind(connection)
    return connection
