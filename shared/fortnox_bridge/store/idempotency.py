"""Which invoice events were handled, as Powertools idempotency records beside the export state they guard.

Powertools keeps every record in one partition (``idempotency#{function}``) under its own expiry attribute. Ours go
into the partition of the tenant's Fortnox company (``TENANT#{tenant}#CO#{company}``, sort key ``EVENT#{hash}``),
so a tenant that reconnects to another company replays the same event ids there, and they carry ``expires_at``,
the attribute the table's TTL reads, so DynamoDB forgets them.
"""

import threading
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)

from fortnox_bridge.ids import FortnoxTenantId, TenantId
from fortnox_bridge.store.table import company_partition

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

KEPT_FOR = timedelta(days=7)
"""Longer than SQS keeps a message (4 days), so every redelivery of a handled event finds its record."""
EVENT_PREFIX = "EVENT#"
PAYLOAD = "[type, tenant_id, data]"
"""The part of an event whose hash must match for a second delivery of its id to count as the same event."""

IDEMPOTENCY = IdempotencyConfig(
    event_key_jmespath="id",
    # What the event says: the same id with another type, tenant or data (amount, customer) is not a redelivery.
    # The envelope's occurred_at is left out: an outbox that re-publishes stamps the same event anew.
    payload_validation_jmespath=PAYLOAD,
    raise_on_no_idempotency_key=True,
    expires_after_seconds=int(KEPT_FOR.total_seconds()),
)

Work = Callable[..., dict[str, Any]]


class _CompanyPartitioned(DynamoDBPersistenceLayer):
    """Powertools names a record ``{key prefix}#{hash}``; we pass the company partition as the prefix and split it
    back into the table's keys, so one persistence layer (and one boto3 client) serves every tenant.

    Powertools stores the prefix on the layer at every call (``configure`` sets ``function_name``) and reads it back
    when it names the record. Two records handled at once (the invoice export works two at a time) would then name
    one company's record with the other's partition, so the prefix is kept per thread: a call configures and names
    in the thread it runs in. A layer per call would not do: each registers a handler on the shared client."""

    _prefixes = threading.local()

    @property
    def function_name(self) -> str:
        return str(getattr(self._prefixes, "value", ""))

    @function_name.setter
    def function_name(self, value: str) -> None:
        self._prefixes.value = value

    def _get_key(self, idempotency_key: str) -> dict[str, Any]:
        partition, _, digest = idempotency_key.rpartition("#")
        return {"PK": {"S": partition}, "SK": {"S": f"{EVENT_PREFIX}{digest}"}}


class EventRecords:
    def __init__(self, client: "DynamoDBClient", table_name: str) -> None:
        self._persistence = _CompanyPartitioned(
            table_name=table_name,
            key_attr="PK",
            sort_key_attr="SK",
            expiry_attr="expires_at",
            boto3_client=client,
        )
        # Configured here, before any record uses it: Powertools marks a layer configured before it has read the
        # config, so two records configuring it at once let the second use it half built (no key expression).
        # Later calls only set their key prefix (per thread).
        self._persistence.configure(IDEMPOTENCY, key_prefix="unset")

    def once(self, tenant: TenantId, company: FortnoxTenantId, event: dict[str, Any], work: Work) -> dict[str, Any]:
        """``work(event=event)`` unless this company already handled the event: then its stored answer.

        Raises Powertools' ``IdempotencyValidationError`` when the id was handled with other content, and its
        ``IdempotencyAlreadyInProgressError`` while another worker is on it. When ``work`` raises, the record is
        deleted, so whatever made it raise can be fixed and the same event sent again."""
        once = idempotent_function(
            data_keyword_argument="event",
            config=IDEMPOTENCY,
            persistence_store=self._persistence,
            key_prefix=company_partition(tenant, company),
        )(work)
        result: dict[str, Any] = once(event=event)
        return result
