"""What one export record needs of its tenant, in one strongly consistent BatchGetItem instead of a GetItem each:
the connection, the profile, the mapping and the customer's hash.

Nothing is kept from one record to the next: a tenant that reconnects, changes its mapping or is disconnected is
seen by the very next record. The one thing remembered per process is which Fortnox company a tenant was last
connected to, because the customer's hash lives in that company's partition and its key must be known before the
connection is read. It is only a guess: the hash read under it counts only when the connection read in the same
batch names the same company; otherwise the hash is read on its own, as it was before. Since a wrong or missing
guess costs only that read, the memory is bounded (the tenants seen most recently) and never grows with the number
of tenants a warm process has served.
"""

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fortnox_bridge.ids import FortnoxTenantId, TenantId
from fortnox_bridge.store.batch_reads import batch_get
from fortnox_bridge.store.connections import Connection
from fortnox_bridge.store.table import Key, connection_key, customer_hash_key, mapping_key, plain, tenant_key
from fortnox_bridge.store.tenants import Tenant

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

REMEMBERED_TENANTS = 1024
"""Tenants whose company one process remembers, the most recently read: a few hundred bytes each, so a few hundred
KB at most of a 512 MB function. A tenant it has forgotten reads its customer's hash on its own once, then is
remembered again."""


@dataclass(frozen=True)
class CustomerRead:
    """A customer's hash item in one company, as read (None: there is none)."""

    company: FortnoxTenantId
    number: str
    item: dict[str, Any] | None


@dataclass(frozen=True)
class TenantReads:
    """A tenant's state as one record found it. ``profile`` and ``mapping_read`` say what was read besides the
    connection: a reader that reads the connection alone leaves them unset."""

    tenant_id: TenantId
    connection: Connection | None
    profile: Tenant | None = None
    mapping_read: bool = False
    mapping: dict[str, Any] | None = None
    """The mapping's item, parsed where it is used (a stale mapping refuses documents, not credits)."""
    customer: CustomerRead | None = None
    """The customer's hash in the connection's company; None when it was not read."""


def _key_of(item: dict[str, Any]) -> tuple[str, str]:
    return str(item["PK"]), str(item["SK"])


def _of(key: Key) -> tuple[str, str]:
    return key["PK"], key["SK"]


class TenantReader:
    """One per process (``wiring.tenant_reader``), for the company each tenant was last seen connected to."""

    def __init__(self, table: "Table", *, remembered: int = REMEMBERED_TENANTS) -> None:
        self._table = table
        self._remembered = remembered
        # Least recently read first: the one forgotten when a new tenant comes and the memory is full.
        self._companies: OrderedDict[TenantId, FortnoxTenantId] = OrderedDict()
        # Two records read at once (the invoice export works two at a time): a move and an eviction interleaved
        # would raise KeyError or drop the wrong tenant.
        self._guard = threading.Lock()

    def read(self, tenant: TenantId, customer_number: str | None) -> TenantReads:
        with self._guard:
            guess = self._companies.get(tenant)
        keys = [connection_key(tenant), tenant_key(tenant), mapping_key(tenant)]
        if customer_number is not None and guess is not None:
            keys.append(customer_hash_key(tenant, guess, customer_number))
        items = {_key_of(item): item for item in batch_get(self._table, keys)}
        connection_item = items.get(_of(connection_key(tenant)))
        profile_item = items.get(_of(tenant_key(tenant)))
        connection = Connection.model_validate(plain(connection_item)) if connection_item else None
        customer = None
        if connection is not None:
            self._remember(tenant, connection.fortnox_tenant_id)
            if customer_number is not None and guess == connection.fortnox_tenant_id:
                key = customer_hash_key(tenant, guess, customer_number)
                customer = CustomerRead(guess, customer_number, items.get(_of(key)))
        return TenantReads(
            tenant_id=tenant,
            connection=connection,
            profile=Tenant.model_validate(plain(profile_item)) if profile_item else None,
            mapping_read=True,
            mapping=items.get(_of(mapping_key(tenant))),
            customer=customer,
        )

    def _remember(self, tenant: TenantId, company: FortnoxTenantId) -> None:
        with self._guard:
            self._companies[tenant] = company
            self._companies.move_to_end(tenant)
            if len(self._companies) > self._remembered:
                self._companies.popitem(last=False)
