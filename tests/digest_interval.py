"""The failure digest's interval passed by moving the tenant's last e-mail back in time instead of waiting: no timed
tests."""

from datetime import UTC, datetime, timedelta
from typing import Any

from fortnox_bridge.ids import TenantId
from fortnox_bridge.store.table import digest_key


def an_interval_passes(table: Any, tenant: str, minutes: int) -> None:
    """The last e-mail was sent a minute more than ``minutes`` (the tenant's interval) ago."""
    earlier = (datetime.now(UTC) - timedelta(minutes=minutes + 1)).isoformat()
    table.update_item(
        Key=digest_key(TenantId(tenant)),
        UpdateExpression="SET last_sent_at = :earlier",
        ExpressionAttributeValues={":earlier": earlier},
    )
