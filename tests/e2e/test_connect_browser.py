"""A person connects Fortnox in a real browser: headless Chromium through the hosted link and the consent page."""

import shutil
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import sync_playwright

from tests.conftest import LOCAL_API_KEY, Scene

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def test_connect_link_in_a_browser_lands_on_the_success_page(
    gateway: Any, scene: Scene, unique: str, tmp_path: Path
) -> None:
    # Given a tenant with a connect link, and a Fortnox company to connect
    company = scene.new_company("Webbläsarens Åkeri AB")
    management = httpx.Client(base_url=gateway.url, headers={"x-api-key": LOCAL_API_KEY})
    management.put(f"/tenants/{unique}", json={"display_name": "Transportsystemet"})
    link = management.post(f"/tenants/{unique}/connect-links", json={}).json()["url"]

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page()
        # When the person opens the link, continues to Fortnox, picks the company and approves
        page.goto(link)
        assert "Transportsystemet" in page.inner_text("body")
        page.click("#continue")
        page.wait_for_selector("#approve")
        page.select_option("#company", str(company))
        page.click("#approve")
        page.wait_for_selector("#company")
        text = page.inner_text("#company")
        page.screenshot(path=str(tmp_path / "connected.png"))
        browser.close()

    # Then the success page names the company, and the management API shows the tenant connected
    assert "Webbläsarens Åkeri AB" in text
    status = management.get(f"/tenants/{unique}").json()
    assert (status["state"], status["company_name"]) == ("connected", "Webbläsarens Åkeri AB")
