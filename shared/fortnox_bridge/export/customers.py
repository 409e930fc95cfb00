"""Customers by the upstream's sales-ledger number: created when missing, updated only when changed, never moved
back to older data.

The hash of what we last sent is kept per customer and Fortnox company, so an unchanged customer costs no Fortnox
call at all, and a tenant that reconnects to another company creates its customers there. Beside it is the
``occurred_at`` of the newest event whose customer data was applied: customer data from an older event (a
customer.upserted redelivered late, or an old invoice carrying the address the customer had then) is skipped.
"""

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from fortnox_bridge.contracts.invoices import Customer
from fortnox_bridge.export.instants import instant, stamp
from fortnox_bridge.fortnox.client import FortnoxClient
from fortnox_bridge.fortnox.errors import FortnoxBadRequest, FortnoxNotFound
from fortnox_bridge.fortnox.models.customers import CustomerWrite
from fortnox_bridge.fortnox.retry import IN_DOUBT
from fortnox_bridge.ids import TenantId
from fortnox_bridge.observability import logger
from fortnox_bridge.store.ledger import ExportScope
from fortnox_bridge.store.table import StoreBase, customer_hash_key, is_condition_failure
from fortnox_bridge.store.tenant_reads import CustomerRead

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

CUSTOMER_NUMBER_USED = 2000637


def customer_write(customer: Customer) -> CustomerWrite:
    return CustomerWrite(
        CustomerNumber=customer.customer_number,
        Name=customer.name,
        OrganisationNumber=customer.organisation_number,
        Type="PRIVATE" if customer.type == "private" else "COMPANY",
        Address1=customer.address1,
        Address2=customer.address2,
        ZipCode=customer.zip_code,
        City=customer.city,
        CountryCode=customer.country_code,
        Email=customer.email,
        EmailInvoice=customer.email,
        VATNumber=customer.vat_number,
        Currency=customer.currency,
    )


def fingerprint(body: CustomerWrite) -> str:
    return hashlib.sha256(body.model_dump_json(exclude_none=True).encode()).hexdigest()


@dataclass(frozen=True)
class KnownCustomer:
    digest: str | None
    """What we last sent; None when it is not known to be in Fortnox as sent."""
    applied_at: datetime | None
    """``occurred_at`` of the newest event whose customer data is in Fortnox."""


def known_customer(item: dict[str, Any] | None) -> KnownCustomer | None:
    if not item:
        return None
    applied = item.get("applied_at")
    return KnownCustomer(
        str(item["hash"]) if "hash" in item else None,
        datetime.fromisoformat(str(applied)) if applied else None,
    )


class CustomerHashes(StoreBase):
    def get(self, scope: ExportScope, number: str) -> KnownCustomer | None:
        return known_customer(
            self._table.get_item(Key=customer_hash_key(scope.tenant, scope.company, number)).get("Item")
        )

    def read_ahead(self, tenant: TenantId, read: CustomerRead) -> "CustomerHashes":
        """These hashes, answering the first question about ``read``'s customer with what the record's batch read
        (``store/tenant_reads.py``)."""
        return _ReadAheadHashes(self._table, tenant, read)

    def put(self, scope: ExportScope, number: str, value: str, applied_at: datetime) -> None:
        """Record what was sent, unless a newer event's data was recorded meanwhile. Then our write to Fortnox may
        have landed after the newer one, so the hash is dropped: the next export compares and sends again."""
        key = customer_hash_key(scope.tenant, scope.company, number)
        try:
            self._table.put_item(
                Item={**key, "hash": value, "applied_at": stamp(applied_at)},
                ConditionExpression="attribute_not_exists(applied_at) OR applied_at <= :at",
                ExpressionAttributeValues={":at": stamp(applied_at)},
            )
        except ClientError as error:  # only a cache: the next export compares again and sends one update at most
            if is_condition_failure(error):
                self._forget_hash(key)

    def seen(self, scope: ExportScope, number: str, applied_at: datetime) -> None:
        """Unchanged data from a newer event: what Fortnox holds is now known as of that event."""
        try:
            self._table.update_item(
                Key=customer_hash_key(scope.tenant, scope.company, number),
                UpdateExpression="SET applied_at = :at",
                ConditionExpression="attribute_exists(PK) AND (attribute_not_exists(applied_at) OR applied_at < :at)",
                ExpressionAttributeValues={":at": stamp(applied_at)},
            )
        except ClientError:  # a newer one is recorded, or the cache is unavailable: both leave it correct
            return

    def _forget_hash(self, key: dict[str, str]) -> None:
        try:
            self._table.update_item(
                Key=key, UpdateExpression="REMOVE #hash", ExpressionAttributeNames={"#hash": "hash"}
            )
        except ClientError:
            return


class _ReadAheadHashes(CustomerHashes):
    """The hash read at the start of the record, a moment before the claim: as good as the read it replaces, which
    took no lock either (hashes are shared by every document of the customer and only ever a cache: the writes are
    conditional on ``applied_at``), and stronger (a consistent read). Served once: anything asked after a write
    reads the table."""

    def __init__(self, table: "Table", tenant: TenantId, read: CustomerRead) -> None:
        super().__init__(table)
        self._tenant = tenant
        self._read: CustomerRead | None = read

    def get(self, scope: ExportScope, number: str) -> KnownCustomer | None:
        read, self._read = self._read, None
        if read is not None and (scope.tenant, scope.company, number) == (self._tenant, read.company, read.number):
            return known_customer(read.item)
        return super().get(scope, number)


def upsert_customer(
    client: FortnoxClient, hashes: CustomerHashes, scope: ExportScope, customer: Customer, occurred_at: datetime
) -> str:
    """The customer as of ``occurred_at``; data older than what Fortnox already holds is skipped, and the
    document that carried it still names the customer by number."""
    number = customer.customer_number
    at = instant(occurred_at)
    known = hashes.get(scope, number)
    if known is not None and known.applied_at is not None and at < known.applied_at:
        logger.info("older customer data skipped", extra={"tenant_id": scope.tenant, "customer": number})
        return number
    body = customer_write(customer)
    digest = fingerprint(body)
    if known is not None and known.digest == digest:
        if known.applied_at is None or at > known.applied_at:
            hashes.seen(scope, number, at)
        return number
    if known is None:
        try:
            client.customers.create(body)
        except FortnoxBadRequest as error:
            if error.code != CUSTOMER_NUMBER_USED:
                raise
            client.customers.update(number, body.model_copy(update={"CustomerNumber": None}))
        except IN_DOUBT as doubt:
            # Fortnox may have created it (a lost answer, or a server error in its place): the update that makes
            # sure of what we sent finds it, or is refused as not found and the create is tried again later.
            try:
                client.customers.update(number, body.model_copy(update={"CustomerNumber": None}))
            except FortnoxNotFound:
                raise doubt from None
    else:
        try:
            client.customers.update(number, body.model_copy(update={"CustomerNumber": None}))
        except FortnoxNotFound:
            client.customers.create(body)
    hashes.put(scope, number, digest, at)
    return number
