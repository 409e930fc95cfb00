"""Customers by the upstream's sales-ledger number: created when missing, updated only when changed.

The hash of what we last sent is kept per customer and Fortnox company, so an unchanged customer costs no Fortnox
call at all, and a tenant that reconnects to another company creates its customers there.
"""

import hashlib

from botocore.exceptions import ClientError

from fortnox_bridge.contracts.invoices import Customer
from fortnox_bridge.fortnox.client import FortnoxClient
from fortnox_bridge.fortnox.errors import FortnoxBadRequest, FortnoxNotFound
from fortnox_bridge.fortnox.models.customers import CustomerWrite
from fortnox_bridge.store.ledger import ExportScope
from fortnox_bridge.store.table import StoreBase, customer_hash_key

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


class CustomerHashes(StoreBase):
    def get(self, scope: ExportScope, number: str) -> str | None:
        item = self._table.get_item(Key=customer_hash_key(scope.tenant, scope.company, number)).get("Item")
        return str(item["hash"]) if item else None

    def put(self, scope: ExportScope, number: str, value: str) -> None:
        try:
            self._table.put_item(Item={**customer_hash_key(scope.tenant, scope.company, number), "hash": value})
        except ClientError:  # only a cache: the next export compares again and sends one update at most
            return


def upsert_customer(client: FortnoxClient, hashes: CustomerHashes, scope: ExportScope, customer: Customer) -> str:
    body = customer_write(customer)
    digest = fingerprint(body)
    known = hashes.get(scope, customer.customer_number)
    if known == digest:
        return customer.customer_number
    if known is None:
        try:
            client.customers.create(body)
        except FortnoxBadRequest as error:
            if error.code != CUSTOMER_NUMBER_USED:
                raise
            client.customers.update(customer.customer_number, body.model_copy(update={"CustomerNumber": None}))
    else:
        try:
            client.customers.update(customer.customer_number, body.model_copy(update={"CustomerNumber": None}))
        except FortnoxNotFound:
            client.customers.create(body)
    hashes.put(scope, customer.customer_number, digest)
    return customer.customer_number
