"""One exception tree for the whole bridge.

Callers act on the kind, not the class: a retryable failure goes back to the queue, one that needs the tenant is
recorded and explained, bad input is rejected for good. Every other error derives from one of these.
"""


class BridgeError(Exception):
    """Base of every error the bridge raises on purpose."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class RetryableError(BridgeError):
    """Transient: the same work may succeed later unchanged (rate limit, 5xx, timeout, lost lease)."""


class NeedsTenantActionError(BridgeError):
    """Only the tenant can fix it: Fortnox setup, mapping, revoked consent."""


class BadInputError(BridgeError):
    """The input itself is wrong; retrying it can never succeed."""


class ConfigurationError(BridgeError):
    """The deployment is wrong: a missing variable, an unreachable endpoint."""
