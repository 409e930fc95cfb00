"""Messages refused before export, kept whole with their reason: a bad event fails alone and is never lost."""

from datetime import UTC, datetime

from fortnox_bridge.store.table import StoreBase

MAX_BODY_CHARS = 300_000
"""Below DynamoDB's 400 KB item limit; SQS bodies are at most 256 KB anyway."""


class RejectionStore(StoreBase):
    def record(self, *, source: str, message_id: str, tenant_id: str | None, body: str, reason: str) -> None:
        now = datetime.now(UTC)
        self._table.put_item(
            Item={
                "PK": f"REJECTED#{tenant_id or 'unknown'}",
                "SK": f"{now.isoformat()}#{message_id}",
                "source": source,
                "message_id": message_id,
                "reason": reason[:2000],
                "body": body[:MAX_BODY_CHARS],
                "body_truncated": len(body) > MAX_BODY_CHARS,
                # Kept for a year, then DynamoDB forgets it.
                "expires_at": int(now.timestamp()) + 365 * 24 * 3600,
            }
        )
