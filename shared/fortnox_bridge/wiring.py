"""Production wiring: builds the stores and a tenant's Fortnox client from settings, once per process."""

from datetime import UTC, datetime
from functools import cache
from typing import TYPE_CHECKING

from aws_lambda_powertools.utilities import parameters

from fortnox_bridge import aws, settings
from fortnox_bridge.errors import NeedsTenantActionError
from fortnox_bridge.fortnox.client import FortnoxClient
from fortnox_bridge.fortnox.oauth import ServiceAccountTokens, TokenEndpoint
from fortnox_bridge.ratelimit.sliding_window import DynamoDbSlidingWindow, WindowRule
from fortnox_bridge.store.connections import Connection

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table


@cache
def fortnox_settings() -> settings.FortnoxSettings:
    return settings.load(settings.FortnoxSettings)


@cache
def table() -> "Table":
    return aws.dynamodb().Table(settings.load(settings.TableSettings).table_name)


@cache
def window_rule() -> WindowRule:
    limits = settings.load(settings.RateLimitSettings)
    return WindowRule(limits.requests_per_window, limits.window_seconds, limits.margin_seconds)


def client_secret() -> str:
    """Read through Powertools' cache, so a rotated secret is picked up within five minutes."""
    provider = parameters.SecretsProvider(boto3_client=aws.secrets())
    value = provider.get(fortnox_settings().client_secret_id, max_age=300)
    return str(value)


@cache
def token_endpoint() -> TokenEndpoint:
    config = fortnox_settings()
    return TokenEndpoint(auth_url=str(config.auth_url), client_id=config.client_id, client_secret=client_secret)


def fortnox_client(connection: Connection) -> FortnoxClient:
    """A client for one tenant, throttled by the limiter every worker of that tenant shares."""
    config = fortnox_settings()
    if not connection.service_account:
        # Refresh-token connections get their tokens from the token store of the connect issue (#4).
        raise NeedsTenantActionError(
            f"tenant {connection.tenant_id} has no service-account consent; reconnect with account_type=service"
        )
    tokens = ServiceAccountTokens(token_endpoint(), connection.fortnox_tenant_id)
    limiter = DynamoDbSlidingWindow(
        table(), client_id=config.client_id, tenant_key=str(connection.fortnox_tenant_id), rule=window_rule()
    )
    return FortnoxClient(
        base_url=str(config.api_url), tokens=tokens, rate_limiter=limiter, timeout=config.timeout_seconds
    )


def today() -> "datetime":
    return datetime.now(UTC)


def reset() -> None:
    """Forget cached settings and clients (tests change the environment between cases)."""
    for factory in (fortnox_settings, table, window_rule, token_endpoint):
        factory.cache_clear()
    aws.reset()
