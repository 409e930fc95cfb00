"""boto3 clients built lazily and once per process, pointed at moto or AWS by configuration alone.

No client exists at import time, so tests can start moto first; ``reset()`` forgets them between tests.
"""

from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config

from fortnox_bridge import settings
from fortnox_bridge.once import once

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient
    from mypy_boto3_dynamodb.service_resource import DynamoDBServiceResource
    from mypy_boto3_events.client import EventBridgeClient
    from mypy_boto3_s3.client import S3Client
    from mypy_boto3_secretsmanager.client import SecretsManagerClient
    from mypy_boto3_sqs.client import SQSClient

_CONFIG = Config(retries={"mode": "standard", "max_attempts": 5}, connect_timeout=3, read_timeout=10)


def _options() -> dict[str, Any]:
    aws = settings.aws()
    options: dict[str, Any] = {"region_name": aws.region, "config": _CONFIG}
    if aws.endpoint_url is not None:
        options["endpoint_url"] = str(aws.endpoint_url)
    return options


@once
def dynamodb() -> "DynamoDBServiceResource":
    return boto3.resource("dynamodb", **_options())


@once
def dynamodb_client() -> "DynamoDBClient":
    """The low-level client, for libraries that write typed attribute values themselves (Powertools)."""
    return boto3.client("dynamodb", **_options())


@once
def sqs() -> "SQSClient":
    return boto3.client("sqs", **_options())


@once
def secrets() -> "SecretsManagerClient":
    return boto3.client("secretsmanager", **_options())


@once
def events() -> "EventBridgeClient":
    return boto3.client("events", **_options())


@once
def s3() -> "S3Client":
    return boto3.client("s3", **_options())


@once
def ses() -> Any:
    """The e-mail digest's client (the project ships no SES type stubs; ``export/digest.py`` types the one call)."""
    return boto3.client("ses", **_options())


def reset() -> None:
    for factory in (dynamodb, dynamodb_client, sqs, secrets, events, s3, ses, settings.aws):
        factory.cache_clear()
