"""Issue 8, point 7: a connect link cannot hijack a live connection, and no working link leaves the system.

Through the local API gateway and the hosted pages, against the sandbox's consent and moto.
"""

import json
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from aws_xray_sdk import global_sdk_config
from aws_xray_sdk.core import xray_recorder
from aws_xray_sdk.core.context import Context
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from fortnox_bridge import wiring
from fortnox_bridge.connect import consent_state
from fortnox_bridge.fortnox.oauth import fortnox_tenant_claim
from fortnox_bridge.ids import TenantId
from fortnox_bridge.store.links import token_hash
from fortnox_sandbox.server import SandboxServer
from local_stack.api_gateway import LocalApiGateway, routes
from local_stack.connect_walk import approve, consent_url, walk
from local_stack.runner import LocalRunner
from tests.conftest import LOCAL_API_KEY, Scene

pytestmark = pytest.mark.integration
SIGNING_KEY = b"local-signing-key"


class Management:
    def __init__(self, url: str) -> None:
        self.http = httpx.Client(base_url=url, headers={"x-api-key": LOCAL_API_KEY}, timeout=30)

    def tenant(self, tenant_id: str, name: str = "Åkeri Demo") -> None:
        assert self.http.put(f"/tenants/{tenant_id}", json={"display_name": name}).status_code in (200, 201)

    def new_link(self, tenant_id: str, **body: Any) -> dict[str, Any]:
        answer = self.http.post(f"/tenants/{tenant_id}/connect-links", json=body)
        assert answer.status_code == 201, answer.text
        created: dict[str, Any] = answer.json()
        return created

    def link(self, tenant_id: str, **body: Any) -> str:
        return str(self.new_link(tenant_id, **body)["url"])

    def status(self, tenant_id: str) -> dict[str, Any]:
        answer = self.http.get(f"/tenants/{tenant_id}")
        assert answer.status_code == 200, answer.text
        found: dict[str, Any] = answer.json()
        return found


@pytest.fixture
def api(gateway: Any) -> Management:
    return Management(gateway.url)


def _secret_company(tenant: str) -> int | None:
    stored = wiring.secrets_store().read(TenantId(tenant))
    return fortnox_tenant_claim(stored.access_token.get_secret_value()) if stored else None


def _refresh_works(scene: Scene, refresh_token: str) -> bool:
    answer = scene.control.token(scene.app, {"grant_type": "refresh_token", "refresh_token": refresh_token})
    return answer.status_code == 200


def test_an_older_link_stops_working_when_the_tenant_connects_with_a_newer_one(
    api: Management, scene: Scene, unique: str
) -> None:
    # Given a tenant with two links: the victim's company is connected through the newer one while an attacker
    # (or a stale browser tab) holds the older one, already approved at Fortnox for another company
    victim, other = scene.new_company("Offer AB"), scene.new_company("Annan AB")
    api.tenant(unique)
    older, newer = api.link(unique), api.link(unique)
    stale_callback = approve(consent_url(older), other)
    assert walk(newer, victim).status == 200
    victims_tokens = wiring.secrets_store().read(TenantId(unique))
    assert victims_tokens is not None and victims_tokens.refresh_token is not None

    # When the older link's callback arrives, and when someone opens the older link again
    late = httpx.get(stale_callback, timeout=30)
    reopened = httpx.get(older)

    # Then both are refused, the connection, its secret and its tokens still belong to the victim's company
    assert late.status_code == 410 and 'data-kind="superseded"' in late.text
    assert reopened.status_code == 410 and 'data-kind="superseded"' in reopened.text
    status = api.status(unique)
    assert (status["state"], status["fortnox_tenant_id"]) == ("connected", victim)
    assert _secret_company(unique) == victim
    assert _refresh_works(scene, victims_tokens.refresh_token.get_secret_value())


