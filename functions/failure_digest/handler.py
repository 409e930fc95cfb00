"""Scheduled: e-mail each tenant's bookkeeper the exports that failed since the last e-mail and how to fix them, at
most once per the tenant's notification interval (``export/digest.py``)."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from fortnox_bridge import settings, wiring
from fortnox_bridge.observability import logger, metrics, tracer

settings.require(
    settings.AwsSettings,
    settings.TableSettings,
    settings.ConnectSettings,
    settings.SigningSettings,
    settings.DigestSettings,
)


@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    sent = wiring.failure_digest().run()
    metrics.add_metric(name="FailureDigestsSent", unit="Count", value=len(sent))
    return {"sent": len(sent)}
