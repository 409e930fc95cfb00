"""The Fortnox resources whose models are in ``fortnox/models/payments.py``."""

from collections.abc import Iterator

from fortnox_bridge.fortnox import pagination
from fortnox_bridge.fortnox.models.payments import InvoicePayment, InvoicePaymentListItem, InvoicePaymentWrite
from fortnox_bridge.fortnox.resources.base import Resource, segment, unwrap


class InvoicePayments(Resource):
    def list(self, **filters: str | int) -> Iterator[InvoicePaymentListItem]:
        return pagination.iterate(
            self._http,
            "/3/invoicepayments",
            key="InvoicePayments",
            parse=InvoicePaymentListItem.model_validate,
            params=filters,
        )

    def get(self, number: str) -> InvoicePayment:
        path = f"/3/invoicepayments/{segment(number)}"
        return unwrap(self._http.request("GET", path, idempotent=True), "InvoicePayment", InvoicePayment, path)

    def create(self, payment: InvoicePaymentWrite) -> InvoicePayment:
        body = self._http.request(
            "POST", "/3/invoicepayments", body={"InvoicePayment": payment.to_fortnox()}, idempotent=False
        )
        return unwrap(body, "InvoicePayment", InvoicePayment, "POST /3/invoicepayments")
