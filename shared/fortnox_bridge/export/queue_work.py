"""One SQS record of an export queue, from its body to its end. The invoice and voucher handlers differ only in what
they parse, whom they call and what they tell upstream; how a record ends is the same for both.

A record ends in one of four ways: exported (remembered, so a redelivery changes nothing); refused for a reason a
person can fix (explained by the exporter and acknowledged, but not remembered, so the same event works once the
cause is fixed); refused for good (a bad body, an event id reused for other content, or a tenant nobody knows: kept
with its reason); or failed for a passing reason (back to the queue, and on its last delivery the failure is
recorded and published before SQS moves it to the dead-letter queue).
"""

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Generic, Protocol, TypeVar

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyValidationError,
)

from fortnox_bridge import aws, settings, wiring
from fortnox_bridge.contracts.intake import RefusedBody
from fortnox_bridge.events import PublishedEvent
from fortnox_bridge.ids import TenantId
from fortnox_bridge.observability import count, logger
from fortnox_bridge.store.connections import Connection, ConnectionStore
from fortnox_bridge.store.idempotency import EventRecords
from fortnox_bridge.store.rejections import RejectionStore
from fortnox_bridge.store.tenant_reads import TenantReads
from fortnox_bridge.store.tenants import TenantStore


class QueueEvent(Protocol):
    """What the common path needs of an event: its id, its tenant, and its JSON for the idempotency record."""

    @property
    def id(self) -> str: ...

    @property
    def tenant_id(self) -> str: ...

    def model_dump(self, *, mode: str) -> dict[str, Any]: ...


EventT = TypeVar("EventT", bound=QueueEvent)


@dataclass(frozen=True)
class Rejection:
    """Why a message is refused for good (``reason``, kept with the body), in Swedish, and what it names validly."""

    reason: str
    sv: str
    tenant_id: str | None
    event_id: str | None
    names: dict[str, str | None] = field(default_factory=dict)
    """What the kind's failure event says of the document (its upstream number, its business key, ...)."""

    @property
    def en(self) -> str:
        return f"The event was refused: {self.reason}"


ACTION_METRICS = {"created": "Exported", "updated": "Updated", "unchanged": "Unchanged", "superseded": "Superseded"}
"""What an export that went through is counted as (``InvoiceExported``): what the exporter says it did. Only the
first delivery of an event counts; a redelivery is answered from its idempotency record."""


class Refused(Exception):
    """Raised inside the idempotent call when the export was refused, so Powertools deletes its record."""


