"""The tenant probe: can this tenant's exports work today?

It reads the connected Fortnox company, checks that it is still the company the tenant bound, and that a financial
year holds today's date (users often forget to create the new year, and every voucher then fails).
"""

from collections.abc import Callable
from datetime import date

from pydantic import BaseModel, Field

from fortnox_bridge.errors import BadInputError, NeedsTenantActionError
from fortnox_bridge.fortnox.client import FortnoxClient
from fortnox_bridge.ids import TENANT_ID_PATTERN, FortnoxTenantId, TenantId
from fortnox_bridge.store.connections import Connection, ConnectionState, ConnectionStore
from fortnox_bridge.store.tenants import CompanyProbe, TenantStore


class ProbeRequested(BaseModel):
    """The message on the tenant-probe queue."""

    tenant_id: TenantId = Field(min_length=1, max_length=64, pattern=TENANT_ID_PATTERN)


class UnknownTenant(BadInputError):
    pass


class NotConnected(NeedsTenantActionError):
    pass


def probe_tenant(
    tenant_id: TenantId,
    *,
    tenants: TenantStore,
    connections: ConnectionStore,
    client_for: Callable[[Connection], FortnoxClient],
    today: date,
) -> CompanyProbe:
    if tenants.get(tenant_id) is None:
        raise UnknownTenant(f"no tenant {tenant_id}")
    connection = connections.get(tenant_id)
    if connection is None or connection.state is not ConnectionState.CONNECTED:
        raise NotConnected(f"tenant {tenant_id} has no working Fortnox connection")
    with client_for(connection) as client:
        company = client.company_information.get()
        has_year = client.financial_years.for_date(today) is not None if "bookkeeping" in connection.scopes else None
    if company.DatabaseNumber != connection.fortnox_tenant_id:
        raise NeedsTenantActionError(
            f"tenant {tenant_id} is bound to Fortnox company {connection.fortnox_tenant_id}, "
            f"but its access reaches company {company.DatabaseNumber}"
        )
    probe = CompanyProbe(
        company_name=company.CompanyName or "",
        organisation_number=company.OrganizationNumber,
        fortnox_tenant_id=FortnoxTenantId(connection.fortnox_tenant_id),
        financial_year_for_today=has_year,
    )
    tenants.record_probe(tenant_id, probe)
    return probe
