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
        self._events = boto3.client("events", endpoint_url=endpoint_url, region_name=REGION)
        self._name = f"tap-{uuid.uuid4().hex[:8]}"
        self._bus = bus_name
        self._queue = self._sqs.create_queue(QueueName=self._name)["QueueUrl"]
        self._events.put_rule(
            Name=self._name, EventBusName=bus_name, EventPattern=json.dumps({"source": ["fortnox-bridge"]})
        )
        self._events.put_targets(
            Rule=self._name,
            EventBusName=bus_name,
            Targets=[{"Id": "tap", "Arn": f"arn:aws:sqs:{REGION}:{ACCOUNT_ID}:{self._name}"}],
        )

    def close(self) -> None:
        """Stop listening. A tap left behind gets a copy of every later event: a test session would slow down with
        every test that opened one."""
        self._events.remove_targets(Rule=self._name, EventBusName=self._bus, Ids=["tap"])
        self._events.delete_rule(Name=self._name, EventBusName=self._bus)
        self._sqs.delete_queue(QueueUrl=self._queue)

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
