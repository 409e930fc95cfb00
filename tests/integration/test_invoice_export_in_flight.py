"""Two records of a batch in flight at once, through the real handler and queue path: a second invoice's create goes
while the first one's is on its way, a credit still waits for its invoice, and two tenants' records handled at the
same moment each land in their own company's records."""

import threading
from typing import Any

import pytest
from werkzeug.wrappers import Request, Response

from fortnox_bridge.ids import TenantId
from fortnox_bridge.store.mappings import MappingStore
from local_stack.onboarding import connect_service_account
from tests.conftest import Scene
from tests.exporting import Export, export, freight_mapping
from tests.sandbox_front import Dispatch, Pairs, in_front, is_create, to_customer

pytestmark = pytest.mark.integration
__all__ = ["export", "in_front"]  # the fixture, imported so pytest finds it


def test_a_batch_has_two_invoice_creates_on_their_way_at_once(export: Export, in_front: Any) -> None:
    pairs = Pairs(alone_after=5)
    in_front(pairs)
    outcome = export.deliver_once(*(to_customer(f"K{n}", export.event(str(n))) for n in range(200, 204)))

    assert (outcome.received, outcome.failed) == (4, 0)
    assert pairs.alone == 0  # one record at a time, every create would have waited alone
    assert len(export.invoices()) == 4


def test_invoices_to_one_customer_wait_only_for_the_first_to_name_it(export: Export, in_front: Any) -> None:
    pairs = Pairs(alone_after=1)
    in_front(pairs)
    outcome = export.deliver_once(*(to_customer("K-ONE", export.event(str(n))) for n in range(210, 215)))

    assert (outcome.received, outcome.failed) == (5, 0)
    # The first creates the customer alone; the four after it go two by two, and the customer is created once and
    # never updated (its hash is known after the first).
    assert pairs.alone == 1
    customer_calls = [
        (row["method"], row["path"])
        for row in export.scene.control.requests(export.company)
        if row["path"].startswith("/3/customers")
    ]
    assert customer_calls == [("POST", "/3/customers")]


def test_a_credit_note_in_the_same_batch_waits_for_its_invoice(export: Export, in_front: Any) -> None:
    note_first = threading.Event()
    note_sent = threading.Event()

    def hold_the_invoice(request: Request, dispatch: Dispatch) -> Response:
        if is_create(request) and b"Kreditfaktura" in request.get_data():
            note_sent.set()
        elif is_create(request) and note_sent.wait(1.0):
            # Held until the credit note's create arrives beside it (it must not) or a second passes.
            note_first.set()
        return dispatch(request)

    in_front(hold_the_invoice)
    outcome = export.deliver_once(export.event("300"), export.credit_note("301", credits="300"))

    assert (outcome.received, outcome.failed) == (2, 0)
    assert not note_first.is_set()
    original, correction = export.invoices()
    assert correction["InvoiceReference"] == original["DocumentNumber"] and correction["Credit"] == "true"


def test_a_customer_event_and_an_invoice_to_that_customer_keep_their_order(export: Export, in_front: Any) -> None:
    invoice_first = threading.Event()
    invoice_sent = threading.Event()

    def hold_the_customer(request: Request, dispatch: Dispatch) -> Response:
        if is_create(request):
            invoice_sent.set()
        elif request.path.startswith("/3/customers") and request.method in ("POST", "PUT") and invoice_sent.wait(1.0):
            invoice_first.set()
        return dispatch(request)

    in_front(hold_the_customer)
    customer = export.customer("evt-customer-7001", customer_number="7001", name="Nya Kunden AB")
    invoice = export.event("500", customer={**export.event()["data"]["customer"], "customer_number": "7001"})
    outcome = export.deliver_once(customer, invoice)

    assert (outcome.received, outcome.failed) == (2, 0)
    assert not invoice_first.is_set()
    customer_calls = [
        row for row in export.scene.control.requests(export.company) if row["path"].startswith("/3/customers")
    ]
    assert [row["status"] < 300 for row in customer_calls] == [True] * len(customer_calls)


def test_two_tenants_at_the_same_moment_keep_their_own_records(
    export: Export, scene: Scene, table: Any, unique: str, in_front: Any
) -> None:
    other_tenant = f"{unique}-b"
    other_company = scene.new_company("Andra Åkeriet AB")
    connect_service_account(
        table,
        scene.control,
        scene.app,
        tenant_id=TenantId(other_tenant),
        fortnox_tenant_id=other_company,
        display_name="Andra",
    )
    MappingStore(table).put(TenantId(other_tenant), freight_mapping())
    in_front(Pairs())
    mine = export.event("400", event_id="evt-same-moment-a")
    theirs = {**export.event("400", event_id="evt-same-moment-b"), "tenant_id": other_tenant}
    first = export.deliver_once(mine, theirs)
    assert (first.received, first.failed) == (2, 0)

    # Delivered again (SQS does that): each is answered from its own company's record, nothing is sent twice.
    again = export.deliver_once(mine, theirs)
    assert (again.received, again.failed) == (2, 0)
    creates = [row["tenant_id"] for row in scene.control.requests() if _is_create_row(row)]
    assert sorted(creates) == sorted([export.company, other_company])


def _is_create_row(row: dict[str, Any]) -> bool:
    return bool(row["method"] == "POST" and row["path"] == "/3/invoices" and row["status"] < 300)
