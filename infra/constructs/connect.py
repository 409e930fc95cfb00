"""Connect: the HTTP API (IAM for the SaaS backend, public for hosted pages), its functions, the keep-alive."""

import json
from dataclasses import dataclass
from urllib.parse import urlsplit

import aws_cdk as cdk
from aws_cdk import aws_apigatewayv2 as apigw
from aws_cdk import aws_apigatewayv2_authorizers as authorizers
from aws_cdk import aws_apigatewayv2_integrations as integrations
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.constructs import access
from infra.constructs.bridge_function import BridgeFunction
from infra.constructs.work_queue import dead_letter_queue
from infra.names import (
    HOSTED_CONNECT_RESERVED_CONCURRENCY,
    MANAGEMENT_API_RESERVED_CONCURRENCY,
    SCHEDULED_RESERVED_CONCURRENCY,
)

MANAGEMENT_ROUTES = [
    (apigw.HttpMethod.PUT, "/tenants/{tenant_id}"),
    (apigw.HttpMethod.GET, "/tenants/{tenant_id}"),
    (apigw.HttpMethod.PUT, "/tenants/{tenant_id}/settings"),
    (apigw.HttpMethod.GET, "/tenants/{tenant_id}/settings"),
    (apigw.HttpMethod.PUT, "/tenants/{tenant_id}/mapping"),
    (apigw.HttpMethod.GET, "/tenants/{tenant_id}/mapping"),
    (apigw.HttpMethod.POST, "/tenants/{tenant_id}/connect-links"),
    (apigw.HttpMethod.DELETE, "/tenants/{tenant_id}/connect-links"),
    (apigw.HttpMethod.DELETE, "/tenants/{tenant_id}/connect-links/{link_id}"),
    (apigw.HttpMethod.DELETE, "/tenants/{tenant_id}/connection"),
    (apigw.HttpMethod.GET, "/tenants/{tenant_id}/mapping/check"),
    (apigw.HttpMethod.GET, "/tenants/{tenant_id}/exports"),
    (apigw.HttpMethod.POST, "/tenants/{tenant_id}/exports/retry-failed"),
    (apigw.HttpMethod.GET, "/tenants/{tenant_id}/exports/{export_id}"),
    (apigw.HttpMethod.POST, "/tenants/{tenant_id}/exports/{export_id}/retry"),
    (apigw.HttpMethod.POST, "/tenants/{tenant_id}/exports/{export_id}/mark-exported"),
    (apigw.HttpMethod.GET, "/tenants/{tenant_id}/exports/{export_id}/sie"),
    (apigw.HttpMethod.POST, "/tenants/{tenant_id}/status-links"),
    (apigw.HttpMethod.DELETE, "/tenants/{tenant_id}/status-links"),
    (apigw.HttpMethod.GET, "/tenants/{tenant_id}/payment-sync"),
    (apigw.HttpMethod.POST, "/tenants/{tenant_id}/payment-sync/resync"),
    (apigw.HttpMethod.POST, "/tenants/{tenant_id}/webhook-secret"),
]
HOSTED_ROUTES = [
    (apigw.HttpMethod.GET, "/connect/{link_token}"),
    (apigw.HttpMethod.GET, "/oauth/callback"),
    (apigw.HttpMethod.GET, "/status/{token}"),
    (apigw.HttpMethod.POST, "/status/{token}/exports/{export_id}/retry"),
    (apigw.HttpMethod.POST, "/status/{token}/exports/{export_id}/mark-exported"),
    (apigw.HttpMethod.GET, "/status/{token}/exports/{export_id}/sie"),
]


@dataclass(frozen=True)
class Throttle:
    """API Gateway's token bucket for one route: ``rate`` requests a second, at most ``burst`` at once."""

    rate: int
    burst: int


