"""Tenants: who our customers are and what we last learned about their Fortnox company."""

from datetime import UTC, datetime

from pydantic import BaseModel, Field

from fortnox_bridge.ids import FortnoxTenantId, TenantId
from fortnox_bridge.store.table import StoreBase, plain, tenant_key


class CompanyProbe(BaseModel):
    """What a probe saw: enough to tell a tenant whether exports can work today."""

    company_name: str
    organisation_number: str | None
    fortnox_tenant_id: FortnoxTenantId
    financial_year_for_today: bool
    checked_at: datetime = Field(default_factory=lambda: datetime.now(UTC))


class Tenant(BaseModel):
    tenant_id: TenantId
    display_name: str = Field(min_length=1, max_length=200)
    last_probe: CompanyProbe | None = None
    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC))


class TenantStore(StoreBase):
    def get(self, tenant: TenantId) -> Tenant | None:
        item = self._table.get_item(Key=tenant_key(tenant), ConsistentRead=True).get("Item")
        return Tenant.model_validate(plain(item)) if item else None

    def put(self, tenant: Tenant) -> None:
        self._table.put_item(Item={**tenant_key(tenant.tenant_id), **tenant.model_dump(mode="json")})

    def record_probe(self, tenant: TenantId, probe: CompanyProbe) -> None:
        self._table.update_item(
            Key=tenant_key(tenant),
            UpdateExpression="SET last_probe = :probe",
            ConditionExpression="attribute_exists(PK)",
            ExpressionAttributeValues={":probe": probe.model_dump(mode="json")},
        )
