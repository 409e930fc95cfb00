"""Two records in flight on a bad day: Fortnox's rate limit with both lanes pushing, a create whose answer is lost
while the other record's create is on its way, two records failing their last delivery at the same moment, and one
batch mixing tenants, a hostile body and an unknown tenant. Through the real handler and queue path; the two lanes
are made to meet at the sandbox's dispatch, never by sleeping."""

import json
import threading
from typing import Any

import boto3
import pytest
from werkzeug.wrappers import Request, Response

from fortnox_bridge.fortnox.retry import RetryPolicy
from fortnox_bridge.ids import TenantId
from fortnox_bridge.store.mappings import MappingStore
from infra.names import MAX_RECEIVE_COUNT
from local_stack.moto_server import REGION
from local_stack.onboarding import connect_service_account
from tests.conftest import Scene
from tests.exporting import Export, freight_mapping, rejected_by_event
from tests.sandbox_front import Dispatch, Pairs, in_front, to_customer

pytestmark = pytest.mark.integration
__all__ = ["in_front"]  # the fixture, imported so pytest finds it


def _of(events_tap: Any, detail_type: str) -> list[dict[str, Any]]:
    return [event.detail for event in events_tap.received() if event.detail_type == detail_type]


def test_two_lanes_never_take_a_tenant_over_fortnoxs_25_requests_in_5_seconds(export: Export) -> None:
    # Given Fortnox's real limit, which it answers with 429 when a tenant goes over it
    export.scene.control.set_rate_limit(25, 5.0)
    before = len(export.scene.control.requests(export.company))

    # When thirty invoices arrive, in batches of ten, and two of each batch are worked at a time
    outcomes = export.send(*(export.event(str(number)) for number in range(900, 930)))

    # Then every one is exported and Fortnox never had to refuse a request
    calls = export.scene.control.requests(export.company)[before:]
    assert [(outcome.received, outcome.failed) for outcome in outcomes] == [(10, 0)] * 3
    assert len(calls) > 25, "the batch stayed inside one window: this test staged nothing"
    assert [row for row in calls if row["status"] == 429] == []
    assert len(export.invoices()) == 30


def test_a_create_answer_lost_while_the_other_lane_creates_is_still_exported_once(
    export: Export, in_front: Any, events_tap: Any
) -> None:
    # Given two creates on their way together, one of which Fortnox commits and whose answer is then lost
    in_front(Pairs())
    export.scene.control.fault("drop_after_commit", count=1, method="POST", path_prefix="/3/invoices")
    events_tap.received()

    # When the batch is delivered, and again until the queue is empty (SQS redelivers what failed)
    events = [to_customer("8910", export.event("910")), to_customer("8911", export.event("911"))]
    export.send(*events)

    # Then Fortnox holds each invoice once, and upstream heard once of each
    numbers = sorted(invoice["ExternalInvoiceReference1"] for invoice in export.invoices())
    assert numbers == [f"FB:{export.tenant}:910", f"FB:{export.tenant}:911"]
    exported = _of(events_tap, "invoice.exported")
    assert sorted(detail["event_id"] for detail in exported) == sorted(event["id"] for event in events)


