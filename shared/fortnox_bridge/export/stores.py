"""The state one export works with: its ledger, the customer hashes, the tenant's mapping and the PDFs."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from fortnox_bridge.contracts.invoices import S3ObjectRef
from fortnox_bridge.export.customers import CustomerHashes
from fortnox_bridge.store.ledger import ExportLedger
from fortnox_bridge.store.mappings import MappingStore

LEASE = timedelta(minutes=5)
"""How long one worker holds a document: longer than any export of one document takes."""


@dataclass(frozen=True)
class ExportStores:
    ledger: ExportLedger
    hashes: CustomerHashes
    mappings: MappingStore
    read_pdf: Callable[[S3ObjectRef], bytes]
