"""Malformed and hostile invoice events: each is refused with a reason that names what is wrong."""

import copy
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from fortnox_bridge.contracts.intake import MAX_ISSUE_CHARS, MAX_ISSUES, RefusedBody, parse_event
from fortnox_bridge.contracts.invoices import InvoiceEvent, total_with_vat
from infra.names import ROOT

EVENTS: TypeAdapter[Any] = TypeAdapter(InvoiceEvent)
GOOD: dict[str, Any] = json.loads((ROOT / "events" / "invoice.ready.json").read_text())


def _with(change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    event = copy.deepcopy(GOOD)
    change(event)
    return event


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(event: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = event
        for part in parents:
            node = node[int(part)] if part.isdigit() else node[part]
        if value is _DELETE:
            del node[last]
        else:
            node[int(last) if last.isdigit() else last] = value

    return change


_DELETE = object()
_TEXT_ROW = {"description": "Enligt överenskommelse", "quantity": "0", "unit_price": "0", "vat_rate": 25}

CORPUS: list[tuple[str, Callable[[dict[str, Any]], None], str]] = [
    ("unknown type", _set("type", "invoice.deleted"), "does not match any of the expected tags"),
    ("missing id", _set("id", _DELETE), "id"),
    ("id with spaces", _set("id", "evt 1"), "String should match pattern"),
    ("tenant id with markup", _set("tenant_id", "<b>t</b>"), "String should match pattern"),
    ("occurred_at not a time", _set("occurred_at", "yesterday"), "occurred_at"),
    ("missing invoice number", _set("data.invoice_number", _DELETE), "invoice_number"),
    ("invoice number as a number", _set("data.invoice_number", 100353), "Input should be a valid string"),
    ("no rows", _set("data.rows", []), "at least 1 item"),
    ("negative quantity", _set("data.rows.0.quantity", "-1"), "positive quantity"),
    ("a text row without text", _set("data.rows.0", _TEXT_ROW | {"description": " "}), "a text row (quantity 0)"),
    ("only text rows", _set("data.rows", [_TEXT_ROW]), "every row is a text row"),
    ("price as text", _set("data.rows.0.unit_price", "tvåtusen"), "unit_price"),
    ("price with fractions of öre", _set("data.rows.0.unit_price", "10.001"), "decimal places"),
    ("VAT rate Fortnox does not have", _set("data.rows.0.vat_rate", 24), "vat_rate"),
    ("discount above 100 %", _set("data.rows.0.discount_percent", "120"), "discount_percent"),
    ("account outside 1000-9999", _set("data.rows.0.account", 99999), "account"),
    ("currency not three letters", _set("data.currency", "kronor"), "currency"),
    ("foreign currency without a rate", _set("data.currency", "EUR"), "currency_rate is required for EUR"),
    ("due before invoice date", _set("data.due_date", "2024-09-01"), "due_date is before invoice_date"),
    ("markup in a description", _set("data.rows.0.description", "<script>alert(1)</script>"), "markup"),
    ("markup in the customer name", _set("data.customer.name", "Acme <img src=x>"), "markup"),
    ("control characters in a reference", _set("data.our_reference", "Anna\x00Lind"), "control characters"),
    ("a C1 control character (NEL)", _set("data.our_reference", "Anna\u0085Lind"), "U+0085"),
    ("a right-to-left override", _set("data.rows.0.description", "Frakt \u202e00.0001"), "U+202E"),
    ("a left-to-right isolate", _set("data.customer.name", "Acme \u2066AB\u2069"), "U+2066"),
    ("a zero-width space in a city", _set("data.customer.city", "Kiru\u200bna"), "U+200B"),
    ("a byte-order mark in a unit", _set("data.rows.0.unit", "\ufeffh"), "U+FEFF"),
    ("a control character in a zip code", _set("data.customer.zip_code", "972\x0731"), "U+0007"),
    ("occurred in 2999", _set("occurred_at", "2999-01-01T00:00:00Z"), "ahead of the bridge's clock"),
    ("description longer than Fortnox allows", _set("data.rows.0.description", "x" * 256), "at most 255"),
    ("unknown field", _set("data.discount_code", "SUMMER"), "Extra inputs are not permitted"),
    ("customer without a number", _set("data.customer.customer_number", _DELETE), "customer_number"),
    ("e-mail that is not one", _set("data.customer.email", "faktura at example"), "email"),
    (
        "organisation number of the wrong shape",
        _set("data.customer.organisation_number", "55612"),
        "organisation_number",
    ),
    (
        "PDF inline instead of in S3",
        _set("data.pdf", {"bucket": "b", "key": "k", "content": "JVBERi0..."}),
        "Extra inputs",
    ),
    ("an invoice that pays the customer", _set("data.rows.0.unit_price", "-9000.00"), "cannot take money back"),
    ("a price wider than Fortnox's 12 digits", _set("data.rows.0.unit_price", "12345678901.00"), "10 digits before"),
    ("a row Fortnox cannot hold", _set("data.rows.0.quantity", "99999999"), "above Fortnox's 9999999999.99"),
    ("dated 1899", _set("data.invoice_date", "1899-12-31"), "invoice_date 1899-12-31 is outside"),
    ("dated 9999", _set("data.invoice_date", "9999-01-01"), "invoice_date 9999-01-01 is outside"),
    ("ordered 1899", _set("data.order_date", "1899-12-31"), "order_date 1899-12-31 is outside"),
    ("due in 9999", _set("data.due_date", "9999-12-31"), "more than a year after invoice_date"),
    ("a bank account as the sales account", _set("data.rows.0.account", 1930), "balance-sheet account"),
    ("a liability account as the sales account", _set("data.rows.0.account", 2611), "BAS class 2"),
]


@pytest.mark.parametrize(("case", "change", "reason"), CORPUS, ids=[case for case, _, _ in CORPUS])
def test_each_bad_event_is_refused_with_its_reason(
    case: str, change: Callable[[dict[str, Any]], None], reason: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        EVENTS.validate_python(_with(change))
    assert reason in str(caught.value), f"{case}: {caught.value}"


def test_the_corpus_is_large_enough() -> None:
    assert len(CORPUS) >= 20


def test_the_good_event_passes() -> None:
    assert EVENTS.validate_python(GOOD).data.invoice_number == "100353"


CREDIT_NOTE: dict[str, Any] = json.loads((ROOT / "events" / "credit_note.ready.json").read_text())


@pytest.mark.parametrize(
    ("quantity", "unit_price", "reason"),
    [("1.5", "450.00", "their quantity is negative"), ("-1.5", "-450.00", "a credit note cannot charge")],
)
def test_a_credit_note_that_charges_is_refused(quantity: str, unit_price: str, reason: str) -> None:
    note = copy.deepcopy(CREDIT_NOTE)
    note["data"]["rows"][0].update(quantity=quantity, unit_price=unit_price)
    with pytest.raises(ValidationError, match=reason):
        EVENTS.validate_python(note)


def test_a_discount_row_on_an_invoice_is_not_a_credit() -> None:
    event = copy.deepcopy(GOOD)
    event["data"]["rows"].append({"description": "Rabatt", "quantity": "1", "unit_price": "-100.00", "vat_rate": 25})
    assert EVENTS.validate_python(event).data.rows[-1].net == -100


def test_brackets_inside_text_are_not_nesting() -> None:
    event = copy.deepcopy(GOOD)
    event["data"]["rows"][0]["description"] = "[" * 100 + '"{' + "]" * 100
    assert parse_event(json.dumps(event)).data.rows[0].description.startswith("[[[")


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("[" * 50_000 + "]" * 50_000, "nests deeper than 32 levels"),
        ('{"a": ' * 33 + "1" + "}" * 33, "nests deeper than 32 levels"),
        ("{not json", "the body is not JSON"),
        ("x" * (257 * 1024), "events are at most 256 KB"),
    ],
    ids=["50,000 deep", "33 deep", "not JSON", "over 256 KB"],
)
def test_bodies_that_are_no_event_are_refused_before_parsing(body: str, reason: str) -> None:
    with pytest.raises(RefusedBody, match=reason):
        parse_event(body)


def test_a_local_time_without_its_zone_hours_ahead_is_refused() -> None:
    """Read as UTC, a Swedish local time sent without its zone is one or two hours ahead of the bridge's clock."""
    ahead = (datetime.now(UTC) + timedelta(hours=2)).replace(tzinfo=None).isoformat()
    with pytest.raises(ValidationError, match="a local time needs its zone"):
        EVENTS.validate_python(_with(_set("occurred_at", ahead)))


def test_a_clock_a_few_minutes_fast_is_accepted() -> None:
    soon = (datetime.now(UTC) + timedelta(minutes=5)).isoformat()
    assert EVENTS.validate_python(_with(_set("occurred_at", soon))).occurred_at.year >= 2026


@pytest.mark.parametrize("document", [GOOD, CREDIT_NOTE], ids=["invoice", "credit note"])
def test_a_text_row_is_accepted_and_charges_nothing(document: dict[str, Any]) -> None:
    event = copy.deepcopy(document)
    before = EVENTS.validate_python(event).data
    event["data"]["rows"].insert(1, _TEXT_ROW)
    after = EVENTS.validate_python(event).data
    assert after.rows[1].is_text
    assert total_with_vat(after.rows) == total_with_vat(before.rows)


def test_a_body_with_hundreds_of_errors_is_refused_with_a_short_reason() -> None:
    event = copy.deepcopy(GOOD)
    event["data"]["rows"] = [{"description": "x", "quantity": "q", "unit_price": "p", "vat_rate": 7}] * 500
    with pytest.raises(RefusedBody) as caught:
        parse_event(json.dumps(event))
    assert caught.value.reason.endswith("; and 1490 more")
    assert len(caught.value.reason) < MAX_ISSUES * MAX_ISSUE_CHARS


def test_an_issue_that_quotes_the_body_is_cut() -> None:
    event = copy.deepcopy(GOOD)
    event["data"]["x" * 100_000] = 1
    with pytest.raises(RefusedBody) as caught:
        parse_event(json.dumps(event))
    assert len(caught.value.reason) <= MAX_ISSUE_CHARS


def test_a_refused_body_names_its_tenant_event_and_invoice_when_they_are_valid() -> None:
    event = copy.deepcopy(GOOD)
    event["data"]["rows"][0]["vat_rate"] = 8
    with pytest.raises(RefusedBody) as caught:
        parse_event(json.dumps(event))
    refused = caught.value
    assert (refused.tenant_id, refused.event_id, refused.invoice_number) == (GOOD["tenant_id"], GOOD["id"], "100353")
    event["id"], event["data"]["invoice_number"] = "x" * 200, "<b>1</b>"
    with pytest.raises(RefusedBody) as caught:
        parse_event(json.dumps(event))
    assert (caught.value.event_id, caught.value.invoice_number) == (None, None)
