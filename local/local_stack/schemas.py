"""``python -m local_stack.schemas``: write the JSON Schemas of every event contract into events/schemas/.

Queue messages the bridge consumes and events it publishes on its bus alike."""

import json
from pathlib import Path

from pydantic import BaseModel

from fortnox_bridge.contracts.invoices import CreditNoteReady, CustomerUpserted, InvoiceCredited, InvoiceReady
from fortnox_bridge.contracts.sales import SalesDayClosed, VoucherReady
from fortnox_bridge.events import (
    ConnectionConnected,
    ConnectionNeedsReconnect,
    ConnectionRevoked,
    InvoiceExported,
    InvoiceExportFailed,
    PaymentChanged,
    PaymentReceived,
    PaymentRemoved,
    VoucherExported,
    VoucherExportFailed,
)
from fortnox_bridge.payments.poll_request import PollRequested
from fortnox_bridge.probe import ProbeRequested
from infra.names import ROOT

CONTRACTS: dict[str, type[BaseModel]] = {
    "tenant.probe_requested": ProbeRequested,
    "payment.poll_requested": PollRequested,
    "invoice.ready": InvoiceReady,
    "credit_note.ready": CreditNoteReady,
    "invoice.credited": InvoiceCredited,
    "customer.upserted": CustomerUpserted,
    "sales.day_closed": SalesDayClosed,
    "voucher.ready": VoucherReady,
    "connection.connected": ConnectionConnected,
    "connection.needs_reconnect": ConnectionNeedsReconnect,
    "connection.revoked": ConnectionRevoked,
    "invoice.exported": InvoiceExported,
    "invoice.export_failed": InvoiceExportFailed,
    "voucher.exported": VoucherExported,
    "voucher.export_failed": VoucherExportFailed,
    "payment.received": PaymentReceived,
    "payment.changed": PaymentChanged,
    "payment.removed": PaymentRemoved,
}
SCHEMA_DIR = ROOT / "events" / "schemas"


def schema_text(model: type[BaseModel]) -> str:
    return json.dumps(model.model_json_schema(), indent=2, ensure_ascii=False) + "\n"


def write(directory: Path = SCHEMA_DIR) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, model in CONTRACTS.items():
        path = directory / f"{name}.schema.json"
        path.write_text(schema_text(model))
        written.append(path)
    return written


if __name__ == "__main__":
    for path in write():
        print(path.relative_to(ROOT))
