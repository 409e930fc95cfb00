"""SQS -> poll one tenant's Fortnox payments per message. Parses, calls the domain, reports partial failures."""

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.parser.models import SqsRecordModel
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import Json

from fortnox_bridge import settings, wiring
from fortnox_bridge.errors import BadInputError
from fortnox_bridge.observability import logger, metrics, tracer
from fortnox_bridge.payments.poll_request import PollRequested

settings.require(*settings.FORTNOX_CALLER)


class PollRecord(SqsRecordModel):
    body: Json[PollRequested]


# A record whose body is not a valid PollRequested fails alone, with pydantic's reason in the log, before the
# domain sees it.
processor = BatchProcessor(event_type=EventType.SQS, model=PollRecord)


@tracer.capture_method
def record_handler(record: PollRecord) -> None:
    request = record.body
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
    for kind, count in report.counts.items():
        if count:
            metrics.add_metric(name=f"Payments{kind.capitalize()}", unit="Count", value=count)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    wiring.lambda_context(context)
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
