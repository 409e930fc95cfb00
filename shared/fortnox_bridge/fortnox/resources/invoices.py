"""The Fortnox resources whose models are in ``fortnox/models/invoices.py``."""

from collections.abc import Iterator

from fortnox_bridge.fortnox import pagination
from fortnox_bridge.fortnox.models.invoices import Invoice, InvoiceListItem, InvoiceWrite
from fortnox_bridge.fortnox.resources.base import Resource, segment, unwrap


class Invoices(Resource):
    def list(self, **filters: str | int) -> Iterator[InvoiceListItem]:
        return pagination.iterate(
            self._http, "/3/invoices", key="Invoices", parse=InvoiceListItem.model_validate, params=filters
        )

    def get(self, document_number: str) -> Invoice:
        path = f"/3/invoices/{segment(document_number)}"
        return unwrap(self._http.request("GET", path, idempotent=True), "Invoice", Invoice, path)

    def create(self, invoice: InvoiceWrite) -> Invoice:
        body = self._http.request("POST", "/3/invoices", body={"Invoice": invoice.to_fortnox()}, idempotent=False)
        return unwrap(body, "Invoice", Invoice, "POST /3/invoices")

    def update(self, document_number: str, invoice: InvoiceWrite) -> Invoice:
        path = f"/3/invoices/{segment(document_number)}"
        body = self._http.request("PUT", path, body={"Invoice": invoice.to_fortnox()}, idempotent=True)
        return unwrap(body, "Invoice", Invoice, path)

    def bookkeep(self, document_number: str) -> Invoice:
        return self._action(document_number, "bookkeep", idempotent=True)

    def cancel(self, document_number: str) -> Invoice:
        return self._action(document_number, "cancel", idempotent=True)

    def credit(self, document_number: str) -> Invoice:
        """Creates a credit invoice; the original then names it in ``CreditInvoiceReference``."""
        return self._action(document_number, "credit", idempotent=False)

    def email(self, document_number: str) -> Invoice:
        """Fortnox e-mails the invoice: a GET that sends mail, so it is never sent twice blindly."""
        path = f"/3/invoices/{segment(document_number)}/email"
        return unwrap(self._http.request("GET", path, idempotent=False), "Invoice", Invoice, path)

    def external_print(self, document_number: str) -> Invoice:
        return self._action(document_number, "externalprint", idempotent=True)

    def _action(self, document_number: str, action: str, *, idempotent: bool) -> Invoice:
        path = f"/3/invoices/{segment(document_number)}/{action}"
        return unwrap(self._http.request("PUT", path, idempotent=idempotent), "Invoice", Invoice, path)
