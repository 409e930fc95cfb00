"""SQS -> probe one tenant per message. Parses, calls the domain, reports partial failures; nothing more."""

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from fortnox_bridge import settings, wiring
from fortnox_bridge.errors import BadInputError, NeedsTenantActionError
from fortnox_bridge.observability import logger, metrics, tracer
from fortnox_bridge.probe import ProbeRequested, probe_tenant
from fortnox_bridge.store.connections import ConnectionStore
from fortnox_bridge.store.tenants import TenantStore

settings.require(*settings.FORTNOX_CALLER)
processor = BatchProcessor(event_type=EventType.SQS)


@tracer.capture_method
def record_handler(record: SQSRecord) -> None:
    # A body that is not a valid ProbeRequested fails its record alone, before the domain sees it. Parsed here, not by
    # a Powertools parser model: importing one builds every event model Powertools has at each cold start.
    request = ProbeRequested.model_validate_json(record.body)
    try:
        probe = probe_tenant(
            request.tenant_id,
            tenants=TenantStore(wiring.table()),
            connections=ConnectionStore(wiring.table()),
            client_for=wiring.fortnox_client,
            today=wiring.today().date(),
        )
    except (BadInputError, NeedsTenantActionError) as error:
        # Retrying cannot help: say why, count it, and let the message go.
        logger.warning("tenant probe refused", extra={"tenant_id": request.tenant_id, "reason": error.message})
        metrics.add_metric(name="TenantProbeRefused", unit="Count", value=1)
        return
    logger.info(
        "tenant probed",
        extra={"tenant_id": request.tenant_id, "financial_year_for_today": probe.financial_year_for_today},
    )


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    wiring.lambda_context(context)
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
