"""The failure digest counts an export failure as told when, and only when, an e-mail told it. Two exports refused at
once can land in the ledger in another order than their clocks say, and a failure can be noted while an e-mail is on
its way: neither may be lost to the bookkeeper, nor told twice. Through the scheduled digest function, moto's
DynamoDB and SES; failures are recorded as the exporters record them, the interleavings forced where they meet."""

from collections.abc import Callable
from typing import Any

import botocore.client
import pytest
from moto.ses.models import ses_backends

from fortnox_bridge.export.explanations import Explanation
from fortnox_bridge.ids import FortnoxTenantId, TenantId
from fortnox_bridge.store.ledger import ExportLedger, ExportScope
from fortnox_bridge.store.tenants import NotificationSettings, TenantStore
from local_stack.moto_server import ACCOUNT_ID, REGION
from local_stack.runner import LocalRunner
from tests.digest_interval import an_interval_passes
from tests.exporting import Export, export

pytestmark = pytest.mark.integration
__all__ = ["export"]  # the fixture, imported so pytest finds it

INACTIVE = Explanation(
    code=2000357,
    fortnox_message="Kontot 3041 är inte aktivt",
    sv="Konto 3041 är inaktivt i Fortnox. Aktivera det eller välj ett annat konto i mappningen.",
    en="Account 3041 is inactive in Fortnox. Activate it, or map to another account.",
)


class WriteHook:
    """The state table as a store sees it, running ``before`` once just before the first ledger write reaches
    DynamoDB: that write has its ``failed_at`` already, and lands after whatever ``before`` does."""

    def __init__(self, table: Any, before: Callable[[], None]) -> None:
        self._table = table
        self._before: Callable[[], None] | None = before

    def update_item(self, **request: Any) -> Any:
        if self._before is not None and str(request["Key"]["SK"]).startswith("EXPORT#"):
            before, self._before = self._before, None
            before()
        return self._table.update_item(**request)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._table, name)


@pytest.fixture
def bookkeeper(export: Export, unique: str) -> str:
    """The tenant's bookkeeper reads the digest in English, at most once an hour."""
    address = f"books-{unique}@example.com"
    store = TenantStore(export.table)
    settings = store.require(TenantId(export.tenant)).settings
    notified = NotificationSettings(email=address, interval_minutes=60, language="en")
    store.put_settings(TenantId(export.tenant), settings.model_copy(update={"notifications": notified}))
    return address


def _refused(ledger: ExportLedger, export: Export, number: str) -> None:
    scope = ExportScope(TenantId(export.tenant), FortnoxTenantId(export.company))
    body = f'{{"id": "evt-{number}"}}'
    assert ledger.record_refusal(scope, "invoice", number, explanation=INACTIVE, event_body=body) is not None


def _emails_to(address: str) -> list[Any]:
    sent = ses_backends[ACCOUNT_ID][REGION].sent_messages
    return [message for message in sent if address in message.destinations.get("ToAddresses", [])]


def _run_digest(runner: LocalRunner) -> None:
    runner.run_scheduled(runner.function("FailureDigestFunction"))


def test_a_failure_written_after_a_later_one_was_emailed_is_still_emailed(
    export: Export, bookkeeper: str, runner: LocalRunner
) -> None:
    # Given an invoice refused at 10:00:00.1 whose ledger write is slow: meanwhile another is refused at 10:00:00.2,
    # written at once, and the digest runs and e-mails that one
    def another_refused_and_emailed() -> None:
        _refused(ExportLedger(export.table), export, "100802")
        _run_digest(runner)

    _refused(ExportLedger(WriteHook(export.table, another_refused_and_emailed)), export, "100801")
    [first] = _emails_to(bookkeeper)
    assert "Invoice 100802" in first.body and "100801" not in first.body

    # When the next interval's digest runs
    an_interval_passes(export.table, export.tenant, minutes=60)
    _run_digest(runner)

    # Then the slow one is e-mailed: no e-mail told it, so it is not told
    [_, second] = _emails_to(bookkeeper)
    assert second.subject == "1 export to Fortnox needs attention"
    assert "Invoice 100801" in second.body and "100802" not in second.body


def test_a_failure_noted_while_an_email_goes_out_does_not_have_that_email_told_again(
    export: Export, bookkeeper: str, runner: LocalRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a refused invoice, and another refused while the digest's e-mail about the first is being sent
    _refused(ExportLedger(export.table), export, "100811")
    send = botocore.client.BaseClient._make_api_call
    sending: list[str] = []

    def refused_while_sending(client: Any, name: str, params: dict[str, Any]) -> Any:
        if name == "SendEmail" and not sending:
            sending.append(name)
            _refused(ExportLedger(export.table), export, "100812")
        return send(client, name, params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", refused_while_sending)
    _run_digest(runner)
    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", send)
    [first] = _emails_to(bookkeeper)
    assert sending == ["SendEmail"] and "Invoice 100811" in first.body and "100812" not in first.body

    # When the next interval's digest runs
    an_interval_passes(export.table, export.tenant, minutes=60)
    _run_digest(runner)

    # Then it tells the one noted meanwhile, and not again the one already e-mailed
    [_, second] = _emails_to(bookkeeper)
    assert second.subject == "1 export to Fortnox needs attention"
    assert "Invoice 100812" in second.body and "100811" not in second.body
