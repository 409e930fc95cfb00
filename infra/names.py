"""Names and numbers the stack, its tests and the local runner agree on."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FUNCTIONS_DIR = ROOT / "functions"
DEFAULT_LAYER_DIR = ROOT / "build" / "layer"
STACK_NAME = "FortnoxBridge"
SOURCE_METADATA_KEY = "FortnoxBridge:Source"
"""Template metadata naming a function's source folder, so the local runner loads the same code."""

LAMBDA_RUNTIME = "python3.12"
TENANT_PROBE_BATCH_SIZE = 10
TENANT_PROBE_TIMEOUT_SECONDS = 60
INVOICE_EXPORT_BATCH_SIZE = 10
INVOICE_EXPORT_TIMEOUT_SECONDS = 300
VOUCHER_EXPORT_BATCH_SIZE = 10
VOUCHER_EXPORT_TIMEOUT_SECONDS = 300
FAILURE_DIGEST_TIMEOUT_SECONDS = 300
FAILURE_DIGEST_EVERY_MINUTES = 15
"""How often the digest looks for tenants with failures to tell; each tenant's own interval is in its settings."""
DEFAULT_NOTIFICATION_SENDER = "fortnox-bridge.example.com"
"""The SES identity digests are sent from when the ``notification_sender`` context is not set (a domain: dev)."""
MAX_RECEIVE_COUNT = 5
"""Deliveries before a message goes to its dead-letter queue."""
PAYMENT_SCHEDULE_EVERY_MINUTES = 15
"""How often the fan-out looks for tenants due a payment poll; each tenant's own interval (15 minutes or more) is in
its settings, so this is the finest interval a tenant can have."""
PAYMENT_FAN_OUT_TIMEOUT_SECONDS = 120
PAYMENT_POLL_BATCH_SIZE = 1
"""One tenant per invocation: a tenant re-reading a year of payments never runs another tenant's poll out of time."""
PAYMENT_POLL_TIMEOUT_SECONDS = 300
WEBHOOK_DELIVERY_BATCH_SIZE = 10
WEBHOOK_DELIVERY_TIMEOUT_SECONDS = 120
