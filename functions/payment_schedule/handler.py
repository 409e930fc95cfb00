"""Scheduled: enqueue one payment poll per connected tenant whose payment sync is due (``schedule/fan_out.py``)."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from fortnox_bridge import settings, wiring
from fortnox_bridge.observability import logger, metrics, tracer

settings.require(settings.AwsSettings, settings.TableSettings, settings.PaymentPollSettings)


@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    report = wiring.payment_fan_out().tick(
        wiring.today(), remaining_seconds=lambda: context.get_remaining_time_in_millis() / 1000
    )
    metrics.add_metric(name="PaymentPollsEnqueued", unit="Count", value=report.enqueued)
    metrics.add_metric(name="PaymentPollsDue", unit="Count", value=report.due)
    metrics.add_metric(name="PaymentPollsRefused", unit="Count", value=report.refused)
    metrics.add_metric(name="PaymentPollsDeferred", unit="Count", value=report.deferred)
    return report.counts()
