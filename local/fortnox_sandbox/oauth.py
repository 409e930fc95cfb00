"""apps.fortnox.se/oauth-v1: consent page, token endpoint and revoke, with Fortnox's rules.

- authorization codes are single-use and live 10 minutes;
- clients authenticate with HTTP Basic;
- access tokens live 1 hour, refresh tokens 45 days and are single-use: a refresh rotates them;
- ``account_type=service`` makes a service account, usable with the client-credentials grant and a TenantId header.
"""

import base64
import html
import secrets
from collections.abc import Mapping
from urllib.parse import urlencode

from werkzeug.utils import redirect
from werkzeug.wrappers import Request, Response

from fortnox_bridge import json_codec
from fortnox_sandbox import tokens
from fortnox_sandbox.errors import OAuthError
from fortnox_sandbox.state import App, AuthCode, Consent, Fault, SandboxState

KNOWN_SCOPES = frozenset(
    [
        "archive",
        "article",
        "bookkeeping",
        "companyinformation",
        "connectfile",
        "costcenter",
        "currency",
        "customer",
        "inbox",
        "invoice",
        "noxfinansinvoice",
        "offer",
        "order",
        "payment",
        "price",
        "print",
        "profile",
        "project",
        "salary",
        "settings",
        "supplier",
        "supplierinvoice",
        "timereporting",
    ]
)


REFUSALS = frozenset({"invalid_grant", "invalid_client"})
"""Fault kinds the token endpoint and revoke answer as Fortnox refuses, with the answer a real cause gets:
``invalid_client`` as for a wrong client secret, ``invalid_grant`` as for a dead grant of the kind the request
presents (a revoke presents a refresh token)."""
INVALID_GRANT = {
    "authorization_code": "Invalid authorization code",
    "refresh_token": "Invalid refresh token",
    "client_credentials": "No service account consent for this tenant",
}
"""What Fortnox says when it refuses each grant: the refresh token's words are recorded."""


def invalid_client() -> OAuthError:
    return OAuthError("invalid_client", "The client credentials are invalid", 401)


def invalid_grant(grant_type: str) -> OAuthError:
    return OAuthError("invalid_grant", INVALID_GRANT[grant_type])


def fortnox_headers() -> dict[str, str]:
    """Fortnox names each answer, refusal or success, with an eight-hex-digit X-Uid, which the bridge keeps as the
    request id (recorded/authentication__*.json)."""
    return {"Server": "Fortnox", "X-Uid": secrets.token_hex(4)}


def oauth_error(error: OAuthError) -> Response:
    # Fortnox labels these JSON bodies text/html (invalid_grant) or text/plain (invalid_client): recorded.
    content_type = "text/plain;charset=UTF-8" if error.error == "invalid_client" else "text/html; charset=UTF-8"
    body = json_codec.dumps({"error": error.error, "error_description": error.description})
    return Response(body, status=error.status, content_type=content_type, headers=fortnox_headers())


def _page(title: str, body: str, status: int = 200) -> Response:
    document = f"""<!doctype html>
<html lang="sv"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;color:#222}}
button{{font-size:1rem;padding:.5rem 1.2rem;margin-right:.5rem}}li{{margin:.2rem 0}}</style></head>
<body><p><strong>Fortnox</strong> (sandbox)</p><h1>{html.escape(title)}</h1>{body}</body></html>"""
    return Response(document, status=status, content_type="text/html; charset=utf-8")


