"""The invoices the bench exports: the sample ``invoice.ready`` event, made a new invoice of a given customer."""

import json
from datetime import date, timedelta
from typing import Any

from infra.names import ROOT


def invoice_event(tenant_id: str, number: int, customer: str) -> dict[str, Any]:
    """The sample ``invoice.ready`` without its PDF, as a new invoice of ``customer``."""
    event: dict[str, Any] = json.loads((ROOT / "events" / "invoice.ready.json").read_text())
    event.update(tenant_id=tenant_id, id=f"bench-{tenant_id}-{customer}-{number}")
    event["data"].update(
        invoice_number=str(number),
        invoice_date=date.today().isoformat(),
        due_date=(date.today() + timedelta(days=30)).isoformat(),
    )
    event["data"].pop("pdf")
    event["data"]["customer"] = {**event["data"]["customer"], "customer_number": customer}
    return event
