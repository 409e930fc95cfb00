"""The Fortnox resources whose models are in ``fortnox/models/customers.py``."""

from collections.abc import Iterator

from fortnox_bridge.fortnox import pagination
from fortnox_bridge.fortnox.models.customers import Customer, CustomerListItem, CustomerWrite
from fortnox_bridge.fortnox.resources.base import Resource, segment, unwrap


class Customers(Resource):
    def list(self, **filters: str | int) -> Iterator[CustomerListItem]:
        return pagination.iterate(
            self._http, "/3/customers", key="Customers", parse=CustomerListItem.model_validate, params=filters
        )

    def get(self, number: str) -> Customer:
        path = f"/3/customers/{segment(number)}"
        return unwrap(self._http.request("GET", path, idempotent=True), "Customer", Customer, path)

    def create(self, customer: CustomerWrite) -> Customer:
        body = self._http.request("POST", "/3/customers", body={"Customer": customer.to_fortnox()}, idempotent=False)
        return unwrap(body, "Customer", Customer, "POST /3/customers")

    def update(self, number: str, customer: CustomerWrite) -> Customer:
        path = f"/3/customers/{segment(number)}"
        body = self._http.request("PUT", path, body={"Customer": customer.to_fortnox()}, idempotent=True)
        return unwrap(body, "Customer", Customer, path)
