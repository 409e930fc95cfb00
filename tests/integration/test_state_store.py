"""The state store on the table deployed from the template into moto: conditional writes where workers race."""

import threading
import time
from datetime import timedelta
from typing import Any

import pytest

from fortnox_bridge.ids import FortnoxTenantId, TenantId
from fortnox_bridge.store.connections import CompanyAlreadyBound, Connection, ConnectionStore
from fortnox_bridge.store.ledger import ExportLedger, ExportScope, ExportState, LeaseHeld
from fortnox_bridge.store.locks import LockStore
from fortnox_bridge.store.tenants import CompanyProbe, Tenant, TenantStore

pytestmark = pytest.mark.integration


def _scope(tenant: str) -> ExportScope:
    return ExportScope(TenantId(tenant), FortnoxTenantId(1))


def test_only_one_of_many_racing_workers_claims_a_document(table: Any, unique: str) -> None:
    ledger = ExportLedger(table)
    for document in range(10):
        winners: list[str] = []
        losers: list[str] = []

        def claim(
            owner: str, key: str = f"1003{document}", winners: list[str] = winners, losers: list[str] = losers
        ) -> None:
            try:
                ledger.claim(_scope(unique), "invoice", key, owner=owner, lease=timedelta(minutes=5))
                winners.append(owner)
            except LeaseHeld:
                losers.append(owner)

        threads = [threading.Thread(target=claim, args=(f"worker-{index}",)) for index in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert (len(winners), len(losers)) == (1, 7), f"document {document}: {winners}"


def test_a_confirmed_document_is_returned_not_claimed_again(table: Any, unique: str) -> None:
    ledger = ExportLedger(table)
    entry = ledger.claim(_scope(unique), "invoice", "7", owner="a", lease=timedelta(minutes=5))
    ledger.mark(entry, ExportState.CONFIRMED, owner="a", fortnox_id="7")
    again = ledger.claim(_scope(unique), "invoice", "7", owner="b", lease=timedelta(minutes=5))
    assert (again.state, again.fortnox_id, again.attempts) == (ExportState.CONFIRMED, "7", 1)


def test_an_expired_lease_can_be_taken_over_and_the_old_holder_cannot_write(table: Any, unique: str) -> None:
    ledger = ExportLedger(table)
    stale = ledger.claim(_scope(unique), "invoice", "9", owner="dead", lease=timedelta(seconds=-1))
    fresh = ledger.claim(_scope(unique), "invoice", "9", owner="alive", lease=timedelta(minutes=5))
    assert fresh.attempts == 2
    with pytest.raises(LeaseHeld):
        ledger.mark(stale, ExportState.SENT, owner="dead")
    ledger.mark(fresh, ExportState.FAILED, owner="alive", error="2001798 Konto 4903 saknas i kontoplanen.")
    stored = ledger.get(_scope(unique), "invoice", "9")
    assert stored is not None
    assert (stored.state, stored.last_error) == (ExportState.FAILED, "2001798 Konto 4903 saknas i kontoplanen.")


def test_a_lock_has_one_holder_until_released_or_expired(table: Any, unique: str) -> None:
    now = [1000.0]
    locks = LockStore(table, clock=lambda: now[0])
    assert locks.acquire(f"refresh-{unique}", owner="a", lease_seconds=30)
    assert not locks.acquire(f"refresh-{unique}", owner="b", lease_seconds=30)
    now[0] += 31
    assert locks.acquire(f"refresh-{unique}", owner="b", lease_seconds=30)
    locks.release(f"refresh-{unique}", owner="a")  # not the holder: nothing happens
    assert not locks.acquire(f"refresh-{unique}", owner="c", lease_seconds=30)
    locks.release(f"refresh-{unique}", owner="b")
    assert locks.acquire(f"refresh-{unique}", owner="c", lease_seconds=30)


def test_a_fortnox_company_is_bound_to_one_tenant_only(table: Any, unique: str) -> None:
    connections = ConnectionStore(table)
    company = FortnoxTenantId(int(time.time() * 1000) % 10**9)
    first = Connection(tenant_id=TenantId(f"{unique}-a"), fortnox_tenant_id=company, company_name="Åkeri AB")
    connections.bind(first)
    connections.bind(first)  # reconnecting the same tenant is fine
    with pytest.raises(CompanyAlreadyBound):
        connections.bind(first.model_copy(update={"tenant_id": TenantId(f"{unique}-b")}))
    stored = connections.get(TenantId(f"{unique}-a"))
    assert stored is not None and stored.company_name == "Åkeri AB"


def test_tenant_probe_results_are_recorded(table: Any, unique: str) -> None:
    tenants = TenantStore(table)
    tenants.put(Tenant(tenant_id=TenantId(unique), display_name="Demo"))
    probe = CompanyProbe(
        company_name="X", organisation_number=None, fortnox_tenant_id=FortnoxTenantId(5), financial_year_for_today=False
    )
    tenants.record_probe(TenantId(unique), probe)
    stored = tenants.get(TenantId(unique))
    assert stored is not None and stored.last_probe == probe


def test_a_transaction_sent_again_with_its_token_is_applied_once_as_dynamodb_does(table: Any, unique: str) -> None:
    """botocore retries a transaction that outlived its read timeout with the same ClientRequestToken; DynamoDB then
    answers as it did the first time. The local moto must too, or the retry fails the first attempt's conditions."""
    client = table.meta.client
    once = {
        "Put": {
            "TableName": table.name,
            "Item": {"PK": f"ONCE#{unique}", "SK": "ONCE"},
            "ConditionExpression": "attribute_not_exists(PK)",
        }
    }
    client.transact_write_items(TransactItems=[once], ClientRequestToken=f"token-{unique}")

    client.transact_write_items(TransactItems=[once], ClientRequestToken=f"token-{unique}")

    with pytest.raises(client.exceptions.TransactionCanceledException):
        client.transact_write_items(TransactItems=[once], ClientRequestToken=f"other-{unique}")
