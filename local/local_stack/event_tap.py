"""Listen to the bridge's event bus locally: a rule forwards every event to a queue that tests and the demo read."""

import json
import uuid
from dataclasses import dataclass
from typing import Any

import boto3

from local_stack.moto_server import ACCOUNT_ID, REGION


@dataclass(frozen=True)
class Published:
    detail_type: str
    detail: dict[str, Any]


class EventTap:
    def __init__(self, endpoint_url: str, bus_name: str) -> None:
        self._sqs = boto3.client("sqs", endpoint_url=endpoint_url, region_name=REGION)
        events = boto3.client("events", endpoint_url=endpoint_url, region_name=REGION)
        name = f"tap-{uuid.uuid4().hex[:8]}"
        self._queue = self._sqs.create_queue(QueueName=name)["QueueUrl"]
        events.put_rule(Name=name, EventBusName=bus_name, EventPattern=json.dumps({"source": ["fortnox-bridge"]}))
        events.put_targets(
            Rule=name,
            EventBusName=bus_name,
            Targets=[{"Id": "tap", "Arn": f"arn:aws:sqs:{REGION}:{ACCOUNT_ID}:{name}"}],
        )

    def received(self) -> list[Published]:
        found: list[Published] = []
        while True:
            messages = self._sqs.receive_message(QueueUrl=self._queue, MaxNumberOfMessages=10).get("Messages", [])
            if not messages:
                return found
            for message in messages:
                event = json.loads(message["Body"])
                found.append(Published(event["detail-type"], event["detail"]))
                self._sqs.delete_message(QueueUrl=self._queue, ReceiptHandle=message["ReceiptHandle"])
