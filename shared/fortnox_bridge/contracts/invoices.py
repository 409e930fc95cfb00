"""Invoice, credit and customer events: the envelope and what each carries (seeds 000 Opter, 003 Productive)."""

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from fortnox_bridge.contracts.text import (
    Code,
    DocumentNumber,
    Name,
    Text10,
    Text20,
    Text50,
    Text75,
    Text255,
    Text1024,
)
from fortnox_bridge.ids import TENANT_ID_PATTERN

VatRate = Literal[0, 6, 12, 25]
"""The Swedish VAT rates Fortnox accepts on invoice rows."""
MAX_AMOUNT = Decimal("9999999999.99")
"""Fortnox keeps prices and amounts in 12 digits, two of them öre ("Price per unit. 12 digits" in its field
documentation); a larger row or total is a unit mix-up upstream, never an invoice."""
Money = Annotated[Decimal, Field(max_digits=12, decimal_places=2)]
Quantity = Annotated[Decimal, Field(max_digits=12, decimal_places=4)]
CurrencyCode = Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
"""Fortnox accepts only three-letter codes (seed 000)."""
CENT = Decimal("0.01")
YEARS_KEPT = 7
"""Bokföringslagen (7 kap. 2 §) keeps books for seven years after the year they close: no Swedish bookkeeper dates
an invoice further back than that."""
A_YEAR = timedelta(days=366)
CLOCK_SKEW = timedelta(minutes=15)
"""How far ahead of the bridge's clock an event's ``occurred_at`` may be. Clocks drift by seconds, so an event from
the future is a broken clock or a local time sent without its zone (read as UTC: one or two hours ahead in Sweden).
The ledger never applies an event older than the last one applied, so one stamped 2999 would make every later
change 'superseded'; within this bound a skewed event can outrank honest changes for at most 15 minutes."""


def _not_balance_sheet(account: int) -> int:
    if account < 3000:
        kind = "assets" if account < 2000 else "equity and liabilities"
        raise ValueError(
            f"account {account} is a balance-sheet account (BAS class {account // 1000}, {kind}); sales go to an "
            "income-statement account (BAS class 3 and up)"
        )
    return account


SalesAccount = Annotated[int, Field(ge=1000, le=9999), AfterValidator(_not_balance_sheet)]
"""Where a sales row may be booked: BAS classes 1 and 2 (bank, receivables, VAT, equity) never take revenue."""


def dating_window(today: date) -> tuple[date, date]:
    """Invoice dates the bridge accepts: from the oldest year still kept in the books to a year ahead."""
    return date(today.year - YEARS_KEPT, 1, 1), today + A_YEAR


class Contract(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class S3ObjectRef(Contract):
    """A PDF stays in S3: SQS messages are limited to 256 KB."""

    bucket: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]$")]
    key: Annotated[str, Field(min_length=1, max_length=1024)]


