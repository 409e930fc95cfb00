"""Which earlier records of a batch a record waits for before it goes (``export/in_flight.py``)."""

import json
from typing import Any

from fortnox_bridge.export.in_flight import Names, earlier_to_wait_for, names_of


def _invoice(number: str, customer: str, tenant: str = "t1") -> str:
    return json.dumps(
        {
            "type": "invoice.ready",
            "tenant_id": tenant,
            "data": {"invoice_number": number, "customer": {"customer_number": customer}},
        }
    )


def _note(number: str, credits: str, customer: str) -> str:
    data: dict[str, Any] = {"invoice_number": number, "credits_invoice_number": credits}
    data["customer"] = {"customer_number": customer}
    return json.dumps({"type": "credit_note.ready", "tenant_id": "t1", "data": data})


def _customer(number: str) -> str:
    return json.dumps({"type": "customer.upserted", "tenant_id": "t1", "data": {"customer_number": number}})


def _waits(*bodies: str) -> list[list[int]]:
    return earlier_to_wait_for([names_of(body) for body in bodies])


def test_invoices_to_one_customer_wait_for_the_first_only() -> None:
    # The first may create the customer; after it, its hash is known and the rest go side by side.
    assert _waits(_invoice("1", "C"), _invoice("2", "C"), _invoice("3", "C"), _invoice("4", "D")) == [[], [0], [0], []]


def test_a_credit_note_waits_for_the_invoice_it_credits_and_a_credit_for_the_note() -> None:
    assert _waits(_invoice("1", "C"), _invoice("2", "D"), _note("3", "1", "E")) == [[], [], [0]]
    credit = json.dumps({"type": "invoice.credited", "tenant_id": "t1", "data": {"invoice_number": "1"}})
    assert _waits(_invoice("1", "C"), _note("3", "1", "C"), credit) == [[], [0], [1]]
    assert _waits(_customer("C"), _note("3", "1", "C")) == [[], [0]]


def test_a_customer_event_waits_for_the_invoices_to_it_before_and_holds_those_after() -> None:
    waits = _waits(_invoice("1", "C"), _invoice("2", "C"), _customer("C"), _invoice("3", "C"), _invoice("4", "D"))
    assert waits == [[], [0], [0, 1], [2], []]


def test_the_same_numbers_of_another_tenant_are_other_things() -> None:
    assert _waits(_invoice("1", "C", tenant="t1"), _invoice("1", "C", tenant="t2")) == [[], []]
    assert _waits(_invoice("1", "C", tenant="t1"), _invoice("1", "D", tenant="t1")) == [[], [0]]


def test_a_body_the_export_refuses_names_nothing_and_waits_for_nothing() -> None:
    bomb = "[" * 50_000 + "]" * 50_000  # raised RecursionError in json.loads before the export's depth limit
    for body in (bomb, "not json", "[]", json.dumps({"tenant_id": 7, "data": {}}), json.dumps({"tenant_id": "t1"})):
        assert names_of(body) == Names()
    assert _waits(_invoice("1", "C"), "not json", _invoice("1", "D")) == [[], [], [0]]


def test_an_invoice_carrying_other_customer_data_changes_the_customer() -> None:
    moved = json.dumps(
        {
            "type": "invoice.ready",
            "tenant_id": "t1",
            "data": {"invoice_number": "3", "customer": {"customer_number": "C", "city": "Kiruna"}},
        }
    )
    # The second and third carry the first's data and go side by side; the fourth moves the customer and waits
    # for both, and the fifth (the first's data again) is another change, after the fourth.
    assert _waits(_invoice("1", "C"), _invoice("2", "C"), _invoice("4", "C"), moved, _invoice("5", "C")) == [
        [],
        [0],
        [0],
        [0, 1, 2],
        [3],
    ]


def test_numbers_are_read_as_the_contract_reads_them() -> None:
    assert _waits(_invoice("310", "C"), _note("311", " 310 ", "D")) == [[], [0]]
    assert _waits(_invoice("1", " C"), _invoice("2", "C")) == [[], [0]]


def test_after_a_record_ends_without_its_event_in_fortnox_the_next_to_name_its_customer_goes_alone() -> None:
    moved = json.dumps(
        {
            "type": "invoice.ready",
            "tenant_id": "t1",
            "data": {"invoice_number": "2", "customer": {"customer_number": "C", "city": "Kiruna"}},
        }
    )
    batch = [names_of(body) for body in (_invoice("1", "C"), moved, _invoice("3", "C"), _invoice("4", "C"))]
    # Planned: 3 moves the customer back after 2 moved it, and 4 (3's data) goes beside nobody but after 3.
    assert earlier_to_wait_for(batch) == [[], [0], [1], [2]]
    # 2 failed: it may or may not have moved the customer, so 3 goes alone again and 4 still waits for it.
    assert earlier_to_wait_for(batch, {1}) == [[], [], [0], [2]]
    # 1, the first to name the customer, was refused before it created it: 2 is the first now, and the rest wait.
    plain = [names_of(_invoice(number, "C")) for number in "123"]
    assert earlier_to_wait_for(plain, {0}) == [[], [], [1]]
