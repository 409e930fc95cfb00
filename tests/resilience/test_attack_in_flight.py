"""Attacking the invoice export's two records in flight (``export/in_flight.py``) through the real handler and queue
path: a careless upstream that pads a number, the same event id twice in one batch, a cold process whose first two
records arrive together, a person's token that expires under two records at once, and the counts they leave.

Interleavings are forced at the sandbox's dispatch (the server thread calls it for every request) or inside the
libraries the bridge builds on, never by sleeping; a bounded wait only keeps a correct run from hanging.
"""

import json
import sys
import threading
from typing import Any

import jmespath  # type: ignore[import-untyped]
import pytest
from werkzeug.wrappers import Request, Response

from fortnox_bridge import wiring
from fortnox_bridge.export.in_flight import earlier_to_wait_for, names_of
from fortnox_bridge.ids import TenantId
from fortnox_bridge.store.connections import ConnectionState, ConnectionStore
from tests.emitted_metrics import emitted
from tests.exporting import Export, person_export, rejected_by_event
from tests.sandbox_front import Dispatch, Wrapper, in_front, is_create, to_customer

pytestmark = pytest.mark.integration
__all__ = ["in_front", "person_export"]  # the fixture, imported so pytest finds it

HOLD_SECONDS = 2.0
"""How long a held request waits for what a correct run never does; only bounds the test."""


def _hold_first_create(seconds: float = HOLD_SECONDS) -> Wrapper:
    """The batch's first invoice create waits ``seconds`` before Fortnox sees it: whatever the other lane does
    meanwhile happens while that record is in flight."""
    first = threading.Lock()
    never = threading.Event()

    def hold(request: Request, dispatch: Dispatch) -> Response:
        if is_create(request) and first.acquire(blocking=False):
            never.wait(seconds)
        return dispatch(request)

    return hold


def test_a_credit_note_naming_its_invoice_with_a_stray_space_still_waits_for_it(export: Export, in_front: Any) -> None:
    # Given a batch of two invoices to one customer and, after them, a credit note of the second whose upstream
    # padded the credited number (the contract accepts it: a document number is stripped). The first invoice goes
    # first (it may create the customer); then the second and the note may go, and the second's create takes its
    # time at Fortnox.
    reference = f"FB:{export.tenant}:310".encode()
    never = threading.Event()

    def slow_second_create(request: Request, dispatch: Dispatch) -> Response:
        if is_create(request) and reference in request.get_data():
            never.wait(HOLD_SECONDS)
        return dispatch(request)

    in_front(slow_second_create)
    note = export.credit_note("311", credits=" 310")

    # When the batch is delivered once
    outcome = export.deliver_once(export.event("309"), export.event("310"), note)
    export.send()  # what failed goes through on its next delivery; the queue is the session's

    # Then the credit note waited for its invoice in that delivery, as it does when the number is written without
    # the space, instead of failing it and coming back
    assert (outcome.received, outcome.failed) == (3, 0)
    by_reference = {invoice["ExternalInvoiceReference1"]: invoice for invoice in export.invoices()}
    correction = by_reference[f"FB:{export.tenant}:311"]
    assert correction["InvoiceReference"] == by_reference[f"FB:{export.tenant}:310"]["DocumentNumber"]


def test_invoices_moving_one_customer_leave_it_at_the_newest_address(export: Export, in_front: Any) -> None:
    # Given a batch of three invoices to one new customer, each made after the one before it (occurred_at and batch
    # order), the customer moving in between. The first goes alone (it creates the customer); the other two go
    # side by side.
    events = [export.event(number, event_id=f"evt-move-{number}") for number in ("360", "361", "362")]
    for event, (address, city, hour) in zip(
        events,
        [("Första gatan 1", "Luleå", 8), ("Gamla vägen 1", "Boden", 9), ("Nya vägen 2", "Kiruna", 10)],
        strict=True,
    ):
        event["data"]["customer"].update(customer_number="8001", address1=address, city=city)
        event["occurred_at"] = f"2026-11-20T{hour:02d}:00:00Z"
    newest_written = threading.Event()

    # The middle invoice's customer update reaches Fortnox only after the newest one's was answered (or a while: a
    # worker that orders the two never lets the newest go first)
    def older_last(request: Request, dispatch: Dispatch) -> Response:
        if request.path.startswith("/3/customers") and request.method in ("POST", "PUT"):
            if b"Gamla" in request.get_data():
                newest_written.wait(HOLD_SECONDS)
            elif b"Nya" in request.get_data():
                response = dispatch(request)
                newest_written.set()
                return response
        return dispatch(request)

    in_front(older_last)

    # When the batch is delivered
    export.send(*events)

    # Then all three invoices are in Fortnox and the customer card holds the address the customer has now
    assert len(export.invoices()) == 3
    client = export.scene.client(token=export.scene.control.access_token(export.scene.app, export.company))
    with client:
        customer = client.customers.get("8001")
    assert (customer.Address1, customer.City) == ("Nya vägen 2", "Kiruna")


