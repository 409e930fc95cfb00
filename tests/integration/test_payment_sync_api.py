"""Payment sync as the SaaS backend sees and steers it through the management API: the status of the last poll, a
re-sync from a date, and the schedule kept in step with the settings. Through the local gateway, the real
management and poll handlers, the poll queue, the sandbox and moto."""

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest

from fortnox_bridge.ids import FortnoxTenantId, TenantId
from fortnox_bridge.store.ledger import ExportScope
from fortnox_bridge.store.payment_schedule import PaymentSchedule
from fortnox_bridge.store.payment_sync import PaymentSyncStore, PollOutcome
from fortnox_bridge.store.tenants import TenantStore
from local_stack.onboarding import connect_service_account
from tests.conftest import LOCAL_API_KEY
from tests.exporting import connect_as_a_person
from tests.paying import PaymentSync, payment_sync

pytestmark = pytest.mark.integration
__all__ = ["payment_sync"]  # the fixture, imported so pytest finds it

FAR_AHEAD = timedelta(days=2)
"""Past any poll interval (at most a day): a tenant with payment sync on is due by then."""


class PaymentSyncApi:
    """One tenant's payment sync through the management API; its invoices, payments and polls through the real
    export and poll paths (``tests/paying.py``)."""

    def __init__(self, gateway: Any, sync: PaymentSync) -> None:
        self.http = httpx.Client(base_url=gateway.url, headers={"x-api-key": LOCAL_API_KEY}, timeout=60)
        self.sync = sync
        self.tenant = sync.tenant

    def settings(self, *, on: bool = True, **payment_sync: Any) -> httpx.Response:
        features = ["invoice_export", "payment_sync"] if on else ["invoice_export"]
        body = {"features": features, "invoice_export": {"bookkeep": True}, "payment_sync": payment_sync}
        return self.http.put(f"/tenants/{self.tenant}/settings", json=body)

    def switch_on(self, **payment_sync: Any) -> None:
        answer = self.settings(**payment_sync)
        assert answer.status_code == 200, answer.text

    def status(self, tenant: str | None = None) -> httpx.Response:
        return self.http.get(f"/tenants/{tenant or self.tenant}/payment-sync")

    def shown(self) -> dict[str, Any]:
        answer = self.status()
        assert answer.status_code == 200, answer.text
        shown: dict[str, Any] = answer.json()
        return shown

    def resync(self, body: Any, tenant: str | None = None) -> httpx.Response:
        return self.http.post(f"/tenants/{tenant or self.tenant}/payment-sync/resync", json=body)

    def paid_invoice(self, number: str, amount: str = "100.00") -> str:
        """Upstream invoice ``number`` exported and booked, and ``amount`` of it paid in Fortnox: the payment."""
        return self.sync.pay(self.sync.exported_invoice(number), amount, PaymentDate=date.today().isoformat())

    def scope(self) -> ExportScope:
        return ExportScope(TenantId(self.tenant), FortnoxTenantId(self.sync.company))

    def schedule(self) -> PaymentSchedule:
        return PaymentSchedule(self.sync.table)

    def due(self) -> bool:
        return TenantId(self.tenant) in self.schedule().due(datetime.now(UTC) + FAR_AHEAD)


@pytest.fixture
def api(payment_sync: PaymentSync, gateway: Any) -> PaymentSyncApi:
    """A connected tenant whose settings, until a test says otherwise, are the defaults: payment sync off."""
    api = PaymentSyncApi(gateway, payment_sync)
    assert api.settings(on=False).status_code == 200
    return api


