"""The poll job the fan-out puts on the payment poll queue, one per due tenant."""

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from fortnox_bridge.ids import TENANT_ID_PATTERN, TenantId


class PollRequested(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tenant_id: TenantId = Field(pattern=TENANT_ID_PATTERN)
    due_at: datetime
    """When the schedule found the tenant due; the poll itself reads from the tenant's cursor, whatever this says."""
