"""The status page's payments section: what the bookkeeper sees of the payment sync after real polls through the poll
queue and its handler, in Swedish and English, escaped, without the webhook address, and nothing of another
tenant's."""

import re
import uuid
from datetime import UTC, date, datetime
from typing import Any

import httpx
import pytest

from fortnox_bridge.ids import FortnoxTenantId, TenantId
from fortnox_bridge.store.ledger import ExportScope
from fortnox_bridge.store.payment_sync import PaymentSyncStore, PollOutcome
from local_stack.onboarding import connect_service_account
from tests.conftest import LOCAL_API_KEY
from tests.integration.test_status_page import Seen
from tests.paying import PaymentSync, payment_sync

pytestmark = pytest.mark.integration
__all__ = ["payment_sync"]  # the fixture, imported so pytest finds it

SECTION = re.compile(r'<div id="payments" data-state="([a-z_]+)">(.*?)</div>', re.DOTALL)


class Bookkeeper:
    """The management API that makes the links and sets the tenant up, and a browser without credentials."""

    def __init__(self, url: str) -> None:
        self.management = httpx.Client(base_url=url, headers={"x-api-key": LOCAL_API_KEY}, timeout=60)
        self.browser = httpx.Client(timeout=60)

    def switch_on(self, tenant: str, **payment_sync: Any) -> None:
        body = {
            "features": ["invoice_export", "payment_sync"],
            "invoice_export": {"bookkeep": True},
            "payment_sync": payment_sync,
        }
        answer = self.management.put(f"/tenants/{tenant}/settings", json=body)
        assert answer.status_code == 200, answer.text

    def link(self, tenant: str) -> str:
        answer = self.management.post(f"/tenants/{tenant}/status-links", json={})
        assert answer.status_code == 201, answer.text
        return str(answer.json()["url"])

    def payments(self, link: str, **params: str) -> tuple[str | None, Seen, str]:
        """The section's state and what a browser makes of it (None, when the page has no section), and the page."""
        answer = self.browser.get(link, params=params)
        assert answer.status_code == 200, answer.text
        found = SECTION.search(answer.text)
        if found is None:
            return None, Seen(""), answer.text
        return found.group(1), Seen(found.group(2)), answer.text


@pytest.fixture
def bookkeeper(gateway: Any) -> Bookkeeper:
    return Bookkeeper(gateway.url)


def utc(moment: datetime) -> str:
    return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M} UTC"


def neighbour(sync: PaymentSync, name: str = "Grannens Bolag AB") -> str:
    tenant = uuid.uuid4().hex[:10]
    connect_service_account(
        sync.table,
        sync.scene.control,
        sync.scene.app,
        tenant_id=TenantId(tenant),
        fortnox_tenant_id=sync.scene.new_company(name),
        display_name="Grannsystemet",
    )
    return tenant


def test_after_a_poll_the_page_shows_when_what_and_from_where_in_the_bookkeepers_language(
    payment_sync: PaymentSync, bookkeeper: Bookkeeper
) -> None:
    # Given a tenant with payment sync on, a payment in Fortnox and one poll that sent it upstream
    bookkeeper.switch_on(payment_sync.tenant)
    payment_sync.pay(payment_sync.exported_invoice("100353"), "100.00", PaymentDate=date.today().isoformat())
    assert [event["type"] for event in payment_sync.poll()] == ["payment.received"]
    status = payment_sync.status()
    assert status is not None and status.last_poll_at is not None and status.cursor is not None
    link = bookkeeper.link(payment_sync.tenant)

    # When the bookkeeper opens the status page
    state, seen, page = bookkeeper.payments(link)

    # Then, in Swedish, it says payments flow, when the last poll ran and what it sent, and where the next reads from
    assert state == "ok" and "<h2>Betalningar</h2>" in page
    assert f"Senaste hämtning {utc(status.last_poll_at)}, lyckades" in seen.body
    assert "1 nya, 0 ändrade, 0 borttagna" in seen.body
    assert f"Hämtar ändringar sedan {utc(status.cursor)}" in seen.body
    assert "Nästa hämtning" in seen.body

    # And in English when asked
    state, seen, page = bookkeeper.payments(link, lang="en")
    assert state == "ok" and "<h2>Payments</h2>" in page
    assert f"Last poll {utc(status.last_poll_at)}, succeeded" in seen.body
    assert "1 new, 0 changed, 0 removed" in seen.body and "Next poll" in seen.body

    # And a re-sync the backend asked for is shown until a poll has done it
    today = date.today().isoformat()
    resync = bookkeeper.management.post(f"/tenants/{payment_sync.tenant}/payment-sync/resync", json={"from": today})
    assert resync.status_code == 202
    assert f"Omsynkning begärd från {today}, vid nästa hämtning" in bookkeeper.payments(link)[1].body
    payment_sync.poll()
    assert "Omsynkning" not in bookkeeper.payments(link)[1].body


