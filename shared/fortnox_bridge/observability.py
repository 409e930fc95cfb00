"""Powertools Logger, Tracer and Metrics in one neutral module every layer may import."""

import logging
import os

from aws_lambda_powertools import Logger, Metrics, Tracer

SERVICE = os.environ.get("POWERTOOLS_SERVICE_NAME", "fortnox-bridge")
NAMESPACE = os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "FortnoxBridge")

logger = Logger(service=SERVICE)
tracer = Tracer(service=SERVICE)
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)

# httpx writes every request line at INFO, query string included, and Lambda's JSON log level is INFO by default: a
# Fortnox search or a webhook's query would reach the logs. What a call was for is in our own log lines.
for _chatty in ("httpx", "httpcore"):
    logging.getLogger(_chatty).setLevel(logging.WARNING)
