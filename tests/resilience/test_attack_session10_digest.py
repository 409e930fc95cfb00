"""Attacks on the failure digest (session 10): two digest Lambdas on the same failures, SES refusing one tenant's mail
while another's goes, a payment failure that outlives a disconnect on request. Through the scheduled digest function,
the export and poll queues and their handlers, the management API over the local gateway, the sandbox and moto's
SES."""

import json
from collections.abc import Callable
from typing import Any

import botocore.client
import httpx
import pytest
from botocore.exceptions import ClientError

from fortnox_bridge.ids import TenantId
from fortnox_bridge.store.ledger import ExportLedger, FailureNotes
from fortnox_bridge.store.mappings import MappingStore
from fortnox_bridge.store.payment_sync import PollOutcome
from fortnox_bridge.store.tenants import NotificationSettings, TenantStore
from local_stack.onboarding import connect_service_account
from local_stack.runner import LocalRunner
from tests.conftest import LOCAL_API_KEY
from tests.digest_interval import an_interval_passes
from tests.exporting import Export, freight_mapping
from tests.integration.test_payment_failure_digest import _emails_to, _poll, _run_digest, unpaid_access
from tests.paying import PaymentSync

pytestmark = pytest.mark.integration
__all__ = ["unpaid_access"]  # the fixture, imported so pytest finds it

PAYMENTS_STOPPED = "Betalningar från Fortnox hämtas inte längre"


def _notify(export: Export, address: str) -> None:
    """The tenant's bookkeeper reads the digest in English, at most once an hour."""
    store = TenantStore(export.table)
    settings = store.require(TenantId(export.tenant)).settings
    notified = NotificationSettings(email=address, interval_minutes=60, language="en")
    store.put_settings(TenantId(export.tenant), settings.model_copy(update={"notifications": notified}))


def _fail(export: Export, number: str) -> None:
    """An invoice refused by Fortnox for an inactive account, through the export queue."""
    export.scene.control.patch_account(export.company, 3041, Active=False)
    export.send(export.event(number))


def _digest(runner: LocalRunner) -> None:
    runner.run_scheduled(runner.function("FailureDigestFunction"))


def _second_lambda_within(
    target: type, name: str, run: Callable[[], None], monkeypatch: pytest.MonkeyPatch, applies: Callable[..., bool]
) -> list[bool]:
    """Another digest Lambda runs from start to end inside the first call of ``target.name`` that ``applies`` to,
    before that call goes on; the list says whether it ran."""
    original = getattr(target, name)
    ran: list[bool] = []

    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if not ran and applies(*args, **kwargs):
            ran.append(True)
            run()
        return original(*args, **kwargs)

    monkeypatch.setattr(target, name, wrapped)
    return ran


@pytest.mark.parametrize("moment", ["before_claiming_the_email", "while_the_email_goes"])
def test_two_digest_lambdas_on_the_same_failures_tell_them_once(
    export: Export, unique: str, monkeypatch: pytest.MonkeyPatch, moment: str
) -> None:
    # Given two refused invoices the bookkeeper has not been told of
    address = f"twice-{unique}@example.com"
    _notify(export, address)
    _fail(export, "100901")
    _fail(export, "100902")
    # And a second digest Lambda starting on the same tick, and running to its end while the first is about to claim
    # the interval's e-mail, or is sending it
    ran = (
        _second_lambda_within(
            FailureNotes, "claim_send", lambda: _digest(export.runner), monkeypatch, lambda *_, **__: True
        )
        if moment == "before_claiming_the_email"
        else _second_lambda_within(
            botocore.client.BaseClient,
            "_make_api_call",
            lambda: _digest(export.runner),
            monkeypatch,
            lambda _client, name, _params: name == "SendEmail",
        )
    )

    # When the first Lambda runs
    _digest(export.runner)
    monkeypatch.undo()
    assert ran == [True]

    # Then one e-mail told both failures
    [mail] = _emails_to(address)
    assert mail.subject == "2 exports to Fortnox need attention"
    assert "Invoice 100901" in mail.body and "Invoice 100902" in mail.body
    # And no later digest tells them again
    an_interval_passes(export.table, export.tenant, 60)
    _digest(export.runner)
    assert len(_emails_to(address)) == 1


