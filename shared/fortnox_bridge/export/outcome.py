"""What one export came to: the document, its Fortnox number, the action taken, and what is not done yet."""

from dataclasses import dataclass
from typing import Literal

from fortnox_bridge.export import explanations
from fortnox_bridge.export.explanations import Explanation
from fortnox_bridge.store.ledger import Step

Document = Literal["invoice", "credit_note", "credit", "order"]
Action = Literal["created", "updated", "unchanged", "superseded"]


@dataclass(frozen=True)
class Outcome:
    document: Document | None
    invoice_number: str | None
    fortnox_document_number: str | None
    action: Action | None
    failure: Explanation | None = None
    """Set whenever the event's work is not done: a refusal, or steps left on a document that exists."""
    pending_steps: tuple[Step, ...] = ()


def explanation_of(error: Exception) -> Explanation:
    return explanations.explanation_of(error)
