"""SQS -> poll one tenant's Fortnox payments per message. Parses, calls the domain, reports partial failures."""

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from fortnox_bridge import settings, wiring
from fortnox_bridge.errors import BadInputError
from fortnox_bridge.observability import logger, metrics, tracer
from fortnox_bridge.payments.poll_request import PollRequested
from fortnox_bridge.store.payment_sync import PollOutcome

settings.require(*settings.FORTNOX_CALLER)

POLL_METRICS = {
    PollOutcome.OK: "PaymentPollSucceeded",
    PollOutcome.FAILED: "PaymentPollFailed",
    PollOutcome.NOT_CONNECTED: "PaymentPollNotConnected",
    "skipped": "PaymentPollSkipped",
}
"""How a poll ended; a skipped one (not due, or another worker's lease) polled nothing."""

processor = BatchProcessor(event_type=EventType.SQS)


@tracer.capture_method
def record_handler(record: SQSRecord) -> None:
    # A body that is not a valid PollRequested fails its record alone, with pydantic's reason in the log, before the
    # domain sees it. Parsed here, not by a Powertools parser model: importing one builds every event model Powertools
    # has (API Gateway, Kafka, S3...) at each cold start.
    request = PollRequested.model_validate_json(record.body)
    try:
        report = wiring.payment_poller().poll(request.tenant_id)
    except BadInputError as error:
        # A tenant nobody knows (removed since it was scheduled): polling again cannot help.
        logger.warning("payment poll refused", extra={"tenant_id": request.tenant_id, "reason": error.message})
        metrics.add_metric(name="PaymentPollRefused", unit="Count", value=1)
        return
    logger.info(
        "payments polled",
        extra={
            "tenant_id": request.tenant_id,
            "outcome": report.outcome,
            "counts": report.counts,
            "fortnox_calls": report.fortnox_calls,
            "skipped": report.skipped,
        },
    )
    metrics.add_metric(name=POLL_METRICS["skipped" if report.skipped else report.outcome], unit="Count", value=1)
    for kind, count in report.counts.items():
        if count:
            metrics.add_metric(name=f"Payments{kind.capitalize()}", unit="Count", value=count)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    wiring.lambda_context(context)
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
