"""A stranger probing the status page with made-up links, through the local gateway and the real hosted handler: the
refusal is logged as a refusal (WARNING, by its reason), never at ERROR, where it would page someone, and never with
the link it refused."""

import json
import logging
import secrets
from typing import Any

import httpx
import pytest

from tests.conftest import LOCAL_API_KEY

pytestmark = pytest.mark.integration


def _probes(garbage: str) -> list[tuple[str, str]]:
    return [
        ("GET", f"/status/{garbage}"),
        ("GET", f"/status/{garbage}.{garbage}"),
        ("GET", f"/status/{garbage}/exports/{garbage}/sie"),
        ("POST", f"/status/{garbage}/exports/{garbage}/retry"),
        ("POST", f"/status/{garbage}/exports/{garbage}/mark-exported"),
    ]


def test_a_made_up_status_link_is_refused_at_warning_without_the_link(
    gateway: Any, log_capture: Any, caplog: pytest.LogCaptureFixture
) -> None:
    garbage = secrets.token_urlsafe(24)
    # Powertools' own debug lines included: an operator turning the function's log level down to DEBUG must not
    # start logging links either.
    caplog.set_level(logging.INFO)
    caplog.set_level(logging.DEBUG, logger="aws_lambda_powertools")
    logged_before = len(log_capture.lines)

    with httpx.Client(base_url=gateway.url, timeout=30) as stranger:
        answers = [stranger.request(method, path, data={"csrf": garbage}) for method, path in _probes(garbage)]

    # The stranger gets the error page, not a crash.
    assert [answer.status_code for answer in answers] == [404] * len(answers)
    records = [json.loads(line) for line in log_capture.lines[logged_before:]]
    records += [{**record.__dict__, "message": record.getMessage()} for record in caplog.records]
    errors = [record for record in records if record["levelno"] >= logging.ERROR]
    assert errors == []
    refusals = [record for record in records if record["levelno"] == logging.WARNING and record.get("reason")]
    assert len(refusals) >= len(answers)
    leaked = [record for record in records if garbage in json.dumps(record, default=str)]
    assert leaked == []


def test_a_real_failure_behind_a_genuine_link_is_still_logged_at_error_without_the_link(
    gateway: Any, table: Any, unique: str, log_capture: Any
) -> None:
    # Given a genuine link to a tenant whose connection record the bridge cannot read
    with httpx.Client(base_url=gateway.url, headers={"x-api-key": LOCAL_API_KEY}, timeout=30) as management:
        assert management.put(f"/tenants/{unique}", json={"display_name": "Trasig AB"}).status_code in (200, 201)
        answer = management.post(f"/tenants/{unique}/status-links", json={"valid_hours": 1})
    assert answer.status_code == 201, answer.text
    link = str(answer.json()["url"])
    token = link.rsplit("/", 1)[-1]
    table.put_item(Item={"PK": f"TENANT#{unique}", "SK": "CONNECTION", "state": "no-such-state"})
    logged_before = len(log_capture.lines)

    # When its bookkeeper opens it
    with httpx.Client(timeout=30) as browser:
        opened = browser.get(link)

    # Then the page says something broke, and the log says so at ERROR, by the error's kind, without the link.
    assert opened.status_code >= 500
    records = [json.loads(line) for line in log_capture.lines[logged_before:]]
    assert any(record["levelno"] >= logging.ERROR for record in records)
    assert [record for record in records if token in json.dumps(record)] == []
