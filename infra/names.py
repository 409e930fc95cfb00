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
MAX_RECEIVE_COUNT = 5
"""Deliveries before a message goes to its dead-letter queue."""
