"""A moto server on 127.0.0.1, started inside this process."""

import logging
import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from moto.server import ThreadedMotoServer

REGION = "eu-north-1"
ACCOUNT_ID = "123456789012"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def aws_environment(endpoint_url: str) -> dict[str, str]:
    """What a function sees locally: dummy credentials, one region, every AWS call sent to moto."""
    return {
        "AWS_ENDPOINT_URL": endpoint_url,
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
    }


_WRITES = ("put_item", "update_item", "delete_item", "transact_write_items", "get_item")
_dynamodb_lock = threading.RLock()


def _serialize_dynamodb_writes() -> None:
    """DynamoDB applies a conditional write atomically per item; moto's server, answering on several threads,
    can check two conditions before either write lands. One lock around item operations restores the guarantee
    every race in the bridge relies on (docs/decisions.md)."""
    from moto.dynamodb.models import DynamoDBBackend

    for name in _WRITES:
        original = getattr(DynamoDBBackend, name)
        if getattr(original, "_serialized", False):
            continue

        def serialized(self: Any, *args: Any, __original: Any = original, **kwargs: Any) -> Any:
            with _dynamodb_lock:
                return __original(self, *args, **kwargs)

        serialized._serialized = True  # type: ignore[attr-defined]
        setattr(DynamoDBBackend, name, serialized)


TOKEN_WINDOW_SECONDS = 600.0


def _idempotent_transactions() -> None:
    """DynamoDB answers a ``TransactWriteItems`` sent again with the same ``ClientRequestToken`` (botocore puts one on
    every call and keeps it across its own retries) without applying it twice, for ten minutes. moto applies it again,
    and its conditions then refuse what the first attempt did: a connect callback whose transaction outlived the
    client's read timeout (moto copies the table for each item of a transaction, slow late in a test session) was
    retried and told the link "was already used" by its own first attempt."""
    from moto.dynamodb.responses import DynamoHandler

    original = DynamoHandler.transact_write_items
    if getattr(original, "_idempotent", False):
        return
    answered: dict[str, tuple[float, Any]] = {}

    def idempotent(self: Any) -> Any:
        token = self.body.get("ClientRequestToken")
        with _dynamodb_lock:
            now = time.monotonic()
            for old in [key for key, (at, _) in answered.items() if now - at > TOKEN_WINDOW_SECONDS]:
                del answered[old]
            if token in answered:
                return answered[token][1]
            answer = original(self)
            if token:
                answered[token] = (time.monotonic(), answer)
            return answer

    idempotent._idempotent = True  # type: ignore[attr-defined]
    DynamoHandler.transact_write_items = idempotent  # type: ignore[method-assign]


@contextmanager
def running_moto(port: int | None = None) -> Iterator[str]:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    _serialize_dynamodb_writes()
    _idempotent_transactions()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port or free_port(), verbose=False)
    server.start()
    host, bound_port = server.get_host_and_port()
    try:
        yield f"http://{host}:{bound_port}"
    finally:
        server.stop()


def apply_environment(values: dict[str, str]) -> None:
    os.environ.update(values)
