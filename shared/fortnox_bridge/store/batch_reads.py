"""Consistent batch reads: a hundred keys a call, and what DynamoDB left unprocessed (throttling) read again."""

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from fortnox_bridge.store.table import Key

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

BATCH_GET_LIMIT = 100
"""Keys DynamoDB accepts in one BatchGetItem."""
BATCH_GET_ATTEMPTS = 8
BATCH_GET_BACKOFF_SECONDS = 0.05


def batch_get(table: "Table", keys: Sequence[Key], attributes: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """The items at ``keys`` that exist, with ``attributes`` only (every attribute when None), in no particular
    order."""
    names = {f"#a{number}": attribute for number, attribute in enumerate(attributes or ())}
    projection = {"ProjectionExpression": ", ".join(names), "ExpressionAttributeNames": names} if names else {}
    found: list[dict[str, Any]] = []
    for start in range(0, len(keys), BATCH_GET_LIMIT):
        request: dict[str, Any] = {
            table.name: {"Keys": list(keys[start : start + BATCH_GET_LIMIT]), "ConsistentRead": True, **projection}
        }
        for attempt in range(BATCH_GET_ATTEMPTS):
            answer = table.meta.client.batch_get_item(RequestItems=request)
            found += answer.get("Responses", {}).get(table.name, [])
            request = answer.get("UnprocessedKeys") or {}
            if not request:
                break
            time.sleep(min(BATCH_GET_BACKOFF_SECONDS * 2**attempt, 1.0))
        else:
            raise RuntimeError(f"DynamoDB left {table.name} keys unread after {BATCH_GET_ATTEMPTS} attempts")
    return found
