"""A stranger probes the hosted pages with odd links: very long, unicode, path traversal, encoded NULs and slashes,
a link-shaped token with a bad signature, and the same in the OAuth callback's state and the connect link. Through
the local gateway and the real hosted handler: every probe is answered with a page (never a 5xx), nothing is logged
at ERROR (where it would page someone), and no log line holds what the stranger sent."""

import json
import logging
import secrets
from typing import Any
from urllib.parse import quote

import httpx
import pytest

pytestmark = pytest.mark.integration


def _odd_tokens(marker: str) -> dict[str, str]:
    """Path segments, already percent-encoded as a browser would send them, each holding ``marker``."""
    return {
        "very long": marker * 400,
        "unicode": quote(f"{marker}åäö💥\u202e"),
        "traversal": f"..%2F..%2F{marker}%2F..%2Fconnect",
        "nul": f"{marker}%00{marker}",
        "dotted": f"{marker}.{marker}.{marker}",
        "link-shaped": f"{marker}.{secrets.token_urlsafe(32)}",
        "newline": f"{marker}%0A%7B%22levelno%22%3A40%7D",
        "percent": f"{marker}%",
    }


def _probes(token: str) -> list[tuple[str, str]]:
    return [
        ("GET", f"/status/{token}"),
        ("GET", f"/status/{token}/exports/{token}/sie"),
        ("POST", f"/status/{token}/exports/{token}/retry"),
        ("GET", f"/connect/{token}"),
        ("GET", f"/oauth/callback?state={token}&code={token}"),
        ("GET", f"/oauth/callback?state={token}&error={token}"),
    ]


def test_odd_links_are_answered_with_a_page_no_error_is_logged_and_no_link_either(
    gateway: Any, log_capture: Any, caplog: pytest.LogCaptureFixture
) -> None:
    marker = f"probe{secrets.token_hex(6)}"
    caplog.set_level(logging.INFO)
    logged_before = len(log_capture.lines)

    answers: dict[str, int] = {}
    with httpx.Client(base_url=gateway.url, timeout=30) as stranger:
        for name, token in _odd_tokens(marker).items():
            for method, path in _probes(token):
                answer = stranger.request(method, gateway.url + path, data={"csrf": marker})
                answers[f"{name}: {method} {path[:40]}"] = answer.status_code

    assert {probe: status for probe, status in answers.items() if status >= 500} == {}
    records = [json.loads(line) for line in log_capture.lines[logged_before:]]
    records += [{**record.__dict__, "message": record.getMessage()} for record in caplog.records]
    errors = [record["message"] for record in records if record["levelno"] >= logging.ERROR]
    assert errors == []
    leaked = [record["message"] for record in records if marker in json.dumps(record, default=str)]
    assert leaked == []
