"""Each tenant's mapping, as one item beside its profile. A tenant without one gets the BAS defaults."""

from pydantic import ValidationError

from fortnox_bridge.errors import NeedsTenantActionError
from fortnox_bridge.ids import TenantId
from fortnox_bridge.mapping.rules import TenantMapping
from fortnox_bridge.store.table import StoreBase


def _key(tenant: TenantId) -> dict[str, str]:
    return {"PK": f"TENANT#{tenant}", "SK": "MAPPING"}


class StaleMapping(NeedsTenantActionError):
    """A mapping saved before a rule it breaks existed (a bank account as the sales account): save it again."""


class MappingStore(StoreBase):
    def get(self, tenant: TenantId) -> TenantMapping:
        item = self._table.get_item(Key=_key(tenant), ConsistentRead=True).get("Item")
        if not item:
            return TenantMapping()
        try:
            return TenantMapping.model_validate_json(str(item["mapping"]))
        except ValidationError as error:
            problems = "; ".join(issue["msg"] for issue in error.errors())
            raise StaleMapping(
                f"the saved mapping is not valid any more ({problems}); correct it and save it again"
            ) from None

    def put(self, tenant: TenantId, mapping: TenantMapping) -> None:
        # Stored as JSON text: DynamoDB maps cannot have the integer VAT-rate keys the model uses.
        self._table.put_item(Item={**_key(tenant), "mapping": mapping.model_dump_json()})