DEFAULT_THROTTLE = Throttle(rate=20, burst=40)
"""Every route without its own throttle below: the management routes, which only the SaaS backend can call."""
ROUTE_THROTTLES = {
    # Public pages a person opens from a link: a few a second is far more than people click, and a flood of them
    # (anyone can call these) is refused by API Gateway before it costs a Lambda, a Fortnox call or a table read.
    "GET /connect/{link_token}": Throttle(rate=5, burst=10),
    "GET /oauth/callback": Throttle(rate=5, burst=10),
    "GET /status/{token}": Throttle(rate=5, burst=10),
    "POST /status/{token}/exports/{export_id}/retry": Throttle(rate=2, burst=5),
    "POST /status/{token}/exports/{export_id}/mark-exported": Throttle(rate=2, burst=5),
    "GET /status/{token}/exports/{export_id}/sie": Throttle(rate=2, burst=5),
    # Reads the tenant's whole Fortnox setup (about seven calls at the tenant's 5 a second): seconds per request.
    "GET /tenants/{tenant_id}/mapping/check": Throttle(rate=2, burst=4),
}
ACCESS_LOG_FORMAT = {
    "requestId": "$context.requestId",
    "time": "$context.requestTime",
    # The route's template, never the path or the query: /connect/{link_token} and /status/{token} are bearer links
    # and the callback's query carries the OAuth code and state; whoever reads the log must not be able to use them.
    "routeKey": "$context.routeKey",
    "status": "$context.status",
    "protocol": "$context.protocol",
    "responseLength": "$context.responseLength",
    "responseLatency": "$context.responseLatency",
    "integrationStatus": "$context.integrationStatus",
    "integrationLatency": "$context.integrationLatency",
    "error": "$context.error.message",
    "sourceIp": "$context.identity.sourceIp",
    "caller": "$context.identity.userArn",
}
"""One JSON object per request. Not the integration's error message: a crashed handler's exception text may quote
its input, and the function's own log already has it."""
ACCESS_LOG_RETENTION = logs.RetentionDays.THREE_MONTHS
"""Long enough to look back at an incident or a month's abuse; not longer, since a source IP is personal data."""


