"""A hostile tenant and a security reviewer against the production stack (issue 12): what one stage, one tenant or
one forged token can reach. Read from the synthesized templates of two stages, and through the real handlers (the
local runner and gateway) against moto and the sandbox."""

import base64
import hashlib
import hmac
import json
import re
import time
import uuid
from datetime import timedelta
from typing import Any

import pytest


def _of_type(template: dict[str, Any], kind: str) -> dict[str, Any]:
    return {key: value for key, value in template["Resources"].items() if value["Type"] == kind}


def _emitted_namespaces(template: dict[str, Any]) -> set[str]:
    """Where the stage's functions count their business metrics (Powertools' namespace)."""
    return {
        function["Properties"]["Environment"]["Variables"]["POWERTOOLS_METRICS_NAMESPACE"]
        for function in _of_type(template, "AWS::Lambda::Function").values()
        if "POWERTOOLS_METRICS_NAMESPACE" in function["Properties"].get("Environment", {}).get("Variables", {})
    }


def _watched_namespaces(template: dict[str, Any]) -> set[str]:
    """The custom namespaces the stage's alarms and dashboards read (not AWS's own, which are by resource)."""
    alarmed = {
        alarm["Properties"]["Namespace"]
        for alarm in _of_type(template, "AWS::CloudWatch::Alarm").values()
        if "Namespace" in alarm["Properties"] and not alarm["Properties"]["Namespace"].startswith("AWS/")
    }
    bodies = "".join(
        part if isinstance(part, str) else json.dumps(part)
        for dashboard in _of_type(template, "AWS::CloudWatch::Dashboard").values()
        for part in dashboard["Properties"]["DashboardBody"]["Fn::Join"][1]
    )
    drawn = {namespace for namespace in _emitted_namespaces(template) if namespace in bodies}
    return alarmed | drawn


def test_two_stages_in_one_account_count_and_alarm_on_their_own_metrics_only(
    template: dict[str, Any], prod_template: dict[str, Any]
) -> None:
    """Business metrics are dimensioned by service only: with one namespace for every stage, dev's keep-alive runs
    would keep prod's "no keep-alive run in two days" alarm quiet, and a test tenant lost in dev would page prod."""
    dev_emits, prod_emits = _emitted_namespaces(template), _emitted_namespaces(prod_template)
    assert dev_emits and prod_emits
    assert not dev_emits & prod_emits
    assert _watched_namespaces(prod_template) and _watched_namespaces(prod_template) <= prod_emits
    assert _watched_namespaces(template) and _watched_namespaces(template) <= dev_emits


# -- the signing key's rotation function, asked by someone else -------------------------------------------------------
STEPS = ("createSecret", "setSecret", "testSecret", "finishSecret")


def _physical(deployed: Any, prefix: str) -> str:
    return str(next(value for key, value in deployed.physical_ids.items() if key.startswith(prefix)))


def _versions(client: Any, secret_id: str) -> dict[str, list[str]]:
    described = client.describe_secret(SecretId=secret_id)
    return {version: stages for version, stages in described["VersionIdsToStages"].items() if stages}


def test_the_rotation_function_rotates_the_signing_key_and_no_other_secret(runner: Any, deployed: Any) -> None:
    """Secrets Manager may invoke the function for any secret of the account (its permission names the account, not
    the secret): a schedule pointed at the client secret or a tenant's tokens must not replace them."""
    import boto3

    from fortnox_bridge import settings
    from fortnox_bridge.connect.key_rotation import RotationRefused
    from local_stack.moto_server import REGION

    client = boto3.client("secretsmanager", region_name=REGION)
    tenant_secret = f"{settings.secret_names().tenant_prefix}hostile-{uuid.uuid4().hex[:8]}"
    client.create_secret(Name=tenant_secret, SecretString='{"access_token": "kept"}')
    others = [_physical(deployed, "FortnoxClientSecret"), tenant_secret]
    before = {secret: (_versions(client, secret), _value(client, secret)) for secret in others}
    signing_key = _physical(deployed, "ConnectSigningKey")
    signing_before = _versions(client, signing_key)
    rotator = runner.function("SigningKeyRotation")
    for secret in others:
        token = str(uuid.uuid4())
        for step in STEPS:
            with pytest.raises(RotationRefused):
                runner.invoke(rotator, {"SecretId": secret, "ClientRequestToken": token, "Step": step})
    assert {secret: (_versions(client, secret), _value(client, secret)) for secret in others} == before
    # The signing key itself, with a token no rotation staged, past its first step: refused, nothing moves.
    for step in STEPS[1:]:
        with pytest.raises(RotationRefused):
            runner.invoke(rotator, {"SecretId": signing_key, "ClientRequestToken": str(uuid.uuid4()), "Step": step})
    assert _versions(client, signing_key) == signing_before


