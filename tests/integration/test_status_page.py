"""The bookkeeper's status page over HTTP: a signed link from the management API, the hosted page and its buttons,
through the local gateway, the real handlers, the invoice queue and the sandbox."""

import base64
import json
import re
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from html.parser import HTMLParser
from typing import Any

import httpx
import pytest

from fortnox_bridge.connect.signing_keys import SigningKeys
from fortnox_bridge.export.explanations import FIXES, Explanation
from fortnox_bridge.export.review import export_id
from fortnox_bridge.ids import FortnoxTenantId, TenantId
from fortnox_bridge.status import page
from fortnox_bridge.status.links import StatusLinkGenerations, StatusLinks
from fortnox_bridge.store.ledger import ExportLedger, ExportScope, ExportState
from fortnox_bridge.store.mappings import MappingStore
from fortnox_bridge.store.tenants import TenantSettings, TenantStore
from local_stack.onboarding import connect_service_account
from tests import sie_reader
from tests.conftest import LOCAL_API_KEY
from tests.exporting import Export, VoucherExport, export, freight_mapping, voucher_export

__all__ = ["export", "voucher_export"]  # the fixture, imported so pytest finds it

pytestmark = pytest.mark.integration

INACTIVE_ACCOUNT_SV, INACTIVE_ACCOUNT_EN = FIXES[2000550].sv, FIXES[2000550].en