class Connect(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        resources: access.Resources,
        layer: lambda_.ILayerVersion,
        environment: dict[str, str],
        public_base_url: str | None,
        public_certificate_arn: str | None = None,
    ) -> None:
        """``public_base_url``: the custom domain (and optional base path) the API is reached at, served with the ACM
        certificate ``public_certificate_arn``; without it the API's own execute-api address is the public one."""
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        self.api = apigw.HttpApi(self, "Api", description="Fortnox Bridge: management API and hosted connect pages")
        base_url = public_base_url or self.api.api_endpoint
        env = {**environment, "PUBLIC_BASE_URL": base_url, "CONNECT_SIGNING_KEY_ID": resources.signing_key.secret_arn}

        self.management = BridgeFunction(
            self,
            "Management",
            source="management_api",
            layer=layer,
            environment=env,
            service_name="management-api",
            timeout_seconds=29,
            reserved_concurrency=MANAGEMENT_API_RESERVED_CONCURRENCY,
        )
        access.manage_tenants(self.management, resources, stack)
        # The mapping check reads the tenant's Fortnox setup, refreshing its tokens like any Fortnox caller.
        access.call_fortnox(self.management, resources, stack)
        # Status links are signed with the connect key.
        access.sign_states(self.management, resources)

        self.hosted = BridgeFunction(
            self,
            "Hosted",
            source="hosted_connect",
            layer=layer,
            environment=env,
            service_name="hosted-connect",
            timeout_seconds=29,
            reserved_concurrency=HOSTED_CONNECT_RESERVED_CONCURRENCY,
        )
        access.call_fortnox(self.hosted, resources, stack)
        access.manage_tenant_secrets(self.hosted, resources, stack)
        access.sign_states(self.hosted, resources)

        iam_auth = authorizers.HttpIamAuthorizer()
        management = integrations.HttpLambdaIntegration("ManagementIntegration", self.management.function)
        routes: dict[str, apigw.HttpRoute] = {}
        for method, path in MANAGEMENT_ROUTES:
            [routes[f"{method.value} {path}"]] = self.api.add_routes(
                path=path, methods=[method], integration=management, authorizer=iam_auth
            )
        hosted = integrations.HttpLambdaIntegration("HostedIntegration", self.hosted.function)
        for method, path in HOSTED_ROUTES:
            [routes[f"{method.value} {path}"]] = self.api.add_routes(path=path, methods=[method], integration=hosted)
        self._configure_stage(routes)
        if public_base_url:
            self._custom_domain(public_base_url, public_certificate_arn)

        self.keepalive = BridgeFunction(
            self,
            "KeepAlive",
            source="connection_keepalive",
            layer=layer,
            environment={**env, "KEEPALIVE_THRESHOLD_DAYS": "30"},
            service_name="connection-keepalive",
            timeout_seconds=900,
            # One walk over the connections at a time, and room for it however busy the account is: a day it cannot
            # run is a day less before tokens expire. A tick that finds it busy waits in Lambda's event queue.
            reserved_concurrency=SCHEDULED_RESERVED_CONCURRENCY,
        )
        access.call_fortnox(self.keepalive, resources, stack)
        access.query_connections(self.keepalive, resources)
        events.Rule(
            self,
            "KeepAliveSchedule",
            description="Refresh Fortnox connections older than 30 days, well before their 45-day expiry",
            schedule=events.Schedule.rate(cdk.Duration.days(1)),
            targets=[
                targets.LambdaFunction(
                    self.keepalive.function,
                    retry_attempts=2,
                    # A day's tick EventBridge could not hand over (throttled, failed twice) is kept here and alarmed
                    # (monitoring.py): a skipped day spends the 15 days between the keep-alive and the tokens' expiry.
                    dead_letter_queue=dead_letter_queue(self, "KeepAliveDeadLetters"),
                )
            ],
        )

    def _configure_stage(self, routes: dict[str, apigw.HttpRoute]) -> None:
        """Access logs and throttling on the default stage (``routes`` by route key). The L2 stage the HttpApi makes
        takes neither, so they are set on its CloudFormation resource."""
        stage = self.api.default_stage
        assert stage is not None
        cfn_stage = stage.node.default_child
        assert isinstance(cfn_stage, apigw.CfnStage)
        access_logs = logs.LogGroup(self, "AccessLogs", retention=ACCESS_LOG_RETENTION)
        cfn_stage.access_log_settings = apigw.CfnStage.AccessLogSettingsProperty(
            destination_arn=access_logs.log_group_arn, format=json.dumps(ACCESS_LOG_FORMAT, separators=(",", ":"))
        )
        cfn_stage.default_route_settings = apigw.CfnStage.RouteSettingsProperty(
            throttling_rate_limit=DEFAULT_THROTTLE.rate, throttling_burst_limit=DEFAULT_THROTTLE.burst
        )
        cfn_stage.route_settings = {
            route_key: {"ThrottlingRateLimit": throttle.rate, "ThrottlingBurstLimit": throttle.burst}
            for route_key, throttle in ROUTE_THROTTLES.items()
        }
        # API Gateway refuses route settings that name a route it does not have yet.
        for route_key in ROUTE_THROTTLES:
            if route_key not in routes:
                raise ValueError(f"{route_key} is throttled but is no route of the API")
            cfn_stage.node.add_dependency(routes[route_key])

    def _custom_domain(self, public_base_url: str, certificate_arn: str | None) -> None:
        """The API at ``public_base_url``: a regional domain name with its certificate, mapped to the default stage
        (under the URL's path, if it has one). DNS is the operator's: a CNAME or alias to the output target."""
        if not certificate_arn:
            raise ValueError("public_certificate_arn is required with public_base_url: an ACM certificate for its host")
        url = urlsplit(public_base_url)
        if not url.hostname:
            raise ValueError(f"public_base_url {public_base_url!r} names no host")
        certificate = acm.Certificate.from_certificate_arn(self, "Certificate", certificate_arn)
        self.domain = apigw.DomainName(self, "Domain", domain_name=url.hostname, certificate=certificate)
        apigw.ApiMapping(
            self,
            "DomainMapping",
            api=self.api,
            domain_name=self.domain,
            stage=self.api.default_stage,
            api_mapping_key=url.path.strip("/") or None,
        )
        cdk.CfnOutput(
            self,
            "DomainTarget",
            description=f"Point {url.hostname} here (CNAME, or an alias record with DomainHostedZoneId)",
            value=self.domain.regional_domain_name,
        )
        cdk.CfnOutput(self, "DomainHostedZoneId", value=self.domain.regional_hosted_zone_id)