class Customer(Contract):
    customer_number: Code
    """The upstream sales-ledger number, used as the Fortnox customer number (seed 000)."""
    name: Name
    organisation_number: Annotated[str, Field(pattern=r"^\d{6}-?\d{4}$")] | None = None
    """A personal identity number for private customers: never logged."""
    type: Literal["company", "private"] = "company"
    address1: Text1024 | None = None
    address2: Text1024 | None = None
    zip_code: Text10 | None = None
    city: Text1024 | None = None
    country_code: Annotated[str, Field(pattern=r"^[A-Z]{2}$")] | None = None
    email: Annotated[str, Field(max_length=1024, pattern=r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")] | None = None
    vat_number: Annotated[str, Field(pattern=r"^[A-Z]{2}[A-Za-z0-9]{2,13}$")] | None = None
    currency: CurrencyCode | None = None


class InvoiceRow(Contract):
    description: Text255
    quantity: Quantity
    unit_price: Money
    vat_rate: VatRate
    discount_percent: Annotated[Decimal, Field(ge=0, le=100, decimal_places=2)] = Decimal(0)
    unit: Text20 | None = None
    article: Code | None = None
    service_type: Code | None = None
    product_group: Code | None = None
    account: SalesAccount | None = None
    """Overrides the mapping for this row."""
    cost_center: Code | None = None
    project: Code | None = None

    @model_validator(mode="after")
    def _text_rows_say_something(self) -> "InvoiceRow":
        if self.is_text and not self.description:
            raise ValueError("a text row (quantity 0) carries its text in description, which is empty")
        return self

    @property
    def is_text(self) -> bool:
        """A row that explains and charges nothing (quantity 0), as Fortnox takes rows without a quantity."""
        return self.quantity == 0

    @property
    def net(self) -> Decimal:
        """The row's amount before VAT, rounded to the öre as the upstream invoice shows it."""
        gross = self.quantity * self.unit_price
        return (gross * (Decimal(100) - self.discount_percent) / Decimal(100)).quantize(CENT, rounding=ROUND_HALF_UP)

    @property
    def with_vat(self) -> Decimal:
        return self.net * (Decimal(100) + self.vat_rate) / Decimal(100)


def total_with_vat(rows: Iterable[InvoiceRow]) -> Decimal:
    return sum((row.with_vat for row in rows), Decimal(0)).quantize(CENT, rounding=ROUND_HALF_UP)


class _DocumentData(Contract):
    invoice_number: DocumentNumber
    """The upstream invoice number: the business key, and Fortnox's DocumentNumber when the tenant lets us."""
    order_number: Text50 | None = None
    order_date: date | None = None
    invoice_date: date
    due_date: date
    language: Literal["sv", "en"] = "sv"
    currency: CurrencyCode = "SEK"
    currency_rate: Annotated[Decimal, Field(gt=0, max_digits=12, decimal_places=6)] | None = None
    customer: Customer
    rows: Annotated[list[InvoiceRow], Field(min_length=1, max_length=500)]
    our_reference: Text50 | None = None
    your_reference: Text50 | None = None
    your_order_number: Text75 | None = None
    comments: Text1024 | None = None
    pdf: S3ObjectRef | None = None

    @model_validator(mode="after")
    def _dates_and_currency(self) -> "_DocumentData":
        oldest, latest = dating_window(datetime.now(UTC).date())
        for name in ("invoice_date", "order_date"):
            value = getattr(self, name)
            if value is not None and not oldest <= value <= latest:
                raise ValueError(
                    f"{name} {value} is outside {oldest}..{latest}: from the oldest year kept in the books "
                    f"({YEARS_KEPT} years) to a year ahead"
                )
        if self.due_date < self.invoice_date:
            raise ValueError("due_date is before invoice_date")
        if self.due_date > self.invoice_date + A_YEAR:
            raise ValueError(f"due_date {self.due_date} is more than a year after invoice_date {self.invoice_date}")
        if self.currency != "SEK" and self.currency_rate is None:
            raise ValueError(f"currency_rate is required for {self.currency}: Fortnox and upstream must agree on it")
        return self

    @model_validator(mode="after")
    def _amounts_fortnox_can_hold(self) -> "_DocumentData":
        for index, row in enumerate(self.rows):
            if abs(row.with_vat) > MAX_AMOUNT:
                raise ValueError(
                    f"row {index} comes to {row.with_vat:.2f} {self.currency}, above Fortnox's {MAX_AMOUNT}"
                )
        total = total_with_vat(self.rows)
        if abs(total) > MAX_AMOUNT:
            raise ValueError(f"the total {total:.2f} {self.currency} is above Fortnox's {MAX_AMOUNT}")
        return self


class InvoiceData(_DocumentData):
    kind: Literal["normal", "interest"] = "normal"

    @model_validator(mode="after")
    def _charges_not_credits(self) -> "InvoiceData":
        if any(row.quantity < 0 for row in self.rows):
            raise ValueError(
                "invoice rows need a positive quantity (or 0 for a text row); send corrections as credit_note.ready"
            )
        if all(row.is_text for row in self.rows):
            raise ValueError("every row is a text row (quantity 0): an invoice charges something")
        # A negative row (a discount) is fine; an invoice that pays the customer is a credit note.
        total = total_with_vat(self.rows)
        if total < 0:
            raise ValueError(
                f"the invoice total is {total:.2f} {self.currency}: an invoice cannot take money back; send it as "
                "credit_note.ready"
            )
        return self


class CreditNoteData(_DocumentData):
    """A partial or manual correction invoice (seed 000): its rows carry the amounts to take back."""

    credits_invoice_number: DocumentNumber

    @model_validator(mode="after")
    def _takes_back(self) -> "CreditNoteData":
        charged = [index for index, row in enumerate(self.rows) if row.quantity > 0]
        if charged:
            raise ValueError(
                f"credit note rows take back, so their quantity is negative, or 0 for a text row (rows {charged} "
                "are positive); send charges as invoice.ready"
            )
        if all(row.is_text for row in self.rows):
            raise ValueError("every row is a text row (quantity 0): a credit note takes something back")
        total = total_with_vat(self.rows)
        if total > 0:
            raise ValueError(f"the credit note total is {total:.2f} {self.currency}: a credit note cannot charge")
        return self


class CreditData(Contract):
    """A full credit of an exported invoice, made with Fortnox's own /credit."""

    invoice_number: DocumentNumber
    reason: Text255 | None = None


EventId = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:\-]+$")]


class Envelope(Contract):
    id: EventId
    """The event's id: the same event delivered twice has the same id."""
    tenant_id: Annotated[str, Field(pattern=TENANT_ID_PATTERN)]
    occurred_at: datetime
    """When the change happened upstream: orders changes to one document. A time without a zone is UTC."""

    @model_validator(mode="after")
    def _not_from_the_future(self) -> "Envelope":
        occurred = self.occurred_at if self.occurred_at.tzinfo else self.occurred_at.replace(tzinfo=UTC)
        latest = datetime.now(UTC) + CLOCK_SKEW
        if occurred > latest:
            raise ValueError(
                f"occurred_at {self.occurred_at.isoformat()} is after {latest.isoformat(timespec='seconds')}, "
                f"more than {CLOCK_SKEW.seconds // 60} minutes ahead of the bridge's clock: a local time needs its "
                "zone (e.g. +01:00)"
            )
        return self


class InvoiceReady(Envelope):
    type: Literal["invoice.ready"]
    data: InvoiceData


class CreditNoteReady(Envelope):
    type: Literal["credit_note.ready"]
    data: CreditNoteData


class InvoiceCredited(Envelope):
    type: Literal["invoice.credited"]
    data: CreditData


class CustomerUpserted(Envelope):
    type: Literal["customer.upserted"]
    data: Customer


InvoiceEvent = Annotated[
    InvoiceReady | CreditNoteReady | InvoiceCredited | CustomerUpserted, Field(discriminator="type")
]
