"""The one place that decides whether and when a Fortnox request is tried again."""

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from fortnox_bridge.fortnox.errors import (
    FortnoxError,
    FortnoxRateLimited,
    FortnoxServerError,
    FortnoxTransportError,
)

IN_DOUBT: tuple[type[FortnoxError], ...] = (FortnoxServerError, FortnoxTransportError)
"""How a write that Fortnox may have carried out fails: a lost answer, or a 5xx (Fortnox, or a gateway in front of it,
failing after the change was saved). Neither says whether the write happened, so a caller of a write that is not
idempotent looks for its effect at once, and only then lets it be tried again."""


@dataclass
class RetryPolicy:
    """Capped exponential backoff with full jitter.

    A 429 is retried for every request: Fortnox refuses it before doing anything, so even a create is safe to
    send again. A 5xx or a lost answer is retried only for idempotent requests; a create that may have been
    committed goes back to the caller, which must look for it (``IN_DOUBT``) before trying again.
    """

    max_attempts: int = 5
    base_delay: float = 0.5
    max_delay: float = 8.0
    rng: random.Random = field(default_factory=random.Random)
    sleep: Callable[[float], None] = time.sleep

    def should_retry(self, error: FortnoxError, *, idempotent: bool, attempt: int) -> bool:
        if attempt >= self.max_attempts:
            return False
        if isinstance(error, FortnoxRateLimited):
            return True
        if isinstance(error, FortnoxServerError | FortnoxTransportError):
            return idempotent
        return False

    def backoff(self, attempt: int) -> float:
        ceiling = min(self.max_delay, self.base_delay * (2 ** (attempt - 1)))
        return self.rng.uniform(0, ceiling)

    def wait(self, attempt: int) -> None:
        self.sleep(self.backoff(attempt))
