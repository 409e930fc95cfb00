"""The API's edge: access logs that name the route and never a bearer link, throttling that is tighter on the public
pages than on the IAM routes, a custom domain only when one is configured, and a local gateway that logs like AWS."""

import json
import logging
import re
import secrets
from pathlib import Path
from typing import Any

import httpx
import pytest

from infra.app import build_app
from infra.names import STACK_NAME
from local_stack.stack import LOCAL_CLIENT_ID
from tests.conftest import LOCAL_API_KEY

CUSTOM_URL = "https://bridge.example.se/fortnox"
CERTIFICATE_ARN = "arn:aws:acm:eu-north-1:123456789012:certificate/0f3c9a51-6a57-4b8e-9d2e-1c0d7a3b5e42"


def _only(template: dict[str, Any], resource_type: str) -> tuple[str, dict[str, Any]]:
    found = [(key, value) for key, value in template["Resources"].items() if value["Type"] == resource_type]
    assert len(found) == 1, f"expected one {resource_type}, found {[key for key, _ in found]}"
    return found[0]


def _of_type(template: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return {key: value for key, value in template["Resources"].items() if value["Type"] == resource_type}


def _routes(template: dict[str, Any]) -> dict[str, tuple[str, dict[str, Any]]]:
    """Every route by its key, with its logical id."""
    return {
        resource["Properties"]["RouteKey"]: (logical_id, resource)
        for logical_id, resource in _of_type(template, "AWS::ApiGatewayV2::Route").items()
    }


def test_stage_access_log_is_json_by_route_key_into_a_log_group_kept_90_days(template: dict[str, Any]) -> None:
    _, stage = _only(template, "AWS::ApiGatewayV2::Stage")
    settings = stage["Properties"]["AccessLogSettings"]
    log_group_id, attribute = settings["DestinationArn"]["Fn::GetAtt"]
    assert attribute == "Arn"
    log_group = template["Resources"][log_group_id]
    assert log_group["Type"] == "AWS::Logs::LogGroup"
    assert log_group["Properties"]["RetentionInDays"] == 90

    fields = json.loads(settings["Format"])
    assert fields["routeKey"] == "$context.routeKey"
    assert fields["requestId"] == "$context.requestId"
    assert {"status", "sourceIp", "responseLatency"} <= fields.keys()


def test_no_access_log_field_can_carry_the_request_url(template: dict[str, Any]) -> None:
    """/connect/{link_token} and /status/{token} are bearer links and the callback's query holds the OAuth code and
    state: a variable with the path, the query or the matched base path would put them in the log."""
    _, stage = _only(template, "AWS::ApiGatewayV2::Stage")
    variables = re.findall(r"\$context\.[A-Za-z0-9_.]+", stage["Properties"]["AccessLogSettings"]["Format"])
    assert variables, "the format names no $context variable"
    carriers = [variable for variable in variables if re.search(r"path|query|uri|url", variable, re.IGNORECASE)]
    assert carriers == []
    # A crashed handler's exception text may quote its input, tokens included; the function's own log has it.
    assert "$context.integrationErrorMessage" not in variables


def test_every_route_is_throttled_and_the_public_pages_more_tightly(template: dict[str, Any]) -> None:
    _, stage = _only(template, "AWS::ApiGatewayV2::Stage")
    default = stage["Properties"]["DefaultRouteSettings"]
    assert default["ThrottlingRateLimit"] > 0 and default["ThrottlingBurstLimit"] >= default["ThrottlingRateLimit"]

    per_route = stage["Properties"]["RouteSettings"]
    public = {
        key for key, (_, route) in _routes(template).items() if route["Properties"]["AuthorizationType"] == "NONE"
    }
    assert {"GET /connect/{link_token}", "GET /oauth/callback", "GET /status/{token}"} <= public
    for route_key in public:
        assert route_key in per_route, f"{route_key} is public and has only the default throttle"
        assert per_route[route_key]["ThrottlingRateLimit"] < default["ThrottlingRateLimit"], route_key
        assert per_route[route_key]["ThrottlingBurstLimit"] < default["ThrottlingBurstLimit"], route_key


def test_the_stage_is_created_after_every_route_it_throttles(template: dict[str, Any]) -> None:
    """API Gateway refuses route settings for a route it does not have yet, which would fail the first deploy."""
    _, stage = _only(template, "AWS::ApiGatewayV2::Stage")
    routes = _routes(template)
    for route_key in stage["Properties"]["RouteSettings"]:
        assert route_key in routes, f"{route_key} is throttled but no route has that key"
        assert routes[route_key][0] in stage.get("DependsOn", []), route_key


def test_without_public_base_url_there_is_no_custom_domain(template: dict[str, Any]) -> None:
    assert _of_type(template, "AWS::ApiGatewayV2::DomainName") == {}
    assert _of_type(template, "AWS::ApiGatewayV2::ApiMapping") == {}
    assert not any("Domain" in key for key in template.get("Outputs", {}))


@pytest.fixture(scope="module")
def custom_domain_template(layer_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    app = build_app(
        layer_dir=layer_dir,
        outdir=tmp_path_factory.mktemp("cdk.out.domain"),
        context={
            "fortnox_client_id": LOCAL_CLIENT_ID,
            "public_base_url": CUSTOM_URL,
            "public_certificate_arn": CERTIFICATE_ARN,
        },
    )
    template: dict[str, Any] = app.synth().get_stack_by_name(STACK_NAME).template
    return template


def test_public_base_url_gets_a_domain_with_its_certificate_mapped_to_the_stage(
    custom_domain_template: dict[str, Any],
) -> None:
    template = custom_domain_template
    domain_id, domain = _only(template, "AWS::ApiGatewayV2::DomainName")
    assert domain["Properties"]["DomainName"] == "bridge.example.se"
    [configuration] = domain["Properties"]["DomainNameConfigurations"]
    assert configuration == {"CertificateArn": CERTIFICATE_ARN, "EndpointType": "REGIONAL"}

    api_id, _ = _only(template, "AWS::ApiGatewayV2::Api")
    _, mapping = _only(template, "AWS::ApiGatewayV2::ApiMapping")
    assert mapping["Properties"]["ApiId"] == {"Ref": api_id}
    assert mapping["Properties"]["DomainName"] == {"Ref": domain_id}
    assert mapping["Properties"]["Stage"] == "$default"
    # The URL's path is where the API is mounted, so {public_base_url}/oauth/callback reaches the callback route.
    assert mapping["Properties"]["ApiMappingKey"] == "fortnox"


def test_the_dns_target_of_the_custom_domain_is_an_output(custom_domain_template: dict[str, Any]) -> None:
    domain_id, _ = _only(custom_domain_template, "AWS::ApiGatewayV2::DomainName")
    values = [output["Value"] for output in custom_domain_template["Outputs"].values()]
    assert {"Fn::GetAtt": [domain_id, "RegionalDomainName"]} in values
    assert {"Fn::GetAtt": [domain_id, "RegionalHostedZoneId"]} in values


def test_functions_build_their_links_on_the_custom_domain(custom_domain_template: dict[str, Any]) -> None:
    hosted = next(
        resource
        for resource in _of_type(custom_domain_template, "AWS::Lambda::Function").values()
        if resource.get("Metadata", {}).get("FortnoxBridge:Source") == "functions/hosted_connect"
    )
    assert hosted["Properties"]["Environment"]["Variables"]["PUBLIC_BASE_URL"] == CUSTOM_URL


@pytest.mark.integration
def test_the_local_gateway_logs_the_route_never_a_bearer_path_or_the_oauth_query(
    gateway: Any, unique: str, caplog: pytest.LogCaptureFixture
) -> None:
    with httpx.Client(base_url=gateway.url, headers={"x-api-key": LOCAL_API_KEY}, timeout=30) as management:
        assert management.put(f"/tenants/{unique}", json={"display_name": "Loggen AB"}).status_code in (200, 201)
        answer = management.post(f"/tenants/{unique}/connect-links", json={})
    assert answer.status_code == 201, answer.text
    link = str(answer.json()["url"])
    link_token = link.rstrip("/").rsplit("/", 1)[-1]
    status_token, code, state = (secrets.token_urlsafe(24) for _ in range(3))

    caplog.set_level(logging.INFO, logger="werkzeug")
    with httpx.Client(base_url=gateway.url, timeout=30) as public:
        public.get(f"/connect/{link_token}")
        public.get(f"/status/{status_token}")
        public.get("/oauth/callback", params={"code": code, "state": state})
        public.get(f"/connect/{link_token}/not-a-route")

    lines = [record.getMessage() for record in caplog.records if record.name == "werkzeug"]
    assert any("GET /connect/{link_token}" in line for line in lines), lines
    assert any("GET /oauth/callback" in line for line in lines), lines
    leaked = [secret for secret in (link_token, status_token, code, state) if any(secret in line for line in lines)]
    assert leaked == []
