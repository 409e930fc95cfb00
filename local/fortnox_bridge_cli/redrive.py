"""Dead letters back to the queue they came from, once their cause is fixed.

SQS has ``StartMessageMoveTask`` for this, but it moves every message of the queue; a tenant that fixed its
Fortnox setup wants its own messages back, not every other tenant's failures retried with them. So the dead-letter
queue is read, the tenant's messages are sent to the source queue and deleted, and the others are made visible
again untouched. The work queue's redrive policy names the dead-letter queue, so the work queue's URL is enough.
"""

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mypy_boto3_sqs.client import SQSClient
    from mypy_boto3_sqs.type_defs import MessageTypeDef

HOLD_SECONDS = 300
"""How long a read dead letter stays hidden while the scan goes on: the scan ends when none is left to read."""


def dead_letter_queue(sqs: "SQSClient", queue_url: str) -> str:
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["RedrivePolicy"])["Attributes"]
    if "RedrivePolicy" not in attributes:
        raise ValueError(f"{queue_url} has no dead-letter queue")
    arn = json.loads(attributes["RedrivePolicy"])["deadLetterTargetArn"]
    _, _, _, _, account, name = arn.split(":")
    return sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"]


def tenant_of(body: str) -> str | None:
    try:
        event = json.loads(body)
    except (ValueError, RecursionError):
        return None
    tenant = event.get("tenant_id") if isinstance(event, dict) else None
    return tenant if isinstance(tenant, str) else None


def redrive(sqs: "SQSClient", queue_url: str, *, tenant: str | None = None, wait_seconds: int = 1) -> int:
    """Move the dead letters of ``queue_url`` (those of ``tenant`` only, when given) back to it; how many moved.

    ``wait_seconds`` is a long poll, so an empty answer means the dead-letter queue has nothing left to show."""
    dead_letters = dead_letter_queue(sqs, queue_url)
    moved = 0
    others: list[str] = []
    while True:
        messages = sqs.receive_message(
            QueueUrl=dead_letters,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=wait_seconds,
            VisibilityTimeout=HOLD_SECONDS,
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not messages:
            break
        for message in messages:
            if tenant is not None and tenant_of(message["Body"]) != tenant:
                others.append(message["ReceiptHandle"])
                continue
            _send_back(sqs, queue_url, message)
            sqs.delete_message(QueueUrl=dead_letters, ReceiptHandle=message["ReceiptHandle"])
            moved += 1
    for handle in others:
        sqs.change_message_visibility(QueueUrl=dead_letters, ReceiptHandle=handle, VisibilityTimeout=0)
    return moved


def _send_back(sqs: "SQSClient", queue_url: str, message: "MessageTypeDef") -> None:
    attributes: dict[str, Any] = {
        name: {key: value for key, value in attribute.items() if key in ("DataType", "StringValue", "BinaryValue")}
        for name, attribute in message.get("MessageAttributes", {}).items()
    }
    sqs.send_message(QueueUrl=queue_url, MessageBody=message["Body"], MessageAttributes=attributes)
