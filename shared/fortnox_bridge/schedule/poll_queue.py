"""The payment poll queue: poll jobs go on it ten to a call, and what SQS would not take is tried again."""

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from fortnox_bridge.payments.poll_request import PollRequested

if TYPE_CHECKING:
    from mypy_boto3_sqs.client import SQSClient
    from mypy_boto3_sqs.type_defs import SendMessageBatchRequestEntryTypeDef

SEND_BATCH_LIMIT = 10
"""Entries SQS accepts in one SendMessageBatch."""
SEND_ATTEMPTS = 4
SEND_BACKOFF_SECONDS = 0.1


class PollQueue:
    def __init__(self, sqs: "SQSClient", queue_url: str) -> None:
        self._sqs = sqs
        self._queue_url = queue_url

    def send(self, jobs: Sequence[PollRequested]) -> list[PollRequested]:
        """Put ``jobs`` on the queue; the ones SQS still refused after the retries come back, the rest are
        accepted. A refusal that is the sender's fault is not retried: sending it again cannot help."""
        refused: list[PollRequested] = []
        for start in range(0, len(jobs), SEND_BATCH_LIMIT):
            refused += self._send_batch(jobs[start : start + SEND_BATCH_LIMIT])
        return refused

    def _send_batch(self, jobs: Sequence[PollRequested]) -> list[PollRequested]:
        pending = {str(number): job for number, job in enumerate(jobs)}
        refused: list[PollRequested] = []
        for attempt in range(SEND_ATTEMPTS):
            entries: list[SendMessageBatchRequestEntryTypeDef] = [
                {"Id": entry_id, "MessageBody": job.model_dump_json()} for entry_id, job in pending.items()
            ]
            answer = self._sqs.send_message_batch(QueueUrl=self._queue_url, Entries=entries)
            retry = {}
            for failure in answer.get("Failed", []):
                job = pending[failure["Id"]]
                if failure.get("SenderFault"):
                    refused.append(job)
                else:
                    retry[failure["Id"]] = job
            pending = retry
            if not pending:
                return refused
            if attempt + 1 < SEND_ATTEMPTS:
                time.sleep(SEND_BACKOFF_SECONDS * 2**attempt)
        return refused + list(pending.values())
