"""The invoice export's batch processor (``export/in_flight.InFlightBatchProcessor``) keeps Powertools' partial
failures, runs where an event loop is already running, and never lets a record go as neither success nor failure."""

import asyncio
import json
import threading
from typing import Any

import pytest
from aws_lambda_powertools.utilities.batch import EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from fortnox_bridge.export.in_flight import InFlightBatchProcessor


def _event(*numbers: str) -> dict[str, Any]:
    def record(number: str) -> dict[str, Any]:
        body = {"type": "invoice.ready", "tenant_id": "t1", "data": {"invoice_number": number}}
        return {"messageId": f"m-{number}", "body": json.dumps(body), "attributes": {}, "eventSource": "aws:sqs"}

    return {"Records": [record(number) for number in numbers]}


def _numbers_of(record: SQSRecord) -> str:
    return str(json.loads(record.body)["data"]["invoice_number"])


def test_a_failing_record_is_reported_alone_and_its_neighbours_go_through() -> None:
    handled: list[str] = []

    def handler(record: SQSRecord) -> None:
        if _numbers_of(record) == "2":
            raise ValueError("refused")
        handled.append(_numbers_of(record))

    response = process_partial_response(
        event=_event("1", "2", "3", "4"), record_handler=handler, processor=InFlightBatchProcessor(EventType.SQS)
    )
    assert response == {"batchItemFailures": [{"itemIdentifier": "m-2"}]}
    assert sorted(handled) == ["1", "3", "4"]


def test_it_runs_where_an_event_loop_is_already_running() -> None:
    # Powertools' AsyncBatchProcessor calls asyncio.run, which refuses inside a running loop (a host embedding the
    # handler, such as a test driving Playwright's sync API).
    async def inside_a_loop() -> Any:
        return process_partial_response(
            event=_event("1", "2"), record_handler=lambda record: None, processor=InFlightBatchProcessor(EventType.SQS)
        )

    assert asyncio.run(inside_a_loop()) == {"batchItemFailures": []}


def test_what_powertools_does_not_catch_fails_the_whole_invocation() -> None:
    def handler(record: SQSRecord) -> None:
        if _numbers_of(record) == "2":
            raise SystemExit("the worker is going away")

    # Had the lane died quietly, record 2 would count as neither failed nor handled, and SQS would delete it.
    with pytest.raises(SystemExit):
        process_partial_response(
            event=_event("1", "2", "3"), record_handler=handler, processor=InFlightBatchProcessor(EventType.SQS)
        )


def _to_customer(number: str, customer: str) -> dict[str, Any]:
    body = {
        "type": "invoice.ready",
        "tenant_id": "t1",
        "data": {"invoice_number": number, "customer": {"customer_number": customer, "name": "Kund AB"}},
    }
    return {"messageId": f"m-{number}", "body": json.dumps(body), "attributes": {}, "eventSource": "aws:sqs"}


@pytest.mark.parametrize(
    ("first", "first_fails"),
    [("raises", True), ("refused", True), ("exported", False)],
    ids=["first-failed", "first-refused", "first-exported"],
)
def test_when_the_first_record_naming_a_customer_fails_the_next_one_goes_first(first: str, first_fails: bool) -> None:
    # Invoices 1-3 name one customer new to the batch: 1 may create it, so 2 and 3 wait for it. Refused before any
    # call (the export records the refusal and returns False), 1 created nothing: 2 and 3 side by side would both
    # create it (one refused create, and an update).
    third_started = threading.Event()
    saw_third_while_second_ran: list[bool] = []

    def handler(record: SQSRecord) -> bool:
        number = _numbers_of(record)
        if number == "1" and first == "raises":
            raise ValueError("Fortnox failed")
        if number == "1":
            return first == "exported"
        if number == "3":
            third_started.set()
        if number == "2":
            # Bounded: where 3 waits for 2, it never starts while 2 runs, and 2 goes on after the bound.
            saw_third_while_second_ran.append(third_started.wait(timeout=2.0 if not first_fails else 0.3))
        return True

    event = {"Records": [_to_customer("1", "K9"), _to_customer("2", "K9"), _to_customer("3", "K9")]}
    response = process_partial_response(
        event=event, record_handler=handler, processor=InFlightBatchProcessor(EventType.SQS)
    )

    assert response == {"batchItemFailures": [{"itemIdentifier": "m-1"}] if first == "raises" else []}
    # Refused: 2 is the first now and 3 waits for it. Exported: the customer exists, and 2 and 3 go side by side.
    assert saw_third_while_second_ran == [not first_fails]
