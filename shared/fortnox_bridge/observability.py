"""Powertools Logger, Tracer and Metrics in one neutral module every layer may import."""

import logging
import os
import threading
from collections.abc import Callable
from functools import wraps
from typing import ParamSpec, TypeVar

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit

SERVICE = os.environ.get("POWERTOOLS_SERVICE_NAME", "fortnox-bridge")
NAMESPACE = os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "FortnoxBridge")

TRACED_MODULES = ("botocore", "httpx")
"""What the bridge calls out with: AWS through boto3, Fortnox and webhooks through httpx. Left to patch everything
it knows, the X-Ray SDK imports sqlite3, SQLAlchemy's and psycopg's hooks and a dozen others at every cold start,
for libraries no function uses."""

logger = Logger(service=SERVICE)
tracer = Tracer(service=SERVICE, patch_modules=TRACED_MODULES)
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)
# Powertools' add_metric reads, extends and stores back the metric's entry: two records counting the same name at
# once (the invoice export works two at a time) would lose one count.
_counting = threading.Lock()


Params = ParamSpec("Params")
Result = TypeVar("Result")


def in_this_trace(work: Callable[Params, Result]) -> Callable[Params, Result]:
    """``work``, to run on another thread under the trace entity open where this is called (the X-Ray SDK keeps its
    context per thread): the invoice export's lanes trace their records under the invocation's handler, as the
    X-Ray SDK's guide for threads does, instead of under a facade of their own or, outside Lambda, nowhere."""
    # Imported already: Powertools' Tracer loads the SDK even to switch it off.
    from aws_xray_sdk import global_sdk_config
    from aws_xray_sdk.core import xray_recorder

    if not global_sdk_config.sdk_enabled():
        return work
    entity = xray_recorder.get_trace_entity()

    @wraps(work)  # Powertools reads the handler's signature (does it take ``lambda_context``?)
    def traced(*args: Params.args, **kwargs: Params.kwargs) -> Result:
        xray_recorder.set_trace_entity(entity)
        try:
            return work(*args, **kwargs)
        finally:
            # Executor threads outlive the invocation: nothing of this one may stay on them.
            xray_recorder.clear_trace_entities()

    return traced


def count(name: str, value: int = 1) -> None:
    """Count ``name`` for the function at hand: domain code (the token providers, the export path) says what happened
    without knowing which handler flushes it. The only dimension is the function's service: a tenant id as a
    dimension would make a billed metric per tenant and put the id in CloudWatch."""
    with _counting:
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)


# httpx writes every request line at INFO, query string included, and Lambda's JSON log level is INFO by default: a
# Fortnox search or a webhook's query would reach the logs. What a call was for is in our own log lines.
for _chatty in ("httpx", "httpcore"):
    logging.getLogger(_chatty).setLevel(logging.WARNING)
