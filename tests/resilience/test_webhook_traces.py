"""What a delivery leaves in traces and logs as deployed: X-Ray's patch on httpx (Powertools' Tracer applies it in
AWS) and Lambda's INFO log level. A webhook's path and query often hold the receiver's token; neither may reach a
trace or a log line, nor may the signature."""

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from aws_xray_sdk import global_sdk_config
from aws_xray_sdk.core import patch, xray_recorder

from tests.webhook_receiver import WebhookTenant, payment_event

TOKEN = "query-token-5678"


@contextmanager
def traced(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """httpx patched as X-Ray patches it in AWS, inside one open segment; undone afterwards. (Not a fixture: the
    tenant's settings are saved before, through a gateway thread that has no segment.)"""
    monkeypatch.setattr(httpx, "Client", httpx.Client)
    monkeypatch.setattr(httpx._api, "Client", httpx._api.Client)
    monkeypatch.setattr(httpx, "AsyncClient", httpx.AsyncClient)
    enabled = global_sdk_config.sdk_enabled()
    global_sdk_config.set_sdk_enabled(True)
    patch(["httpx"])
    segment = xray_recorder.begin_segment("webhook-delivery", sampling=1)
    try:
        yield segment
    finally:
        xray_recorder.clear_trace_entities()
        global_sdk_config.set_sdk_enabled(enabled)


@pytest.fixture
def info_logs() -> Iterator[None]:
    """Lambda's application log level (INFO) on the root logger, as its JSON log format sets it."""
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.INFO)
    yield
    root.setLevel(level)


def _entities(entity: Any) -> Iterator[dict[str, Any]]:
    yield entity.to_dict() if hasattr(entity, "to_dict") else {}
    for child in getattr(entity, "subsegments", []):
        yield from _entities(child)


def test_no_webhook_path_query_or_signature_reaches_a_trace_or_an_info_log(
    webhooks: WebhookTenant, info_logs: None, log_capture: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    webhooks.point_at(webhooks.receiver.url(webhooks.tenant, query=f"token={TOKEN}"))
    first = len(log_capture.lines)

    with traced(monkeypatch) as segment:
        webhooks.send(payment_event(webhooks.tenant))
        traces = [str(entity) for entity in _entities(segment)]

    [received] = webhooks.receiver.for_tenant(webhooks.tenant)
    assert received.verified
    signature = (received.signature or "").split("v1=")[1]
    lines = log_capture.lines[first:]
    for secret in [f"/hooks/{webhooks.tenant}", TOKEN, signature]:
        assert not any(secret in trace for trace in traces), f"{secret} reached a trace"
        assert not any(secret in line for line in lines), f"{secret} reached a log line"
