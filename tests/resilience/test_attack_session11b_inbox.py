"""Session 11b's attack on the inbox look (84141a0): an upload in doubt is looked for in the folder before it is
uploaded again. Through the real handler and queue path, one PDF per event must reach the tenant's inbox."""

from typing import Any

import boto3
import pytest

from infra.names import MAX_RECEIVE_COUNT
from local_stack.moto_server import REGION
from tests.bad_day import no_retry_waits, published
from tests.exporting import Export

pytestmark = pytest.mark.integration
__all__ = ["no_retry_waits"]  # the fixture, imported so pytest finds it


def _done(export: Export, method: str, path: str) -> int:
    return sum(
        1
        for row in export.scene.control.requests(export.company)
        if row["method"] == method and str(row["path"]).startswith(path) and 200 <= int(row["status"]) < 300
    )


@pytest.mark.parametrize("look_fault", ["500", "429", "drop_after_commit"])
def test_an_upload_in_doubt_whose_look_failed_is_looked_for_again_on_the_next_delivery(
    export: Export, events_tap: Any, look_fault: str
) -> None:
    export.settings(attach_pdf=True)
    c = export.scene.control
    c.fault("500_after_commit", method="POST", path_prefix="/3/inbox")
    c.fault(look_fault, method="GET", path_prefix="/3/inbox/inbox_kf", count=5)
    event = export.event("8101", pdf=export.put_pdf(f"{export.tenant}/8101.pdf"))
    export.send(event)

    assert _done(export, "POST", "/3/inbox") == 1, "the redelivery uploaded the PDF a second time"
    [exported] = published(events_tap, "invoice.exported", event["id"])
    assert exported["pending_steps"] == []


def _put(export: Export, key: str, body: bytes) -> dict[str, str]:
    boto3.client("s3", region_name=REGION).put_object(Bucket=export.bucket, Key=key, Body=body)
    return {"bucket": export.bucket, "key": key}


def _attached(export: Export, number: str, entity_type: str = "F") -> list[bytes]:
    """The bytes of every file attached to Fortnox document ``number``."""
    c = export.scene.control
    client = export.scene.client(token=c.access_token(export.scene.app, export.company))
    with client:
        files = {row.ArchiveFileId: row.Id for row in client.inbox.folder("inbox_kf").Files}
        files |= {row.ArchiveFileId: row.Id for row in client.inbox.folder("inbox_o").Files}
        return [
            client.inbox.content(files[a.fileId] or "")
            for a in client.file_attachments.for_entity(int(number), entity_type)
        ]


def test_a_changed_invoices_pdf_of_the_same_name_and_size_in_doubt_attaches_the_new_bytes(
    export: Export, events_tap: Any
) -> None:
    export.settings(attach_pdf=True)
    export.send(export.event("8201", event_id="v1", pdf=_put(export, f"{export.tenant}/8201-a.pdf", b"%PDF-1.4 old")))
    export.scene.control.fault("500_after_commit", method="POST", path_prefix="/3/inbox")
    changed = export.event("8201", event_id="v2", pdf=_put(export, f"{export.tenant}/8201-b.pdf", b"%PDF-1.4 new"))
    export.send(changed)

    assert _done(export, "POST", "/3/inbox") == 2
    [invoice] = export.invoices()
    assert sorted(_attached(export, invoice["DocumentNumber"])) == [b"%PDF-1.4 new", b"%PDF-1.4 old"]
    [updated] = published(events_tap, "invoice.exported", changed["id"])
    assert updated["pending_steps"] == []


def test_a_resent_pdf_with_the_same_bytes_in_doubt_leaves_no_stray_copy_in_the_inbox(
    export: Export, events_tap: Any
) -> None:
    # Given the invoice exported with its PDF; then the same invoice names its PDF under a new key (same bytes)
    export.settings(attach_pdf=True)
    export.send(export.event("8301", event_id="v1", pdf=_put(export, f"{export.tenant}/8301-a.pdf", b"%PDF-1.4 x")))
    export.scene.control.fault("500_after_commit", method="POST", path_prefix="/3/inbox")
    again = export.event("8301", event_id="v2", pdf=_put(export, f"{export.tenant}/8301-b.pdf", b"%PDF-1.4 x"))
    export.send(again)

    # Then every file in the inbox is attached (the one the in-doubt upload stored included)
    c = export.scene.control
    client = export.scene.client(token=c.access_token(export.scene.app, export.company))
    with client:
        stored = {row.ArchiveFileId for row in client.inbox.folder("inbox_kf").Files}
        [invoice] = export.invoices()
        attached = {a.fileId for a in client.file_attachments.for_entity(int(invoice["DocumentNumber"]), "F")}
    assert _done(export, "POST", "/3/inbox") == 2
    assert stored == attached, "a copy the bridge stored is left unattached in 'Inkorg kundfakturor'"


def test_an_order_pdf_in_doubt_is_found_in_the_order_inbox(export: Export, events_tap: Any) -> None:
    export.settings(attach_pdf=True, create_orders=True)
    export.scene.control.fault("500_after_commit", method="POST", path_prefix="/3/inbox")
    event = export.event("8401", pdf=export.put_pdf(f"{export.tenant}/8401.pdf"))
    export.send(event)

    assert _done(export, "POST", "/3/inbox") == 1
    assert _done(export, "GET", "/3/inbox/inbox_o") == 1
    [exported] = published(events_tap, "invoice.exported", event["id"])
    assert exported["pending_steps"] == []
    assert _attached(export, exported["fortnox_document_number"], "O") == [b"%PDF-1.4 faktura"]


def test_an_upload_done_and_answered_500_on_the_last_delivery_is_found_at_once_not_dead_lettered(
    export: Export, events_tap: Any
) -> None:
    export.settings(attach_pdf=True)
    event = export.event("8501", pdf=export.put_pdf(f"{export.tenant}/8501.pdf"))
    export.scene.control.fault("500", method="POST", path_prefix="/3/inbox", count=MAX_RECEIVE_COUNT - 1)
    export.scene.control.fault("500_after_commit", method="POST", path_prefix="/3/inbox")

    outcomes = export.send(event)

    assert [o.failed for o in outcomes] == [1] * (MAX_RECEIVE_COUNT - 1) + [0]
    assert export.dead_letters() == []
    assert _done(export, "POST", "/3/inbox") == 1
    assert published(events_tap, "invoice.export_failed", event["id"]) == []
    [exported] = published(events_tap, "invoice.exported", event["id"])
    assert exported["pending_steps"] == []
