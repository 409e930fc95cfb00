"""A moto server on 127.0.0.1, started inside this process."""

import logging
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager

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


@contextmanager
def running_moto(port: int | None = None) -> Iterator[str]:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port or free_port(), verbose=False)
    server.start()
    host, bound_port = server.get_host_and_port()
    try:
        yield f"http://{host}:{bound_port}"
    finally:
        server.stop()


def apply_environment(values: dict[str, str]) -> None:
    os.environ.update(values)
