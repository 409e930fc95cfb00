"""The HTTP transport under every Fortnox resource: auth, rate limit, retries, error parsing, exact JSON."""

from collections.abc import Mapping
from typing import Any

import httpx

from fortnox_bridge import json_codec
from fortnox_bridge.fortnox.errors import (
    FortnoxError,
    FortnoxTransportError,
    FortnoxUnauthorized,
    FortnoxUnexpectedResponse,
    parse_error,
)
from fortnox_bridge.fortnox.ports import RateLimiter, TokenProvider
from fortnox_bridge.fortnox.retry import RetryPolicy
from fortnox_bridge.observability import logger

JsonObject = dict[str, Any]
QueryParams = Mapping[str, str | int]


class FortnoxHttp:
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
        self._http = http or httpx.Client(timeout=timeout)

    def close(self) -> None:
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
    ) -> Any:
        """Send one API call and return its parsed JSON body (``None`` for 204).

        ``idempotent`` says whether sending the request twice is harmless; creates and actions that produce a
        new document (``/credit``, ``/createinvoice``) must pass False.
        """
        attempt = 0
        refreshed_token = False
        while True:
            attempt += 1
            token = self._tokens.access_token()
            try:
                return self._send_once(method, path, token=token, params=params, body=body, files=files)
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

    def _send_once(
        self,
        method: str,
        path: str,
        *,
        token: str,
        params: QueryParams | None,
        body: Any,
        files: Mapping[str, tuple[str, bytes, str]] | None,
    ) -> Any:
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
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
            )
        except httpx.TimeoutException as error:
            raise FortnoxTransportError(f"{method} {path} timed out: {error}", maybe_committed=True) from None
        except httpx.TransportError as error:
            raise FortnoxTransportError(
                f"{method} {path} lost its connection: {type(error).__name__}", maybe_committed=True
            ) from None
        if response.status_code >= 400:
            raise parse_error(response)
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
