"""Scheduled: refresh every connection whose refresh token is getting old, so idle tenants never reach day 45."""

from datetime import UTC, datetime, timedelta
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from fortnox_bridge import settings, wiring
from fortnox_bridge.fortnox.ports import TokenProvider
from fortnox_bridge.ids import TenantId
from fortnox_bridge.observability import logger, metrics, tracer
from fortnox_bridge.store.connections import ConnectionStore
from fortnox_bridge.tokens.keepalive import keep_alive
from fortnox_bridge.tokens.tenant_tokens import ConnectionLost

settings.require(*settings.FORTNOX_CALLER, settings.KeepAliveSettings)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    wiring.lambda_context(context)
    connections = ConnectionStore(wiring.table())
    threshold = timedelta(days=settings.load(settings.KeepAliveSettings).threshold_days)

    def tokens_for(tenant: TenantId) -> TokenProvider:
        connection = connections.get(tenant)
        if connection is None:
            raise ConnectionLost(f"tenant {tenant} lost its connection during the keep-alive")
        return wiring.tokens_for(connection)

    report = keep_alive(connections=connections, tokens_for=tokens_for, now=datetime.now(UTC), threshold=threshold)
    metrics.add_metric(name="ConnectionsRefreshed", unit="Count", value=len(report.refreshed))
    metrics.add_metric(name="ConnectionsLost", unit="Count", value=len(report.lost))
    metrics.add_metric(name="ConnectionsPostponed", unit="Count", value=len(report.postponed))
    metrics.add_metric(name="ConnectionsFailed", unit="Count", value=len(report.failed))
    logger.info(
        "keep-alive done",
        extra={
            "refreshed": len(report.refreshed),
            "lost": len(report.lost),
            "postponed": len(report.postponed),
            "failed": len(report.failed),
            "skipped": len(report.skipped),
        },
    )
    return {
        "refreshed": report.refreshed,
        "lost": report.lost,
        "postponed": report.postponed,
        "failed": report.failed,
        "skipped": report.skipped,
    }