def test_ses_refusing_one_tenants_mail_lets_the_others_go_and_tells_it_once_ses_takes_it(
    export: Export, deployed: Any, unique: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given two tenants, each with an invoice refused, whose bookkeepers have not been told
    company = export.scene.new_company("Grannen AB")
    neighbour = Export(export.runner, deployed, export.scene, export.table, f"{unique}-n", company)
    connect_service_account(
        export.table,
        export.scene.control,
        export.scene.app,
        tenant_id=TenantId(neighbour.tenant),
        fortnox_tenant_id=company,
        display_name="Grannen",
    )
    MappingStore(export.table).put(TenantId(neighbour.tenant), freight_mapping())
    refused, told = f"refused-{unique}@example.com", f"told-{unique}@example.com"
    _notify(export, refused)
    _notify(neighbour, told)
    _fail(export, "100911")
    _fail(neighbour, "100912")
    # And SES refusing mail to the first tenant's address today
    send = botocore.client.BaseClient._make_api_call

    def refusing(client: Any, name: str, params: dict[str, Any]) -> Any:
        if name == "SendEmail" and refused in params["Destination"]["ToAddresses"]:
            raise ClientError({"Error": {"Code": "MessageRejected", "Message": "Address blacklisted."}}, name)
        return send(client, name, params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", refusing)

    # When the digest runs
    _digest(export.runner)

    # Then the other tenant's bookkeeper is told, and the refused one is not (yet)
    assert [mail.subject for mail in _emails_to(told)] == ["1 export to Fortnox needs attention"]
    assert _emails_to(refused) == []

    # When SES takes the address again, the next tick tells it, with no interval to wait and nothing new failed,
    # and tells the other tenant nothing again
    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", send)
    _digest(export.runner)
    [mail] = _emails_to(refused)
    assert "Invoice 100911" in mail.body and "100912" not in mail.body
    assert len(_emails_to(told)) == 1


def test_a_tenant_disconnected_on_request_is_not_emailed_that_its_payments_stopped(
    unpaid_access: PaymentSync, gateway: Any
) -> None:
    sync = unpaid_access
    address = f"bokforing-{sync.tenant.removesuffix('-np')}@example.se"
    # Given a payment poll refused for want of Fortnox's payment permission, noted for the digest and not yet told
    assert _poll(sync) is PollOutcome.FAILED

    # When the SaaS backend disconnects the tenant on request before the digest runs
    management = httpx.Client(base_url=gateway.url, headers={"x-api-key": LOCAL_API_KEY}, timeout=60)
    assert management.delete(f"/tenants/{sync.tenant}/connection").status_code == 200
    _run_digest(sync)

    # Then nobody is told to fix payment polls of a connection the tenant ended
    assert [mail for mail in _emails_to(address) if PAYMENTS_STOPPED in mail.body] == []


def test_a_digest_whose_marks_fail_after_the_email_went_says_it_was_sent_and_tells_again(
    export: Export, unique: str, monkeypatch: pytest.MonkeyPatch, log_capture: Any
) -> None:
    # Given a refused invoice the bookkeeper has not been told of, and DynamoDB refusing the digest's marks
    address = f"marks-{unique}@example.com"
    _notify(export, address)
    _fail(export, "100921")
    logged_before = len(log_capture.lines)

    def refused(self: ExportLedger, entry: Any) -> None:
        raise ClientError({"Error": {"Code": "InternalServerError", "Message": "down"}}, "UpdateItem")

    monkeypatch.setattr(ExportLedger, "mark_told", refused)

    # When the digest runs
    _digest(export.runner)

    # Then the e-mail went, and the log says so before it says the run did not finish (an operator must not read
    # "not sent" for an e-mail the bookkeeper has)
    [mail] = _emails_to(address)
    assert "Invoice 100921" in mail.body
    lines = [json.loads(line) for line in log_capture.lines[logged_before:]]
    messages = [line["msg"] for line in lines if isinstance(line.get("msg"), str)]
    assert messages.index("failure digest sent") < messages.index("failure digest not finished")
    # And unmarked, the failure is told again after the interval: at least once, never lost
    monkeypatch.undo()
    an_interval_passes(export.table, export.tenant, 60)
    _digest(export.runner)
    assert "Invoice 100921" in _emails_to(address)[1].body
