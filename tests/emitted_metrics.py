"""What a handler's metrics flushed, read back from its stdout (CloudWatch's embedded metric format)."""

import json
from collections import Counter


def emitted(printed: str) -> Counter[str]:
    """Each metric's total in what the handler flushed."""
    totals: Counter[str] = Counter()
    for line in printed.splitlines():
        blob = json.loads(line) if line.startswith("{") else {}
        for directive in blob.get("_aws", {}).get("CloudWatchMetrics", []):
            for metric in directive["Metrics"]:
                value = blob[metric["Name"]]
                totals[metric["Name"]] += int(sum(value) if isinstance(value, list) else value)
    return totals
