"""From an upstream invoice to Fortnox's invoice body: title, currency, type, numbering, rows, our marker."""

from decimal import Decimal
from typing import Any

from fortnox_bridge.contracts.invoices import CreditNoteData, InvoiceData
from fortnox_bridge.fortnox.models.invoices import InvoiceRowWrite, InvoiceWrite
from fortnox_bridge.fortnox.models.orders import OrderRowWrite, OrderWrite
from fortnox_bridge.mapping.aggregation import FortnoxRow, fortnox_rows
from fortnox_bridge.mapping.rules import TenantMapping

TITLE_WORD = {"sv": "Faktura", "en": "Invoice"}
CREDIT_WORD = {"sv": "Kreditfaktura", "en": "Credit note"}


def title(data: InvoiceData | CreditNoteData) -> str:
    """``Invoice 100353, 4555, 2024-09-04``: number, order number, order date, in the invoice's language (seed 000)."""
    word = (CREDIT_WORD if isinstance(data, CreditNoteData) else TITLE_WORD)[data.language]
    parts = [f"{word} {data.invoice_number}"]
    if data.order_number:
        parts.append(data.order_number)
    if data.order_date:
        parts.append(data.order_date.isoformat())
    return ", ".join(parts)


def _header(data: InvoiceData | CreditNoteData, reference: str) -> dict[str, Any]:
    """What an invoice and an order say alike: customer, currency, language, title, references, our marker."""
    return {
        "CustomerNumber": data.customer.customer_number,
        "Currency": data.currency,
        "CurrencyRate": data.currency_rate if data.currency != "SEK" else None,
        "Language": "EN" if data.language == "en" else "SV",
        "Remarks": title(data),
        "OurReference": data.our_reference,
        "YourReference": data.your_reference,
        "YourOrderNumber": data.your_order_number,
        "ExternalInvoiceReference1": reference,
    }


def _row(row: FortnoxRow) -> InvoiceRowWrite:
    return InvoiceRowWrite(
        AccountNumber=row.account,
        ArticleNumber=row.article_number,
        Description=row.description,
        DeliveredQuantity=row.quantity,
        Price=row.unit_price,
        Discount=row.discount_percent if row.discount_percent else None,
        DiscountType="PERCENT" if row.discount_percent else None,
        VAT=row.vat_rate,
        CostCenter=row.cost_center,
        Project=row.project,
        Unit=row.unit,
    )


def invoice_body(
    data: InvoiceData | CreditNoteData,
    mapping: TenantMapping,
    *,
    reference: str,
    document_number: str | None,
) -> InvoiceWrite:
    rows = fortnox_rows(mapping, data.rows, language=data.language)
    interest = isinstance(data, InvoiceData) and data.kind == "interest"
    return InvoiceWrite(
        **_header(data, reference),
        DocumentNumber=document_number,
        InvoiceType="INTRESTINVOICE" if interest else "INVOICE",
        InvoiceDate=data.invoice_date,
        DueDate=data.due_date,
        Comments=data.comments,
        InvoiceRows=[_row(row) for row in rows],
    )


def order_body(data: InvoiceData, mapping: TenantMapping, *, reference: str) -> OrderWrite:
    rows = fortnox_rows(mapping, data.rows, language=data.language)
    return OrderWrite(
        **_header(data, reference),
        OrderDate=data.order_date or data.invoice_date,
        Comments=data.comments,
        # Fortnox copies an order's Remarks to the invoice made from it only when asked (CopyRemarks defaults to
        # false, orders/save_new.yml): without it the bookkeeper's collective invoice would lose the title.
        CopyRemarks=True,
        OrderRows=[
            OrderRowWrite(
                AccountNumber=row.account,
                ArticleNumber=row.article_number,
                Description=row.description,
                OrderedQuantity=row.quantity,
                DeliveredQuantity=row.quantity,
                Price=row.unit_price,
                Discount=row.discount_percent if row.discount_percent else None,
                DiscountType="PERCENT" if row.discount_percent else None,
                VAT=Decimal(row.vat_rate),
                CostCenter=row.cost_center,
                Project=row.project,
                Unit=row.unit,
            )
            for row in rows
        ],
    )
