"""Connected tenants on the bench's stack, made from the bench's own process: one with a service account, and one
a person consented for (its tokens in its Secrets Manager secret, as the hosted connect leaves them)."""

from dataclasses import dataclass
from typing import TYPE_CHECKING

import boto3

from bench.processes import BenchStack
from fortnox_bridge.fortnox.oauth import TokenEndpoint
from fortnox_bridge.ids import FortnoxTenantId, TenantId
from fortnox_bridge.mapping.rules import TenantMapping
from fortnox_bridge.settings import tenant_secret_prefix
from fortnox_bridge.store.connections import Connection, ConnectionStore
from fortnox_bridge.store.mappings import MappingStore
from fortnox_bridge.store.tenants import Tenant, TenantStore
from fortnox_bridge.tokens.secret_store import SecretTokenStore, StoredTokens
from local_stack.demo_vouchers import VOUCHER_MAPPING, prepare_company
from local_stack.moto_server import REGION
from local_stack.onboarding import connect_service_account

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table


@dataclass(frozen=True)
class BenchTenant:
    tenant_id: str
    company: int
    """The Fortnox company (the sandbox's tenant id) the tenant is connected to."""


def _table(stack: BenchStack) -> "Table":
    return boto3.resource("dynamodb", endpoint_url=stack.moto_url, region_name=REGION).Table(
        stack.environment()["TABLE_NAME"]
    )


def connected_tenant(stack: BenchStack, tenant_id: str) -> BenchTenant:
    company = stack.control.create_company(name=f"Bänk {tenant_id} AB")
    connect_service_account(
        _table(stack),
        stack.control,
        stack.app,
        tenant_id=TenantId(tenant_id),
        fortnox_tenant_id=company,
        display_name="Bänk",
    )
    return BenchTenant(tenant_id=tenant_id, company=company)


def connected_person(stack: BenchStack, tenant_id: str) -> BenchTenant:
    company = stack.control.create_company(name=f"Bänk {tenant_id} AB")
    endpoint = TokenEndpoint(
        auth_url=stack.sandbox_url, client_id=stack.app.client_id, client_secret=lambda: stack.app.client_secret
    )
    granted = endpoint.exchange_code(stack.control.consent(stack.app, company), redirect_uri=None)
    tenant = TenantId(tenant_id)
    # Under the stack's own root (issue 12), where its functions look for a tenant's tokens.
    prefix = tenant_secret_prefix(stack.environment()["SECRET_NAME_ROOT"])
    client = boto3.client("secretsmanager", endpoint_url=stack.moto_url, region_name=REGION)
    secrets = SecretTokenStore(client, prefix)
    secrets.write(tenant, StoredTokens.from_token_set(granted))
    table = _table(stack)
    TenantStore(table).put(Tenant(tenant_id=tenant, display_name="Bänk"))
    ConnectionStore(table).bind(
        Connection(
            tenant_id=tenant,
            fortnox_tenant_id=FortnoxTenantId(company),
            company_name=f"Bänk {tenant_id} AB",
            service_account=False,
            scopes=sorted(granted.scopes),
        )
    )
    return BenchTenant(tenant_id=tenant_id, company=company)


def with_vouchers(stack: BenchStack, tenant: BenchTenant) -> None:
    """The tenant's vouchers mapped (the demo's mapping), and its company's chart given the accounts it names."""
    prepare_company(stack.control, tenant.company)
    MappingStore(_table(stack)).put(
        TenantId(tenant.tenant_id), TenantMapping.model_validate({"vouchers": VOUCHER_MAPPING})
    )