def test_a_connected_tenant_is_replaced_only_by_a_link_made_for_it_after_the_page_asks_to_confirm(
    api: Management, scene: Scene, unique: str
) -> None:
    first, second = scene.new_company("Nuvarande AB"), scene.new_company("Nästa AB")
    api.tenant(unique)
    assert walk(api.link(unique), first).status == 200
    old = wiring.secrets_store().read(TenantId(unique))
    assert old is not None and old.refresh_token is not None

    # A plain link for a connected tenant is refused with the reason
    plain = api.http.post(f"/tenants/{unique}/connect-links", json={})
    assert plain.status_code == 409 and plain.json()["error"] == "connected"
    assert "replace_connection" in plain.json()["message"]

    # A replacing link names the company connected today and asks to confirm before any consent is possible
    replacing = api.link(unique, replace_connection=True)
    page = httpx.get(replacing, params={"lang": "en"})
    assert page.status_code == 200 and 'id="replaces"' in page.text and "Nuvarande AB" in page.text
    assert 'id="confirm"' in page.text and 'id="continue"' not in page.text and "state=" not in page.text
    confirmed = httpx.get(replacing, params={"confirm": "replace", "lang": "en"})
    assert 'id="continue"' in confirmed.text and "Nuvarande AB" in confirmed.text

    # Once confirmed and approved, the connection moves and the replaced refresh token is revoked at Fortnox
    assert walk(replacing, second).status == 200
    status = api.status(unique)
    assert (status["state"], status["fortnox_tenant_id"]) == ("connected", second)
    assert _secret_company(unique) == second
    assert not _refresh_works(scene, old.refresh_token.get_secret_value())


def test_a_state_issued_without_confirming_cannot_replace_the_connection(
    api: Management, scene: Scene, unique: str
) -> None:
    first, second = scene.new_company("Kvar AB"), scene.new_company("Kapad AB")
    api.tenant(unique)
    assert walk(api.link(unique), first).status == 200
    replacing = api.link(unique, replace_connection=True)
    # A state signed for this link but without the confirmation, as a landing page before it would have issued
    unconfirmed, _ = consent_state.issue(unique, token_hash(replacing.rsplit("/", 1)[-1]), SIGNING_KEY, time.time())
    code = scene.control.consent(scene.app, second, "companyinformation invoice customer", service_account=False)
    answer = api.http.get("/oauth/callback", params={"state": unconfirmed, "code": code})
    assert answer.status_code == 409 and 'data-kind="connected"' in answer.text
    assert api.status(unique)["fortnox_tenant_id"] == first and _secret_company(unique) == first


def test_links_can_be_revoked_one_or_all(api: Management, scene: Scene, unique: str) -> None:
    company = scene.new_company("Återkallad AB")
    api.tenant(unique)
    one, two, three = (api.new_link(unique) for _ in range(3))
    approved_before = approve(consent_url(three["url"]), company)

    assert api.http.delete(f"/tenants/{unique}/connect-links/{one['link_id']}").status_code == 200
    assert 'data-kind="superseded"' in httpx.get(one["url"]).text
    assert httpx.get(two["url"]).status_code == 200  # the others still work

    assert api.http.delete(f"/tenants/{unique}/connect-links").status_code == 200
    assert 'data-kind="superseded"' in httpx.get(two["url"]).text
    # A consent approved before the revocation comes back too late
    late = httpx.get(approved_before, timeout=30)
    assert late.status_code == 410 and api.status(unique)["state"] == "not_connected"
    # Links made after the revocation work; another tenant cannot revoke them
    four = api.new_link(unique)
    api.tenant(f"{unique}-x")
    assert api.http.delete(f"/tenants/{unique}-x/connect-links/{four['link_id']}").status_code == 404
    assert walk(four["url"], company).status == 200


class _Collected:
    """An X-Ray emitter that keeps what it would send to the daemon."""

    def __init__(self) -> None:
        self.sent: list[str] = []

    def send_entity(self, entity: Any) -> None:
        self.sent.append(entity.serialize())

    def set_daemon_address(self, address: str | None) -> None:
        """No daemon: nothing leaves the process."""


