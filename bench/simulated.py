"""Simulated production: the latencies AWS and Fortnox add, installed in a worker before it builds any client.

Locally every AWS call and every Fortnox request answers in a few milliseconds, which hides work the bridge
repeats. A worker that calls ``install(Latency.production())`` first pays, per call:

- AWS: a fixed ``aws_seconds`` before each request is sent (a botocore ``before-send`` hook);
- DynamoDB writes: ``dynamodb_write_seconds`` on top, half before the request is sent and half after the answer
  is parsed, so the write lands mid-way through the wait as a real one does;
- Fortnox: a uniform 100-300 ms of server processing AFTER the sandbox has logged and counted the request (an
  httpx transport that sleeps once the response has arrived). Fortnox counts a request when it arrives; its
  processing time delays the answer, not the arrival. Real arrival jitter is a few milliseconds, so a random
  delay before sending would invent jitter the limiter never faces.

Only the worker's own process is changed; moto and the sandbox run unmodified in theirs.
"""

import random
import time
from dataclasses import dataclass
from typing import Any

import boto3
import httpx

WRITES = ("PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem")


@dataclass(frozen=True)
class Latency:
    aws_seconds: float = 0.0
    dynamodb_write_seconds: float = 0.0
    fortnox_seconds: tuple[float, float] = (0.0, 0.0)
    fortnox_url: str = ""
    """Requests to this prefix (the sandbox's API and OAuth, not its control API) pay the Fortnox latency."""

    @classmethod
    def production(cls, fortnox_url: str, *, dynamodb_write_seconds: float = 0.0) -> "Latency":
        return cls(
            aws_seconds=0.005,
            dynamodb_write_seconds=dynamodb_write_seconds,
            fortnox_seconds=(0.1, 0.3),
            fortnox_url=fortnox_url,
        )

    @property
    def idle(self) -> bool:
        return self == Latency(fortnox_url=self.fortnox_url)


def install(latency: Latency) -> None:
    """Add ``latency`` to every AWS client built from now on and to every httpx request of this process."""
    if latency.idle:
        return
    _install_aws(latency)
    if latency.fortnox_seconds[1] > 0:
        _install_fortnox(latency)


def _install_aws(latency: Latency) -> None:
    events = boto3._get_default_session().events  # the session every boto3.client()/resource() call copies

    def before_send(**kwargs: Any) -> None:
        time.sleep(latency.aws_seconds)

    events.register("before-send", before_send, unique_id="bench-aws-latency")
    if latency.dynamodb_write_seconds <= 0:
        return
    half = latency.dynamodb_write_seconds / 2
    for operation in WRITES:
        events.register(
            f"before-send.dynamodb.{operation}", lambda **_: time.sleep(half), unique_id=f"bench-before-{operation}"
        )
        events.register(
            f"after-call.dynamodb.{operation}", lambda **_: time.sleep(half), unique_id=f"bench-after-{operation}"
        )


def _install_fortnox(latency: Latency) -> None:
    original = httpx.HTTPTransport.handle_request
    low, high = latency.fortnox_seconds
    api = latency.fortnox_url.rstrip("/")

    def handle_request(self: httpx.HTTPTransport, request: httpx.Request) -> httpx.Response:
        response = original(self, request)
        url = str(request.url)
        if url.startswith(api) and not url.startswith(f"{api}/_sandbox"):
            response.read()  # the body is what Fortnox takes its time over
            time.sleep(random.uniform(low, high))
        return response

    httpx.HTTPTransport.handle_request = handle_request  # type: ignore[method-assign]
