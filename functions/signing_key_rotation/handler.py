"""Secrets Manager's rotation of the connect signing key: one step per invocation (``connect/key_rotation.py``)."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from fortnox_bridge import settings, wiring
from fortnox_bridge.connect.key_rotation import RotationRequest
from fortnox_bridge.observability import logger, tracer

settings.require(settings.AwsSettings, settings.SigningSettings)


@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> None:
    # A refused or failed step raises: Secrets Manager marks the rotation failed and the current key keeps signing.
    request = RotationRequest.model_validate(event)
    logger.info("rotating the signing key", extra={"step": request.step.value})
    wiring.signing_key_rotation().run(request)