def _value(client: Any, secret_id: str) -> str:
    return str(client.get_secret_value(SecretId=secret_id, VersionStage="AWSCURRENT")["SecretString"])


# -- forged key ids on OAuth states and status links -------------------------------------------------------------------
def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _signed(fields: dict[str, Any], key: bytes) -> str:
    payload = _b64(json.dumps(fields, separators=(",", ":")).encode())
    return f"{payload}.{_b64(hmac.new(key, payload.encode(), hashlib.sha256).digest())}"


def test_a_key_id_names_one_purpose_and_a_forged_one_is_refused_without_a_trace(
    gateway: Any, deployed: Any, unique: str, log_capture: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """A hostile tenant holds a real status link and a real landing: it swaps key ids between the two kinds of token,
    and sends empty, huge and non-ASCII ones. Every one is refused, and none reaches a log line."""
    import boto3
    import httpx

    from fortnox_bridge.connect.signing_keys import key_id as state_key_id
    from fortnox_bridge.status.links import _derive
    from fortnox_bridge.status.links import key_id as link_key_id
    from local_stack.moto_server import REGION
    from tests.conftest import LOCAL_API_KEY

    caplog.set_level("INFO", logger="werkzeug")  # the local gateway's request log, which moto turns down
    management = httpx.Client(base_url=gateway.url, headers={"x-api-key": LOCAL_API_KEY}, timeout=30)
    assert management.put(f"/tenants/{unique}", json={"display_name": "Fientlig AB"}).status_code in (200, 201)
    link = management.post(f"/tenants/{unique}/connect-links", json={}).json()["url"]
    status = management.post(f"/tenants/{unique}/status-links", json={"valid_days": 90}).json()["url"]
    secrets_manager = boto3.client("secretsmanager", region_name=REGION)
    key = str(
        secrets_manager.get_secret_value(SecretId=_physical(deployed, "ConnectSigningKey"), VersionStage="AWSCURRENT")[
            "SecretString"
        ]
    ).encode()
    state: dict[str, Any] = {
        "tenant_id": unique,
        "link_hash": hashlib.sha256(link.rsplit("/", 1)[-1].encode()).hexdigest(),
    }
    state |= {"nonce": uuid.uuid4().hex, "expires_at": int(time.time()) + 300}
    forged_states = [
        _signed({**state, "k": kid}, key)  # the real key: only the key id is wrong
        for kid in ("", "x" * 4000, "nyckel-ö", link_key_id(key), ["a"], 7)
    ]
    for forged in forged_states:
        answer = httpx.get(f"{gateway.url}/oauth/callback", params={"state": forged, "code": "c"}, timeout=30)
        assert answer.status_code == 400 and 'data-kind="forged"' in answer.text, forged[:40]
    # The same state with the key id states are signed under is accepted as far as its signature goes.
    genuine = _signed({**state, "k": state_key_id(key)}, key)
    answer = httpx.get(f"{gateway.url}/oauth/callback", params={"state": genuine, "code": "c"}, timeout=30)
    assert 'data-kind="forged"' not in answer.text
    # A status link is signed with a key of its own: the state's key id, or a state itself, opens no status page.
    fields = {"t": unique, "e": int(time.time()) + 3600, "g": 0, "n": "x"}
    forged_links = [
        _signed({**fields, "k": state_key_id(key)}, _derive(key)),
        _signed({**fields, "k": link_key_id(key)}, key),  # the right key id, the connect key itself
        genuine,
        *forged_states[:3],
    ]
    for forged in forged_links:
        answer = httpx.get(f"{gateway.url}/status/{forged}", timeout=30)
        assert answer.status_code in (404, 410) and 'data-kind="' in answer.text, forged[:40]
        assert "Fientlig AB" not in answer.text
    assert httpx.get(status, timeout=30).status_code == 200
    printed = [*log_capture.lines, *(record.getMessage() for record in caplog.records)]
    for token in [*forged_states, genuine, *forged_links, status.rsplit("/", 1)[-1], link.rsplit("/", 1)[-1]]:
        assert not any(token[:60] in line for line in printed)
    assert not any(key.decode() in line for line in printed)


# -- a status link across the signing key's rotations ------------------------------------------------------------------
def test_no_rotation_comes_before_the_longest_status_link_signed_before_the_last_one_expires(
    template: dict[str, Any],
) -> None:
    """A link verifies until the key that signed it is two rotations old. Secrets Manager runs a ``rate(N days)``
    rotation any time on the due day (the window opens at midnight UTC): one that ran at 23:59 is followed by one at
    00:00 N - 1 days later. A 90-day link signed at 23:58, just before the first, must still open until it expires."""
    from fortnox_bridge.status.links import LONGEST

    (schedule,) = _of_type(template, "AWS::SecretsManager::RotationSchedule").values()
    rules = schedule["Properties"]["RotationRules"]
    found = re.fullmatch(r"rate\((\d+) days?\)", rules["ScheduleExpression"])
    assert found is not None, rules
    earliest_next = timedelta(days=int(found.group(1)) - 1)
    assert earliest_next >= LONGEST


# -- the hosted pages behind a custom domain with a path ---------------------------------------------------------------
def test_a_status_link_on_a_custom_domain_with_a_path_opens_the_page(
    gateway: Any, runner: Any, deployed: Any, unique: str
) -> None:
    """``public_base_url=https://host/bridge`` maps the API under the key ``bridge``; API Gateway matches the route
    without it but leaves it in the event's ``rawPath``, which is what the handler routes on."""
    import httpx

    from local_stack.runner import LocalRunner
    from tests.conftest import LOCAL_API_KEY

    management = httpx.Client(base_url=gateway.url, headers={"x-api-key": LOCAL_API_KEY}, timeout=30)
    assert management.put(f"/tenants/{unique}", json={"display_name": "Domän AB"}).status_code in (200, 201)
    token = management.post(f"/tenants/{unique}/status-links", json={"valid_days": 1}).json()["url"].rsplit("/", 1)[1]
    hosted = runner.function("ConnectHosted")
    behind_domain = LocalRunner(
        deployed, overrides={**runner.environment(hosted), "PUBLIC_BASE_URL": "https://bridge.example.se/bridge"}
    )
    path = f"/bridge/status/{token}"
    event = {
        "version": "2.0",
        "routeKey": "GET /status/{token}",
        "rawPath": path,
        "rawQueryString": "",
        "headers": {"host": "bridge.example.se", "accept-language": "en"},
        "pathParameters": {"token": token},
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "local",
            "domainName": "bridge.example.se",
            "domainPrefix": "bridge",
            "http": {"method": "GET", "path": path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": ""},
            "requestId": str(uuid.uuid4()),
            "routeKey": "GET /status/{token}",
            "stage": "$default",
            "time": "24/Nov/2026:23:00:00 +0000",
            "timeEpoch": int(time.time() * 1000),
        },
        "isBase64Encoded": False,
    }
    answer = behind_domain.invoke(hosted, event)
    assert answer["statusCode"] == 200 and "Domän AB" in answer["body"], answer["body"][:300]