class OAuthEndpoints:
    def __init__(self, state: SandboxState) -> None:
        self.state = state
        self._refusals: list[Fault] = []

    # -- faults ----------------------------------------------------------------------------------------------
    def refuse(self, fault: Fault) -> None:
        """Queue a refusal (``REFUSALS``); its ``tenant_id`` is the company of the grant the request presents, and a
        refusal so aimed passes over a request whose grant the sandbox cannot tie to a company."""
        with self.state.lock:
            self._refusals.append(fault)

    def clear_refusals(self) -> None:
        with self.state.lock:
            self._refusals.clear()

    def _queued_refusal(self, request: Request, grant: str | None, company: int | None) -> OAuthError | None:
        """The answer a queued refusal gives this request, taking one of its count; the state's lock is held."""
        for fault in self._refusals:
            # Fault.matches lets a request of no company match any aim (the token endpoint's other faults take no
            # aim); a refusal aimed at one company must not be spent on, nor change the answer of, a grant of none.
            if fault.tenant_id is not None and company is None:
                continue
            if not fault.matches(request.method, request.path, company):
                continue
            if fault.kind == "invalid_client":
                fault.remaining -= 1
                return invalid_client()
            if grant in INVALID_GRANT:
                fault.remaining -= 1
                return invalid_grant(grant)
        return None

    def _company_of(self, request: Request, grant: str | None) -> int | None:
        """The company whose grant a token request (``grant``) or a revoke (None) presents, for a refusal aimed at
        one company; None when the request names none the sandbox knows."""
        form = request.form
        if grant == "authorization_code":
            code = self.state.codes.get(form.get("code", ""))
            return code.tenant_id if code is not None else None
        if grant == "client_credentials":
            header = request.headers.get("TenantId", "")
            return int(header) if header.isdigit() else None
        if grant not in (None, "refresh_token"):
            return None
        token = self.state.refresh_tokens.get(form.get("token" if grant is None else "refresh_token", ""))
        return token.tenant_id if token is not None else None

    # -- consent ---------------------------------------------------------------------------------------------
    def authorize_page(self, request: Request) -> Response:
        args = request.args
        app = self._authorized_app(args)
        if isinstance(app, Response):
            return app
        scopes = sorted(set((args.get("scope") or "").split()))
        with self.state.lock:
            companies = sorted(self.state.companies.values(), key=lambda company: company.tenant_id)
        options = "".join(
            f"<option value='{company.tenant_id}'>{html.escape(company.name)} "
            f"({html.escape(company.organisation_number)})</option>"
            for company in companies
        )
        hidden = "".join(
            f"<input type='hidden' name='{name}' value='{html.escape(args.get(name) or '', quote=True)}'>"
            for name in (
                "client_id",
                "redirect_uri",
                "scope",
                "state",
                "access_type",
                "response_type",
                "account_type",
            )
        )
        service = (
            "<p>Behörigheten ges till ett <strong>servicekonto</strong>.</p>"
            if args.get("account_type") == "service"
            else ""
        )
        body = f"""<p>Integrationen <strong>{html.escape(app.client_id)}</strong> begär åtkomst till:</p>
<ul>{"".join(f"<li>{html.escape(scope)}</li>" for scope in scopes)}</ul>{service}
<form method="post" action="/oauth-v1/auth">{hidden}
<label>Företag <select name="tenant_id" id="company">{options}</select></label>
<p><button name="decision" value="approve" id="approve">Godkänn</button>
<button name="decision" value="deny" id="deny">Avbryt</button></p></form>"""
        return _page("Godkänn integration", body)

    def authorize_decision(self, request: Request) -> Response:
        form = request.form
        app = self._authorized_app(form)
        if isinstance(app, Response):
            return app
        redirect_uri = form.get("redirect_uri") or app.redirect_uris[0]
        if form.get("decision") != "approve":
            query = {
                "error": "access_denied",
                "error_description": "The user denied the request",
                "state": form.get("state", ""),
            }
            return redirect(f"{redirect_uri}?{urlencode(query)}", code=302)
        try:
            tenant_id = int(form.get("tenant_id", ""))
        except ValueError:
            return _page("Det gick inte att ansluta", "<p id='error'>Välj ett företag.</p>", 400)
        code = self.grant_code(
            client_id=app.client_id,
            tenant_id=tenant_id,
            scopes=frozenset((form.get("scope") or "").split()),
            redirect_uri=form.get("redirect_uri") or None,
            service_account=form.get("account_type") == "service",
        )
        return redirect(f"{redirect_uri}?{urlencode({'code': code, 'state': form.get('state', '')})}", code=302)

    def grant_code(
        self,
        *,
        client_id: str,
        tenant_id: int,
        scopes: frozenset[str],
        redirect_uri: str | None,
        service_account: bool,
    ) -> str:
        with self.state.lock:
            if tenant_id not in self.state.companies:
                raise KeyError(f"no sandbox company {tenant_id}")
            code = secrets.token_urlsafe(24)
            self.state.codes[code] = AuthCode(
                client_id=client_id,
                tenant_id=tenant_id,
                scopes=scopes,
                redirect_uri=redirect_uri,
                service_account=service_account,
                expires_at=self.state.now() + self.state.AUTH_CODE_SECONDS,
            )
            return code

    def _authorized_app(self, params: Mapping[str, str]) -> App | Response:
        """The app an authorization request names, or the error page Fortnox shows instead."""
        problem = self._authorize_problem(params)
        if problem is not None:
            return _page("Det gick inte att ansluta", f"<p id='error'>{html.escape(problem)}</p>", 400)
        return self.state.apps[params["client_id"]]

    def _authorize_problem(self, params: Mapping[str, str]) -> str | None:
        app = self.state.apps.get(params.get("client_id") or "")
        if app is None:
            return "Auth code or ClientID supplied is invalid"
        if params.get("response_type") != "code":
            return "response_type must be code"
        scopes = set((params.get("scope") or "").split())
        if not scopes or not scopes <= KNOWN_SCOPES:
            return f"Invalid scope: {' '.join(sorted(scopes - KNOWN_SCOPES)) or '(none)'}"
        redirect_uri = params.get("redirect_uri")
        if redirect_uri and redirect_uri not in app.redirect_uris:
            return "redirect_uri does not match the registered Redirect URI"
        account_type = params.get("account_type")
        if account_type not in (None, "", "service"):
            return "account_type must be service"
        if account_type == "service" and not app.service_account_allowed:
            return "Client does not allow service account"
        return None

    # -- token endpoint --------------------------------------------------------------------------------------
    def token(self, request: Request) -> Response:
        try:
            app = self._client(request)
            grant = request.form.get("grant_type")
            with self.state.lock:
                refusal = self._queued_refusal(request, grant, self._company_of(request, grant))
                if refusal is not None:
                    raise refusal
                if grant == "authorization_code":
                    answer = self._exchange_code(app, request)
                elif grant == "refresh_token":
                    answer = self._refresh(app, request)
                elif grant == "client_credentials":
                    answer = self._client_credentials(app, request)
                else:
                    raise OAuthError("unsupported_grant_type", f"Unsupported grant type: {grant}")
        except OAuthError as error:
            return oauth_error(error)
        return Response(json_codec.dumps(answer), content_type="application/json", headers=fortnox_headers())

    def revoke(self, request: Request) -> Response:
        try:
            app = self._client(request)
            with self.state.lock:
                # An invalid_grant refusal answers as the token endpoint does for a dead refresh token. Unverified: no
                # source shows what Fortnox answers a revoke of a dead token (FACTS.md 1.5 has only the success, and
                # RFC 7009 2.2 has a server answer 200 for an invalid token, as the sandbox does without a fault).
                # It is offered because the bridge's disconnect has a branch for it ("already dead at Fortnox")
                # that no test could reach otherwise.
                refusal = self._queued_refusal(request, "refresh_token", self._company_of(request, None))
            if refusal is not None:
                raise refusal
        except OAuthError as error:
            return oauth_error(error)
        with self.state.lock:
            token = self.state.refresh_tokens.get(request.form.get("token", ""))
            # Only the refresh token ends: "revoke of access-token is not supported" (FACTS.md 1.5), so access
            # tokens already issued live out their hour.
            if token is not None and token.client_id == app.client_id:
                token.revoked = True
        return Response(json_codec.dumps({"revoked": True}), content_type="application/json", headers=fortnox_headers())

    def _client(self, request: Request) -> App:
        header = request.headers.get("Authorization", "")
        invalid = invalid_client()
        if not header.startswith("Basic "):
            raise invalid
        try:
            client_id, _, secret = base64.b64decode(header[6:]).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            raise invalid from None
        app = self.state.apps.get(client_id)
        if app is None or not secrets.compare_digest(app.client_secret, secret):
            raise invalid
        return app

    def _exchange_code(self, app: App, request: Request) -> dict[str, object]:
        code = self.state.codes.get(request.form.get("code", ""))
        if code is None or code.used or code.client_id != app.client_id or code.expires_at <= self.state.now():
            raise invalid_grant("authorization_code")
        if code.redirect_uri is not None and request.form.get("redirect_uri") != code.redirect_uri:
            raise OAuthError("invalid_grant", "Redirect URI mismatch")
        code.used = True
        self.state.consents[(app.client_id, code.tenant_id)] = Consent(
            client_id=app.client_id,
            tenant_id=code.tenant_id,
            scopes=code.scopes,
            service_account=code.service_account,
        )
        return tokens.issue(
            self.state, client_id=app.client_id, tenant_id=code.tenant_id, scopes=code.scopes, refresh=True
        )

    def _refresh(self, app: App, request: Request) -> dict[str, object]:
        token = self.state.refresh_tokens.get(request.form.get("refresh_token", ""))
        if (
            token is None
            or token.used
            or token.revoked
            or token.client_id != app.client_id
            or token.expires_at <= self.state.now()
        ):
            raise invalid_grant("refresh_token")
        consent = self.state.consents.get((app.client_id, token.tenant_id))
        if consent is None or consent.revoked:
            raise invalid_grant("refresh_token")
        token.used = True
        return tokens.issue(
            self.state, client_id=app.client_id, tenant_id=token.tenant_id, scopes=token.scopes, refresh=True
        )

    def _client_credentials(self, app: App, request: Request) -> dict[str, object]:
        try:
            tenant_id = int(request.headers.get("TenantId", ""))
        except ValueError:
            raise OAuthError("invalid_request", "TenantId header is required") from None
        consent = self.state.consents.get((app.client_id, tenant_id))
        if consent is None or consent.revoked or not consent.service_account:
            raise invalid_grant("client_credentials")
        return tokens.issue(
            self.state, client_id=app.client_id, tenant_id=tenant_id, scopes=consent.scopes, refresh=False
        )
