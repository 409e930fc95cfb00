"""Each tenant's mapping, as one item beside its profile. A tenant without one gets the BAS defaults."""

from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from fortnox_bridge.errors import NeedsTenantActionError
from fortnox_bridge.ids import TenantId
from fortnox_bridge.mapping.rules import TenantMapping
from fortnox_bridge.store.table import StoreBase, mapping_key

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table


class StaleMapping(NeedsTenantActionError):
    """A mapping saved before a rule it breaks existed (a bank account as the sales account): save it again."""


def mapping_of(item: dict[str, Any] | None) -> TenantMapping:
    """The mapping a stored item holds (the BAS defaults when there is none)."""
    if not item:
        return TenantMapping()
    try:
        return TenantMapping.model_validate_json(str(item["mapping"]))
    except ValidationError as error:
        problems = "; ".join(issue["msg"] for issue in error.errors())
        raise StaleMapping(
            f"the saved mapping is not valid any more ({problems}); correct it and save it again"
        ) from None


class MappingStore(StoreBase):
    def get(self, tenant: TenantId) -> TenantMapping:
        return mapping_of(self._table.get_item(Key=mapping_key(tenant), ConsistentRead=True).get("Item"))

    def put(self, tenant: TenantId, mapping: TenantMapping) -> None:
        # Stored as JSON text: DynamoDB maps cannot have the integer VAT-rate keys the model uses.
        self._table.put_item(Item={**mapping_key(tenant), "mapping": mapping.model_dump_json()})

    def read_ahead(self, tenant: TenantId, item: dict[str, Any] | None) -> "MappingStore":
        """This store, answering for ``tenant`` with ``item`` as read in the record's batch (``tenant_reads``)."""
        return _ReadAheadMapping(self._table, tenant, item)


class _ReadAheadMapping(MappingStore):
    """The tenant's mapping as read at the start of the record: the export only reads it, so every use within the
    record sees the same one, and the next record reads it anew."""

    def __init__(self, table: "Table", tenant: TenantId, item: dict[str, Any] | None) -> None:
        super().__init__(table)
        self._tenant = tenant
        self._item = item

    def get(self, tenant: TenantId) -> TenantMapping:
        if tenant != self._tenant:
            return super().get(tenant)
        return mapping_of(self._item)
