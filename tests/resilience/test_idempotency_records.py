"""Issue 8, point 9 (second part): the record of a handled event expires through the table's TTL attribute and
lives in its tenant's (and Fortnox company's) partition, not in one partition shared by every tenant."""

import time
from datetime import timedelta
from typing import Any

import boto3
import pytest

from tests.exporting import Export

pytestmark = pytest.mark.integration

SEVEN_DAYS = int(timedelta(days=7).total_seconds())


def _items(table: Any, partition: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = table.query(KeyConditionExpression=boto3.dynamodb.conditions.Key("PK").eq(partition))[
        "Items"
    ]
    return items


def test_a_handled_event_is_recorded_in_its_company_partition_and_expires(
    export: Export, table: Any, template: dict[str, Any]
) -> None:
    before = int(time.time())
    export.send(export.event("100353"))
    after = int(time.time())

    partition = f"TENANT#{export.tenant}#CO#{export.company}"
    [record] = [item for item in _items(table, partition) if str(item["SK"]).startswith("EVENT#")]
    assert record["status"] == "COMPLETED"
    assert before + SEVEN_DAYS <= int(record["expires_at"]) <= after + SEVEN_DAYS
    assert "expiration" not in record  # Powertools' own name, which the table's TTL never reads
    [state] = [
        resource["Properties"]
        for name, resource in template["Resources"].items()
        if name.startswith("StateTable") and resource["Type"] == "AWS::DynamoDB::Table"
    ]
    assert state["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
