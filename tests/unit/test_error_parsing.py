"""Every error shape Fortnox sends becomes the right exception, whatever the content type claims."""

import httpx
import pytest

from fortnox_bridge.errors import BadInputError, NeedsTenantActionError, RetryableError
from fortnox_bridge.fortnox import errors


def _response(status: int, body: str, content_type: str = "application/json") -> httpx.Response:
    return httpx.Response(status, content=body.encode(), headers={"Content-Type": content_type, "X-Uid": "abc123"})


@pytest.mark.parametrize(
    ("status", "body", "content_type", "kind", "code", "message"),
    [
        (
            404,
            '{"ErrorInformation":{"Error":1,"Message":"Kan inte hitta kunden.","Code":2000433}}',
            "application/json",
            errors.FortnoxNotFound,
            2000433,
            "Kan inte hitta kunden.",
        ),
        (
            400,
            '{"ErrorInformation":{"error":1,"message":"Ett ogiltigt filter har använts.","code":2000587}}',
            "application/json",
            errors.FortnoxBadRequest,
            2000587,
            "Ett ogiltigt filter har använts.",
        ),
        (
            400,
            '{"ErrorInformation":{"error":1,"message":"Konto 4903 saknas i kontoplanen.","code":2001798}}',
            "application/json",
            errors.FortnoxSetupError,
            2001798,
            "Konto 4903 saknas i kontoplanen.",
        ),
        (401, '{"message":"unauthorized"}', "application/json", errors.FortnoxUnauthorized, None, "unauthorized"),
        (
            400,
            '{"error":"invalid_grant","error_description":"Invalid refresh token"}',
            "text/html; charset=UTF-8",
            errors.FortnoxInvalidGrant,
            None,
            "Invalid refresh token",
        ),
        (
            401,
            '{"error":"invalid_client","error_description":"The client credentials are invalid"}',
            "text/plain;charset=UTF-8",
            errors.FortnoxInvalidClient,
            None,
            "The client credentials are invalid",
        ),
        (
            400,
            '{"error":"wrong_file_type","id":"e1","message":"Only PDF"}',
            "application/json",
            errors.FortnoxAttachmentError,
            None,
            "Only PDF",
        ),
        (429, "", "text/html", errors.FortnoxRateLimited, None, "Too Many Requests"),
        (503, "<html>maintenance</html>", "text/html", errors.FortnoxServerError, None, "<html>maintenance</html>"),
    ],
)
def test_each_shape(
    status: int, body: str, content_type: str, kind: type[errors.FortnoxError], code: int | None, message: str
) -> None:
    error = errors.parse_error(_response(status, body, content_type))
    assert type(error) is kind
    assert (error.status, error.code, error.message, error.request_id) == (status, code, message, "abc123")


def test_kinds_tell_callers_what_to_do() -> None:
    assert isinstance(errors.parse_error(_response(429, "")), RetryableError)
    setup = '{"ErrorInformation":{"error":1,"message":"x","code":2002821}}'
    assert isinstance(errors.parse_error(_response(400, setup)), NeedsTenantActionError)
    assert isinstance(errors.parse_error(_response(404, '{"ErrorInformation":{"Code":2000434}}')), BadInputError)