@pytest.fixture
def traces() -> Iterator[_Collected]:
    """Tracing switched on for real (the suite runs with it off), segments kept in memory."""
    collected = _Collected()
    # Calls on other threads (the API gateway's) have no segment: they log that and run untraced.
    xray_recorder.configure(
        emitter=collected, context=Context(context_missing="LOG_ERROR"), sampling=False, streaming_threshold=10_000
    )
    global_sdk_config.set_sdk_enabled(True)
    xray_recorder.begin_segment("connect-test")
    yield collected
    xray_recorder.end_segment()
    global_sdk_config.set_sdk_enabled(False)


def _invoke(runner: LocalRunner, template: dict[str, Any], method: str, url: str, **request: Any) -> dict[str, Any]:
    """Call a route's function in this thread (X-Ray's context is per thread), as the API gateway would."""
    parts = urlsplit(url)
    builder = EnvironBuilder(path=parts.path, method=method, query_string=parts.query, **request)
    incoming = Request(builder.get_environ())
    for route in routes(template):
        match = route.pattern.match(parts.path)
        if match and route.method == method:
            spec = runner.function_by_id(route.function_id)
            answer: dict[str, Any] = runner.invoke(spec, LocalApiGateway._event(incoming, route, match.groupdict()))
            return answer
    raise AssertionError(f"no route for {method} {parts.path}")


def test_no_link_state_code_or_token_reaches_a_trace_a_log_line_or_an_event(
    runner: LocalRunner,
    template: dict[str, Any],
    scene: Scene,
    sandbox: SandboxServer,
    unique: str,
    traces: _Collected,
    log_capture: Any,
    events_tap: Any,
) -> None:
    company = scene.new_company("Spårlös AB")
    lines_before = len(log_capture.lines)
    assert _invoke(runner, template, "PUT", f"/tenants/{unique}", json={"display_name": "Spår"})["statusCode"] == 201

    created = _invoke(runner, template, "POST", f"/tenants/{unique}/connect-links", json={})
    link = json.loads(created["body"])["url"]
    landing = _invoke(runner, template, "GET", urlsplit(link).path)
    authorize = landing["body"].split('id="continue" href="', 1)[1].split('"', 1)[0].replace("&amp;", "&")
    state = parse_qs(urlsplit(authorize).query)["state"][0]
    callback = urlsplit(approve(authorize, company))
    code = parse_qs(callback.query)["code"][0]
    done = _invoke(runner, template, "GET", f"/oauth/callback?{callback.query}")
    assert done["statusCode"] == 200 and "Spårlös AB" in done["body"]
    xray_recorder.end_segment()
    xray_recorder.begin_segment("connect-test")

    recorded = "\n".join(traces.sent)
    assert "create_link" in recorded and "landing" in recorded and "callback" in recorded  # traced for real
    secrets = [link.rsplit("/", 1)[-1], state, code, *sandbox.state.issued]
    assert [secret[:12] for secret in secrets if secret in recorded] == []
    new_lines = "\n".join(log_capture.lines[lines_before:])
    assert [secret[:12] for secret in secrets if secret in new_lines] == []
    published = json.dumps([event.detail for event in events_tap.received()])
    assert [secret[:12] for secret in secrets if secret in published] == []


def test_a_lost_connection_is_announced_once_and_without_a_link(
    api: Management, scene: Scene, unique: str, events_tap: Any
) -> None:
    company = scene.new_company("Tappad Länk AB")
    api.tenant(unique)
    assert walk(api.link(unique), company).status == 200
    events_tap.received()
    connect = wiring.connect_service()

    assert connect.mark_needs_reconnect(TenantId(unique), "Fortnox refused the refresh token") is True
    assert connect.mark_needs_reconnect(TenantId(unique), "Fortnox refused the refresh token") is False

    published = [event for event in events_tap.received() if event.detail_type == "connection.needs_reconnect"]
    assert [event.detail for event in published] == [
        {"tenant_id": unique, "reason": "Fortnox refused the refresh token"}
    ]
    # The tenant asks for a link when a person is ready; a connection lost in an older generation never marks
    # the one that replaced it
    assert walk(api.link(unique), company).status == 200
    assert connect.mark_needs_reconnect(TenantId(unique), "an old worker's refusal", generation=1) is False
    assert api.status(unique)["state"] == "connected"
