"""The local moto and the Fortnox sandbox keep connections alive between requests, as AWS's and Fortnox's fronts do,
and answer on a kept connection exactly as on a fresh one: the 429 path, a lost answer, the request log, the stop."""

import http.client
import logging
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3
import httpx
import pytest

from fortnox_sandbox.control_client import SandboxControl
from fortnox_sandbox.server import SandboxServer
from local_stack.moto_server import REGION

pytestmark = pytest.mark.integration


@contextmanager
def counted_connects(monkeypatch: pytest.MonkeyPatch) -> Iterator[Counter[int]]:
    """TCP connections opened from this process, by the port they went to."""
    opened: Counter[int] = Counter()
    connect = socket.socket.connect

    def counting(self: socket.socket, address: Any) -> Any:
        if isinstance(address, tuple):
            opened[int(address[1])] += 1
        return connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", counting)
    yield opened
    monkeypatch.setattr(socket.socket, "connect", connect)


def port_of(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


@pytest.fixture
def sandbox_with_token() -> Iterator[tuple[SandboxServer, SandboxControl, str]]:
    with SandboxServer() as server:
        control = SandboxControl(server.url)
        app = control.create_app("keep-alive-client", "keep-alive-secret", ["http://127.0.0.1/callback"])
        tenant_id = control.create_company(1000001, "Sandlådan Åkeri AB", "556677-8899")
        yield server, control, control.access_token(app, tenant_id)
        control.close()


def test_the_sandbox_answers_a_client_pool_on_one_connection(
    sandbox_with_token: tuple[SandboxServer, SandboxControl, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    server, _, token = sandbox_with_token
    with counted_connects(monkeypatch) as opened, httpx.Client(base_url=server.url, timeout=10) as client:
        answers = [client.get("/3/companyinformation", headers={"Authorization": f"Bearer {token}"}) for _ in range(10)]

    assert [answer.status_code for answer in answers] == [200] * 10
    assert opened[port_of(server.url)] == 1
    assert all("close" not in answer.headers.get("Connection", "") for answer in answers)


def test_more_kept_connections_than_server_threads_are_all_kept(
    sandbox_with_token: tuple[SandboxServer, SandboxControl, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Forty clients (a bench row runs a hundred) each keep their connection: none is closed for want of room."""
    server, control, token = sandbox_with_token
    control.set_rate_limit(1000, 5.0)
    clients = [httpx.Client(base_url=server.url, timeout=30) for _ in range(40)]
    statuses: list[int] = []

    def three_requests(client: httpx.Client) -> None:
        for _ in range(3):
            answer = client.get("/3/companyinformation", headers={"Authorization": f"Bearer {token}"})
            statuses.append(answer.status_code)

    with counted_connects(monkeypatch) as opened:
        threads = [threading.Thread(target=three_requests, args=(client,)) for client in clients]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    for client in clients:
        client.close()

    assert statuses == [200] * 120
    assert opened[port_of(server.url)] == 40


def test_a_429_on_a_kept_connection_answers_as_fortnox_and_keeps_the_connection(
    sandbox_with_token: tuple[SandboxServer, SandboxControl, str], caplog: pytest.LogCaptureFixture
) -> None:
    server, control, token = sandbox_with_token
    control.set_rate_limit(2, 5.0)
    caplog.set_level(logging.INFO, logger="werkzeug")
    host, port = server.url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    answers = []
    sockets = []
    for number in range(4):
        connection.request(
            "GET", f"/3/companyinformation?attempt={number}", headers={"Authorization": f"Bearer {token}"}
        )
        answer = connection.getresponse()
        answers.append((answer.status, answer.getheader("Content-Type"), answer.getheader("Server"), answer.read()))
        sockets.append(connection.sock)
    connection.close()

    assert [status for status, *_ in answers] == [200, 200, 429, 429]
    assert answers[2][1:] == ("application/json", "Fortnox", b'{"message":"Too Many Requests"}')
    assert sockets[0] is not None
    assert all(sock is sockets[0] for sock in sockets)
    lines = [record.getMessage() for record in caplog.records if record.name == "werkzeug"]
    assert sum('"GET /3/companyinformation" 429' in line for line in lines) == 2, lines
    assert not any("attempt=" in line for line in lines)


def test_a_lost_answer_closes_only_its_connection_and_the_pool_goes_on(
    sandbox_with_token: tuple[SandboxServer, SandboxControl, str],
) -> None:
    """Fortnox committed the create, the answer never came: the client sees a lost response, and its next request
    finds the customer on a new connection."""
    server, control, token = sandbox_with_token
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    with httpx.Client(base_url=server.url, timeout=10) as client:
        assert client.get("/3/customers", headers=headers).status_code == 200
        control.fault("drop_after_commit", method="POST", path_prefix="/3/customers")
        with pytest.raises(httpx.RemoteProtocolError):
            client.post("/3/customers", headers=headers, json={"Customer": {"Name": "Tapp AB", "CustomerNumber": "8"}})
        found = client.get("/3/customers/8", headers=headers)

    assert found.status_code == 200
    assert found.json()["Customer"]["Name"] == "Tapp AB"


def test_the_sandbox_stops_at_once_while_a_client_keeps_a_connection_open(
    sandbox_with_token: tuple[SandboxServer, SandboxControl, str],
) -> None:
    server, _, token = sandbox_with_token
    client = httpx.Client(base_url=server.url, timeout=10)
    assert client.get("/3/companyinformation", headers={"Authorization": f"Bearer {token}"}).status_code == 200

    began = time.monotonic()
    server.stop()
    stopped_in = time.monotonic() - began

    assert stopped_in < 2.0
    with pytest.raises(httpx.TransportError):
        client.get("/3/companyinformation", headers={"Authorization": f"Bearer {token}"})
    client.close()


def test_moto_answers_a_boto3_client_on_one_connection(
    moto_url: str, aws_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with counted_connects(monkeypatch) as opened:
        sqs = boto3.client("sqs", endpoint_url=moto_url, region_name=REGION)
        queue = sqs.create_queue(QueueName="keep-alive-probe")["QueueUrl"]
        for number in range(10):
            sqs.send_message(QueueUrl=queue, MessageBody=f"message {number}")
        received = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=0)["Messages"]
    sqs.delete_queue(QueueUrl=queue)

    assert len(received) == 10
    assert opened[port_of(moto_url)] == 1


def test_a_process_that_never_stops_its_servers_still_exits() -> None:
    """As with werkzeug's daemon threads: a script or a crashed fixture that leaves a server running must not hang."""
    script = (
        "from fortnox_sandbox.server import SandboxServer\n"
        "from local_stack.moto_server import running_moto\n"
        "SandboxServer().start()\n"
        "running_moto().__enter__()\n"
    )
    finished = subprocess.run([sys.executable, "-c", script], timeout=60, capture_output=True, text=True)

    assert finished.returncode == 0, finished.stderr


def test_a_path_cannot_write_a_line_of_its_own_into_the_request_log(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="werkzeug")
    with SandboxServer() as server, httpx.Client(base_url=server.url, timeout=10) as client:
        client.get("/nothing%0A127.0.0.1%20-%20-%20%22GET%20/forged%22%20200")

    lines = [record.getMessage() for record in caplog.records if record.name == "werkzeug"]
    assert lines
    assert not any("\n" in line for line in lines), lines
