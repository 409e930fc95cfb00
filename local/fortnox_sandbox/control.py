"""The control API under /_sandbox: seeding, consent without a browser, payments, faults, the request log.

None of this exists at Fortnox; tests and the demo use it to set the scene and to read what the bridge did.
"""

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

from werkzeug.wrappers import Request, Response

from fortnox_bridge import json_codec
from fortnox_sandbox.errors import ApiError
from fortnox_sandbox.http_util import json_response, public
from fortnox_sandbox.oauth import REFUSALS, OAuthEndpoints
from fortnox_sandbox.resources import articles, customers, payments
from fortnox_sandbox.state import App, Fault, SandboxState, new_company

Handler = Callable[..., Response]


class Control:
    def __init__(self, state: SandboxState, oauth: OAuthEndpoints) -> None:
        self.state = state
        self.oauth = oauth

    def routes(self) -> list[tuple[str, str, Handler]]:
        prefix = "/_sandbox"
        return [
            ("POST", f"{prefix}/reset", self.reset),
            ("POST", f"{prefix}/apps", self.create_app),
            ("POST", f"{prefix}/companies", self.create_company),
            ("GET", f"{prefix}/companies/<int:tenant_id>", self.describe_company),
            ("POST", f"{prefix}/consent", self.consent),
            ("POST", f"{prefix}/clock", self.advance_clock),
            ("POST", f"{prefix}/ratelimit", self.set_rate_limit),
            ("POST", f"{prefix}/faults", self.add_fault),
            ("DELETE", f"{prefix}/faults", self.clear_faults),
            ("GET", f"{prefix}/requests", self.request_log),
            ("POST", f"{prefix}/companies/<int:tenant_id>/customers/bulk", self.bulk_customers),
            ("POST", f"{prefix}/companies/<int:tenant_id>/articles", self.seed_articles),
            ("PATCH", f"{prefix}/companies/<int:tenant_id>/accounts/<int:number>", self.patch_account),
            ("PUT", f"{prefix}/companies/<int:tenant_id>/costcenters/<code>", self.put_cost_center),
            ("PATCH", f"{prefix}/companies/<int:tenant_id>/voucherseries/<code>", self.patch_series),
            ("PUT", f"{prefix}/companies/<int:tenant_id>/lockedperiod", self.put_locked_period),
            ("DELETE", f"{prefix}/companies/<int:tenant_id>/financialyears/<int:year_id>", self.delete_year),
            ("POST", f"{prefix}/companies/<int:tenant_id>/payments", self.register_payment),
            ("PATCH", f"{prefix}/companies/<int:tenant_id>/payments/<number>", self.change_payment),
            ("DELETE", f"{prefix}/companies/<int:tenant_id>/payments/<number>", self.delete_payment),
        ]

    @staticmethod
    def _body(request: Request) -> dict[str, Any]:
        raw = request.get_data()
        if not raw:
            return {}
        body = json_codec.loads(raw)
        if not isinstance(body, dict):
            raise ValueError("control bodies are JSON objects")
        return body

    def reset(self, request: Request) -> Response:
        self.state.reset()
        self.oauth.clear_refusals()
        return json_response({"reset": True})

    def create_app(self, request: Request) -> Response:
        body = self._body(request)
        with self.state.lock:
            self.state.apps[body["client_id"]] = App(
                client_id=body["client_id"],
                client_secret=body["client_secret"],
                redirect_uris=list(body.get("redirect_uris", [])),
                service_account_allowed=bool(body.get("service_account_allowed", True)),
            )
        return json_response({"client_id": body["client_id"]}, 201)

    def create_company(self, request: Request) -> Response:
        body = self._body(request)
        with self.state.lock:
            tenant_id = int(body.get("tenant_id") or 100000 + len(self.state.companies) + 1)
            company = new_company(
                tenant_id,
                str(body.get("name", f"Sandlådan AB {tenant_id}")),
                str(body.get("organisation_number", "556000-0000")),
                self.state.today(),
            )
            self.state.companies[tenant_id] = company
        return json_response({"tenant_id": tenant_id, "name": company.name}, 201)

    def describe_company(self, request: Request, tenant_id: int) -> Response:
        with self.state.lock:
            company = self.state.company(tenant_id)
            return json_response(
                {
                    "tenant_id": tenant_id,
                    "name": company.name,
                    "customers": len(company.customers),
                    "invoices": [public(invoice) for invoice in company.invoices.values()],
                    "orders": len(company.orders),
                    "vouchers": len(company.vouchers),
                    "payments": [public(payment) for payment in company.payments.values()],
                }
            )

    def consent(self, request: Request) -> Response:
        """What a person does on the consent page, for tests and the demo: returns the code and the redirect."""
        body = self._body(request)
        code = self.oauth.grant_code(
            client_id=body["client_id"],
            tenant_id=int(body["tenant_id"]),
            scopes=frozenset(str(body["scope"]).split()),
            redirect_uri=body.get("redirect_uri"),
            service_account=body.get("account_type") == "service",
        )
        return json_response({"code": code}, 201)

    def advance_clock(self, request: Request) -> Response:
        body = self._body(request)
        with self.state.lock:
            self.state.clock_offset += float(body["seconds"])
        return json_response({"offset_seconds": Decimal(str(self.state.clock_offset))})

    def set_rate_limit(self, request: Request) -> Response:
        body = self._body(request)
        with self.state.lock:
            self.state.rate_limit = int(body.get("limit", self.state.rate_limit))
            self.state.rate_window_seconds = float(body.get("window_seconds", self.state.rate_window_seconds))
            self.state.windows.clear()
        return json_response(
            {"limit": self.state.rate_limit, "window_seconds": Decimal(str(self.state.rate_window_seconds))}
        )

    def add_fault(self, request: Request) -> Response:
        """``500``, ``429``, ``timeout``, ``drop_after_commit`` and ``500_after_commit`` (the work done, then a 500
        in place of the answer; the request log keeps what was done) on any path; ``invalid_grant`` and
        ``invalid_client`` (``oauth.REFUSALS``) on the token and revoke endpoints, answered as Fortnox refuses (a
        revoke's ``invalid_grant`` is unverified, ``OAuthEndpoints.revoke``). A ``tenant_id`` aims a fault at one
        company: the one an API call's token belongs to, or a refusal's grant, never a grant the sandbox cannot tie
        to a company (the token endpoint's other faults take no aim). A refusal and an after-commit fault queued
        for the token or revoke endpoint both fall on its next request: the refusal refuses it (nothing is done), and
        the after-commit fault then drops or replaces that answer. To script two requests' answers, queue the
        second once the first is answered."""
        body = self._body(request)
        kind = str(body["kind"])
        if kind not in {"500", "429", "timeout", "drop_after_commit", "500_after_commit", *REFUSALS}:
            return json_response({"error": f"unknown fault kind {kind}"}, 400)
        tenant_id = body.get("tenant_id")
        fault = Fault(
            kind=kind,
            remaining=int(body.get("count", 1)),
            method=body.get("method"),
            path_prefix=body.get("path_prefix"),
            tenant_id=int(tenant_id) if tenant_id is not None else None,
            delay_seconds=float(body.get("delay_seconds", 3.0)),
        )
        if kind in REFUSALS:
            self.oauth.refuse(fault)
        else:
            with self.state.lock:
                self.state.faults.append(fault)
        return json_response({"queued": kind}, 201)

    def clear_faults(self, request: Request) -> Response:
        with self.state.lock:
            self.state.faults.clear()
        self.oauth.clear_refusals()
        return json_response({"cleared": True})

    def request_log(self, request: Request) -> Response:
        tenant = request.args.get("tenant_id")
        with self.state.lock:
            rows = [
                {
                    "method": row.method,
                    "path": row.path,
                    "query": row.query,
                    "status": row.status,
                    "tenant_id": row.tenant_id,
                    "client_id": row.client_id,
                    "grant_type": row.grant_type,
                    "time": Decimal(f"{row.time:.6f}"),
                }
                for row in self.state.requests
                if tenant is None or str(row.tenant_id) == tenant
            ]
        return json_response({"requests": rows})

    def bulk_customers(self, request: Request, tenant_id: int) -> Response:
        body = self._body(request)
        with self.state.lock:
            company = self.state.company(tenant_id)
            for _ in range(int(body["count"])):
                customers.create_customer(
                    self.state, company, {"Name": f"Bulkkund {len(company.customers) + 1}"}, host=""
                )
        return json_response({"customers": len(company.customers)}, 201)

    def seed_articles(self, request: Request, tenant_id: int) -> Response:
        """Put articles in the company's register the way a Fortnox user would, with the API's own rules."""
        body = self._body(request)
        try:
            with self.state.lock:
                company = self.state.company(tenant_id)
                created = [articles.create_article(self.state, company, dict(row), host="") for row in body["Articles"]]
        except ApiError as error:
            return json_response(error.body(), error.status)
        return json_response({"Articles": [article["ArticleNumber"] for article in created]}, 201)

    def patch_account(self, request: Request, tenant_id: int, number: int) -> Response:
        """Change (or add, or ``delete``) an account in every year's chart, or with ``financialyear`` (an id) in
        that year's chart only: Fortnox keeps one chart per year, so an account can be active in one and not the
        next."""
        body = self._body(request)
        with self.state.lock:
            company = self.state.company(tenant_id)
            only = body.get("financialyear")
            for year_id, accounts in company.accounts.items():
                if only is not None and year_id != int(only):
                    continue
                if body.get("delete"):
                    accounts.pop(number, None)
                    continue
                account = accounts.setdefault(number, {**next(iter(accounts.values())), "Number": number})
                for field in ("Active", "CostCenterSettings", "ProjectSettings", "Description"):
                    if field in body:
                        account[field] = body[field]
                account["_modified"] = self.state.timestamp()
        return json_response({"account": number})

    def put_cost_center(self, request: Request, tenant_id: int, code: str) -> Response:
        body = self._body(request)
        with self.state.lock:
            company = self.state.company(tenant_id)
            if body.get("delete"):
                company.cost_centers.pop(code, None)
            else:
                company.cost_centers[code] = {
                    "Code": code,
                    "Description": body.get("Description", code),
                    "Active": bool(body.get("Active", True)),
                    "Note": None,
                    "_modified": self.state.timestamp(),
                }
        return json_response({"cost_center": code})

    def patch_series(self, request: Request, tenant_id: int, code: str) -> Response:
        body = self._body(request)
        with self.state.lock:
            series = self.state.company(tenant_id).voucher_series[code]
            if "Manual" in body and body.get("financialyear") is not None:
                # Fortnox keeps "manual accounting" per financial year (resources/vouchers.py series_manual).
                series.setdefault("_manual_by_year", {})[int(body["financialyear"])] = bool(body["Manual"])
            elif "Manual" in body:
                series["Manual"] = bool(body["Manual"])
                series.pop("_manual_by_year", None)
            if "Description" in body:
                series["Description"] = body["Description"]
            series["_modified"] = self.state.timestamp()
        return json_response({"series": code})

    def put_locked_period(self, request: Request, tenant_id: int) -> Response:
        body = self._body(request)
        with self.state.lock:
            end = body.get("EndDate")
            self.state.company(tenant_id).locked_until = date.fromisoformat(end) if end else None
        return json_response({"EndDate": end})

    def delete_year(self, request: Request, tenant_id: int, year_id: int) -> Response:
        with self.state.lock:
            company = self.state.company(tenant_id)
            company.financial_years = [year for year in company.financial_years if year["Id"] != year_id]
        return json_response({"deleted": year_id})

    def register_payment(self, request: Request, tenant_id: int) -> Response:
        """A customer paid: Fortnox's user (or bank file) registers a payment on an invoice."""
        body = self._body(request)
        try:
            with self.state.lock:
                payment = payments.create_payment(
                    self.state,
                    self.state.company(tenant_id),
                    body,
                    source=body.get("Source", "manual"),
                    host="",
                )
        except ApiError as error:
            return json_response(error.body(), error.status)
        return json_response({"InvoicePayment": public(payment)}, 201)

    def change_payment(self, request: Request, tenant_id: int, number: str) -> Response:
        body = self._body(request)
        try:
            with self.state.lock:
                payment = payments.update_payment(self.state, self.state.company(tenant_id), number, body)
        except ApiError as error:
            return json_response(error.body(), error.status)
        return json_response({"InvoicePayment": public(payment)})

    def delete_payment(self, request: Request, tenant_id: int, number: str) -> Response:
        try:
            with self.state.lock:
                payments.delete_payment(self.state, self.state.company(tenant_id), number)
        except ApiError as error:
            return json_response(error.body(), error.status)
        return Response(status=204)