def test_a_failed_poll_shows_its_fix_as_text_never_as_markup(payment_sync: PaymentSync, bookkeeper: Bookkeeper) -> None:
    # Given a poll that failed with a reason that quotes Fortnox, markup and all
    bookkeeper.switch_on(payment_sync.tenant)
    hostile = "<script>alert(1)</script><img src=x onerror=alert(1)>\"'&amp;"
    PaymentSyncStore(payment_sync.table).record(
        ExportScope(TenantId(payment_sync.tenant), FortnoxTenantId(payment_sync.company)),
        outcome=PollOutcome.FAILED,
        at=datetime.now(UTC),
        reason_sv=f"Fortnox sa {hostile}",
        reason_en=f"Fortnox said {hostile}",
    )
    link = bookkeeper.link(payment_sync.tenant)

    # When the bookkeeper opens the page
    state, seen, _ = bookkeeper.payments(link)

    # Then the failure and its fix read as written, and none of it became a tag or a handler
    assert state == "failed"
    assert "Den senaste hämtningen av betalningar misslyckades." in seen.body
    assert f"Fortnox sa {hostile}" in seen.body
    assert f"Fortnox said {hostile}" in bookkeeper.payments(link, lang="en")[1].body
    assert {tag for tag, _ in seen.tags} <= {"p", "dl", "dt", "dd"}
    assert not any(name.startswith("on") for _, attrs in seen.tags for name in attrs)


def test_the_webhook_address_and_its_token_are_never_on_the_page(
    payment_sync: PaymentSync, bookkeeper: Bookkeeper
) -> None:
    bookkeeper.switch_on(payment_sync.tenant, webhook_url="http://127.0.0.1:9/kund-hooks?token=hemlig-nyckel")
    link = bookkeeper.link(payment_sync.tenant)

    state, _, page = bookkeeper.payments(link)

    assert state == "pending"
    for secret in ("hemlig-nyckel", "kund-hooks", "127.0.0.1:9"):
        assert secret not in page, secret


def test_without_a_connection_the_page_says_nothing_is_fetched_and_nothing_is_lost(
    payment_sync: PaymentSync, bookkeeper: Bookkeeper
) -> None:
    bookkeeper.switch_on(payment_sync.tenant)
    payment_sync.poll()
    assert bookkeeper.management.delete(f"/tenants/{payment_sync.tenant}/connection").status_code == 200

    state, seen, _ = bookkeeper.payments(bookkeeper.link(payment_sync.tenant))

    assert state == "not_connected"
    assert "Betalningar hämtas inte just nu." in seen.body and "Inget går förlorat" in seen.body


def test_the_section_is_the_tenants_own_and_absent_while_payment_sync_is_off(
    payment_sync: PaymentSync, bookkeeper: Bookkeeper
) -> None:
    # Given a tenant whose poll sent a payment upstream
    bookkeeper.switch_on(payment_sync.tenant)
    payment_sync.pay(payment_sync.exported_invoice("100353"), "100.00", PaymentDate=date.today().isoformat())
    payment_sync.poll()
    # And a neighbour with payment sync off
    other = neighbour(payment_sync)

    # Then the neighbour's page has no payments section at all
    state, _, page = bookkeeper.payments(bookkeeper.link(other))
    assert state is None and "Betalningar" not in page

    # And once on, it shows its own sync, not yet polled: nothing of the tenant's poll
    bookkeeper.switch_on(other)
    state, seen, _ = bookkeeper.payments(bookkeeper.link(other))
    assert state == "pending" and "Senaste hämtning ingen ännu" in seen.body
    assert "1 nya" not in seen.body

    # And switched off again, the tenant's own page drops the section
    off = bookkeeper.management.put(f"/tenants/{payment_sync.tenant}/settings", json={"features": ["invoice_export"]})
    assert off.status_code == 200
    assert bookkeeper.payments(bookkeeper.link(payment_sync.tenant))[0] is None
