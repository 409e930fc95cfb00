"""The HTTP transport under every Fortnox resource: auth, rate limit, retries, error parsing, exact JSON."""

from collections.abc import Mapping
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import Any

import httpx

from fortnox_bridge import json_codec
from fortnox_bridge.fortnox.errors import (
    FortnoxError,
    FortnoxTokenUnavailable,
    FortnoxTransportError,
    FortnoxUnauthorized,
    FortnoxUnexpectedResponse,
    parse_error,
)
from fortnox_bridge.fortnox.ports import RateLimiter, TokenProvider
from fortnox_bridge.fortnox.retry import IN_DOUBT, RetryPolicy
from fortnox_bridge.observability import logger

JsonObject = dict[str, Any]
QueryParams = Mapping[str, str | int]


def shared_client(timeout: float | httpx.Timeout) -> httpx.Client:
    """An HTTP client every tenant of the process can share: a keep-alive pool and nothing else that outlives a request.

    httpx keeps a cookie jar per client and sends what one response set with later requests to the same host, so a
    cookie Fortnox (or a balancer in front of it) set for one tenant would ride along with the next tenant's call.
    The jar refuses every cookie; the bridge authenticates each request with its own bearer token and needs none.
    No auth, headers or base URL are set on the client: each request carries its own.
    """
    no_cookies = CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))
    return httpx.Client(timeout=timeout, cookies=no_cookies, follow_redirects=False)


class FortnoxHttp:
    """One tenant's view of Fortnox. ``http`` may be a pool shared with other tenants (see ``shared_client``): it is
    never closed here; a client made here is."""

    def __init__(
        self,
        *,
        base_url: str,
        tokens: TokenProvider,
        rate_limiter: RateLimiter,
        retry: RetryPolicy | None = None,
        http: httpx.Client | None = None,
        timeout: float = 30.0,
    ) -> None:
        self._base_url = base_url.rstrip("/")
        self._tokens = tokens
        self._rate_limiter = rate_limiter
        self._retry = retry or RetryPolicy()
        self._timeout = timeout
        self._owns_http = http is None
        self._http = http or shared_client(timeout)

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        params: QueryParams | None = None,
        body: Any = None,
        files: Mapping[str, tuple[str, bytes, str]] | None = None,
        idempotent: bool,
        binary: bool = False,
    ) -> Any:
        """Send one API call and return its parsed JSON body (``None`` for 204), or with ``binary`` its bytes (a
        file's content).

        ``idempotent`` says whether sending the request twice is harmless; creates and actions that produce a
        new document (``/credit``, ``/createinvoice``) must pass False.
        """
        attempt = 0
        refreshed_token = False
        while True:
            attempt += 1
            token = self._token_for(method, path)
            try:
                return self._send_once(method, path, token=token, params=params, body=body, files=files, binary=binary)
            except FortnoxUnauthorized:
                # A 401 means Fortnox did nothing; a fresh token is worth exactly one more try.
                if refreshed_token:
                    raise
                refreshed_token = True
                self._tokens.invalidate(token)
                continue
            except FortnoxTransportError as error:
                error.maybe_committed = not idempotent
                if not self._retry.should_retry(error, idempotent=idempotent, attempt=attempt):
                    raise
                self._log_retry(method, path, error, attempt)
            except FortnoxError as error:
                if not self._retry.should_retry(error, idempotent=idempotent, attempt=attempt):
                    raise
                self._log_retry(method, path, error, attempt)
            self._retry.wait(attempt)

    def _token_for(self, method: str, path: str) -> str:
        try:
            return self._tokens.access_token()
        except IN_DOUBT as failure:
            # The token endpoint's failure, not this request's: a write that never went out is not in doubt, and
            # its caller must not go looking for it (retry.IN_DOUBT).
            raise FortnoxTokenUnavailable(
                f"no token for {method} {path}: {failure}", status=failure.status, code=failure.code
            ) from failure

    def _send_once(
        self,
        method: str,
        path: str,
        *,
        token: str,
        params: QueryParams | None,
        body: Any,
        files: Mapping[str, tuple[str, bytes, str]] | None,
        binary: bool,
    ) -> Any:
        headers = {"Authorization": f"Bearer {token}", "Accept": "*/*" if binary else "application/json"}
        content: bytes | None = None
        if files is None and method in {"POST", "PUT"}:
            # Fortnox answers 1000031 to an action PUT without a JSON content type, even with no body.
            headers["Content-Type"] = "application/json"
            content = json_codec.dumps(body).encode() if body is not None else b""
        self._rate_limiter.acquire()
        try:
            response = self._http.request(
                method,
                f"{self._base_url}{path}",
                params=dict(params) if params else None,
                headers=headers,
                content=content,
                files=dict(files) if files else None,
                timeout=self._timeout,
            )
        except httpx.TimeoutException as error:
            raise FortnoxTransportError(f"{method} {path} timed out: {error}", maybe_committed=True) from None
        except httpx.TransportError as error:
            raise FortnoxTransportError(
                f"{method} {path} lost its connection: {type(error).__name__}", maybe_committed=True
            ) from None
        if response.status_code >= 400:
            raise parse_error(response)
        if binary:
            return response.content
        if response.status_code == 204 or not response.content:
            return None
        try:
            return json_codec.loads(response.content)
        except ValueError:
            raise FortnoxUnexpectedResponse(
                f"{method} {path} answered {response.status_code} with a body that is not JSON",
                status=response.status_code,
            ) from None

    @staticmethod
    def _log_retry(method: str, path: str, error: FortnoxError, attempt: int) -> None:
        logger.warning(
            "retrying Fortnox request",
            extra={
                "method": method,
                "path": path,
                "status": error.status,
                "code": error.code,
                "attempt": attempt,
            },
        )