def test_before_any_poll_the_status_names_the_company_and_when_the_first_poll_is_due(api: PaymentSyncApi) -> None:
    # Given a connected tenant that switches payment sync on
    api.switch_on(interval_minutes=30, ignore_invoice_numbers_below=1000)

    # When its backend asks how payment sync is doing
    shown = api.shown()

    # Then it is on, waiting for its first poll, in the tenant's company, with nothing polled yet
    assert (shown["enabled"], shown["state"]) == (True, "pending")
    assert shown["connection"]["company_name"] == "Sandlådan Åkeri AB"
    assert shown["connection"]["fortnox_tenant_id"] == api.sync.company
    assert (shown["last_poll_at"], shown["last_outcome"], shown["cursor"], shown["resync_from"]) == (None,) * 4
    assert shown["last_counts"] == {"received": 0, "changed": 0, "removed": 0}
    assert shown["settings"]["interval_minutes"] == 30 and shown["settings"]["ignore_invoice_numbers_below"] == 1000
    # And the next poll is the one the schedule holds
    next_due = datetime.fromisoformat(shown["next_due"])
    assert next_due == api.schedule().next_due(TenantId(api.tenant))
    assert next_due <= datetime.now(UTC) + timedelta(minutes=30)


def test_the_schedule_follows_the_settings_on_and_off(api: PaymentSyncApi) -> None:
    # A new tenant has payment sync off: nothing polls it
    assert not api.due() and api.shown()["state"] == "off"

    api.switch_on()
    assert api.due()

    # Renaming the tenant keeps it on the schedule
    assert api.http.put(f"/tenants/{api.tenant}", json={"display_name": "Åkeri II"}).status_code == 200
    assert api.due()

    # Switched off: off the schedule, and the status says so and why
    assert api.settings(on=False).status_code == 200
    assert not api.due() and api.schedule().next_due(TenantId(api.tenant)) is None
    shown = api.shown()
    assert (shown["enabled"], shown["state"], shown["next_due"]) == (False, "off", None)
    assert "avstängd" in shown["reason_sv"] and "off" in shown["reason_en"]

    # A settings PUT that is refused leaves the schedule as it was
    assert api.settings(interval_minutes=5).status_code == 422
    assert not api.due()


def test_after_a_poll_the_status_shows_its_outcome_counts_and_cursor(api: PaymentSyncApi) -> None:
    # Given a payment on an exported invoice, and a poll
    api.switch_on()
    api.paid_invoice("100353")
    before = datetime.now(UTC)
    assert [event["type"] for event in api.sync.poll()] == ["payment.received"]

    # Then the status shows the poll, what it sent upstream, and where the next one reads from
    shown = api.shown()
    assert (shown["state"], shown["last_outcome"]) == ("ok", "ok")
    assert shown["last_counts"] == {"received": 1, "changed": 0, "removed": 0}
    assert datetime.fromisoformat(shown["last_poll_at"]) >= before
    assert datetime.fromisoformat(shown["cursor"]) >= before - timedelta(seconds=1)
    assert (shown["reason_sv"], shown["reason_en"]) == (None, None)

    # And an idle poll after it says it found nothing new
    api.sync.poll()
    assert api.shown()["last_counts"] == {"received": 0, "changed": 0, "removed": 0}


def test_a_failed_poll_shows_its_fix_and_keeps_the_cursor(api: PaymentSyncApi) -> None:
    api.switch_on()
    api.sync.poll()
    cursor = api.shown()["cursor"]
    reason = "Fortnox svarade inte <b>500</b>", "Fortnox did not answer <b>500</b>"
    PaymentSyncStore(api.sync.table).record(
        api.scope(), outcome=PollOutcome.FAILED, at=datetime.now(UTC), reason_sv=reason[0], reason_en=reason[1]
    )

    shown = api.shown()
    assert (shown["state"], shown["last_outcome"]) == ("failed", "failed")
    assert (shown["reason_sv"], shown["reason_en"]) == reason
    assert shown["cursor"] == cursor


