"""What the local stack's SES sent: moto keeps every message it accepted, and the local stack's moto server runs in
this process, so the demo and tests read them where a person would read their inbox."""

from dataclasses import dataclass

from moto.ses.models import Message, ses_backends

from local_stack.moto_server import ACCOUNT_ID, REGION


@dataclass(frozen=True)
class SentEmail:
    source: str
    to: tuple[str, ...]
    subject: str
    body: str


def sent_emails() -> list[SentEmail]:
    """Every e-mail the local SES accepted, oldest first."""
    return [
        SentEmail(
            source=message.source,
            to=tuple(message.destinations.get("ToAddresses", [])),
            subject=message.subject,
            body=message.body,
        )
        for message in ses_backends[ACCOUNT_ID][REGION].sent_messages
        if isinstance(message, Message)
    ]
