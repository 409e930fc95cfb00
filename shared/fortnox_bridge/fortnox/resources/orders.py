"""The Fortnox resources whose models are in ``fortnox/models/orders.py``."""

from collections.abc import Iterator

from fortnox_bridge.fortnox import pagination
from fortnox_bridge.fortnox.models.invoices import Invoice
from fortnox_bridge.fortnox.models.orders import Order, OrderListItem, OrderWrite
from fortnox_bridge.fortnox.resources.base import Resource, segment, unwrap


class Orders(Resource):
    def list(self, **filters: str | int) -> Iterator[OrderListItem]:
        return pagination.iterate(
            self._http, "/3/orders", key="Orders", parse=OrderListItem.model_validate, params=filters
        )

    def update(self, document_number: str, order: OrderWrite) -> Order:
        path = f"/3/orders/{segment(document_number)}"
        body = self._http.request("PUT", path, body={"Order": order.to_fortnox()}, idempotent=True)
        return unwrap(body, "Order", Order, path)

    def get(self, document_number: str) -> Order:
        path = f"/3/orders/{segment(document_number)}"
        return unwrap(self._http.request("GET", path, idempotent=True), "Order", Order, path)

    def create(self, order: OrderWrite) -> Order:
        body = self._http.request("POST", "/3/orders", body={"Order": order.to_fortnox()}, idempotent=False)
        return unwrap(body, "Order", Order, "POST /3/orders")

    def create_invoice(self, document_number: str) -> Invoice:
        path = f"/3/orders/{segment(document_number)}/createinvoice"
        return unwrap(self._http.request("PUT", path, idempotent=False), "Invoice", Invoice, path)
