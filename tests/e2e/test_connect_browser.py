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


def test_replacing_a_connection_in_a_browser_names_the_current_company_and_asks_first(
    gateway: Any, scene: Scene, unique: str
) -> None:
    # Given a tenant connected to one company, and a link made to replace that connection
    current, chosen = scene.new_company("Gamla Bolaget AB"), scene.new_company("Nya Bolaget AB")
    management = httpx.Client(base_url=gateway.url, headers={"x-api-key": LOCAL_API_KEY})
    management.put(f"/tenants/{unique}", json={"display_name": "Transportsystemet"})
    first = management.post(f"/tenants/{unique}/connect-links", json={}).json()["url"]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page()
        page.goto(first)
        page.click("#continue")
        page.select_option("#company", str(current))
        page.click("#approve")
        page.wait_for_selector("#company")
        link = management.post(f"/tenants/{unique}/connect-links", json={"replace_connection": True}).json()["url"]

        # When the person opens it, the page names the company connected today and offers no way on but confirming
        page.goto(link)
        assert "Gamla Bolaget AB" in page.inner_text("#replaces")
        assert page.query_selector("#continue") is None
        page.click("#confirm")
        page.wait_for_selector("#continue")
        page.click("#continue")
        page.select_option("#company", str(chosen))
        page.click("#approve")
        page.wait_for_selector("#company")
        text = page.inner_text("#company")
        browser.close()

    # Then the connection moved to the company chosen at Fortnox
    assert "Nya Bolaget AB" in text
    assert management.get(f"/tenants/{unique}").json()["company_name"] == "Nya Bolaget AB"