def test_the_same_event_id_for_two_invoices_in_one_batch_is_refused_while_the_first_is_in_flight(
    export: Export, in_front: Any
) -> None:
    # Given a careless upstream that gave two different invoices one event id, both in one batch
    in_front(_hold_first_create())
    first = to_customer("8320", export.event("320", event_id="evt-reused-in-batch"))
    second = to_customer("8321", export.event("321", event_id="evt-reused-in-batch"))

    # When the batch is delivered once: the two name different documents, so both are in flight together
    assert earlier_to_wait_for([names_of(json.dumps(event)) for event in (first, second)]) == [[], []]
    outcome = export.deliver_once(first, second)

    # Then one is exported and the other refused in this very delivery for its reused id (the record in progress
    # already says what the id stands for), not failed and redelivered
    assert (outcome.received, outcome.failed) == (2, 0)
    assert len(export.invoices()) == 1
    refused = rejected_by_event(export.table, export.tenant)
    assert list(refused) == ["evt-reused-in-batch"]
    assert "already used for an event with other content" in refused["evt-reused-in-batch"]["reason"]


def _a_cold_process() -> None:
    """The invoice worker as Lambda starts it: its idempotency persistence layer not yet configured (the module is
    loaded once per test session, so an earlier test configured it; a new process has a new one)."""
    for name, module in list(sys.modules.items()):
        if name.startswith("lambda_InvoiceExportExporter"):
            module.work.__dict__.pop("_records", None)


def test_the_first_two_records_of_a_cold_process_both_go_through(
    export: Export, in_front: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a worker process that has not handled an event yet. Its first record configures the idempotency layer;
    # Powertools marks the layer configured first and reads the configuration (event key, payload check, expiry)
    # after. The first record is held inside that step (jmespath compiles the event key) until the other lane's
    # invoice reaches Fortnox, or a while: a correct worker does not let the other lane past an unconfigured layer.
    _a_cold_process()
    other_lane_created = threading.Event()
    held: list[str] = []
    compile_expression = jmespath.compile

    def slow_first_compile(expression: str, *args: Any, **kwargs: Any) -> Any:
        if expression == "id" and not held:
            held.append(threading.current_thread().name)
            other_lane_created.wait(HOLD_SECONDS)
        return compile_expression(expression, *args, **kwargs)

    def watch(request: Request, dispatch: Dispatch) -> Response:
        if is_create(request):
            other_lane_created.set()
        return dispatch(request)

    monkeypatch.setattr(jmespath, "compile", slow_first_compile)
    in_front(watch)

    # When its first batch, two invoices, is delivered once
    batch = [
        to_customer("8330", export.event("330", event_id="evt-cold-a")),
        to_customer("8331", export.event("331", event_id="evt-cold-b")),
    ]
    assert earlier_to_wait_for([names_of(json.dumps(event)) for event in batch]) == [[], []]
    outcome = export.deliver_once(*batch)
    export.send()  # what failed goes through on its next delivery; the queue is the session's

    # Then both went through in that delivery, each remembered by its event id
    assert held, "the idempotency layer was configured before the batch: this test staged nothing"
    assert (outcome.received, outcome.failed) == (2, 0)
    assert len(export.invoices()) == 2


def _refreshes(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [row for row in rows if row["path"] == "/oauth-v1/token" and row["grant_type"] == "refresh_token"]


def test_a_persons_token_expiring_under_two_records_at_once_is_refreshed_once(
    person_export: Export, in_front: Any, events_tap: Any
) -> None:
    # Given a tenant that consented as a person (single-use refresh tokens), whose access token Fortnox no longer
    # takes
    export = person_export
    export.scene.control.advance_clock(3601)
    events_tap.received()
    before = len(export.scene.control.requests())
    refused: list[str] = []
    both_refused = threading.Event()

    # The refresh is answered only once both records were refused by Fortnox with the old token: both need a new
    # one at the same moment.
    def refresh_after_both(request: Request, dispatch: Dispatch) -> Response:
        if request.path == "/oauth-v1/token" and request.form.get("grant_type") == "refresh_token":
            both_refused.wait(HOLD_SECONDS)
            return dispatch(request)
        response = dispatch(request)
        if request.path.startswith("/3/") and response.status_code == 401:
            refused.append(request.path)
            if len(refused) >= 2:
                both_refused.set()
        return response

    in_front(refresh_after_both)

    # When a batch of two invoices is delivered once
    outcome = export.deliver_once(to_customer("8340", export.event("340")), to_customer("8341", export.event("341")))

    # Then both went through on one refresh, and the connection was never lost
    assert both_refused.is_set(), "the two records never stood refused together: this test staged nothing"
    assert (outcome.received, outcome.failed) == (2, 0)
    assert len(_refreshes(export.scene.control.requests()[before:])) == 1
    assert len(export.invoices()) == 2
    connection = ConnectionStore(export.table).get(TenantId(export.tenant))
    assert connection is not None and connection.state is ConnectionState.CONNECTED
    assert "connection.needs_reconnect" not in [event.detail_type for event in events_tap.received()]
    assert wiring.secrets_store().read(TenantId(export.tenant)) is not None


def test_invoices_exported_side_by_side_are_each_counted_once(
    export: Export, in_front: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given creates answered in pairs, so the two lanes' records end, and count, at the same moment
    pair = threading.Barrier(2, timeout=5)

    def in_pairs(request: Request, dispatch: Dispatch) -> Response:
        response = dispatch(request)
        if is_create(request):
            try:
                pair.wait()
            except threading.BrokenBarrierError:
                pair.reset()
        return response

    in_front(in_pairs)
    capsys.readouterr()

    # When six invoices are delivered in one batch
    outcome = export.deliver_once(*(to_customer(f"8{number}", export.event(str(number))) for number in range(350, 356)))

    # Then the metric the dashboards read says six, and nothing failed
    assert (outcome.received, outcome.failed) == (6, 0)
    totals = emitted(capsys.readouterr().out)
    assert totals["InvoiceExported"] == 6
    assert totals["InvoiceFailed"] == 0