class Seen(HTMLParser):
    """What a browser would make of the page: every tag and attribute, the text, and each export's state."""

    def __init__(self, markup: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.exports: dict[str, str] = {}
        self.feed(markup)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        self.tags.append((tag, attributes))
        if tag == "li" and attributes.get("data-export"):
            self.exports[str(attributes["data-export"])] = str(attributes.get("data-state"))

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    @property
    def body(self) -> str:
        return " ".join(" ".join(self.text).split())

    def csrf(self) -> str:
        return next(str(attrs["value"]) for tag, attrs in self.tags if tag == "input" and attrs.get("name") == "csrf")


class Site:
    """The management API and, apart from it, a bookkeeper's browser without credentials."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.management = httpx.Client(base_url=url, headers={"x-api-key": LOCAL_API_KEY}, timeout=30)
        self.browser = httpx.Client(timeout=30)

    def link(self, tenant: str, **body: Any) -> str:
        answer = self.management.post(f"/tenants/{tenant}/status-links", json=body)
        assert answer.status_code == 201, answer.text
        return str(answer.json()["url"])

    def open(self, link: str, **headers: str) -> tuple[httpx.Response, Seen]:
        answer = self.browser.get(link, headers=headers)
        return answer, Seen(answer.text)

    def press(self, link: str, export: str, action: str, **form: str) -> httpx.Response:
        return self.browser.post(f"{link}/exports/{export}/{action}", data=form)


@pytest.fixture
def site(gateway: Any) -> Site:
    return Site(gateway.url)


def fail_an_invoice(export: Export, number: str = "100353") -> str:
    """An invoice Fortnox refuses because its sales account is inactive: failed, fixable, its event kept."""
    export.scene.control.patch_account(export.company, 3041, Active=False)
    export.send(export.event(number, event_id=f"evt-{number}"))
    return export_id("invoice", number)


def neighbour(export: Export, deployed: Any, company_name: str = "Grannens Bolag AB") -> Export:
    """A second connected tenant, in its own Fortnox company, on the same stack."""
    tenant = uuid.uuid4().hex[:10]
    company = export.scene.new_company(company_name)
    connect_service_account(
        export.table,
        export.scene.control,
        export.scene.app,
        tenant_id=TenantId(tenant),
        fortnox_tenant_id=company,
        display_name="Grannsystemet",
    )
    MappingStore(export.table).put(TenantId(tenant), freight_mapping())
    return Export(export.runner, deployed, export.scene, export.table, tenant, company)


def entry(export: Export, number: str) -> Any:
    scope = ExportScope(TenantId(export.tenant), FortnoxTenantId(export.company))
    return ExportLedger(export.table).get(scope, "invoice", number)


def drain(export: Export) -> None:
    export.runner.drain(export.runner.function("InvoiceExportExporter"))


def test_the_page_shows_the_connection_and_a_failure_with_its_fix_in_the_bookkeepers_language(
    export: Export, site: Site
) -> None:
    # Given an invoice Fortnox refused for an inactive account, and a status link for the tenant
    failed = fail_an_invoice(export)
    link = site.link(export.tenant)

    # When the bookkeeper opens it
    answer, seen = site.open(link)

    # Then it names the company, the failure and the fix in Swedish (the tenant's language), Fortnox's code beside it
    assert answer.status_code == 200
    assert answer.headers["content-security-policy"] == page.CONTENT_SECURITY_POLICY
    assert "script-src" not in answer.headers["content-security-policy"]
    assert (answer.headers["cache-control"], answer.headers["referrer-policy"]) == ("no-store", "no-referrer")
    assert "Anslutet till Sandlådan Åkeri AB" in seen.body
    assert seen.exports == {failed: "failed"}
    assert INACTIVE_ACCOUNT_SV in seen.body and "Fortnox 2000550" in seen.body
    assert not any(tag == "script" for tag, _ in seen.tags)

    # And in English when the link or the browser asks, or when the tenant's language is English
    assert INACTIVE_ACCOUNT_EN in site.open(f"{link}?lang=en")[1].body
    assert INACTIVE_ACCOUNT_EN in site.open(link, **{"Accept-Language": "en-GB,en;q=0.8"})[1].body
    TenantStore(export.table).put_settings(TenantId(export.tenant), TenantSettings(language="en"))
    english = site.open(link)[1].body
    assert INACTIVE_ACCOUNT_EN in english and "Connected to Sandlådan Åkeri AB" in english


def test_retry_after_the_fix_exports_the_invoice_once_and_the_page_shows_it_exported(
    export: Export, site: Site
) -> None:
    # Given a failed invoice on the page, and the account activated again in Fortnox
    failed = fail_an_invoice(export)
    link = site.link(export.tenant)
    csrf = site.open(link)[1].csrf()
    export.scene.control.patch_account(export.company, 3041, Active=True)

    # When the bookkeeper presses retry
    pressed = site.press(link, failed, "retry", csrf=csrf)

    # Then the page comes back saying so, and once the queue is drained the invoice is in Fortnox, once
    assert pressed.status_code == 303
    assert pressed.headers["location"] == f"{link}?flash=retried"
    drain(export)
    assert len(export.invoices()) == 1
    seen = site.open(link)[1]
    assert seen.exports == {failed: "exported"}
    assert "Exporten skickades igen" in site.open(pressed.headers["location"])[1].body

    # And pressing retry again (a second tab, a double click) sends nothing more
    again = site.press(link, failed, "retry", csrf=csrf)
    assert again.headers["location"].endswith("flash=not_retryable")
    drain(export)
    assert len(export.invoices()) == 1


def test_mark_exported_takes_a_reason_and_the_export_is_not_sent_again(export: Export, site: Site) -> None:
    failed = fail_an_invoice(export)
    link = site.link(export.tenant)
    csrf = site.open(link)[1].csrf()

    # A blank reason changes nothing
    blank = site.press(link, failed, "mark-exported", csrf=csrf, reason="   ")
    assert blank.headers["location"].endswith("flash=reason_missing")
    assert entry(export, "100353").state is ExportState.FAILED

    # With a reason the export is marked, the reason shown as typed, and retry no longer sends it
    reason = 'Inlagd för hand <script>alert("x")</script> & "klart"'
    marked = site.press(f"{link}", failed, "mark-exported", csrf=csrf, reason=reason)
    assert marked.headers["location"].endswith("flash=marked")
    answer, seen = site.open(link)
    assert seen.exports == {failed: "marked"}
    assert reason in seen.body and "<script>alert" not in answer.text
    assert entry(export, "100353").marked_exported.reason == reason
    export.scene.control.patch_account(export.company, 3041, Active=True)
    assert site.press(link, failed, "retry", csrf=csrf).headers["location"].endswith("flash=not_retryable")
    drain(export)
    assert export.invoices() == []


def test_a_form_without_this_links_csrf_token_does_nothing(export: Export, site: Site, deployed: Any) -> None:
    # Given a failed invoice whose cause is fixed, and tokens of another link of the tenant and of another tenant
    failed = fail_an_invoice(export)
    export.scene.control.patch_account(export.company, 3041, Active=True)
    link = site.link(export.tenant)
    other_link = site.link(export.tenant)
    other_tenant = neighbour(export, deployed)
    fail_an_invoice(other_tenant, "555")
    strangers = [site.open(other_link)[1].csrf(), site.open(site.link(other_tenant.tenant))[1].csrf()]

    # When forms are posted with none, a wrong one, or another link's
    answers = [
        site.press(link, failed, "retry"),
        site.press(link, failed, "retry", csrf="forged"),
        site.press(link, failed, "retry", csrf="ö"),
        *(site.press(link, failed, "retry", csrf=token) for token in strangers),
        *(site.press(link, failed, "mark-exported", csrf=token, reason="x") for token in ["", *strangers]),
    ]

    # Then each is refused with the error page, and the export is neither sent nor marked
    assert {answer.status_code for answer in answers} == {403}
    assert all('data-kind="forbidden"' in answer.text for answer in answers)
    drain(export)
    assert export.invoices() == []
    current = entry(export, "100353")
    assert current.state is ExportState.FAILED and current.marked_exported is None


def test_a_link_of_one_tenant_never_shows_or_acts_on_another_tenants_exports(
    export: Export, site: Site, deployed: Any
) -> None:
    # Given two tenants, each with a failed invoice; the other's in a company of its own
    mine = fail_an_invoice(export)
    other = neighbour(export, deployed)
    theirs = fail_an_invoice(other, "GRANNE-777")
    other.scene.control.patch_account(other.company, 3041, Active=True)
    link = site.link(export.tenant)
    answer, seen = site.open(link)
    csrf = seen.csrf()

    # Then my page shows mine only
    assert seen.exports == {mine: "failed"}
    assert (
        "Grannens Bolag AB" not in answer.text and "GRANNE-777" not in answer.text and other.tenant not in answer.text
    )

    # And my link acting on their export id finds nothing: not retried, not marked, no file
    assert site.press(link, theirs, "retry", csrf=csrf).headers["location"].endswith("flash=not_found")
    marked = site.press(link, theirs, "mark-exported", csrf=csrf, reason="not mine")
    assert marked.headers["location"].endswith("flash=not_found")
    sie = site.browser.get(f"{link}/exports/{theirs}/sie")
    assert sie.status_code == 404 and "GRANNE" not in sie.text
    drain(other)
    assert other.invoices() == []
    current = entry(other, "GRANNE-777")
    assert current.state is ExportState.FAILED and current.marked_exported is None

    # And a link whose payload was changed to name the other tenant is refused, showing nothing of either
    payload, signature = link.rsplit("/", 1)[1].split(".")
    fields = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    fields["t"] = other.tenant
    forged = base64.urlsafe_b64encode(json.dumps(fields, separators=(",", ":")).encode()).rstrip(b"=").decode()
    for tampered in [f"{forged}.{signature}", f"{payload}.{signature[:-2]}AA", f"{payload}", "x", f"{payload}.ö"]:
        refused, refused_seen = site.open(f"{site.url}/status/{tampered}")
        assert refused.status_code == 404, tampered
        assert refused_seen.exports == {} and "Grannens" not in refused.text and "Sandlådan" not in refused.text
        posted = site.press(f"{site.url}/status/{tampered}", theirs, "retry", csrf=csrf)
        assert posted.status_code == 404
    drain(other)
    assert other.invoices() == []


def test_expired_revoked_and_foreign_key_links_show_the_error_page_and_act_on_nothing(
    export: Export, site: Site, deployed: Any
) -> None:
    failed = fail_an_invoice(export)
    export.scene.control.patch_account(export.company, 3041, Active=True)

    def links(key: bytes = b"local-signing-key", clock: datetime | None = None) -> StatusLinks:
        return StatusLinks(
            tenants=TenantStore(export.table),
            generations=StatusLinkGenerations(export.table),
            signing_keys=SigningKeys.fixed(key),
            public_base_url=site.url,
            clock=lambda: clock or datetime.now(UTC),
        )

    # A link that expired a minute ago, made by the bridge's own key
    expired, _ = links(clock=datetime.now(UTC) - timedelta(hours=1, minutes=1)).create(
        TenantId(export.tenant), timedelta(hours=1)
    )
    # A link signed with a key the bridge does not hold (rotated away, or never ours)
    foreign, _ = links(key=b"another-key").create(TenantId(export.tenant), timedelta(days=1))
    # A live link, until the service revokes the tenant's status links (another tenant's links work on)
    live = site.link(export.tenant)
    csrf = site.open(live)[1].csrf()
    other = neighbour(export, deployed)
    others = site.link(other.tenant)
    assert site.management.delete(f"/tenants/{export.tenant}/status-links").status_code == 200
    assert site.management.delete("/tenants/no-such-tenant/status-links").status_code == 404
    assert site.open(others)[0].status_code == 200

    for url, kind in [(expired, "expired"), (foreign, "rotated"), (live, "revoked")]:
        answer, seen = site.open(url)
        assert (answer.status_code, f'data-kind="{kind}"' in answer.text) == (410, True), url
        assert seen.exports == {} and "Sandlådan" not in answer.text
        assert answer.headers["content-security-policy"] == page.CONTENT_SECURITY_POLICY
        assert site.press(url, failed, "retry", csrf=csrf).status_code == 410
    drain(export)
    assert export.invoices() == []
    assert site.open(site.link(export.tenant))[0].status_code == 200


def test_the_management_api_bounds_a_status_links_life(export: Export, site: Site) -> None:
    made = site.management.post(f"/tenants/{export.tenant}/status-links", json={"valid_hours": 2})
    assert made.status_code == 201 and set(made.json()) == {"url", "expires_at"}
    expires = datetime.fromisoformat(made.json()["expires_at"])
    assert timedelta(hours=1, minutes=58) < expires - datetime.now(UTC) <= timedelta(hours=2)
    assert f"This link works until {expires:%Y-%m-%d %H:%M} UTC" in site.open(f"{made.json()['url']}?lang=en")[1].body
    default = datetime.fromisoformat(
        site.management.post(f"/tenants/{export.tenant}/status-links", json={}).json()["expires_at"]
    )
    assert timedelta(days=6, hours=23) < default - datetime.now(UTC) <= timedelta(days=7)

    for body, status in [
        ({"valid_hours": 0}, 422),
        ({"valid_days": 91}, 422),
        ({"valid_hours": 3000}, 422),
        ({"valid_days": 1, "valid_hours": 1}, 400),
        ({"valid_days": "soon"}, 422),
        ({"tenant_id": "someone-else"}, 422),
    ]:
        assert site.management.post(f"/tenants/{export.tenant}/status-links", json=body).status_code == status, body
    assert site.management.post("/tenants/no-such-tenant/status-links", json={}).status_code == 404

    # A tenant that has not connected Fortnox yet gets a page that says so, with nothing listed
    site.management.put(f"/tenants/{export.tenant}-new", json={"display_name": "Nytt System"})
    answer, seen = site.open(site.link(f"{export.tenant}-new"))
    assert answer.status_code == 200 and seen.exports == {}
    assert 'data-state="not_connected"' in answer.text and "Be Nytt System om en anslutningslänk" in seen.body
    assert httpx.post(f"{site.url}/tenants/{export.tenant}/status-links", json={}).status_code == 403


def test_every_value_on_the_page_is_escaped(export: Export, site: Site, deployed: Any) -> None:
    # Given a tenant whose name, Fortnox company name and export carry markup
    hostile = "<img src=x onerror=alert(1)>\"'&amp;"
    tenant = neighbour(export, deployed, company_name=f"Bolag {hostile}")
    site.management.put(f"/tenants/{tenant.tenant}", json={"display_name": f"System {hostile}"})
    key = f'K<script>alert("k")</script>{hostile}'
    ExportLedger(export.table).record_refusal(
        ExportScope(TenantId(tenant.tenant), FortnoxTenantId(tenant.company)),
        "invoice",
        key,
        explanation=Explanation(
            code=2000550,
            fortnox_message=f"Fortnox sa {hostile}",
            sv=f"Åtgärda {hostile}",
            en=f"Fix {hostile}",
            tenant_fixable=True,
        ),
        event_body="{}",
    )

    # When the bookkeeper opens the page
    answer, seen = site.open(site.link(tenant.tenant))

    # Then every value reads as typed and none of it became markup
    assert answer.status_code == 200
    for text in [f"Bolag {hostile}", f"System {hostile}", f"Fortnox sa {hostile}", f"Åtgärda {hostile}"]:
        assert text in seen.body, text
    assert key.replace("#", " · ") in seen.body
    assert {tag for tag, _ in seen.tags} <= {
        "html", "head", "meta", "title", "style", "body", "h1", "h2", "h3", "p", "strong", "span", "br", "ul",
        "li", "form", "input", "button", "label", "a", "div",
    }  # fmt: skip
    assert not any(name.startswith("on") for _, attrs in seen.tags for name in attrs)
    assert list(seen.exports) == [export_id("invoice", key)]


def test_the_link_never_reaches_a_log_line(export: Export, site: Site, log_capture: Any) -> None:
    failed = fail_an_invoice(export)
    link = site.link(export.tenant)
    csrf = site.open(link)[1].csrf()
    site.press(link, failed, "mark-exported", csrf=csrf, reason="typed in")
    site.open(f"{link}x")
    token = link.rsplit("/", 1)[1]
    # The local gateway's own request log (werkzeug) stands in for API Gateway's access log, which is not ours.
    ours = [line for line in log_capture.lines if json.loads(line).get("name") != "werkzeug"]
    assert not [line for line in ours if token in line or csrf in line]
    assert re.fullmatch(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}", token)


def test_a_voucher_refused_for_an_inactive_cost_centre_shows_the_finding_and_downloads_as_sie(
    voucher_export: VoucherExport, site: Site
) -> None:
    # Given a day's sales refused before any voucher call: the location's cost centre is inactive in Fortnox
    voucher_export.scene.control.put_cost_center(voucher_export.company, "STHLM", Active=False)
    voucher_export.send(voucher_export.day())
    failed = export_id("voucher", f"{date.today()}#kassa-1")
    link = site.link(voucher_export.tenant)

    # When the bookkeeper opens the page
    _, seen = site.open(f"{link}?lang=en")

    # Then the voucher is failed, its finding names the cost centre, and it offers the SIE file besides retry
    assert seen.exports == {failed: "failed"}
    assert "STHLM" in seen.body
    hrefs = [str(attrs.get("href")) for tag, attrs in seen.tags if tag == "a" and "sie" in str(attrs.get("class"))]
    assert hrefs == [f"{link}/exports/{failed}/sie"]

    # And the file is an SIE 4 voucher that balances, in the character set it declares, as an attachment
    sie = site.browser.get(hrefs[0])
    assert sie.status_code == 200
    assert sie.headers["content-type"] == "application/octet-stream"
    assert re.fullmatch(r'attachment; filename="[A-Za-z0-9._-]+\.se"', sie.headers["content-disposition"])
    parsed = sie_reader.read(sie.content)
    [voucher] = parsed.verifications
    assert sum((row.amount for row in voucher.transactions), Decimal(0)) == 0
    assert any(objects == [(1, "STHLM")] for objects in (row.objects for row in voucher.transactions))
    assert voucher_export.vouchers() == []

    # And once the mapping no longer covers the voucher, the file is refused with what to fix, not half made
    MappingStore(voucher_export.table).put(TenantId(voucher_export.tenant), freight_mapping())
    unbuildable = site.browser.get(hrefs[0])
    assert (unbuildable.status_code, 'data-kind="sie_unbuildable"' in unbuildable.text) == (409, True)
    assert 'id="detail"' in unbuildable.text

    # And an invoice's export id, or one that is no export id at all, has no SIE file
    assert site.browser.get(f"{link}/exports/{export_id('invoice', '1')}/sie").status_code == 404
    assert site.browser.get(f"{link}/exports/not-an-id/sie").status_code == 404


def test_a_retry_that_cannot_reach_the_queue_says_nothing_changed_and_works_when_pressed_again(
    export: Export, site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a failed invoice whose cause is fixed, on a bad day: the invoice queue cannot be reached
    failed = fail_an_invoice(export)
    export.scene.control.patch_account(export.company, 3041, Active=True)
    link = site.link(export.tenant)
    csrf = site.open(link)[1].csrf()
    queue = export.queue
    monkeypatch.setitem(export.runner._overrides, "INVOICE_QUEUE_URL", f"{queue.rsplit('/', 1)[0]}/gone")

    # When the bookkeeper presses retry, the status page (not the connect page) says nothing changed
    broken = site.press(link, failed, "retry", csrf=csrf)
    assert (broken.status_code, 'data-kind="broken"' in broken.text) == (500, True)
    assert broken.headers["content-security-policy"] == page.CONTENT_SECURITY_POLICY
    assert entry(export, "100353").state is ExportState.FAILED

    # And pressing it again once the queue is back exports the invoice
    monkeypatch.delitem(export.runner._overrides, "INVOICE_QUEUE_URL")
    assert site.press(link, failed, "retry", csrf=csrf).headers["location"].endswith("flash=retried")
    drain(export)
    assert len(export.invoices()) == 1
