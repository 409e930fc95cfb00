"""The sandbox's own request log: method, path and status, never the query that carries OAuth states and codes, nor
the raw request line of a request it could not parse."""

import logging
import secrets
import socket

import httpx
import pytest

from fortnox_sandbox.server import SandboxServer


def test_the_request_log_names_method_path_and_status_but_never_the_query(caplog: pytest.LogCaptureFixture) -> None:
    state, code, refresh_token = (secrets.token_urlsafe(24) for _ in range(3))
    caplog.set_level(logging.INFO, logger="werkzeug")

    with SandboxServer() as sandbox:
        with httpx.Client(base_url=sandbox.url, timeout=10) as client:
            client.get("/oauth-v1/auth", params={"client_id": "nobody", "state": state, "response_type": "code"})
            client.post(
                "/oauth-v1/token",
                params={"code": code},
                data={"grant_type": "refresh_token", "refresh_token": refresh_token},
            )
        # A request line the server cannot parse: the standard message would quote it whole.
        host, port = sandbox.url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=10) as raw:
            raw.sendall(f"GET /oauth-v1/auth?state={state} extra HTTP/1.1\r\n\r\n".encode())
            raw.recv(1024)

    lines = [record.getMessage() for record in caplog.records if record.name == "werkzeug"]
    assert any('"GET /oauth-v1/auth" 400' in line for line in lines), lines
    assert any('"POST /oauth-v1/token" 401' in line for line in lines), lines
    assert any("a malformed request was refused (400)" in line for line in lines), lines
    leaked = [secret for secret in (state, code, refresh_token) if any(secret in line for line in lines)]
    assert leaked == []
