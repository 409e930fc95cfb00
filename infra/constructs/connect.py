"""Connect: the HTTP API (IAM for the SaaS backend, public for hosted pages), its functions, the keep-alive."""

import aws_cdk as cdk
from aws_cdk import aws_apigatewayv2 as apigw
from aws_cdk import aws_apigatewayv2_authorizers as authorizers
from aws_cdk import aws_apigatewayv2_integrations as integrations
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra.constructs import access
from infra.constructs.bridge_function import BridgeFunction

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
    ) -> None:
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
        )
        access.call_fortnox(self.hosted, resources, stack)
        access.manage_tenant_secrets(self.hosted, resources, stack)
        access.sign_states(self.hosted, resources)

        iam_auth = authorizers.HttpIamAuthorizer()
        management = integrations.HttpLambdaIntegration("ManagementIntegration", self.management.function)
        for method, path in MANAGEMENT_ROUTES:
            self.api.add_routes(path=path, methods=[method], integration=management, authorizer=iam_auth)
        hosted = integrations.HttpLambdaIntegration("HostedIntegration", self.hosted.function)
        for method, path in HOSTED_ROUTES:
            self.api.add_routes(path=path, methods=[method], integration=hosted)

        self.keepalive = BridgeFunction(
            self,
            "KeepAlive",
            source="connection_keepalive",
            layer=layer,
            environment={**env, "KEEPALIVE_THRESHOLD_DAYS": "30"},
            service_name="connection-keepalive",
            timeout_seconds=900,
        )
        access.call_fortnox(self.keepalive, resources, stack)
        access.query_connections(self.keepalive, resources)
        events.Rule(
            self,
            "KeepAliveSchedule",
            description="Refresh Fortnox connections older than 30 days, well before their 45-day expiry",
            schedule=events.Schedule.rate(cdk.Duration.days(1)),
            targets=[targets.LambdaFunction(self.keepalive.function, retry_attempts=2)],
        )