def test_a_resync_is_checked_and_the_next_poll_sends_the_payments_again_with_the_same_ids(
    api: PaymentSyncApi,
) -> None:
    api.switch_on()
    api.paid_invoice("100353")
    first = api.sync.poll()
    assert [event["type"] for event in first] == ["payment.received"]

    # Bad dates are refused, saying why, and nothing is asked of the next poll
    today = date.today()
    for malformed in (
        {},
        {"from": "2024-13-01"},
        {"from": 1700000000},
        {"from": "2024-01-01T00:00:00"},
        {"from": "24-01-01"},
        {"from": today.isoformat(), "until": today.isoformat()},
        ["2024-01-01"],
    ):
        answer = api.resync(malformed)
        assert answer.status_code == 422, (malformed, answer.text)
    ahead = api.resync({"from": (today + timedelta(days=2)).isoformat()})
    assert ahead.status_code == 400 and "at the latest" in ahead.json()["message"]
    ancient = api.resync({"from": "1999-12-31"})
    assert ancient.status_code == 400 and "at the earliest" in ancient.json()["message"]
    assert api.shown()["resync_from"] is None

    # A re-sync from today is taken (twice, as a retrying client asks) and shown until the next poll has done it
    assert api.resync({"from": today.isoformat()}).status_code == 202
    asked = api.resync({"from": today.isoformat()})
    assert asked.status_code == 202, asked.text
    assert asked.json()["resync_from"] == today.isoformat()
    assert api.shown()["resync_from"] == today.isoformat()

    again = api.sync.poll()
    assert [event["event_id"] for event in again] == [event["event_id"] for event in first]
    shown = api.shown()
    assert shown["resync_from"] is None and shown["last_outcome"] == "ok"


def test_a_resync_is_refused_while_sync_is_off_or_fortnox_is_not_connected(api: PaymentSyncApi) -> None:
    today = {"from": date.today().isoformat()}
    off = api.resync(today)
    assert off.status_code == 409 and off.json()["error"] == "payment_sync_off"

    api.switch_on()
    assert api.http.delete(f"/tenants/{api.tenant}/connection").status_code == 200
    refused = api.resync(today)
    assert refused.status_code == 409 and refused.json()["error"] == "not_connected"
    assert "connect" in refused.json()["message"]

    # The status still answers: which company it was, that nothing is fetched, and that nothing is lost
    shown = api.shown()
    assert shown["state"] == "not_connected" and shown["connection"]["state"] in {"revoked", "disconnected"}
    assert "förlorat" in shown["reason_sv"] and "Nothing is lost" in shown["reason_en"]


def test_a_tenant_that_never_connected_gets_an_answer_not_an_error(api: PaymentSyncApi) -> None:
    stranger = uuid.uuid4().hex[:10]
    created = api.http.put(f"/tenants/{stranger}", json={"display_name": "Ny kund"})
    assert created.status_code == 201
    body = {"features": ["payment_sync"]}
    assert api.http.put(f"/tenants/{stranger}/settings", json=body).status_code == 200

    answer = api.status(stranger)
    assert answer.status_code == 200, answer.text
    shown = answer.json()
    assert (shown["state"], shown["connection"], shown["cursor"]) == ("not_connected", None, None)
    assert shown["next_due"] is not None  # the schedule holds it; the fan-out polls only connected tenants
    refused = api.resync({"from": date.today().isoformat()}, tenant=stranger)
    assert refused.status_code == 409 and refused.json()["error"] == "not_connected"


