"""Two polls of one company: a poll whose lease ran out while it read Fortnox, and was taken over by another,
publishes nothing of what it read. Through the poll queue and its handler, the sandbox and moto."""

from datetime import UTC, datetime, timedelta
from typing import Any

import botocore.client
import pytest

from fortnox_bridge.ids import FortnoxTenantId, TenantId
from fortnox_bridge.store.table import payment_sync_key
from tests.paying import PaymentSync

pytestmark = pytest.mark.integration


class _TakenOverWhileReading:
    """Another poll takes the lease over the moment this poll reads its snapshots: as if this one had stalled past
    its lease while Fortnox answered slowly."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, sync: PaymentSync) -> None:
        self.taken = False
        key = payment_sync_key(TenantId(sync.tenant), FortnoxTenantId(sync.company))
        real = botocore.client.BaseClient._make_api_call

        def reading(client: Any, name: str, params: dict[str, Any]) -> Any:
            if not self.taken and name == "GetItem" and "PAYMENTINVOICE#" in str(params):
                self.taken = True
                sync.table.update_item(
                    Key=key,
                    UpdateExpression="SET lease_owner = :other, lease_until = :until",
                    ExpressionAttributeValues={
                        ":other": "another-poll",
                        ":until": (datetime.now(UTC) + timedelta(minutes=10)).isoformat(),
                    },
                )
            return real(client, name, params)

        monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", reading)
        self._key = key

    def other_poll_done(self, sync: PaymentSync) -> None:
        sync.table.update_item(Key=self._key, UpdateExpression="REMOVE lease_owner, lease_until")


def test_a_poll_whose_lease_was_taken_over_publishes_nothing_it_read(
    payment_sync: PaymentSync, monkeypatch: pytest.MonkeyPatch
) -> None:
    invoice = payment_sync.exported_invoice("110300")
    number = payment_sync.pay(invoice, "100.00")
    other = _TakenOverWhileReading(monkeypatch, payment_sync)

    stalled = payment_sync.poll()

    assert other.taken
    assert stalled == []
    assert payment_sync.webhook_deliveries() == []
    other.other_poll_done(payment_sync)
    [event] = payment_sync.poll()
    assert (event["type"], event["payment_number"]) == ("payment.received", number)
    assert payment_sync.poll() == []