def test_two_records_failing_their_last_delivery_together_are_each_given_up_once(
    export: Export, in_front: Any, events_tap: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given Fortnox answering every invoice create with 500 (no waits between attempts: only their count matters)
    monkeypatch.setattr(RetryPolicy, "backoff", lambda self, attempt: 0.0)
    export.scene.control.fault("500", count=1000, method="POST", path_prefix="/3/invoices")
    in_front(Pairs())
    events_tap.received()

    # When two invoices are delivered until SQS gives up on them
    events = [to_customer("8920", export.event("920")), to_customer("8921", export.event("921"))]
    outcomes = export.send(*events)
    export.scene.control.clear_faults()

    # Then each failed delivery failed both, and upstream heard once of each, on the last one, with its number
    assert [(outcome.received, outcome.failed) for outcome in outcomes] == [(2, 2)] * MAX_RECEIVE_COUNT
    failed = _of(events_tap, "invoice.export_failed")
    assert sorted((detail["event_id"], detail["invoice_number"]) for detail in failed) == sorted(
        (event["id"], event["data"]["invoice_number"]) for event in events
    )
    assert all(detail["tenant_id"] == export.tenant for detail in failed)
    assert sorted(body["id"] for body in export.dead_letters()) == sorted(event["id"] for event in events)


def test_one_batch_of_two_tenants_a_hostile_body_and_a_stranger_ends_each_record_on_its_own(
    export: Export, scene: Scene, table: Any, unique: str, in_front: Any, events_tap: Any, log_capture: Any
) -> None:
    # Given a second tenant connected to its own company, and a batch that mixes both tenants' invoices with a body
    # that is no event, an event whose amounts Fortnox could never hold, and an event of a tenant nobody knows
    other = f"{unique}-b"
    other_company = scene.new_company("Andra Åkeriet AB")
    connect_service_account(
        table, scene.control, scene.app, tenant_id=TenantId(other), fortnox_tenant_id=other_company, display_name="B"
    )
    MappingStore(table).put(TenantId(other), freight_mapping())
    in_front(Pairs())
    events_tap.received()
    lines_before = len(log_capture.lines)
    mine = export.event("930", event_id="evt-mix-mine")
    theirs = {**export.event("931", event_id="evt-mix-theirs"), "tenant_id": other}
    hostile = json.dumps(
        {"type": "invoice.ready", "tenant_id": other, "id": "evt-mix-hostile", "data": {"invoice_number": "934"}}
    )
    negative = export.event("932", event_id="evt-mix-negative")
    negative["data"]["rows"][0]["unit_price"] = "-99999999999999"
    stranger = {**export.event("933", event_id="evt-mix-stranger"), "tenant_id": f"{unique}-nobody"}

    # When they arrive in one batch
    outcome = export.deliver_once(mine, hostile, theirs, negative, stranger)

    # Then the two valid invoices are in their own companies, and nothing of the batch is left to retry
    assert (outcome.received, outcome.failed) == (5, 0)
    assert [invoice["ExternalInvoiceReference1"] for invoice in export.invoices()] == [f"FB:{export.tenant}:930"]
    assert [invoice["ExternalInvoiceReference1"] for invoice in scene.control.company(other_company)["invoices"]] == [
        f"FB:{other}:931"
    ]
    # Each refusal names its own tenant and event, for its own reason
    published = events_tap.received()
    failed = {event.detail["event_id"]: event.detail for event in published if event.detail_type.endswith("failed")}
    assert failed["evt-mix-negative"]["tenant_id"] == export.tenant
    assert failed["evt-mix-hostile"]["tenant_id"] == other
    assert "evt-mix-hostile" in rejected_by_event(table, other)
    assert "evt-mix-theirs" not in failed and "evt-mix-mine" not in failed
    assert "evt-mix-stranger" in rejected_by_event(table, f"{unique}-nobody")
    assert "no tenant" in rejected_by_event(table, f"{unique}-nobody")["evt-mix-stranger"]["reason"]
    exported = {
        event.detail["event_id"]: event.detail["tenant_id"]
        for event in published
        if event.detail_type == "invoice.exported"
    }
    assert exported == {"evt-mix-mine": export.tenant, "evt-mix-theirs": other}
    # and every log line of the batch that names a tenant and an event names the event's own tenant
    owners = {
        "evt-mix-mine": export.tenant,
        "evt-mix-theirs": other,
        "evt-mix-negative": export.tenant,
        "evt-mix-hostile": other,
    }
    for line in log_capture.lines[lines_before:]:
        record = json.loads(line)
        if record.get("event_id") in owners and "tenant_id" in record:
            assert record["tenant_id"] == owners[record["event_id"]], record.get("msg")
    # and each refusal's line names whose event it refused, as lines of two tenants interleave
    refusals = [json.loads(line) for line in log_capture.lines[lines_before:] if "invoice event rejected" in line]
    by_message = {record["message_id"]: record.get("tenant_id") for record in refusals}
    assert sorted(by_message.values(), key=str) == sorted([export.tenant, other, f"{unique}-nobody"])


def test_pdfs_read_and_uploaded_side_by_side_are_each_attached_to_their_own_invoice(
    export: Export, in_front: Any, events_tap: Any
) -> None:
    # Given three invoices in one batch, two with their own PDF and one whose PDF was never uploaded to S3, and
    # uploads to Fortnox made to meet in pairs
    export.settings(bookkeep=True, send="externalprint")
    s3 = boto3.client("s3", region_name=REGION)
    pdfs = {}
    for number in ("940", "941"):
        s3.put_object(Bucket=export.bucket, Key=f"{export.tenant}/{number}.pdf", Body=f"%PDF-1.4 {number}".encode())
        pdfs[number] = {"bucket": export.bucket, "key": f"{export.tenant}/{number}.pdf"}
    missing = {"bucket": export.bucket, "key": f"{export.tenant}/942-never-uploaded.pdf"}
    uploads = threading.Barrier(2, timeout=5)
    files: dict[str, bytes] = {}
    attached: list[tuple[int, str]] = []
    alone: list[str] = []

    def watch(request: Request, dispatch: Dispatch) -> Response:
        if request.method == "POST" and request.path == "/3/inbox":
            content = request.files["file"].read()
            try:
                uploads.wait()
            except threading.BrokenBarrierError:
                alone.append(request.path)
                uploads.reset()
            response = dispatch(request)
            stored = json.loads(response.get_data())["File"]
            # An attachment names the file by either of its ids.
            files[str(stored["Id"])] = files[str(stored["ArchiveFileId"])] = content
            return response
        if request.method == "POST" and request.path.endswith("/attachments-v1"):
            for row in json.loads(request.get_data()):
                attached.append((int(row["entityId"]), str(row["fileId"])))
        return dispatch(request)

    in_front(watch)
    events_tap.received()

    # When the batch is delivered
    events = [
        to_customer("8940", export.event("940", pdf=pdfs["940"])),
        to_customer("8941", export.event("941", pdf=pdfs["941"])),
        export.event("942", pdf=missing),
    ]
    export.send(*events)

    # Then each invoice carries its own PDF, and the one without a readable PDF was stopped before its create, its
    # refusal naming it
    upstream_of = {
        int(invoice["DocumentNumber"]): invoice["ExternalInvoiceReference1"].rsplit(":", 1)[1]
        for invoice in export.invoices()
    }
    assert alone == [], "the two uploads never met: this test staged nothing"
    assert sorted(upstream_of.values()) == ["940", "941"]
    assert sorted((upstream_of[entity], files[file]) for entity, file in attached) == [
        ("940", b"%PDF-1.4 940"),
        ("941", b"%PDF-1.4 941"),
    ]
    [refused] = [event.detail for event in events_tap.received() if event.detail_type == "invoice.export_failed"]
    assert refused["invoice_number"] == "942" and "PDF" in refused["reason_en"]
