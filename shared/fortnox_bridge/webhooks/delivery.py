"""One payment event on its way to one tenant's webhook: the message on the webhook queue."""

import json
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from fortnox_bridge.events import PaymentEvent
from fortnox_bridge.ids import TENANT_ID_PATTERN, TenantId


class WebhookDelivery(BaseModel):
    """``body`` is fixed when the event is enqueued: the exact bytes signed and sent on every attempt, so a retry or
    an SQS redelivery carries the same event id and the same content. The destination is not in it: the worker reads
    the tenant's webhook when it delivers, so no receiver URL (which often holds the receiver's token) sits in a
    queue or a dead letter, and a tenant that moved its webhook gets the event at the new one."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    tenant_id: TenantId = Field(pattern=TENANT_ID_PATTERN)
    event_id: str = Field(min_length=1)
    detail_type: str = Field(min_length=1)
    body: str
    created_at: datetime

    @model_validator(mode="before")
    @classmethod
    def _without_url(cls, data: Any) -> Any:
        # Deliveries queued (or dead-lettered) before the URL was left out carry it: read them, and forget it, so
        # whatever is written of them again holds no URL either.
        if isinstance(data, dict) and "url" in data:
            return {name: value for name, value in data.items() if name != "url"}
        return data


def webhook_body(event: PaymentEvent) -> str:
    """``{"id", "type", "data"}``: the id and type beside the event so a receiver dedupes before it parses ``data``."""
    return (
        '{"id":'
        + json.dumps(event.event_id)
        + ',"type":'
        + json.dumps(event.detail_type)
        + ',"data":'
        + event.model_dump_json()
        + "}"
    )


def delivery_for(tenant: TenantId, event: PaymentEvent, now: datetime) -> WebhookDelivery:
    return WebhookDelivery(
        tenant_id=tenant,
        event_id=event.event_id,
        detail_type=event.detail_type,
        body=webhook_body(event),
        created_at=now,
    )
