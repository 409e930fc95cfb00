"""A small client for the sandbox's control API and OAuth endpoints, for tests, the demo and benchmarks."""

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import httpx

from fortnox_bridge import json_codec

ALL_SCOPES = (
    "companyinformation customer invoice order bookkeeping payment costcenter project currency settings inbox "
    "connectfile archive article"
)


@dataclass(frozen=True)
class AppCredentials:
    client_id: str
    client_secret: str


class SandboxControl:
    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")
        self._http = httpx.Client(base_url=self.base_url, timeout=30)

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        content = json_codec.dumps(body).encode() if body is not None else None
        response = self._http.request(method, f"/_sandbox{path}", content=content)
        response.raise_for_status()
        return json_codec.loads(response.content) if response.content else None

    def reset(self) -> None:
        self._call("POST", "/reset")

    def create_app(
        self,
        client_id: str,
        client_secret: str,
        redirect_uris: list[str] | None = None,
        *,
        service_account_allowed: bool = True,
    ) -> AppCredentials:
        self._call(
            "POST",
            "/apps",
            {
                "client_id": client_id,
                "client_secret": client_secret,
                "redirect_uris": redirect_uris or ["http://127.0.0.1/callback"],
                "service_account_allowed": service_account_allowed,
            },
        )
        return AppCredentials(client_id, client_secret)

    def create_company(
        self, tenant_id: int | None = None, name: str = "Sandlådan AB", organisation_number: str = "556000-0001"
    ) -> int:
        body: dict[str, Any] = {"name": name, "organisation_number": organisation_number}
        if tenant_id is not None:
            body["tenant_id"] = tenant_id
        return int(self._call("POST", "/companies", body)["tenant_id"])

    def company(self, tenant_id: int) -> dict[str, Any]:
        result: dict[str, Any] = self._call("GET", f"/companies/{tenant_id}")
        return result

    def consent(
        self,
        app: AppCredentials,
        tenant_id: int,
        scope: str = ALL_SCOPES,
        *,
        service_account: bool = False,
        redirect_uri: str | None = None,
    ) -> str:
        body: dict[str, Any] = {"client_id": app.client_id, "tenant_id": tenant_id, "scope": scope}
        if service_account:
            body["account_type"] = "service"
        if redirect_uri is not None:
            body["redirect_uri"] = redirect_uri
        return str(self._call("POST", "/consent", body)["code"])

    def token(self, app: AppCredentials, form: dict[str, str], headers: dict[str, str] | None = None) -> httpx.Response:
        return self._http.post("/oauth-v1/token", data=form, auth=(app.client_id, app.client_secret), headers=headers)

    def access_token(self, app: AppCredentials, tenant_id: int, scope: str = ALL_SCOPES) -> str:
        """Consent and exchange the code: a fresh user-consent access token."""
        code = self.consent(app, tenant_id, scope)
        response = self.token(app, {"grant_type": "authorization_code", "code": code})
        response.raise_for_status()
        return str(response.json()["access_token"])

    def advance_clock(self, seconds: float) -> None:
        self._call("POST", "/clock", {"seconds": Decimal(str(seconds))})

    def set_rate_limit(self, limit: int = 25, window_seconds: float = 5.0) -> None:
        self._call("POST", "/ratelimit", {"limit": limit, "window_seconds": Decimal(str(window_seconds))})

    def fault(
        self,
        kind: str,
        *,
        count: int = 1,
        method: str | None = None,
        path_prefix: str | None = None,
        delay_seconds: float = 3.0,
        tenant_id: int | None = None,
    ) -> None:
        """The next ``count`` matching requests fail as ``kind`` says; ``tenant_id`` aims the fault at one company
        (``Control.add_fault``)."""
        body: dict[str, Any] = {"kind": kind, "count": count, "delay_seconds": Decimal(str(delay_seconds))}
        if method is not None:
            body["method"] = method
        if path_prefix is not None:
            body["path_prefix"] = path_prefix
        if tenant_id is not None:
            body["tenant_id"] = tenant_id
        self._call("POST", "/faults", body)

    def clear_faults(self) -> None:
        self._call("DELETE", "/faults")

    def requests(self, tenant_id: int | None = None) -> list[dict[str, Any]]:
        suffix = f"?tenant_id={tenant_id}" if tenant_id is not None else ""
        rows: list[dict[str, Any]] = self._call("GET", f"/requests{suffix}")["requests"]
        return rows

    def bulk_customers(self, tenant_id: int, count: int) -> None:
        self._call("POST", f"/companies/{tenant_id}/customers/bulk", {"count": count})

    def seed_articles(self, tenant_id: int, articles: list[dict[str, Any]]) -> list[str]:
        """Create articles (Fortnox field names, e.g. ``{"ArticleNumber": "FRAKT", "Description": "Frakt"}``) in
        the company's article register; returns their article numbers."""
        numbers: list[str] = self._call("POST", f"/companies/{tenant_id}/articles", {"Articles": articles})["Articles"]
        return numbers

    def patch_account(self, tenant_id: int, number: int, **fields: Any) -> None:
        self._call("PATCH", f"/companies/{tenant_id}/accounts/{number}", fields)

    def put_cost_center(self, tenant_id: int, code: str, **fields: Any) -> None:
        self._call("PUT", f"/companies/{tenant_id}/costcenters/{code}", fields)

    def patch_series(self, tenant_id: int, code: str, **fields: Any) -> None:
        self._call("PATCH", f"/companies/{tenant_id}/voucherseries/{code}", fields)

    def lock_period(self, tenant_id: int, end_date: str | None) -> None:
        self._call("PUT", f"/companies/{tenant_id}/lockedperiod", {"EndDate": end_date})

    def delete_financial_year(self, tenant_id: int, year_id: int) -> None:
        self._call("DELETE", f"/companies/{tenant_id}/financialyears/{year_id}")

    def register_payment(self, tenant_id: int, invoice_number: str, amount: Decimal, **fields: Any) -> dict[str, Any]:
        body = {"InvoiceNumber": int(invoice_number), "Amount": amount, **fields}
        payment: dict[str, Any] = self._call("POST", f"/companies/{tenant_id}/payments", body)["InvoicePayment"]
        return payment

    def change_payment(self, tenant_id: int, number: str, **fields: Any) -> None:
        self._call("PATCH", f"/companies/{tenant_id}/payments/{number}", fields)

    def delete_payment(self, tenant_id: int, number: str) -> None:
        self._call("DELETE", f"/companies/{tenant_id}/payments/{number}")

    def close(self) -> None:
        self._http.close()
