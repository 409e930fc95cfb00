"""Issue 13, point 1: an invoice reads its tenant (connection, profile, mapping, customer hash) in one call.

Through the real handler and queue path against the sandbox and moto. Every DynamoDB call the process makes is
counted, whichever client makes it (the table's, and the low-level one Powertools' idempotency writes with). The
rate limiter's window is left out: it has its owner and its own count (DynamoDB calls per Fortnox request,
``bench/rate_limit.py``).
"""

from dataclasses import dataclass
from typing import Any

import pytest
from botocore.client import BaseClient

from local_stack.runner import LocalRunner
from tests.exporting import Export, export

pytestmark = pytest.mark.integration
__all__ = ["export"]  # the fixture, imported so pytest finds it


@dataclass(frozen=True)
class Call:
    operation: str
    items: tuple[str, ...]
    """The sort keys the call names, without their variable part (``EXPORT``, ``EVENT``, ``MAPPING``)."""


def _value(attribute: Any) -> str:
    """An attribute as the table resource passes it (plain) or the low-level client does (typed)."""
    return str(attribute["S"] if isinstance(attribute, dict) else attribute)


def _sort_key(key: dict[str, Any]) -> str:
    return _value(key["SK"]).split("#", 1)[0]


def _keys(params: dict[str, Any]) -> list[dict[str, Any]]:
    if "RequestItems" in params:
        return [key for table in params["RequestItems"].values() for key in table["Keys"]]
    return [params.get("Key") or params.get("Item") or {}]


class DynamoDbCalls:
    """The bridge's DynamoDB calls, but the limiter's window."""

    def __init__(self) -> None:
        self.calls: list[Call] = []

    def record(self, operation: str, params: dict[str, Any]) -> None:
        keys = _keys(params)
        if any(_value(key.get("PK", "")).startswith("RATE#") for key in keys):
            return
        self.calls.append(Call(operation, tuple(sorted(_sort_key(key) for key in keys if "SK" in key))))


@pytest.fixture
def dynamodb_calls(runner: LocalRunner, monkeypatch: pytest.MonkeyPatch) -> DynamoDbCalls:
    """Every DynamoDB call of this process, whichever client makes it: a warm handler keeps the client its
    idempotency records were built with, which an earlier test may have made before this test's clients."""
    calls = DynamoDbCalls()
    make_api_call = BaseClient._make_api_call

    def counted(client: BaseClient, operation: str, params: dict[str, Any]) -> Any:
        if client.meta.service_model.service_name == "dynamodb":
            calls.record(operation, params)
        return make_api_call(client, operation, params)

    monkeypatch.setattr(BaseClient, "_make_api_call", counted)
    return calls


def test_an_invoice_of_a_known_customer_reads_its_tenant_in_one_call(
    export: Export, dynamodb_calls: DynamoDbCalls
) -> None:
    export.send(export.event("100353"))  # the customer's first invoice, and the first this process sees
    dynamodb_calls.calls.clear()

    export.send(export.event("100354"))

    assert len(export.invoices()) == 2
    assert dynamodb_calls.calls == [
        Call("BatchGetItem", ("CONNECTION", "CUSTOMER", "MAPPING", "PROFILE")),
        Call("PutItem", ("EVENT",)),  # the idempotency record, in progress
        Call("UpdateItem", ("EXPORT",)),  # the claim
        Call("UpdateItem", ("EXPORT",)),  # the intent, before the create
        Call("UpdateItem", ("EXPORT",)),  # the Fortnox number, after it
        Call("UpdateItem", ("EVENT",)),  # the idempotency record, done
    ]
