"""A receiver that holds the worker: it answers, but a byte at a time, or the invocation is nearly spent when its
delivery comes up. The worker gives each delivery a wall-clock limit and never starts one it cannot finish, so a
slow tenant cannot run the function into Lambda's timeout and fail every other tenant's delivery in the batch."""

import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from fortnox_bridge.webhooks import deliverer, posting
from tests.webhook_receiver import WebhookTenant, payment_event, sqs_record

ATTEMPTS = 5
DRIP_BYTES = 60
DRIP_EVERY_SECONDS = 0.05
"""Three seconds for the whole answer, each byte well inside any per-read timeout."""


class TricklingReceiver:
    """Takes the request, then sends ``HTTP/1.1 204`` and a header one byte at a time: a receiver that always
    answers, just never in time."""

    def __init__(self) -> None:
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port = self._server.getsockname()[1]
        self.requests = 0
        self._stopped = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def url(self, tenant: str) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/{tenant}"

    def stop(self) -> None:
        self._stopped.set()
        self._server.close()

    def _serve(self) -> None:
        while not self._stopped.is_set():
            try:
                connection, _ = self._server.accept()
            except OSError:
                return
            threading.Thread(target=self._answer, args=(connection,), daemon=True).start()

    def _answer(self, connection: socket.socket) -> None:
        with connection:
            request = b""
            while b"\r\n\r\n" not in request:
                chunk = connection.recv(65536)
                if not chunk:
                    return
                request += chunk
            self.requests += 1
            answer = b"HTTP/1.1 204 No Content\r\nX-Trickle: " + b"a" * DRIP_BYTES + b"\r\nContent-Length: 0\r\n\r\n"
            try:
                for offset in range(len(answer)):
                    if self._stopped.is_set():
                        return
                    connection.sendall(answer[offset : offset + 1])
                    time.sleep(DRIP_EVERY_SECONDS)
            except OSError:
                return


@pytest.fixture
def trickling() -> Iterator[TricklingReceiver]:
    receiver = TricklingReceiver()
    yield receiver
    receiver.stop()


def test_a_receiver_that_answers_a_byte_at_a_time_times_out_on_the_wall_clock(
    webhooks: WebhookTenant, trickling: TricklingReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every byte arrives within any per-read timeout; only a limit on the whole request ends it.
    monkeypatch.setattr(posting, "TIMEOUT_SECONDS", 0.5)
    webhooks.point_at(trickling.url(webhooks.tenant))

    webhooks.send(payment_event(webhooks.tenant))

    assert trickling.requests == ATTEMPTS
    [dead] = webhooks.dead_letters()
    assert dead.attributes["reason"] == "timeout"
    assert dead.attributes["attempts"] == str(ATTEMPTS)


def test_a_delivery_reached_with_too_little_time_left_is_put_back_not_attempted(
    webhooks: WebhookTenant, runner: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    webhooks.enqueue(payment_event(webhooks.tenant))
    [message] = webhooks.sqs.receive_message(
        QueueUrl=webhooks.queue, AttributeNames=["All"], MaxNumberOfMessages=1, WaitTimeSeconds=0
    )["Messages"]
    with monkeypatch.context() as short_of_time:
        # More than the function's whole timeout: every record is reached too late.
        short_of_time.setattr(deliverer, "TIME_NEEDED_SECONDS", 10_000.0)
        answer = runner.invoke(webhooks.function, {"Records": [sqs_record(message)]})

    assert answer == {"batchItemFailures": []}
    # Not reported failed, so Lambda deletes the original (invoked by hand here, the test does).
    webhooks.sqs.delete_message(QueueUrl=webhooks.queue, ReceiptHandle=message["ReceiptHandle"])
    assert webhooks.receiver.for_tenant(webhooks.tenant) == []
    assert webhooks.waiting() == 1
    # The copy put back is a first attempt again: delivered once, nothing dead-lettered.
    webhooks.drain()
    [received] = webhooks.receiver.for_tenant(webhooks.tenant)
    assert received.verified
    assert webhooks.dead_letters() == []
