"""A warm process remembers which Fortnox company each tenant was last connected to, so an invoice reads its
customer's hash in the same call as its tenant. The memory is bounded: a process that has served many tenants
forgets the least recently read, and a forgotten tenant still reads its connection, profile and mapping, only
without the hash (which the exporter then reads on its own).

On moto's table, through the stores that write these items in production."""

import random
from datetime import UTC, datetime
from typing import Any

from fortnox_bridge.export.customers import CustomerHashes
from fortnox_bridge.ids import FortnoxTenantId, TenantId
from fortnox_bridge.mapping.rules import TenantMapping
from fortnox_bridge.store.connections import Connection, ConnectionStore
from fortnox_bridge.store.ledger import ExportScope
from fortnox_bridge.store.mappings import MappingStore
from fortnox_bridge.store.tenant_reads import TenantReader, TenantReads
from fortnox_bridge.store.tenants import Tenant, TenantStore

CUSTOMER = "1042"


def _connected(table: Any, name: str) -> tuple[TenantId, FortnoxTenantId]:
    """A connected tenant with a profile, a mapping and a known customer, in a company of its own."""
    tenant, company = TenantId(name), FortnoxTenantId(random.randrange(900_000_000, 999_999_999))
    TenantStore(table).put(Tenant(tenant_id=tenant, display_name=f"Tenant {name}"))
    ConnectionStore(table).bind(Connection(tenant_id=tenant, fortnox_tenant_id=company, company_name=f"AB {name}"))
    MappingStore(table).put(tenant, TenantMapping())
    CustomerHashes(table).put(ExportScope(tenant, company), CUSTOMER, "hash-of-" + name, datetime.now(UTC))
    return tenant, company


def _hash_read_with_tenant(reads: TenantReads) -> bool:
    """Whether the customer's hash came in the tenant's own read: only when the reader remembered its company."""
    return reads.customer is not None


def _read_correctly(reads: TenantReads, tenant: TenantId, company: FortnoxTenantId) -> None:
    assert reads.connection is not None
    assert reads.connection.fortnox_tenant_id == company
    assert reads.profile is not None and reads.profile.display_name == f"Tenant {tenant}"
    assert reads.mapping_read and reads.mapping is not None


def test_a_reader_remembers_the_most_recently_read_tenants_and_forgets_the_rest(table: Any, unique: str) -> None:
    # Given a reader that remembers two tenants, which has read a and b
    a, b, c = (_connected(table, f"{unique}-{name}") for name in "abc")
    reader = TenantReader(table, remembered=2)
    for tenant, _ in (a, b):
        assert not _hash_read_with_tenant(reader.read(tenant, CUSTOMER))  # never seen: nothing to guess

    # When a is read again (so b is now the least recently read), and then a third tenant
    assert _hash_read_with_tenant(reader.read(a[0], CUSTOMER))
    reader.read(c[0], CUSTOMER)

    # Then b was forgotten, not a: b still reads correctly, only its hash is not in the same call
    first_after = reader.read(b[0], CUSTOMER)
    _read_correctly(first_after, *b)
    assert not _hash_read_with_tenant(first_after)
    # and b, read again, is remembered again, at the cost of a (now the least recently read)
    again = reader.read(b[0], CUSTOMER)
    _read_correctly(again, *b)
    assert again.customer is not None and again.customer.item is not None
    assert (again.customer.company, again.customer.item["hash"]) == (b[1], f"hash-of-{b[0]}")
    assert _hash_read_with_tenant(reader.read(c[0], CUSTOMER))
    assert not _hash_read_with_tenant(reader.read(a[0], CUSTOMER))


def test_a_reader_never_remembers_more_tenants_than_its_bound(table: Any, unique: str) -> None:
    # Given a reader that remembers three tenants, which has read eight, one after the other
    tenants = [_connected(table, f"{unique}-{number}") for number in range(8)]
    reader = TenantReader(table, remembered=3)
    for tenant, company in tenants:
        _read_correctly(reader.read(tenant, CUSTOMER), tenant, company)

    # Then, read again in the same order, each of them is a miss: the five oldest were forgotten, and every miss
    # forgets the oldest of the three it remembered
    for tenant, company in tenants:
        reads = reader.read(tenant, CUSTOMER)
        _read_correctly(reads, tenant, company)
        assert not _hash_read_with_tenant(reads), f"{tenant} was still remembered"
