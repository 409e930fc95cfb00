"""Names and numbers the stack, its tests and the local runner agree on."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FUNCTIONS_DIR = ROOT / "functions"
DEFAULT_LAYER_DIR = ROOT / "build" / "layer"


def stack_name(stage: str) -> str:
    """One stack per stage (context ``stage``); its secrets are named under it, so stages never share tokens."""
    return f"FortnoxBridge-{stage}"


STACK_NAME = stack_name("dev")
"""The stage the local stack, the tests and ``make synth`` without context use."""
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


# --- Concurrency (issue 12). Argued in docs/decisions.md, "Concurrency: the tenant's limiter is the bottleneck". ---
# Fortnox allows a tenant 25 requests in 5 s, whatever number of our workers share it. A worker of a busy tenant waits
# about one limiter gap (0.2 s) per other worker on that tenant before each request, so the caps below are what keeps
# a batch of one tenant's messages inside half its function's timeout with every Fortnox-calling worker on it.
# An SQS event source never runs more than its maximum concurrency; its function reserves exactly that many, so the
# event source is never throttled (a throttled batch goes back to the queue and counts as a receive).
INVOICE_EXPORT_MAX_CONCURRENCY = 12
VOUCHER_EXPORT_MAX_CONCURRENCY = 6
TENANT_PROBE_MAX_CONCURRENCY = 3
PAYMENT_POLL_MAX_CONCURRENCY = 10
"""A company's polls are kept apart by a lease, so this bounds how many tenants are polled at once, not one tenant."""
WEBHOOK_DELIVERY_MAX_CONCURRENCY = 20
"""Calls no Fortnox: bounded for the receivers and the account's pool, with room for receivers that answer slowly."""
MANAGEMENT_API_RESERVED_CONCURRENCY = 25
HOSTED_CONNECT_RESERVED_CONCURRENCY = 20
SCHEDULED_RESERVED_CONCURRENCY = 1
"""The keep-alive, the payment fan-out and the failure digest: one run at a time, and always room for that one."""
