"""A failed voucher as an SIE 4 file: it declares its character set, and read back it is the same voucher."""

import json
from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from fortnox_bridge.contracts.intake import parse_voucher_event
from fortnox_bridge.mapping.rules import TenantMapping
from fortnox_bridge.mapping.vouchers import LocationRule, ProductGroupRule, VoucherMapping
from fortnox_bridge.vouchers.journal import Journal, JournalRow, RowOrigin, journal_for
from fortnox_bridge.vouchers.sie import sie4
from infra.names import ROOT
from tests.sie_reader import SieError, read

MAPPING = TenantMapping(
    vouchers=VoucherMapping(
        series="K",
        payment_methods={"card": 1580, "cash": 1910, "swish": 1930},
        product_groups=[ProductGroupRule(group="Alkohol", account=3011, cost_center="BAR", project="P-12")],
        allow_tips=True,
        tips_account=2890,
        locations={"kassa-1": LocationRule(cost_center="SOD")},
    )
)
GENERATED = date(2026, 11, 24)


def _journal(sample: str = "sales.day_closed.json") -> Journal:
    return journal_for(parse_voucher_event((ROOT / "events" / sample).read_text()), MAPPING)


def _signed(row: JournalRow) -> Decimal:
    return row.debit - row.credit


def test_a_day_round_trips_row_by_row_with_amounts_dimensions_and_text() -> None:
    journal = _journal()

    sie = read(sie4(journal, company_name="Café Åkern AB", organisation_number="556677-8899", generated=GENERATED))

    assert sie.labels[:6] == ["#FLAGGA", "#PROGRAM", "#FORMAT", "#GEN", "#SIETYP", "#FNAMN"]
    assert sie.header["#FLAGGA"] == ["0"]
    assert sie.header["#FORMAT"] == ["PC8"]
    assert sie.header["#SIETYP"] == ["4"]
    assert sie.header["#GEN"] == ["20261124"]
    assert sie.header["#FNAMN"] == ["Café Åkern AB"]
    assert sie.header["#ORGNR"] == ["556677-8899"]
    assert sie.crlf
    assert sie.dimensions == {1: "Kostnadsställe", 6: "Projekt"}
    assert set(sie.objects) == {(1, "SOD"), (1, "BAR"), (6, "P-12")}
    [voucher] = sie.verifications
    assert (voucher.series, voucher.number, voucher.day) == ("K", "", date(2026, 11, 23))
    assert voucher.text == "Dagskassa 2026-11-23 Café Åkern Södermalm"
    expected_objects = [[(1, row.cost_center)] + ([(6, row.project)] if row.project else []) for row in journal.rows]
    assert [(t.account, t.amount, t.objects, t.day, t.text) for t in voucher.transactions] == [
        (row.account, _signed(row), objects, date(2026, 11, 23), row.description)
        for row, objects in zip(journal.rows, expected_objects, strict=True)
    ]
    # Debit positive, credit negative, two decimals: the file balances as the voucher does.
    assert sum(t.amount for t in voucher.transactions) == 0
    assert Decimal("-964.29") in [t.amount for t in voucher.transactions]


def test_the_file_is_code_page_437_so_swedish_letters_survive_an_sie_import() -> None:
    data = sie4(_journal(), company_name="Åsa Öberg Ärlig AB", organisation_number=None, generated=GENERATED)

    assert "Åsa Öberg Ärlig AB".encode("cp437") in data
    assert b"\x8f" in data and b"\x99" in data and b"\x8e" in data  # Å Ö Ä in PC8
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")  # it is not UTF-8 in disguise
    assert b"#ORGNR" not in data
    assert data.endswith(b"}\r\n") and b"\n" not in data.replace(b"\r\n", b"")


def test_quotes_backslashes_and_line_breaks_in_text_cannot_break_the_file() -> None:
    body = json.loads((ROOT / "events" / "voucher.ready.json").read_text())
    mapping = TenantMapping(vouchers=VoucherMapping(keys={"card": 1580, "memberships": 3041}))
    made = journal_for(parse_voucher_event(json.dumps(body)), mapping)
    # Written straight into the journal: journal_for makes text Fortnox-safe, the file must hold any text anyway.
    first, second, *rest = made.rows
    journal = replace(
        made,
        description='Kassa "Centrum"\\Syd\nrad två',
        rows=(
            replace(first, description='} #TRANS 1930 {} 999.00 "'),
            replace(second, description="Pris 5 €"),
            *rest,
        ),
    )

    sie = read(sie4(journal, company_name='AB "Citat"', organisation_number=None, generated=GENERATED))

    [voucher] = sie.verifications
    assert voucher.text == 'Kassa "Centrum"\\Syd rad två'  # the line break became a space
    assert len(voucher.transactions) == len(journal.rows)  # the hostile text added no transaction
    assert voucher.transactions[0].text == '} #TRANS 1930 {} 999.00 "'
    assert voucher.transactions[1].text == "Pris 5 ?"  # no euro sign in code page 437
    assert sie.header["#FNAMN"] == ['AB "Citat"']
    assert [t.amount for t in voucher.transactions] == [_signed(row) for row in journal.rows]


def test_a_voucher_number_is_written_when_known_and_rows_without_dimensions_have_an_empty_list() -> None:
    journal = Journal(
        business_key="journal#1",
        transaction_date=date(2026, 1, 2),
        location=None,
        series="A",
        description="Rättelse",
        rows=(
            JournalRow(1930, Decimal("0.10"), Decimal(0), None, None, None, RowOrigin("account", "1930")),
            JournalRow(3740, Decimal(0), Decimal("0.10"), None, None, None, RowOrigin("account", "3740")),
        ),
    )
    data = sie4(journal, company_name="X", organisation_number=None, voucher_number=42, generated=GENERATED)

    assert b"#TRANS 1930 {} 0.10 20260102" in data
    assert b"#DIM" not in data and b"#OBJEKT" not in data
    [voucher] = read(data).verifications
    assert voucher.number == "42"
    assert [(t.account, t.amount, t.objects) for t in voucher.transactions] == [
        (1930, Decimal("0.10"), []),
        (3740, Decimal("-0.10"), []),
    ]


def test_the_reader_refuses_what_is_not_sie_4_in_pc8() -> None:
    with pytest.raises(SieError, match="character set"):
        read(b"#FLAGGA 0\r\n#FORMAT UTF8\r\n")
    with pytest.raises(SieError, match="transactions block"):
        read(b'#FLAGGA 0\r\n#FORMAT PC8\r\n#VER "A" "" 20260101 "x"\r\n')
