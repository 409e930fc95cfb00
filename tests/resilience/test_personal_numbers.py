"""No personal number in a trace, a log line or an event.

A sole trader's (enskild firma) organisation number is the owner's personal identity number, and so is a private
customer's. Tracing is switched on for real with an in-memory emitter (the fixture of the link test), and each
function is invoked in this thread, as Lambda would, so its segments are recorded.
"""

import json
from typing import Any
from urllib.parse import urlsplit

import pytest
from aws_xray_sdk.core import xray_recorder

from local_stack.connect_walk import approve
from local_stack.runner import LocalRunner
from tests.conftest import Scene
from tests.exporting import Export
from tests.resilience.test_connect_links import _Collected, _invoke, traces

pytestmark = pytest.mark.integration
__all__ = ["traces"]  # the fixture, imported so pytest finds it

SOLE_TRADER = "121212-1212"
"""An organisation number of the personal-number kind (the test personnummer Skatteverket publishes)."""
PRIVATE_CUSTOMER = "191212-1212"


def _recorded(traces: _Collected) -> str:
    xray_recorder.end_segment()
    xray_recorder.begin_segment("connect-test")
    return "\n".join(traces.sent)


def _segments_holding(traces: _Collected, secret: str) -> list[str]:
    """Names of the recorded (sub)segments whose own data holds ``secret``."""
    found: list[str] = []

    def visit(entity: dict[str, Any]) -> None:
        own = {key: value for key, value in entity.items() if key != "subsegments"}
        if secret in json.dumps(own):
            found.append(str(entity.get("name")))
        for child in entity.get("subsegments", []):
            visit(child)

    for sent in traces.sent:
        visit(json.loads(sent))
    return found


def test_a_sole_traders_organisation_number_is_in_no_trace_of_the_management_api(
    runner: LocalRunner,
    template: dict[str, Any],
    scene: Scene,
    unique: str,
    traces: _Collected,
    log_capture: Any,
    events_tap: Any,
) -> None:
    company = scene.control.create_company(None, "Anna Svensson Åkeri", SOLE_TRADER)
    lines_before = len(log_capture.lines)
    assert _invoke(runner, template, "PUT", f"/tenants/{unique}", json={"display_name": "Anna"})["statusCode"] == 201
    created = _invoke(runner, template, "POST", f"/tenants/{unique}/connect-links", json={})
    landing = _invoke(runner, template, "GET", urlsplit(json.loads(created["body"])["url"]).path)
    authorize = landing["body"].split('id="continue" href="', 1)[1].split('"', 1)[0].replace("&amp;", "&")
    callback = urlsplit(approve(authorize, company))
    assert _invoke(runner, template, "GET", f"/oauth/callback?{callback.query}")["statusCode"] == 200

    status = _invoke(runner, template, "GET", f"/tenants/{unique}")
    gone = _invoke(runner, template, "DELETE", f"/tenants/{unique}/connection")

    assert status["statusCode"] == 200 and SOLE_TRADER in status["body"]  # the SaaS backend may read it
    assert gone["statusCode"] == 200
    recorded = _recorded(traces)
    assert "get_tenant" in recorded and "delete_connection" in recorded  # traced for real
    assert _segments_holding(traces, SOLE_TRADER) == []
    assert SOLE_TRADER not in "\n".join(log_capture.lines[lines_before:])
    assert SOLE_TRADER not in json.dumps([event.detail for event in events_tap.received()])


def test_a_private_customers_personal_number_is_in_no_trace_log_line_or_event(
    export: Export, traces: _Collected, log_capture: Any, events_tap: Any
) -> None:
    lines_before = len(log_capture.lines)
    customer = {"customer_number": "9001", "name": "Anna Svensson", "type": "private"}
    private = {**customer, "organisation_number": PRIVATE_CUSTOMER}
    export.send(
        export.customer(event_id="private-customer", **private),
        export.event("100", event_id="private-invoice", customer=private),
        # Refused ones: a bad row, the same id with other content, and a body that is not an event at all
        export.event("101", event_id="private-bad", customer=private, rows=[]),
        export.event("100", event_id="private-invoice", customer=private, our_reference="Annan"),
        json.dumps({"tenant_id": export.tenant, "id": "private-broken", "data": {"customer": private}}),
    )

    recorded = _recorded(traces)
    assert "record_handler" in recorded  # traced for real
    assert len(export.invoices()) == 1
    assert PRIVATE_CUSTOMER not in recorded
    assert PRIVATE_CUSTOMER.replace("-", "") not in recorded
    assert PRIVATE_CUSTOMER not in "\n".join(log_capture.lines[lines_before:])
    assert PRIVATE_CUSTOMER not in json.dumps([event.detail for event in events_tap.received()])