class QueueWork(ABC, Generic[EventT]):
    """The common path of one export queue's records; a kind says what differs."""

    source: str
    """Where rejections are filed (``invoice_export``)."""
    noun: str
    """What the logs and metrics call the kind's events (``invoice``)."""
    id_namespace: str = ""
    """Prefix of the event ids remembered in the company partition, so two kinds never share an id."""
    reused_hint: tuple[str, str]
    """What needs a new event id, in Swedish and English ("ett ändrat eller nytt dokument", "a changed or new
    document")."""

    @abstractmethod
    def parse(self, body: str) -> EventT:
        """The event in ``body``, or ``RefusedBody``."""

    def read(self, event: EventT) -> TenantReads:
        """What the record needs of its tenant before its idempotency record, which lives in the company its
        connection names. The connection alone unless a kind reads more in the same call."""
        tenant = TenantId(event.tenant_id)
        return TenantReads(tenant, ConnectionStore(wiring.table()).get(tenant))

    @abstractmethod
    def export(self, record: SQSRecord, event: EventT, reads: TenantReads) -> dict[str, Any] | None:
        """Export the event under ``reads.connection``; what Powertools remembers of it, or None when it was
        refused for a fixable reason."""

    @abstractmethod
    def give_up(self, record: SQSRecord, event: EventT, cause: Exception) -> None:
        """Record and publish that the last delivery failed."""

    @abstractmethod
    def failed(self, rejection: Rejection, event_id: str) -> PublishedEvent:
        """The kind's failure event for a rejection."""

    @abstractmethod
    def names(self, event: EventT, connection: Connection | None) -> dict[str, str | None]:
        """What a rejection of a parsed event names of its document."""

    def names_of_body(self, refused: RefusedBody) -> dict[str, str | None]:
        """What a refused body names validly of its document."""
        return {}

    @cached_property
    def _records(self) -> EventRecords:
        return EventRecords(aws.dynamodb_client(), settings.load(settings.TableSettings).table_name)

    @cached_property
    def _max_receive_count(self) -> int:
        return settings.load(settings.QueueSettings).max_receive_count

    def handle(self, record: SQSRecord) -> bool:
        """Work one record: True when its event is in Fortnox (now or by an earlier delivery), False when it was
        refused or rejected, for good or until a person fixes it; a passing failure raises."""
        try:
            event = self.parse(record.body)
        except RefusedBody as refused:
            self._reject(record, self._bad_body(refused))
            return False
        reads = self.read(event)
        connection = reads.connection
        # Only a tenant without a connection can be unknown: the check costs no read on the export path.
        if connection is None and reads.profile is None and TenantStore(wiring.table()).get(reads.tenant_id) is None:
            self._reject(record, self._unknown_tenant(event, connection))
            return False
        try:
            return self._export_once(record, event, reads)
        except Refused:
            return False
        except IdempotencyValidationError:
            self._reject(record, self._reused_id(event, connection))
            return False
        except IdempotencyAlreadyInProgressError:
            raise  # another worker holds it; its outcome is the one that counts
        except Exception as error:
            count(f"{self._metric}Failed")
            if self._last_delivery(record):
                self._give_up(record, event, error)
            raise

    def _export_once(self, record: SQSRecord, event: EventT, reads: TenantReads) -> bool:
        connection = reads.connection

        def export(**_: Any) -> dict[str, Any]:
            remembered = self.export(record, event, reads)
            if remembered is None:
                count(f"{self._metric}Refused")
                raise Refused
            count(f"{self._metric}{ACTION_METRICS.get(str(remembered.get('action')), 'Exported')}")
            return remembered

        if connection is None:
            # Never connected: the exporter refuses it, and there is no company whose records could hold it.
            self.export(record, event, reads)
            count(f"{self._metric}Refused")
            return False
        remembered = {**event.model_dump(mode="json"), "id": f"{self.id_namespace}{event.id}"}
        self._records.once(TenantId(event.tenant_id), connection.fortnox_tenant_id, remembered, export)
        return True

    def _bad_body(self, refused: RefusedBody) -> Rejection:
        return Rejection(
            reason=refused.reason,
            sv=f"Händelsen avvisades (detaljerna på engelska): {refused.reason}",
            tenant_id=refused.tenant_id,
            event_id=refused.event_id,
            names=self.names_of_body(refused),
        )

    def _unknown_tenant(self, event: EventT, connection: Connection | None) -> Rejection:
        tenant, event_id = event.tenant_id, event.id
        return Rejection(
            reason=f"no tenant {tenant} is known to the bridge; check tenant_id",
            sv=f"Händelsen avvisades: ingen kund med tenant_id {tenant} finns i bryggan; kontrollera tenant_id.",
            tenant_id=tenant,
            event_id=event_id,
            names=self.names(event, connection),
        )

    def _reused_id(self, event: EventT, connection: Connection | None) -> Rejection:
        tenant, event_id = event.tenant_id, event.id
        needs_sv, needs_en = self.reused_hint
        return Rejection(
            reason=(
                f"event id {event_id} was already used for an event with other content; {needs_en} needs a new event id"
            ),
            sv=(
                f"Händelsen avvisades: händelse-id {event_id} har redan använts för en händelse med annat innehåll; "
                f"{needs_sv} behöver ett nytt händelse-id."
            ),
            tenant_id=tenant,
            event_id=event_id,
            names=self.names(event, connection),
        )

    def _reject(self, record: SQSRecord, rejection: Rejection) -> None:
        RejectionStore(wiring.table()).record(
            source=self.source,
            message_id=record.message_id,
            tenant_id=rejection.tenant_id,
            body=record.body,
            reason=rejection.reason,
        )
        if rejection.tenant_id is not None:
            wiring.publisher().publish(self.failed(rejection, rejection.event_id or record.message_id))
        count(f"{self._metric}EventRejected")
        # The tenant too: with two records in flight, lines of two tenants interleave.
        logger.warning(
            f"{self.noun} event rejected",
            extra={"message_id": record.message_id, "tenant_id": rejection.tenant_id, "reason": rejection.reason},
        )

    @property
    def _metric(self) -> str:
        return self.noun.capitalize()

    def _last_delivery(self, record: SQSRecord) -> bool:
        return int(record.attributes.get("ApproximateReceiveCount") or 1) >= self._max_receive_count

    def _give_up(self, record: SQSRecord, event: EventT, cause: Exception) -> None:
        """The last delivery failed: say so upstream before SQS moves the message to the dead-letter queue."""
        event_id = event.id
        count(f"{self._metric}EventGivenUp")
        logger.error(
            f"{self.noun} event failed on its last delivery",
            extra={"message_id": record.message_id, "event_id": event_id, "cause": type(cause).__name__},
        )
        try:
            self.give_up(record, event, cause)
        except Exception:  # the message still goes to the dead-letter queue; the first failure is the one to raise
            logger.exception("the failure of the last delivery could not be recorded", extra={"event_id": event_id})
