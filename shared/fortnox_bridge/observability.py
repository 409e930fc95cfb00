"""Powertools Logger, Tracer and Metrics in one neutral module every layer may import."""

import os

from aws_lambda_powertools import Logger, Metrics, Tracer

SERVICE = os.environ.get("POWERTOOLS_SERVICE_NAME", "fortnox-bridge")
NAMESPACE = os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "FortnoxBridge")

logger = Logger(service=SERVICE)
tracer = Tracer(service=SERVICE)
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)
