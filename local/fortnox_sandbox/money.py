"""Invoice arithmetic as Fortnox does it: rows to öre, the total rounded to whole kronor for SEK."""

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

CENT = Decimal("0.01")
KRONA = Decimal("1")


def amount(value: Any, default: str = "0") -> Decimal:
    if value is None or value == "":
        return Decimal(default)
    return Decimal(str(value))


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def row_net(row: dict[str, Any]) -> Decimal:
    quantity = amount(row.get("DeliveredQuantity"))
    price = amount(row.get("Price"))
    gross = quantity * price
    discount = amount(row.get("Discount"))
    if row.get("DiscountType") == "AMOUNT":
        return cents(gross - discount * (1 if quantity >= 0 else -1))
    return cents(gross * (Decimal(100) - discount) / Decimal(100))


def totals(rows: list[dict[str, Any]], currency: str) -> dict[str, Decimal]:
    net = sum((row_net(row) for row in rows), Decimal(0))
    vat = sum((cents(row_net(row) * amount(row.get("VAT")) / Decimal(100)) for row in rows), Decimal(0))
    gross = net + vat
    total = gross.quantize(KRONA, rounding=ROUND_HALF_UP) if currency == "SEK" else cents(gross)
    return {
        "Net": cents(net),
        "TotalVAT": cents(vat),
        "Gross": cents(gross),
        "Total": total,
        "RoundOff": cents(total - gross),
    }


def ocr_for(document_number: str) -> str:
    """Swedish OCR with a length digit and a Luhn check digit, as Fortnox generates when OCR is on."""
    body = document_number + str((len(document_number) + 2) % 10)
    total = 0
    for index, digit in enumerate(reversed(body)):
        value = int(digit) * (2 if index % 2 == 0 else 1)
        total += value - 9 if value > 9 else value
    return body + str((10 - total % 10) % 10)