def test_nothing_of_another_tenant_is_shown_or_changed(api: PaymentSyncApi) -> None:
    # Given a tenant with a polled payment and a re-sync asked for
    api.switch_on()
    api.paid_invoice("100353")
    api.sync.poll()
    assert api.resync({"from": date.today().isoformat()}).status_code == 202
    mine = api.shown()

    # And a neighbour with payment sync on in its own company
    neighbour = uuid.uuid4().hex[:10]
    company = api.sync.scene.new_company("Grannens Bolag AB")
    connect_service_account(
        api.sync.table,
        api.sync.scene.control,
        api.sync.scene.app,
        tenant_id=TenantId(neighbour),
        fortnox_tenant_id=company,
        display_name="Grannsystemet",
    )
    assert api.http.put(f"/tenants/{neighbour}/settings", json={"features": ["payment_sync"]}).status_code == 200

    # Then the neighbour sees its own company, unpolled, and its re-sync touches only its own
    theirs = api.status(neighbour).json()
    assert (
        theirs["connection"]["fortnox_tenant_id"] == company
        and theirs["connection"]["company_name"] != (mine["connection"]["company_name"])
    )
    assert (theirs["last_poll_at"], theirs["cursor"], theirs["resync_from"]) == (None, None, None)
    yesterday = (date.today() - timedelta(days=1)).isoformat()
    assert api.resync({"from": yesterday}, tenant=neighbour).status_code == 202
    assert api.shown() == mine

    # And ids that name no tenant, or another's by a trick, are refused
    assert api.status("nobody-here").status_code == 404
    assert api.status(f"{api.tenant}%0A").status_code in {404, 422}
    assert api.http.get(f"/tenants/{api.tenant}%2F..%2F{neighbour}/payment-sync").status_code in {404, 422}
    unknown = api.resync({"from": date.today().isoformat()}, tenant="nobody-here")
    assert unknown.status_code == 404 and unknown.json()["error"] == "unknown_tenant"


def test_a_webhook_the_delivery_would_refuse_is_refused_when_saved(api: PaymentSyncApi, log_capture: Any) -> None:
    api.switch_on()
    for url, why in (
        ("https://10.1.2.3/hooks?token=hemligt", "public address"),
        ("https://169.254.169.254/latest/meta-data", "public address"),
        ("https://kund:hemligt@203.0.113.9/hooks", "credentials"),
        ("ftp://203.0.113.9/hooks", "invalid_request"),
    ):
        answer = api.settings(webhook_url=url)
        assert answer.status_code in {400, 422}, (url, answer.text)
        assert why in answer.text and "hemligt" not in answer.text, url
    assert TenantStore(api.sync.table).require(TenantId(api.tenant)).settings.payment_sync.webhook_url is None

    # The local stack lets webhooks reach its own receivers on 127.0.0.1
    assert api.settings(webhook_url="http://127.0.0.1:9/hooks?token=hemligt").status_code == 200
    assert not [line for line in log_capture.lines if "hemligt" in line]


def test_settings_of_a_tenant_that_does_not_exist_put_nothing_on_the_schedule(api: PaymentSyncApi) -> None:
    ghost = uuid.uuid4().hex[:10]
    answer = api.http.put(f"/tenants/{ghost}/settings", json={"features": ["payment_sync"]})
    assert answer.status_code == 404 and answer.json()["error"] == "unknown_tenant"
    assert TenantId(ghost) not in api.schedule().due(datetime.now(UTC) + FAR_AHEAD)


def test_a_connection_made_without_payment_access_is_told_before_and_after_a_poll(
    api: PaymentSyncApi, gateway: Any, runner: Any, deployed: Any, events_tap: Any
) -> None:
    # Given a tenant a person connected for invoice export only, which then switches payment sync on
    tenant = uuid.uuid4().hex[:10]
    connection = connect_as_a_person(gateway, api.sync.scene, tenant, "Personligt Åkeri AB")
    assert "payment" not in connection.scopes
    on = api.http.put(f"/tenants/{tenant}/settings", json={"features": ["invoice_export", "payment_sync"]})
    assert on.status_code == 200

    # Then the status says, before any poll, that Fortnox must be connected again to grant payments
    shown = api.status(tenant).json()
    assert (shown["state"], shown["last_outcome"]) == ("missing_access", None)
    assert "betalningar" in shown["reason_sv"] and "payments" in shown["reason_en"]

    # And a poll, which Fortnox refuses, changes nothing of what the tenant is told to do
    sync = PaymentSync(
        runner, deployed, api.sync.scene, api.sync.table, events_tap, tenant, connection.fortnox_tenant_id
    )
    sync.request_poll()
    sync.drain()
    after = api.status(tenant).json()
    assert (after["state"], after["last_outcome"], after["cursor"]) == ("missing_access", "failed", None)
    assert after["reason_en"] == shown["reason_en"]
