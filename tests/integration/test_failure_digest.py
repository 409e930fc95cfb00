"""The failure digest through the scheduled function, SES on moto and the real export path: at most one e-mail per
tenant per interval, naming what failed and how to fix it, with a working status link and nothing secret."""

from typing import Any

import httpx
import pytest
from moto.ses.models import ses_backends

from fortnox_bridge.ids import TenantId
from fortnox_bridge.store.table import digest_key
from local_stack.moto_server import ACCOUNT_ID, REGION
from tests.conftest import LOCAL_API_KEY
from tests.digest_interval import an_interval_passes
from tests.exporting import Export, export

pytestmark = pytest.mark.integration
__all__ = ["export"]  # the fixture, imported so pytest finds it


class Mailbox:
    """What moto's SES has sent to one address."""

    def __init__(self, address: str) -> None:
        self.address = address

    def messages(self) -> list[Any]:
        sent = ses_backends[ACCOUNT_ID][REGION].sent_messages
        return [message for message in sent if self.address in message.destinations.get("ToAddresses", [])]


def _notify(gateway: Any, tenant: str, address: str, **notifications: Any) -> None:
    http = httpx.Client(base_url=gateway.url, headers={"x-api-key": LOCAL_API_KEY}, timeout=60)
    settings = http.get(f"/tenants/{tenant}/settings").json()
    settings["notifications"] = {"email": address, **notifications}
    answer = http.put(f"/tenants/{tenant}/settings", json=settings)
    assert answer.status_code == 200, answer.text


def _run_digest(export: Export) -> Any:
    return export.runner.run_scheduled(export.runner.function("FailureDigestFunction"))


def _fail(export: Export, number: str) -> None:
    export.scene.control.patch_account(export.company, 3041, Active=False)
    export.send(export.event(number))


def test_one_email_per_interval_names_each_failure_and_its_fix(
    export: Export, gateway: Any, table: Any, unique: str
) -> None:
    mailbox = Mailbox(f"bokforing-{unique}@example.se")
    _notify(gateway, export.tenant, mailbox.address, interval_minutes=60, language="sv")
    _fail(export, "100353")

    _run_digest(export)
    [first] = mailbox.messages()
    assert first.source == "no-reply@fortnox-bridge.example.com"
    assert first.subject == "1 export till Fortnox behöver åtgärdas"
    assert "Faktura 100353" in first.body
    assert "Aktivera det under Inställningar > Bokföring > Kontoplan" in first.body
    assert "Fortnox svarade 2000550: Konto 3041 är inte aktivt." in first.body
    [link] = [line.split(": ", 1)[1] for line in first.body.splitlines() if line.startswith("Statussidan: ")]
    page = httpx.get(link, timeout=60)
    assert page.status_code == 200 and "100353" in page.text

    # A second run, and a new failure, within the interval: no second e-mail.
    _run_digest(export)
    _fail(export, "100354")
    _run_digest(export)
    assert len(mailbox.messages()) == 1

    an_interval_passes(table, export.tenant, 60)
    _run_digest(export)
    second = mailbox.messages()[1]
    assert "Faktura 100354" in second.body and "Faktura 100353" not in second.body  # told once is told
    _run_digest(export)
    assert len(mailbox.messages()) == 2


def test_the_email_carries_no_secret_token_or_identity_number(
    export: Export, gateway: Any, table: Any, unique: str
) -> None:
    mailbox = Mailbox(f"ekonomi-{unique}@example.se")
    _notify(gateway, export.tenant, mailbox.address, language="en")
    # A careless upstream numbers an invoice with a personal identity number.
    _fail(export, "19121212-1212")
    _fail(export, "100355")
    _run_digest(export)
    [mail] = mailbox.messages()
    assert mail.subject == "2 exports to Fortnox need attention"
    assert "Invoice 100355" in mail.body and "Activate it under Settings > Accounting > Chart of accounts" in mail.body
    assert "19121212" not in mail.body and "Invoice […]" in mail.body
    # The status link is the one credential an e-mail carries, and it is its own (signed, expiring, this page only).
    told = "\n".join(line for line in mail.body.splitlines() if not line.startswith("Status page: "))
    for secret in ("test-secret", "local-signing-key", "eyJ", "refresh_token", "access_token", "Bearer"):
        assert secret not in told and secret not in mail.subject, secret


def test_nobody_is_emailed_without_an_address_and_an_address_added_later_is_told(
    export: Export, gateway: Any, table: Any, unique: str
) -> None:
    _fail(export, "100356")  # this tenant has no notification address
    _run_digest(export)
    assert table.get_item(Key=digest_key(TenantId(export.tenant)))["Item"].get("GSI1PK") is None  # not waiting

    # The bookkeeper adds an address: what failed while nobody could be told reaches it, with no new failure.
    mailbox = Mailbox(f"third-{unique}@example.se")
    _notify(gateway, export.tenant, mailbox.address, language="en")
    _run_digest(export)
    [mail] = mailbox.messages()
    assert mail.subject == "1 export to Fortnox needs attention" and "Invoice 100356" in mail.body

    an_interval_passes(table, export.tenant, 60)
    _fail(export, "100357")
    _run_digest(export)
    second = mailbox.messages()[1]
    assert "Invoice 100357" in second.body and "100356" not in second.body  # told once is told

    # Saving the same address again is no news: nothing waits, nothing is sent.
    an_interval_passes(table, export.tenant, 60)
    _notify(gateway, export.tenant, mailbox.address, language="en")
    _run_digest(export)
    assert len(mailbox.messages()) == 2


def test_an_address_that_could_carry_more_headers_is_refused(export: Export, gateway: Any) -> None:
    http = httpx.Client(base_url=gateway.url, headers={"x-api-key": LOCAL_API_KEY}, timeout=60)
    settings = http.get(f"/tenants/{export.tenant}/settings").json()
    for address in ("a@b.se\nBcc: all@example.se", "not-an-address", "a@b.se, c@d.se"):
        settings["notifications"] = {"email": address}
        answer = http.put(f"/tenants/{export.tenant}/settings", json=settings)
        assert answer.status_code == 422 and "Bcc" not in answer.text
    settings["notifications"] = {"email": "a@b.se", "interval_minutes": 1}
    assert http.put(f"/tenants/{export.tenant}/settings", json=settings).status_code == 422
