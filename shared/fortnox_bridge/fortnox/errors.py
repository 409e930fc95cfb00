"""Every error shape Fortnox sends, parsed into one tree.

Shapes seen from the real service (FACTS.md section 4, recorded/):
- ``{"ErrorInformation": {"Error", "Message", "Code"}}``, and the same keys in lower case on other statuses;
- ``{"message": "unauthorized"}`` with 401 on api.fortnox.se;
- ``{"error", "error_description"}`` from the OAuth endpoints, often labelled text/html or text/plain;
- ``{"error", "id", "message"}`` from the fileattachments service.
"""

from collections.abc import Mapping
from typing import Any

import httpx

from fortnox_bridge import json_codec
from fortnox_bridge.errors import BadInputError, BridgeError, NeedsTenantActionError, RetryableError

# Fortnox codes that only the tenant can fix in Fortnox (chart of accounts, cost centres, series, periods,
# currencies, scopes and licences). Anything else with status 400 is treated as bad input.
TENANT_SETUP_CODES: frozenset[int] = frozenset(
    {
        2000401,  # period locked
        2000423,  # account not found
        2000427,  # currency not found
        2000548,  # cost centre does not exist
        2000550,  # account not active
        2000663,  # no permission for scope
        2000946,  # cost centre mandatory on account
        2000947,  # inactive cost centre on voucher
        2001101,  # no active licence for scope
        2001103,  # API licence missing
        2001304,  # account used not found
        2001798,  # account missing from chart of accounts
        2001940,  # voucher series not manual
        2002821,  # cost centre not active
        2003498,  # invoice must be finalised before bookkeeping
    }
)


class FortnoxError(BridgeError):
    """An answer from Fortnox that is not a success."""

    def __init__(
        self,
        message: str,
        *,
        status: int,
        code: int | None = None,
        error: str | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.error = error
        self.request_id = request_id

    def __str__(self) -> str:
        code = f" code {self.code}" if self.code is not None else ""
        error = f" {self.error}" if self.error else ""
        return f"Fortnox {self.status}{code}{error}: {self.message}"


class FortnoxBadRequest(FortnoxError, BadInputError):
    """400 with an ``ErrorInformation`` code that the request itself caused."""


class FortnoxSetupError(FortnoxError, NeedsTenantActionError):
    """400 whose code names something the tenant must set up in Fortnox."""


class FortnoxNotFound(FortnoxError, BadInputError):
    """404: the resource (invoice, customer, ...) does not exist."""


class FortnoxUnauthorized(FortnoxError, RetryableError):
    """401: the access token expired or is invalid. A fresh token may succeed."""


class FortnoxForbidden(FortnoxError, NeedsTenantActionError):
    """403: authentication failed for good (consent withdrawn, licence missing)."""


class FortnoxRateLimited(FortnoxError, RetryableError):
    """429: over 25 requests in 5 seconds for this client and tenant."""


class FortnoxServerError(FortnoxError, RetryableError):
    """5xx: Fortnox failed; the request may or may not have taken effect."""


class FortnoxTokenUnavailable(FortnoxError, RetryableError):
    """No access token for an API request (the token endpoint failed or gave no answer), so the request was never
    sent: nothing about it is in doubt. Carries the token endpoint's status (0 for no answer)."""


class FortnoxOAuthError(FortnoxError):
    """The token endpoint refused: ``invalid_grant``, ``invalid_client``, ..."""


class FortnoxInvalidGrant(FortnoxOAuthError, NeedsTenantActionError):
    """The code or refresh token is used, expired or revoked; a person must reconnect."""


class FortnoxInvalidClient(FortnoxOAuthError, RetryableError):
    """Our client id or secret is wrong: a deployment fault, not the tenant's; retried, never blamed on the tenant
    (a rotation is over within minutes, and a refused secret is read again once at once)."""


class FortnoxAttachmentError(FortnoxError, BadInputError):
    """The fileattachments service refused (wrong file type, too big, too many ...)."""


class FortnoxTransportError(FortnoxError, RetryableError):
    """No answer: timeout or broken connection.

    ``maybe_committed`` is true when the request could have changed Fortnox before the answer was lost; the caller
    must look before writing again.
    """

    def __init__(self, message: str, *, maybe_committed: bool) -> None:
        super().__init__(message, status=0)
        self.maybe_committed = maybe_committed


class FortnoxUnexpectedResponse(FortnoxError):
    """A success status whose body is not what the API promises."""


def _lower_keys(value: Mapping[str, Any]) -> dict[str, Any]:
    return {str(key).lower(): item for key, item in value.items()}


def _as_int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def parse_error(response: httpx.Response) -> FortnoxError:
    """Turn any non-success answer into the matching ``FortnoxError``, whatever its content type says."""
    status = response.status_code
    request_id = response.headers.get("X-Uid")
    try:
        body = json_codec.loads(response.content) if response.content else {}
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    lowered = _lower_keys(body)

    information = lowered.get("errorinformation")
    if isinstance(information, Mapping):
        fields = _lower_keys(information)
        code = _as_int(fields.get("code"))
        message = str(fields.get("message") or response.reason_phrase)
        return _by_status(status, message, code=code, request_id=request_id)

    if "error_description" in lowered or ("error" in lowered and "id" not in lowered and "message" not in lowered):
        error = str(lowered.get("error") or "")
        message = str(lowered.get("error_description") or error or response.reason_phrase)
        kind: type[FortnoxOAuthError] = FortnoxOAuthError
        if error == "invalid_grant":
            kind = FortnoxInvalidGrant
        elif error == "invalid_client":
            kind = FortnoxInvalidClient
        return kind(message, status=status, error=error, request_id=request_id)

    if "error" in lowered and "message" in lowered:
        return FortnoxAttachmentError(
            str(lowered["message"]), status=status, error=str(lowered["error"]), request_id=request_id
        )

    message = str(lowered.get("message") or response.text[:200] or response.reason_phrase)
    return _by_status(status, message, code=None, request_id=request_id)


def _by_status(status: int, message: str, *, code: int | None, request_id: str | None) -> FortnoxError:
    kind: type[FortnoxError]
    if status == 401:
        kind = FortnoxUnauthorized
    elif status == 403:
        kind = FortnoxForbidden
    elif status == 404:
        kind = FortnoxNotFound
    elif status == 429:
        kind = FortnoxRateLimited
    elif status >= 500:
        kind = FortnoxServerError
    elif code in TENANT_SETUP_CODES:
        kind = FortnoxSetupError
    else:
        kind = FortnoxBadRequest
    return kind(message, status=status, code=code, request_id=request_id)
