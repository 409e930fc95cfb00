"""A bookkeeper fixes failed exports in a real browser: headless Chromium on the status page, the retry button and
the SIE download, the queue drained through the exporter, and the page showing the export done."""

from datetime import date
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import sync_playwright

from fortnox_bridge.export.explanations import FIXES
from fortnox_bridge.export.review import export_id
from tests import sie_reader
from tests.conftest import LOCAL_API_KEY
from tests.e2e.test_connect_browser import CHROMIUM, FLAGS
from tests.exporting import Export, VoucherExport, export, voucher_export

__all__ = ["export", "voucher_export"]  # the fixture, imported so pytest finds it


def test_a_bookkeeper_sees_a_failure_with_its_fix_retries_it_and_sees_it_exported(
    export: Export, gateway: Any, tmp_path: Path
) -> None:
    # Given an invoice Fortnox refused because its sales account is inactive, and a status link for the tenant
    export.scene.control.patch_account(export.company, 3041, Active=False)
    export.send(export.event("100353"))
    assert export.invoices() == []
    management = httpx.Client(base_url=gateway.url, headers={"x-api-key": LOCAL_API_KEY})
    link = management.post(f"/tenants/{export.tenant}/status-links", json={"valid_hours": 1}).json()["url"]
    failed = f'li[data-export="{export_id("invoice", "100353")}"]'
    payments = {"features": ["invoice_export", "payment_sync"]}
    assert management.put(f"/tenants/{export.tenant}/settings", json=payments).status_code == 200

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(locale="en-GB")
        violations: list[str] = []
        page.on("console", lambda message: violations.append(message.text) if message.type == "error" else None)

        # When the bookkeeper opens the link, they see the failure with its fix and Fortnox's own code
        page.goto(link)
        assert page.get_attribute(failed, "data-state") == "failed"
        assert FIXES[2000550].en in page.inner_text(failed)
        assert "Fortnox 2000550" in page.inner_text(f"{failed} .raw")
        # Payment sync is on and not polled yet: its section says so
        assert page.get_attribute("#payments", "data-state") == "pending"
        assert page.inner_text("#payments-last-poll") == "none yet"
        page.screenshot(path=str(tmp_path / "failed.png"))

        # And, once the account is active again in Fortnox, they press retry
        export.scene.control.patch_account(export.company, 3041, Active=True)
        page.click(f"{failed} button.retry")
        page.wait_for_selector("#flash")
        flash = page.inner_text("#flash")

        # Then, once the queue has run, the reloaded page shows the invoice exported, and nothing is left to fix
        export.runner.drain(export.runner.function("InvoiceExportExporter"))
        page.reload()
        state = page.get_attribute(failed, "data-state")
        nothing_failed = page.inner_text("p#failed")
        page.screenshot(path=str(tmp_path / "exported.png"))
        browser.close()

    assert "sent again" in flash
    assert (state, nothing_failed) == ("exported", "Nothing has failed.")
    assert len(export.invoices()) == 1
    # The page ran under its CSP without a single refusal: its style is allowed by hash, and it has no script.
    assert violations == []


def test_a_bookkeeper_downloads_a_refused_vouchers_sie_file_then_retries_it_once_the_cost_centre_is_active(
    voucher_export: VoucherExport, gateway: Any
) -> None:
    # Given a day's sales refused before any voucher call, because the location's cost centre is inactive
    voucher_export.scene.control.put_cost_center(voucher_export.company, "STHLM", Active=False)
    voucher_export.send(voucher_export.day())
    management = httpx.Client(base_url=gateway.url, headers={"x-api-key": LOCAL_API_KEY})
    link = management.post(f"/tenants/{voucher_export.tenant}/status-links", json={}).json()["url"]
    failed = f'li[data-export="{export_id("voucher", f"{date.today()}#kassa-1")}"]'

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(locale="sv-SE", accept_downloads=True)

        # When the bookkeeper opens the page (in Swedish), the voucher's finding names the cost centre
        page.goto(link)
        assert page.get_attribute(failed, "data-state") == "failed"
        finding = page.inner_text(f"{failed} .findings")

        # And the SIE button gives a file the browser saves
        with page.expect_download() as download:
            page.click(f"{failed} a.sie")
        sie = sie_reader.read(Path(download.value.path()).read_bytes())

        # And, with the cost centre active again, retry books it
        voucher_export.scene.control.put_cost_center(voucher_export.company, "STHLM", Active=True)
        page.click(f"{failed} button.retry")
        page.wait_for_selector("#flash")
        voucher_export.runner.drain(voucher_export.runner.function(VoucherExport.EXPORTER))
        page.reload()
        state = page.get_attribute(failed, "data-state")
        browser.close()

    assert "STHLM" in finding
    assert [len(voucher.transactions) > 0 for voucher in sie.verifications] == [True]
    assert state == "exported"
    assert len(voucher_export.vouchers()) == 1
