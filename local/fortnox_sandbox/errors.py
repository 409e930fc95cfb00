"""How the sandbox fails, in the shapes and key casings Fortnox really uses."""

from typing import Any

from fortnox_sandbox.codes import Code


class ApiError(Exception):
    """An ``ErrorInformation`` answer.

    Recorded Fortnox answers 404s with PascalCase keys and 400s with lower-case keys (recorded/README.md); the
    sandbox does the same so a client that reads only one casing fails here as it would in production.
    """

    def __init__(self, kind: Code, /, **values: object) -> None:
        self.status = kind.status
        self.code = kind.number
        self.message = kind.message.format(**values)
        super().__init__(self.message)

    def body(self) -> dict[str, Any]:
        if self.status == 404:
            return {"ErrorInformation": {"Error": 1, "Message": self.message, "Code": self.code}}
        return {"ErrorInformation": {"error": 1, "message": self.message, "code": self.code}}


class Unauthorized(Exception):
    """401 ``{"message": "unauthorized"}``, as recorded for an expired token."""


class OAuthError(Exception):
    """Token-endpoint errors, sent with a text/html content type as recorded."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status


class AttachmentError(Exception):
    """fileattachments errors: ``{"error", "id", "message"}``."""

    def __init__(self, error: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.error = error
        self.message = message
        self.status = status
